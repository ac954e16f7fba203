/**
 * Three domains, each a real agent process with its own keys and CA, discover each other through their trust
 * lists: Hello both ways, keys and catalogues fetched, every peer's status shown by ListPeers and
 * `camino peers ls`; a peer stopped is seen down (and only it: the agent stays SERVING) and seen up again when
 * it is back; a peer removed from the trust list by SIGHUP is refused from then on.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { federationClientAuth } from "../../federation/call-auth.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import type { PublicJwks } from "../../federation/trust.js";
import type { Peer } from "../../gen/camino/v1/types_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

const run = promisify(execFile);
let x: AgentProcess;
let y: AgentProcess;
let z: AgentProcess;
let edge3: EmulatorProcess;

async function api(agent: AgentProcess) {
  const headers = { authorization: `Bearer ${await agent.token(["catalogue:read"])}` };
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  return { client, headers };
}

async function peersOf(agent: AgentProcess): Promise<Peer[]> {
  const { client, headers } = await api(agent);
  return (await client.listPeers({}, { headers, timeoutMs: 5000 })).peers;
}

/** Polls `agent`'s ListPeers until `check` holds for peer `id` (bounded). */
async function peerBecomes(agent: AgentProcess, id: string, check: (p: Peer) => boolean): Promise<Peer> {
  const end = Date.now() + 20_000;
  for (;;) {
    const peer = (await peersOf(agent)).find((p) => p.id === id);
    if (peer && check(peer)) return peer;
    if (Date.now() > end) throw new Error(`peer ${id} as seen by ${agent.domainId}: ${JSON.stringify(peer)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const up = (p: Peer) => p.reachable && p.lastError === "" && !!p.info;

beforeAll(async () => {
  // domain-y has one emulated edge, so it has an east-west gateway and capacity to advertise.
  edge3 = await startEmulatorProcess({ name: "edge-3", nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }] });
  const edges = [{ name: "edge-3", server: edge3.url, repository: "edge-3-deploy", timeoutMs: 2000 }];
  const repositories = [
    { name: "catalogue", role: "blueprint", seedFrom: join(ROOT, "blueprints") },
    { name: "edge-3-deploy", role: "deployment", edge: "edge-3" },
  ];
  [x, y, z] = await Promise.all(
    ["domain-x", "domain-y", "domain-z"].map((domainId) =>
      startAgentProcess({
        domainId,
        federation: {},
        ...(domainId === "domain-y" ? { extraConfig: { edges }, repositories } : {}),
      }),
    ),
  );
  await Promise.all([x.setPeers([y, z]), y.setPeers([x, z]), z.setPeers([x, y])]);
}, 60_000);

afterAll(async () => {
  await Promise.all([x, y, z].map((a) => a?.stop()));
  await edge3?.stop();
});

describe("three domains discover each other", () => {
  it("each sees the other two up, with their DomainInfo, keys and catalogue", async () => {
    for (const [self, others] of [
      [x, [y, z]],
      [y, [x, z]],
      [z, [x, y]],
    ] as const) {
      for (const other of others) {
        const peer = await peerBecomes(self, other.domainId, up);
        expect(peer.endpoint).toBe(other.federationUrl);
        expect(peer.compatible).toBe(true);
        expect(peer.info?.id).toBe(other.domainId);
        expect(peer.info?.apiEndpoint).toBe(other.grpcUrl);
        expect(peer.info?.peerEndpoint).toBe(other.federationUrl);
        expect(peer.info?.trustDomain).toBe(`${other.domainId}.camino`);
        expect(peer.info?.meshRootCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(peer.info?.federationApiVersion).toBe("camino.v1/1");
        expect(peer.info?.catalogueDigest).toMatch(/^[0-9a-f]{64}$/);
        expect(peer.keyIds).toEqual([other.key.kid]);
        expect(peer.exportedBlueprints).toBeGreaterThan(0);
        expect(peer.roundTripMs).toBeGreaterThan(0);
        expect(peer.lastSeen).toBeDefined();
      }
    }
  });

  it("a peer's Hello carries one east-west gateway per edge network, read from its edges", async () => {
    const peer = await peerBecomes(x, "domain-y", (p) => up(p) && (p.info?.gateways.length ?? 0) > 0);
    expect(
      peer.info?.gateways.map((g) => ({ edge: g.edge, network: g.network, address: g.address, port: g.port })),
    ).toEqual([{ edge: "edge-3", network: "net-edge-3", address: "192.0.2.10", port: 15443 }]);
  });

  it("GetCatalogue answers a trusted peer with exported blueprints and capacity summed over the edges, nothing per edge", async () => {
    const trust = createFederationTrust({
      domainId: "domain-x",
      ownKeys: {
        current: () => ({ kid: x.key.kid, alg: x.key.alg, privateKey: x.key.privateKey }),
        published: () => ({ keys: [x.key.publicJwk] }),
      },
      peers: [{ id: "domain-y", jwks: { keys: [y.key.publicJwk] } as PublicJwks }],
    });
    const ca = readFileSync(y.federationFiles?.caFile as string, "utf8");
    const client = createClient(
      Federation,
      createGrpcTransport({
        baseUrl: y.federationUrl as string,
        nodeOptions: { ca },
        interceptors: [federationClientAuth(trust, "domain-y")],
      }),
    );
    const cat = await client.getCatalogue({});
    expect(cat.capacity?.allocatable?.cpuMillis).toBe(4000n);
    expect(cat.capacity?.allocatable?.memoryBytes).toBe(8n * 2n ** 30n);
    expect(cat.entries.length).toBeGreaterThan(0);
    expect(cat.entries.every((e) => e.exported && e.repository === "" && e.path === "")).toBe(true);
    expect(JSON.stringify(cat.entries, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("edge-3");
  });

  it("ListCatalogue with peers lists each peer's exported blueprints, marked with its domain, and nothing unexported", async () => {
    const { client, headers } = await api(x);
    const own = (await client.listCatalogue({ exportedOnly: true }, { headers })).entries;
    const all = (await client.listCatalogue({ includePeers: true }, { headers })).entries;
    const fromY = all.filter((e) => e.domain === "domain-y");
    expect(fromY.map((e) => e.name).sort()).toEqual(own.map((e) => e.name).sort());
    expect(fromY.every((e) => e.exported && e.repository === "" && e.path === "")).toBe(true);
    expect(all.filter((e) => e.domain === "domain-z").length).toBe(own.length);
    expect(all.filter((e) => e.domain === "").length).toBeGreaterThan(own.length);
  });

  it("camino peers ls shows each peer up, with its gateways, catalogue and keys", async () => {
    const token = await x.token(["catalogue:read"]);
    const { stdout } = await run(process.execPath, [CAMINO, "peers", "ls", "--server", x.grpcUrl, "-o", "json"], {
      env: { ...process.env, CAMINO_TOKEN: token },
    });
    const rows = JSON.parse(stdout) as { id: string; reachable: boolean; keyIds: string[]; lastError: string }[];
    expect(rows.map((r) => r.id)).toEqual(["domain-y", "domain-z"]);
    expect(rows.every((r) => r.reachable && r.lastError === "")).toBe(true);
    const table = (
      await run(process.execPath, [CAMINO, "peers", "ls", "--server", x.grpcUrl], {
        env: { ...process.env, CAMINO_TOKEN: token },
      })
    ).stdout;
    expect(table).toMatch(/domain-y\s+up\s/);
    expect(table).toMatch(/domain-z\s+up\s/);
  });

  it("a peer that stops is seen down, only it: the agent stays SERVING and reports it as a dependency; restarted, it is up again", async () => {
    await z.restart(async () => {
      const down = await peerBecomes(x, "domain-z", (p) => !p.reachable);
      expect(down.lastError).toMatch(/ECONNREFUSED|unavailable/i);
      expect((await peersOf(x)).find((p) => p.id === "domain-y")?.reachable).toBe(true);
      const health = createClient(Health, createGrpcTransport({ baseUrl: x.grpcUrl }));
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const { client, headers } = await api(x);
      const info = await client.getDomainInfo({}, { headers });
      const dep = info.dependencies.find((d) => d.name === "domain-z");
      expect(dep?.kind).toBe("peer");
      expect(dep?.healthy).toBe(false);
      expect(info.dependencies.find((d) => d.name === "domain-y")?.healthy).toBe(true);
    });
    await peerBecomes(x, "domain-z", up);
    await peerBecomes(z, "domain-x", up);
  });

  it("a peer that hangs (SIGSTOP) makes Hello end at its bound with a deadline reason; the others are unaffected", async () => {
    process.kill(z.child.pid as number, "SIGSTOP");
    try {
      const slow = await peerBecomes(x, "domain-z", (p) => !p.reachable);
      expect(slow.lastError).toMatch(/deadline|timed out|timeout/i);
      expect((await peersOf(x)).find((p) => p.id === "domain-y")?.reachable).toBe(true);
    } finally {
      process.kill(z.child.pid as number, "SIGCONT");
    }
    await peerBecomes(x, "domain-z", up);
  });

  it("a peer removed from the trust list (SIGHUP) is refused from then on, and sees its calls refused", async () => {
    await x.setPeers([z]);
    expect((await peersOf(x)).map((p) => p.id)).toEqual(["domain-z"]);
    const refused = await peerBecomes(y, "domain-x", (p) => /unauthenticated/i.test(p.lastError));
    expect(refused.lastError).toMatch(/not a trusted peer|untrusted|not trusted/i);
    // Put back, it is accepted again.
    await x.setPeers([y, z]);
    await peerBecomes(y, "domain-x", up);
    await peerBecomes(x, "domain-y", up);
  });

  it("a peer presenting a certificate from the wrong CA, or one nobody answers for: Hello ends in its bound, the reason shows, the others are unaffected", async () => {
    const wrongCa = {
      id: "domain-w",
      endpoint: z.federationUrl,
      jwksFile: z.federationFiles?.jwksFile,
      caFile: y.federationFiles?.caFile,
    };
    const gone = {
      id: "domain-v",
      endpoint: "https://127.0.0.1:1",
      jwksFile: z.federationFiles?.jwksFile,
      caFile: z.federationFiles?.caFile,
    };
    await x.setPeers([y, z], undefined, [wrongCa, gone]);
    try {
      const w = await peerBecomes(x, "domain-w", (p) => p.lastError !== "");
      expect(w.reachable).toBe(false);
      expect(w.lastError).toMatch(/certificate|self.signed|unable to verify/i);
      const v = await peerBecomes(x, "domain-v", (p) => p.lastError !== "");
      expect(v.lastError).toMatch(/ECONNREFUSED|unavailable/i);
      expect((await peersOf(x)).filter((p) => up(p)).map((p) => p.id)).toEqual(["domain-y", "domain-z"]);
    } finally {
      await x.setPeers([y, z]);
    }
  });

  it("the peer listener serves nothing but Federation, health and reflection", async () => {
    const ca = await import("node:fs").then((fs) => fs.readFileSync(x.federationFiles!.caFile, "utf8"));
    const client = createClient(
      DomainManager,
      createGrpcTransport({ baseUrl: x.federationUrl as string, nodeOptions: { ca } }),
    );
    const headers = { authorization: `Bearer ${await x.token(["catalogue:read"])}` };
    const err = await client.getDomainInfo({}, { headers }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unimplemented);
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: x.federationUrl as string, nodeOptions: { ca } }),
    );
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
