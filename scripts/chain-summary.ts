/**
 * `npm start`'s closing summary of a deployed chain: where each CNF runs (domain and edge) and how each link is
 * wired and carried, read from the running agents and edges only through what anyone may call:
 *
 * - the origin's deployment (GetDeployment): its packages, its revision's intent and its segments;
 * - each segment's deployment on the peer that runs it (GetDeployment of the segment's namespace there), for
 *   the edge the peer chose;
 * - the origin's plan (PlanIntent, read-only): each link's placement, protocol, port, edges and note;
 * - the ServiceEntries applied on the consumer's edge (its Kubernetes API), for the gateway that carries a link
 *   between edges or domains: a plan cannot know a peer's offer, the edge holds what was made of it.
 *
 * The placement also draws the chain (agent/graph, as `camino intent graph NAME` does) and a text rendering.
 */
import type { Client } from "@connectrpc/connect";
import type { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import type { LinkPlan, NetworkObject } from "../gen/camino/v1/types_pb.js";
import { stateName } from "../agent/cli/commands/deployment.js";
import { buildChainGraph, type ChainGraph, type GraphPackage } from "../agent/graph/chain-graph.js";
import { intentFromMessage, intentToMessage } from "../agent/intent/load.js";
import type { Intent } from "../agent/intent/model.js";

/** One agent the summary reads from. */
export interface SummaryAgent {
  client: Client<typeof DomainManager>;
  /** Its northbound token, with intents:read (and intents:write on the origin, for PlanIntent). */
  token: string;
}

/** Options of {@link readChainSummary}. */
export interface ChainSummaryOptions {
  /** The intent, as submitted to the origin. */
  intent: Intent;
  /** The origin domain's id. */
  origin: string;
  /** Every domain of the demo by id; the origin among them. */
  agents: ReadonlyMap<string, SummaryAgent>;
  /** Every emulated edge's Kubernetes API by edge name. */
  edges: ReadonlyMap<string, string>;
  /** Bound of each call, in milliseconds. */
  timeoutMs: number;
}

/** A link of the summary: the plan's view and what carries it. */
export interface SummaryLink {
  plan: LinkPlan;
  /** Where its two ends run, e.g. `edge-1 → edge-3`. */
  route: string;
  /** What carries it, e.g. `NetworkPolicy only (udp)` or `east-west gateway 192.0.2.12:15443 of domain-y/edge-3`. */
  carrier: string;
}

/** A segment of the chain, as its origin sees it. */
export interface SummarySegment {
  id: string;
  domain: string;
  /** The deployment that runs it on the peer. */
  namespace: string;
  generation: bigint;
  phase: string;
}

/** What the summary prints. */
export interface ChainSummary {
  /** The chain drawn from the deployments: packages by domain and edge, with their states. */
  graph: ChainGraph;
  links: readonly SummaryLink[];
  segments: readonly SummarySegment[];
}

/** An Istio ServiceEntry, the fields read here. */
interface ServiceEntry {
  spec?: {
    hosts?: string[];
    ports?: { number?: number }[];
    endpoints?: { address?: string; ports?: Record<string, number> }[];
    subjectAltNames?: string[];
  };
}

/** Call options of an agent: its token and the bound. */
function callOptions(agent: SummaryAgent, timeoutMs: number) {
  return { headers: { authorization: `Bearer ${agent.token}` }, timeoutMs };
}

/** The agent of `domain`. @throws Error for a domain the demo does not run. */
function agentOf(options: ChainSummaryOptions, domain: string): SummaryAgent {
  const agent = options.agents.get(domain);
  if (!agent) throw new Error(`no agent for domain ${domain}`);
  return agent;
}

/**
 * The ServiceEntries of `namespace` on an emulated edge; none when the edge does not answer (the summary then
 * falls back on the plan's note).
 */
async function serviceEntries(edgeUrl: string, namespace: string, timeoutMs: number): Promise<ServiceEntry[]> {
  try {
    const res = await fetch(`${edgeUrl}/apis/networking.istio.io/v1/namespaces/${namespace}/serviceentries`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return [];
    return ((await res.json()) as { items?: ServiceEntry[] }).items ?? [];
  } catch {
    return [];
  }
}

/**
 * Where the chain's packages run: the origin's placement, with the edge each peer chose for its segment's
 * packages (from the peer's deployment of the segment).
 */
async function readPlacement(options: ChainSummaryOptions): Promise<{ graph: ChainGraph; segments: SummarySegment[] }> {
  const origin = agentOf(options, options.origin);
  const { deployment, intent } = await origin.client.getDeployment(
    { name: options.intent.name },
    callOptions(origin, options.timeoutMs),
  );
  if (!deployment) throw new Error(`${options.origin} has no deployment ${options.intent.name}`);
  const packages = new Map(
    deployment.packages.map((p) => [p.package, { domain: p.domain, edge: p.edge, state: stateName(p.state) }]),
  );
  const segments: SummarySegment[] = [];
  for (const s of deployment.segments) {
    segments.push({ id: s.id, domain: s.domain, namespace: s.namespace, generation: s.generation, phase: s.phase });
    const peer = agentOf(options, s.domain);
    const hosted = await peer.client.getDeployment({ name: s.namespace }, callOptions(peer, options.timeoutMs));
    for (const p of hosted.deployment?.packages ?? []) {
      const known = packages.get(p.package);
      if (known && p.edge) known.edge = p.edge;
    }
  }
  const graph = buildChainGraph({
    intent: intent ? intentFromMessage(intent) : options.intent,
    placements: [...packages].map(([name, p]) => ({ package: name, domain: p.domain, edge: p.edge })),
    states: new Map([...packages].map(([name, p]) => [name, p.state])),
    source: "deployment",
  });
  return { graph, segments };
}

/** The ServiceEntry on the consumer's edge that routes `link` to its provider: host `<provider>.…`, its port. */
function routeOf(entries: readonly ServiceEntry[], link: LinkPlan): ServiceEntry | undefined {
  return entries.find(
    (e) =>
      e.spec?.hosts?.some((h) => h.startsWith(`${link.to}.`)) &&
      e.spec.ports?.some((p) => p.number === link.port) &&
      (e.spec.endpoints?.length ?? 0) > 0,
  );
}

/** What carries a link: the mesh's gateway it goes through, or its NetworkPolicy rules, or the plan's note. */
function carrierOf(
  link: LinkPlan,
  to: GraphPackage | undefined,
  objects: readonly NetworkObject[],
  entries: readonly ServiceEntry[],
): string {
  if (!link.meshed) return `NetworkPolicy only (${link.protocol}: the mesh cannot carry it)`;
  const kinds = [...new Set(objects.filter((o) => o.link === link.link).map((o) => o.kind))].join(", ");
  if (link.placement === "intra-edge") return `the mesh on ${link.edges.join(", ")} (${kinds})`;
  const entry = link.placement === "external" ? undefined : routeOf(entries, link);
  const endpoint = entry?.spec?.endpoints?.[0];
  if (!endpoint?.address) return link.note || kinds || "-";
  const port = Object.values(endpoint.ports ?? {})[0];
  // The gateway is the provider's edge's (inter-edge) or the peer domain's (cross-domain, from its offer).
  const owner = link.placement === "cross-domain" ? (to?.domain ?? link.to) : (to?.edge ?? link.to);
  const identity = entry?.spec?.subjectAltNames?.[0];
  return `${owner}'s east-west gateway ${endpoint.address}${port ? `:${port}` : ""}${identity ? ` (mTLS to ${identity})` : ""}`;
}

/** Where a link's ends run, e.g. `edge-1`, `edge-1 → edge-2`, `edge-1 → domain-y/edge-3`. */
function routeText(from: GraphPackage | undefined, to: GraphPackage | undefined, link: LinkPlan): string {
  const at = (p: GraphPackage | undefined, other: GraphPackage | undefined) =>
    !p ? link.to : p.domain !== other?.domain ? `${p.domain}/${p.edge || "?"}` : p.edge || "?";
  if (link.placement === "intra-edge") return at(from, to);
  if (link.placement === "cross-domain") return `${from?.edge || "?"} → ${at(to, from)}`;
  return `${at(from, to)} → ${at(to, from)}`;
}

/**
 * Reads where each package of a deployed chain runs and how each of its links is wired, from the origin, its
 * peers and its edges.
 */
export async function readChainSummary(options: ChainSummaryOptions): Promise<ChainSummary> {
  const origin = agentOf(options, options.origin);
  const [{ graph, segments }, { plan }] = await Promise.all([
    readPlacement(options),
    origin.client.planIntent({ intent: intentToMessage(options.intent) }, callOptions(origin, options.timeoutMs)),
  ]);
  if (!plan) throw new Error(`${options.origin} answered PlanIntent without a plan`);
  const pkg = new Map(graph.packages.map((p) => [p.name, p]));
  const links: SummaryLink[] = [];
  for (const l of plan.links) {
    const from = pkg.get(l.from);
    const to = pkg.get(l.to);
    const edgeUrl = from?.edge ? options.edges.get(from.edge) : undefined;
    const entries =
      edgeUrl && l.placement !== "intra-edge" ? await serviceEntries(edgeUrl, plan.intent, options.timeoutMs) : [];
    links.push({ plan: l, route: routeText(from, to, l), carrier: carrierOf(l, to, plan.networkObjects, entries) });
  }
  return { graph, links, segments };
}

/** Pads every column of `rows` but the last to its widest cell. */
function columns(rows: readonly string[][], indent: string): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((r) =>
    (indent + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join("  ")).trimEnd(),
  );
}

/** A package's row: its edge (on its edge's first row only), name, blueprint, wave and state. */
function packageRow(p: GraphPackage, first: boolean): string[] {
  return [first ? p.edge || "(no edge)" : "", p.name, p.blueprint, `wave ${p.wave}`, p.state];
}

/**
 * The summary as text: packages grouped by domain and edge (each with its blueprint, wave and state, and the
 * segment a peer runs them in), then every link with its ports, placement, the edges it joins and what carries it.
 */
export function renderChainSummary(summary: ChainSummary): string {
  const { graph } = summary;
  const pkg = new Map(graph.packages.map((p) => [p.name, p]));
  const groups = graph.domains.map((d) => ({
    domain: d.domain,
    rows: [
      ...d.edges.flatMap((e) => e.packages.map((name, i) => packageRow(pkg.get(name) as GraphPackage, i === 0))),
      ...d.unplaced.map((name, i) => packageRow(pkg.get(name) as GraphPackage, i === 0)),
    ],
  }));
  const lines = columns(
    groups.flatMap((g) => g.rows),
    "    ",
  );
  const where: string[] = [];
  for (const g of groups) {
    const segment = summary.segments.find((s) => s.domain === g.domain);
    where.push(
      `  ${g.domain}${segment ? `  (segment ${segment.id}, run there as deployment ${segment.namespace})` : ""}`,
    );
    where.push(...lines.splice(0, g.rows.length));
  }
  const how = summary.links.map((l) => [
    `${l.plan.from} → ${l.plan.to}`,
    `${l.plan.port}/${l.plan.protocol}`,
    l.plan.placement,
    l.route,
    l.carrier,
  ]);
  return [`Where ${graph.intent} runs:`, ...where, "How its links are wired:", ...columns(how, "  ")].join("\n");
}
