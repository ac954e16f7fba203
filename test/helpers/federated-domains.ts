/**
 * Domains as the federation tests and the segments benchmark run them: one agent process per domain over its
 * own emulated edges (separate processes too), each with the catalogue seeded from blueprints/ and one
 * deployment repository per edge; and the wait until one domain sees another up.
 */
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { ROOT, type AgentProcess, type AgentProcessOptions } from "./agent-process.js";

/** An emulated edge of a domain. */
export interface DomainEdge {
  name: string;
  /** Its Kubernetes API URL. */
  url: string;
  labels?: Record<string, string>;
}

/** The agent options of `domainId` over `edges`, with these federation and lifecycle settings. */
export function domainAgentOptions(o: {
  domainId: string;
  edges: readonly DomainEdge[];
  federation: Record<string, unknown>;
  /** The lifecycle's poll period, in ms. */
  pollMs: number;
  /** The edges' ConfigSync period. Default "100ms". */
  syncPeriod?: string;
  /** Bound of one call to an edge. Default 2000 ms. */
  edgeTimeoutMs?: number;
  env?: Record<string, string>;
}): AgentProcessOptions {
  return {
    domainId: o.domainId,
    federation: o.federation,
    logLevel: "info",
    ...(o.env ? { env: o.env } : {}),
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: join(ROOT, "blueprints") },
      ...o.edges.map((e) => ({ name: `${e.name}-deploy`, role: "deployment", edge: e.name })),
    ],
    extraConfig: {
      edges: o.edges.map((e) => ({
        name: e.name,
        server: e.url,
        ...(e.labels ? { labels: e.labels } : {}),
        repository: `${e.name}-deploy`,
        timeoutMs: o.edgeTimeoutMs ?? 2000,
        syncPeriod: o.syncPeriod ?? "100ms",
      })),
      lifecycle: { pollMs: o.pollMs },
    },
  };
}

/** Waits (bounded) until `a` sees `b` up: reachable, its DomainInfo from Hello and its exported catalogue. */
export async function peerUp(a: AgentProcess, b: AgentProcess, timeoutMs = 20_000): Promise<void> {
  const headers = { authorization: `Bearer ${await a.token(["catalogue:read"])}` };
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: a.grpcUrl }));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = (await client.listPeers({}, { headers, timeoutMs: 5000 })).peers.find((q) => q.id === b.domainId);
    if (p?.reachable && p.info && p.exportedBlueprints > 0) return;
    if (Date.now() > end) throw new Error(`${a.domainId} did not see ${b.domainId} up: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
