/**
 * The graph model of a chain: its packages grouped by domain and edge, its external endpoints, and its links,
 * each classified by where its two ends were placed. Built from a validated intent and a placement (a plan's, or
 * a deployment's) and, for a deployment, every package's state. Pure: the renderers (DOT, Mermaid, SVG) all
 * start from this model, so they draw the same chain.
 */
import type { Intent } from "../intent/model.js";

/**
 * Where the two ends of a link run, as the Network Manager tells links apart (docs/network.md):
 * `intra-edge` (one edge), `inter-edge` (two edges of one domain), `cross-domain` (two domains), `external` (an
 * endpoint outside CAMINO), and `unplaced` when an end has no edge yet in the same domain (a package
 * placement could not place, or two packages of a peer domain, whose edges the peer chooses).
 */
export type LinkKind = "intra-edge" | "inter-edge" | "cross-domain" | "external" | "unplaced";

/** Every link kind, in the order a legend lists them. */
export const LINK_KINDS: readonly LinkKind[] = ["intra-edge", "inter-edge", "cross-domain", "external", "unplaced"];

/**
 * What a package's colour says: a deployment state (`READY`, `FAILED`, … as `camino intent get` prints them),
 * or, for a plan, `PLANNED` (admitted) or `NOT_ADMITTED`; `UNKNOWN` when a deployment has no record of it.
 */
export type PackageState = string;

/** Where a package was placed: its domain and, when known, its edge. */
export interface PackagePlacement {
  package: string;
  domain: string;
  /** Empty or absent when the package has no edge (not placed, or in a peer domain). */
  edge?: string;
}

export interface GraphPackage {
  name: string;
  blueprint: string;
  /** Deployment wave, 1..n. */
  wave: number;
  /** Position in deployment order, 0..n-1. */
  order: number;
  /** The packages it waits for (`after`). */
  after: readonly string[];
  domain: string;
  /** Empty when the package has no edge. */
  edge: string;
  state: PackageState;
}

/** An endpoint outside CAMINO that a link calls. */
export interface GraphExternal {
  /** Stable id, `external:<host>:<port>`. */
  id: string;
  host: string;
  port: number;
  /** The latest wave of the packages that call it, so it is drawn to their right. */
  wave: number;
}

export interface GraphLink {
  /** `link-<i>`, i its position in `spec.links`. */
  id: string;
  from: string;
  /** A package name, or a {@link GraphExternal} id. */
  to: string;
  kind: LinkKind;
  port: number;
  protocol: string;
  /** What the picture writes on it, e.g. `inter-edge 5201/tcp`. */
  label: string;
}

/** An edge of a domain, with the packages it hosts in deployment order. */
export interface EdgeGroup {
  edge: string;
  packages: readonly string[];
}

/** A domain, its edges (by name) and the packages it holds without an edge. */
export interface DomainGroup {
  domain: string;
  edges: readonly EdgeGroup[];
  unplaced: readonly string[];
}

export interface ChainGraph {
  intent: string;
  /** `plan` (an intent file planned by the agent) or `deployment` (a deployed intent). */
  source: "plan" | "deployment";
  /** In deployment order. */
  packages: readonly GraphPackage[];
  externals: readonly GraphExternal[];
  /** In `spec.links` order. */
  links: readonly GraphLink[];
  /** Domains by name, each with its edges by name. */
  domains: readonly DomainGroup[];
  /** Number of deployment waves. */
  waves: number;
}

export interface ChainGraphOptions {
  intent: Intent;
  /** One entry per package; a package without one is drawn in domain `?` with no edge. */
  placements: readonly PackagePlacement[];
  /** Package → its state; absent or missing packages are `UNKNOWN` for a deployment. */
  states?: ReadonlyMap<string, PackageState>;
  source: ChainGraph["source"];
}

/**
 * The kind of a link between two placed packages.
 * @example classifyLink({ domain: "x", edge: "e1" }, { domain: "x", edge: "e2" }) // "inter-edge"
 */
export function classifyLink(
  from: { domain: string; edge?: string | undefined },
  to: { domain: string; edge?: string | undefined },
): Exclude<LinkKind, "external"> {
  if (from.domain !== to.domain) return "cross-domain";
  if (!from.edge || !to.edge) return "unplaced";
  return from.edge === to.edge ? "intra-edge" : "inter-edge";
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Builds the graph model of a chain. Pure: the same inputs always give the same model. */
export function buildChainGraph(options: ChainGraphOptions): ChainGraph {
  const { intent } = options;
  const placement = new Map(options.placements.map((p) => [p.package, p]));
  const waveOf = new Map(intent.waves.flatMap((w, i) => w.map((name) => [name, i + 1] as const)));
  const orderOf = new Map(intent.order.map((name, i) => [name, i] as const));
  const spec = new Map(intent.packages.map((p) => [p.name, p]));
  const packages: GraphPackage[] = intent.order.map((name) => {
    const p = placement.get(name);
    const state = options.states?.get(name) ?? (options.source === "deployment" ? "UNKNOWN" : "PLANNED");
    return {
      name,
      blueprint: spec.get(name)?.blueprint ?? "",
      wave: waveOf.get(name) ?? 1,
      order: orderOf.get(name) ?? 0,
      after: spec.get(name)?.after ?? [],
      domain: p?.domain || "?",
      edge: p?.edge ?? "",
      state,
    };
  });
  const pkg = new Map(packages.map((p) => [p.name, p]));

  const externals = new Map<string, GraphExternal>();
  const links: GraphLink[] = intent.links.map((l, i) => {
    const from = pkg.get(l.from) as GraphPackage;
    let to: string;
    let kind: LinkKind;
    if (l.to !== undefined) {
      to = l.to;
      kind = classifyLink(from, pkg.get(l.to) as GraphPackage);
    } else {
      const host = l.external?.host ?? "";
      const port = l.external?.port ?? l.port;
      to = `external:${host}:${port}`;
      kind = "external";
      const known = externals.get(to);
      externals.set(to, { id: to, host, port, wave: Math.max(known?.wave ?? 0, from.wave) });
    }
    return {
      id: `link-${i}`,
      from: l.from,
      to,
      kind,
      port: l.port,
      protocol: l.protocol,
      label: `${kind} ${l.port}/${l.protocol}`,
    };
  });

  const domains = [...new Set(packages.map((p) => p.domain))].sort(byName).map((domain): DomainGroup => {
    const inDomain = packages.filter((p) => p.domain === domain);
    return {
      domain,
      edges: [...new Set(inDomain.filter((p) => p.edge).map((p) => p.edge))].sort(byName).map((edge) => ({
        edge,
        packages: inDomain.filter((p) => p.edge === edge).map((p) => p.name),
      })),
      unplaced: inDomain.filter((p) => !p.edge).map((p) => p.name),
    };
  });

  return {
    intent: intent.name,
    source: options.source,
    packages,
    externals: [...externals.values()].sort((a, b) => byName(a.id, b.id)),
    links,
    domains,
    waves: intent.waves.length,
  };
}
