/**
 * Placement (service brokering): the edge each package of an intent runs on. A pure function of the packages
 * and a snapshot of the edges — no I/O, no clock, no randomness — so the same input always gives the same
 * decisions, and a plan can be explained and replayed.
 *
 * The policy, a stated deterministic one:
 *  - Packages are placed one after the other in the order given (the caller passes deployment order). Each
 *    decision consumes what it places from a working copy of the edges (the inputs are never changed), so a
 *    later package of the same intent sees what the earlier ones took. A package that gets an issue gets no
 *    decision and consumes nothing; every issue is collected, placement never stops at the first.
 *  - A package fits an edge when its total CPU, memory and pods are at most the edge's free amounts, and its
 *    pods can be packed onto the edge's ready nodes by first fit: the largest pod first, then the other
 *    `pods - 1` pods, each taken as the average of what is left of the total (rounded up), node by node in the
 *    order given. Placing the package takes those pods from the nodes' free amounts too.
 *  - `edge`: that edge, or an issue — unknown (the known edges are listed), unhealthy (with its reason), or
 *    not enough room. An explicit placement is never moved to another edge.
 *  - `selector`: the healthy edges whose labels include every pair of the selector, then the automatic
 *    policy among them; an issue when no healthy edge matches, or when none of those that match has room.
 *  - `auto`: among the healthy edges (the candidates),
 *    1. co-location: if a package linked to this one (either direction) was already placed on a candidate
 *       where this one fits, that edge — the one holding the most linked packages, then the least loaded,
 *       then the first by name;
 *    2. otherwise the least loaded fitting candidate, where load = max(CPU used, memory used) as fractions
 *       of allocatable after placing the package (used = allocatable - free + demand); ties go to the first
 *       edge name (code-unit order, not locale);
 *    3. otherwise an issue giving the demand and the edge closest to having room (the one that could hold
 *       the largest share of the demand in its tightest dimension).
 *    Co-location looks only at packages placed earlier in the same call.
 *  - A decision's reason says which rule chose the edge; an issue's path is the field to change
 *    (`spec.packages[i].placement.edge`, `.placement.edgeSelector`, `.placement` or `.resources`).
 *
 * Cost: nothing is copied per call; the edges are read in place, and an edge gets a working copy only when a
 * package is placed on it. Per package, one pass over the candidates that reads only the edge's free totals
 * and allocatable, and its nodes only when the edge has room and could be the least loaded so far. Selector
 * candidates are found once per distinct selector per call.
 */
import type { FieldIssue } from "../errors.js";
import type { PlacementRequest as IntentPlacementRequest } from "../intent/model.js";

/** CPU, memory and pods: an edge's allocatable or free amounts, or what a package asks for. */
export interface Amount {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

/** CPU and memory of one pod, or free on one node. */
export interface PodAmount {
  cpuMillis: number;
  memoryBytes: number;
}

/** What a package asks for: totals over all its pods, and its largest single pod (which must fit on one node). */
export interface Demand {
  total: Amount;
  largestPod: PodAmount;
}

/** Free CPU and memory on one ready node, named when it came from a capacity reading. */
export interface NodeRoom extends PodAmount {
  name?: string;
}

/** One edge as placement sees it, taken by the caller from capacity readings and reservations. */
export interface EdgeState {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Unhealthy edges are never chosen (explicit placement on one gives an issue). */
  healthy: boolean;
  /** Why the edge is unhealthy ("capacity not read yet"), named in issues. */
  reason?: string;
  /** Allocatable of ready nodes (totals). */
  allocatable: Amount;
  /** Free = allocatable - observed requests - reservations of intents in flight (caller computes). */
  free: Amount;
  /** Free cpu/memory per ready node: after observed requests and the pods other intents have booked there. */
  nodeFree: readonly NodeRoom[];
}

/** Where a package asked to run, peer domains aside (those are not placed on this domain's edges). */
export type PlacementRequest = Exclude<IntentPlacementRequest, { kind: "domain" }>;

export interface PackageToPlace {
  name: string;
  /** Position in spec.packages, used in field paths: spec.packages[index].placement... */
  index: number;
  request: PlacementRequest;
  demand: Demand;
  /** Names of packages linked to this one (either direction) — co-location candidates. */
  linked: readonly string[];
}

export interface PlacementDecision {
  package: string;
  edge: string;
  /** Why this edge, for people: "placement.edge", "co-located with db", "least loaded fitting edge of 3 healthy edges (…)". */
  reason: string;
}

export interface PlacementResult {
  /** One per placed package, in the order the packages were given. */
  decisions: PlacementDecision[];
  /** One per package that could not be placed, in the same order. */
  issues: FieldIssue[];
}

const UNITS: readonly [number, string][] = [
  [2 ** 40, "Ti"],
  [2 ** 30, "Gi"],
  [2 ** 20, "Mi"],
  [2 ** 10, "Ki"],
];

/**
 * CPU and memory as people read them in Kubernetes: whole cores or millicores, binary units when exact.
 * @example formatAmount({ cpuMillis: 500, memoryBytes: 256 * 2 ** 20 }) // "500m CPU, 256Mi memory"
 * @example formatAmount({ cpuMillis: 2000, memoryBytes: 1000 }) // "2 CPU, 1000 memory"
 */
export function formatAmount(a: PodAmount): string {
  const cpu = Math.round(a.cpuMillis);
  const bytes = Math.round(a.memoryBytes);
  const unit = bytes === 0 ? undefined : UNITS.find(([size]) => bytes % size === 0);
  const memory = unit ? `${bytes / unit[0]}${unit[1]}` : String(bytes);
  return `${cpu % 1000 === 0 ? String(cpu / 1000) : `${cpu}m`} CPU, ${memory} memory`;
}

/** A demand prepared for packing: the largest pod, then `rest` pods of `restCpu`/`restMemory` each. */
interface Need {
  demand: Demand;
  cpu: number;
  memory: number;
  pods: number;
  bigCpu: number;
  bigMemory: number;
  rest: number;
  restCpu: number;
  restMemory: number;
}

function need(demand: Demand): Need {
  const { total, largestPod } = demand;
  const rest = Math.max(0, total.pods - 1);
  const each = (all: number, largest: number) => (rest === 0 ? 0 : Math.ceil(Math.max(0, all - largest) / rest));
  return {
    demand,
    cpu: total.cpuMillis,
    memory: total.memoryBytes,
    pods: total.pods,
    bigCpu: largestPod.cpuMillis,
    bigMemory: largestPod.memoryBytes,
    rest,
    restCpu: each(total.cpuMillis, largestPod.cpuMillis),
    restMemory: each(total.memoryBytes, largestPod.memoryBytes),
  };
}

const hasRoom = (free: Amount, n: Need) =>
  n.cpu <= free.cpuMillis && n.memory <= free.memoryBytes && n.pods <= free.pods;
const perNode = (free: number, size: number) => (size > 0 ? Math.max(0, Math.floor(free / size)) : Infinity);

/**
 * First fit of a package's pods onto nodes. With `take`, the nodes are the caller's own copies and the pods
 * are taken from them; without, nothing changes.
 */
function packPods(n: Need, nodes: readonly PodAmount[], take: boolean): boolean {
  if (n.pods <= 0) return true;
  let first = -1;
  for (let j = 0; j < nodes.length; j++) {
    const node = nodes[j] as PodAmount;
    if (node.cpuMillis >= n.bigCpu && node.memoryBytes >= n.bigMemory) {
      first = j;
      break;
    }
  }
  if (first < 0) return false;
  if (take) {
    const node = nodes[first] as PodAmount;
    node.cpuMillis -= n.bigCpu;
    node.memoryBytes -= n.bigMemory;
  }
  let left = n.rest;
  for (let j = 0; j < nodes.length && left > 0; j++) {
    const node = nodes[j] as PodAmount;
    const held = !take && j === first;
    const cpu = held ? node.cpuMillis - n.bigCpu : node.cpuMillis;
    const memory = held ? node.memoryBytes - n.bigMemory : node.memoryBytes;
    const k = Math.min(left, perNode(cpu, n.restCpu), perNode(memory, n.restMemory));
    if (take && k > 0) {
      node.cpuMillis -= k * n.restCpu;
      node.memoryBytes -= k * n.restMemory;
    }
    left -= k;
  }
  return left <= 0;
}

/**
 * Whether a package fits an edge: its totals within the edge's free amounts, and its pods packed onto the
 * edge's nodes by first fit (see the module comment). Pass the edge with what earlier decisions took already
 * taken from `free`.
 */
export function fits(d: Demand, e: EdgeState): boolean {
  const n = need(d);
  return hasRoom(e.free, n) && packPods(n, e.nodeFree, false);
}

/**
 * The edge after placing a package that fits it: free totals reduced, and the pods taken from the nodes by the
 * same first fit as {@link fits} — what {@link placePackages} does to its working copy. For callers that carry
 * free amounts from one call to the next. The edge given is not changed.
 */
export function afterPlacing(d: Demand, e: EdgeState): EdgeState {
  const t = d.total;
  const nodeFree = e.nodeFree.map((x) => ({ ...x }));
  packPods(need(d), nodeFree, true);
  return {
    ...e,
    free: {
      cpuMillis: e.free.cpuMillis - t.cpuMillis,
      memoryBytes: e.free.memoryBytes - t.memoryBytes,
      pods: e.free.pods - t.pods,
    },
    nodeFree,
  };
}

const fraction = (used: number, allocatable: number) =>
  allocatable > 0 ? used / allocatable : used > 0 ? Infinity : 0;
const percent = (f: number) => (Number.isFinite(f) ? `${Math.round(f * 100)}%` : "over 100%");

/** CPU and memory used after placing, as fractions of allocatable. */
function usedAfter(allocatable: Amount, free: Amount, n: Need): { cpu: number; memory: number } {
  return {
    cpu: fraction(allocatable.cpuMillis - free.cpuMillis + n.cpu, allocatable.cpuMillis),
    memory: fraction(allocatable.memoryBytes - free.memoryBytes + n.memory, allocatable.memoryBytes),
  };
}

/** The load after placing: the larger of the CPU and memory fractions used. */
function loadAfter(allocatable: Amount, free: Amount, n: Need): number {
  const cpu = fraction(allocatable.cpuMillis - free.cpuMillis + n.cpu, allocatable.cpuMillis);
  const memory = fraction(allocatable.memoryBytes - free.memoryBytes + n.memory, allocatable.memoryBytes);
  return Math.max(cpu, memory);
}

/** What one call has taken from an edge so far. */
interface Working {
  free: Amount;
  nodes: PodAmount[];
}

/**
 * The edges as one call sees them: the caller's snapshot, read in place, and a working copy of each edge
 * something was taken from. Nothing is copied per call beyond those, so a call costs what its packages scan.
 */
class Ledger {
  readonly edges: readonly EdgeState[];
  readonly #working = new Map<number, Working>();
  /** The indices in `#working`, ascending, so a pass over the edges in index order finds them without a lookup. */
  readonly #touched: number[] = [];

  constructor(edges: readonly EdgeState[]) {
    this.edges = edges;
  }

  name(i: number): string {
    return (this.edges[i] as EdgeState).name;
  }

  free(i: number): Amount {
    return this.#working.get(i)?.free ?? (this.edges[i] as EdgeState).free;
  }

  nodes(i: number): readonly PodAmount[] {
    return this.#working.get(i)?.nodes ?? (this.edges[i] as EdgeState).nodeFree;
  }

  /** Whether anything was taken from the edge in this call. */
  touched(i: number): boolean {
    return this.#working.has(i);
  }

  fits(i: number, n: Need): boolean {
    return hasRoom(this.free(i), n) && packPods(n, this.nodes(i), false);
  }

  loadAfter(i: number, n: Need): number {
    return loadAfter((this.edges[i] as EdgeState).allocatable, this.free(i), n);
  }

  usedAfter(i: number, n: Need): { cpu: number; memory: number } {
    return usedAfter((this.edges[i] as EdgeState).allocatable, this.free(i), n);
  }

  /**
   * The least loaded edge the package fits among the candidates (indices ascending, all healthy), or among
   * all healthy edges when there is no list; -1 when none fits. `count` is how many candidates there were.
   * The hot loop of placement, one pass: an edge whose load would be higher than the best so far is passed
   * over before its nodes are read.
   */
  leastLoaded(n: Need, candidates?: readonly number[]): { best: number; count: number } {
    const edges = this.edges;
    const touched = this.#touched;
    const total = candidates ? candidates.length : edges.length;
    let best = -1;
    let bestLoad = Infinity;
    let count = 0;
    let t = 0;
    for (let k = 0; k < total; k++) {
      const i = candidates ? (candidates[k] as number) : k;
      const e = edges[i] as EdgeState;
      if (!e.healthy) continue;
      count++;
      let free = e.free;
      let nodes = e.nodeFree;
      while (t < touched.length && (touched[t] as number) < i) t++;
      if (touched[t] === i) ({ free, nodes } = this.#working.get(i) as Working);
      if (!hasRoom(free, n)) continue;
      const load = loadAfter(e.allocatable, free, n);
      if (load > bestLoad || !packPods(n, nodes, false)) continue;
      if (best < 0 || load < bestLoad || e.name < (edges[best] as EdgeState).name) {
        best = i;
        bestLoad = load;
      }
    }
    return { best, count };
  }

  /**
   * The candidate closest to having room for the package (as {@link leastLoaded}, every healthy edge without
   * a list): the one that could hold the largest share of the demand in its tightest dimension, the first by
   * name on ties; -1 when there is no candidate. For the issue when none fits.
   */
  closest(n: Need, candidates?: readonly number[]): { best: number; count: number } {
    const edges = this.edges;
    const touched = this.#touched;
    const total = candidates ? candidates.length : edges.length;
    const share = (free: number, needed: number) => (needed > 0 ? free / needed : Infinity);
    let best = -1;
    let bestRoom = -Infinity;
    let count = 0;
    let t = 0;
    for (let k = 0; k < total; k++) {
      const i = candidates ? (candidates[k] as number) : k;
      const e = edges[i] as EdgeState;
      if (!e.healthy) continue;
      count++;
      let free = e.free;
      while (t < touched.length && (touched[t] as number) < i) t++;
      if (touched[t] === i) free = (this.#working.get(i) as Working).free;
      const room = Math.min(share(free.cpuMillis, n.cpu), share(free.memoryBytes, n.memory), share(free.pods, n.pods));
      if (best < 0 || room > bestRoom || (room === bestRoom && e.name < (edges[best] as EdgeState).name)) {
        best = i;
        bestRoom = room;
      }
    }
    return { best, count };
  }

  take(i: number, n: Need): void {
    let w = this.#working.get(i);
    if (!w) {
      const e = this.edges[i] as EdgeState;
      w = {
        free: { ...e.free },
        nodes: e.nodeFree.map((x) => ({ cpuMillis: x.cpuMillis, memoryBytes: x.memoryBytes })),
      };
      this.#working.set(i, w);
      let at = this.#touched.length;
      while (at > 0 && (this.#touched[at - 1] as number) > i) at--;
      this.#touched.splice(at, 0, i);
    }
    w.free.cpuMillis -= n.cpu;
    w.free.memoryBytes -= n.memory;
    w.free.pods -= n.pods;
    packPods(n, w.nodes, true);
  }
}

type Choice = { edge: number; reason: string } | FieldIssue;

/** Why a package fits none of its candidates: what it needs, and what the closest candidate has. */
interface Shortfall {
  /** How many candidates there were. */
  candidates: number;
  needs: string;
  closest: string;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const listed = (names: readonly string[], cap = 10) =>
  names.slice(0, cap).join(", ") + (names.length > cap ? `, … (${names.length} in all)` : "");

/** Places every package of one intent in order; one call is one consistent snapshot of the edges. */
class Placer {
  readonly #ledger: Ledger;
  /** Package name → the edge it was placed on in this call. */
  readonly #placed = new Map<string, number>();
  /** Selector text → the healthy edges matching it. */
  readonly #selected = new Map<string, readonly number[]>();

  constructor(edges: readonly EdgeState[]) {
    this.#ledger = new Ledger(edges);
  }

  place(packages: readonly PackageToPlace[]): PlacementResult {
    const result: PlacementResult = { decisions: [], issues: [] };
    for (const p of packages) {
      const n = need(p.demand);
      const choice = this.#choose(p, n);
      if ("path" in choice) {
        result.issues.push(choice);
        continue;
      }
      this.#ledger.take(choice.edge, n);
      this.#placed.set(p.name, choice.edge);
      result.decisions.push({ package: p.name, edge: this.#ledger.name(choice.edge), reason: choice.reason });
    }
    return result;
  }

  #choose(p: PackageToPlace, n: Need): Choice {
    const at = `spec.packages[${p.index}]`;
    const r = p.request;
    if (r.kind === "edge") return this.#explicit(n, r.edge, at);
    if (r.kind === "selector") {
      const keys = Object.keys(r.selector).sort(byName);
      const text = `{${keys.map((k) => `${k}=${r.selector[k]}`).join(", ")}}`;
      const candidates = this.#matching(text, keys, r.selector);
      if (candidates.length === 0) {
        const down = this.#ledger.edges
          .filter((e) => !e.healthy && matches(e.labels, keys, r.selector))
          .map((e) => e.name);
        return {
          path: `${at}.placement.edgeSelector`,
          message: `no healthy edge matches edgeSelector ${text}${down.length > 0 ? ` (matching but unhealthy: ${listed(down)})` : ""}`,
        };
      }
      const isCandidate = (i: number) =>
        (this.#ledger.edges[i] as EdgeState).healthy &&
        matches((this.#ledger.edges[i] as EdgeState).labels, keys, r.selector);
      const fit = this.#auto(
        p,
        n,
        candidates,
        isCandidate,
        (count) => `${count === 1 ? "edge" : "edges"} matching edgeSelector ${text}`,
      );
      if (fit) return fit;
      const names = Array.from(candidates, (i) => this.#ledger.name(i));
      const s = this.#shortfall(n, candidates) as Shortfall;
      return {
        path: `${at}.resources`,
        message: `needs ${s.needs}; none of the edges matching edgeSelector ${text} has room (${listed(names)}); closest: ${s.closest}`,
      };
    }
    const healthy = (i: number) => (this.#ledger.edges[i] as EdgeState).healthy;
    const fit = this.#auto(p, n, undefined, healthy, (count) => (count === 1 ? "healthy edge" : "healthy edges"));
    if (fit) return fit;
    const s = this.#shortfall(n);
    if (!s) {
      const total = this.#ledger.edges.length;
      return {
        path: `${at}.placement`,
        message: `no healthy edge to place on (${total === 0 ? "the domain has no edge" : `${total} edge${total === 1 ? "" : "s"}, none healthy`})`,
      };
    }
    return {
      path: `${at}.resources`,
      message: `needs ${s.needs}; no healthy edge has room (${s.candidates} healthy); closest: ${s.closest}`,
    };
  }

  #explicit(n: Need, name: string, at: string): Choice {
    const edges = this.#ledger.edges;
    const i = edges.findIndex((e) => e.name === name);
    if (i < 0) {
      const known = edges.map((e) => e.name).sort(byName);
      return {
        path: `${at}.placement.edge`,
        message: `unknown edge ${JSON.stringify(name)} (${known.length === 0 ? "the domain has no edge" : `known: ${listed(known)}`})`,
      };
    }
    const e = edges[i] as EdgeState;
    if (!e.healthy)
      return {
        path: `${at}.placement.edge`,
        message: `edge ${JSON.stringify(name)} is unhealthy (${e.reason ?? "not ready"}); an explicit placement is never moved to another edge`,
      };
    if (!this.#ledger.fits(i, n)) {
      const s = this.#shortfall(n, [i]) as Shortfall;
      return { path: `${at}.resources`, message: `needs ${s.needs}; ${s.closest}` };
    }
    return { edge: i, reason: "placement.edge" };
  }

  /** Healthy edges whose labels include every pair of the selector, found once per selector per call. */
  #matching(text: string, keys: readonly string[], selector: Readonly<Record<string, string>>): readonly number[] {
    let found = this.#selected.get(text);
    if (!found) {
      const out: number[] = [];
      const edges = this.#ledger.edges;
      for (let i = 0; i < edges.length; i++) {
        const e = edges[i] as EdgeState;
        if (e.healthy && matches(e.labels, keys, selector)) out.push(i);
      }
      found = out;
      this.#selected.set(text, found);
    }
    return found;
  }

  /** Co-location, else the least loaded fitting candidate (any healthy edge without a list); undefined when none fits. */
  #auto(
    p: PackageToPlace,
    n: Need,
    candidates: readonly number[] | undefined,
    isCandidate: (i: number) => boolean,
    among: (count: number) => string,
  ): { edge: number; reason: string } | undefined {
    const ledger = this.#ledger;
    if (p.linked.length > 0 && this.#placed.size > 0) {
      const holding = new Map<number, string[]>();
      for (const other of new Set(p.linked)) {
        const i = other === p.name ? undefined : this.#placed.get(other);
        if (i !== undefined) holding.set(i, [...(holding.get(i) ?? []), other]);
      }
      let best = -1;
      let bestCount = 0;
      let bestLoad = Infinity;
      for (const [i, names] of holding) {
        if (!isCandidate(i) || !ledger.fits(i, n)) continue;
        const load = ledger.loadAfter(i, n);
        const better =
          names.length > bestCount ||
          (names.length === bestCount &&
            (load < bestLoad || (load === bestLoad && ledger.name(i) < ledger.name(best))));
        if (best < 0 || better) [best, bestCount, bestLoad] = [i, names.length, load];
      }
      if (best >= 0) return { edge: best, reason: `co-located with ${(holding.get(best) as string[]).join(", ")}` };
    }
    const { best, count } = ledger.leastLoaded(n, candidates);
    if (best < 0) return undefined;
    const used = ledger.usedAfter(best, n);
    const which = count === 1 ? `the only ${among(count)}` : `least loaded fitting edge of ${count} ${among(count)}`;
    return {
      edge: best,
      reason: `${which} (cpu ${percent(used.cpu)}, memory ${percent(used.memory)} after placement)`,
    };
  }

  /**
   * What the package needs, and why the candidate closest to having room does not fit; undefined when there
   * is no candidate.
   */
  #shortfall(n: Need, candidates?: readonly number[]): Shortfall | undefined {
    const ledger = this.#ledger;
    const { best, count } = ledger.closest(n, candidates);
    if (best < 0) return undefined;
    const t = n.demand.total;
    const name = ledger.name(best);
    const f = ledger.free(best);
    const after = ledger.touched(best) ? " after earlier packages of this intent" : "";
    if (!hasRoom(f, n)) {
      const pods = t.pods > f.pods;
      const podCount = (k: number) => `, ${k} pod${k === 1 ? "" : "s"}`;
      return {
        candidates: count,
        needs: formatAmount(t) + (pods ? podCount(t.pods) : ""),
        closest: `${name} has ${formatAmount(f)}${pods ? podCount(f.pods) : ""} free${after}`,
      };
    }
    const nodes = ledger.nodes(best);
    const shown =
      nodes
        .slice(0, 5)
        .map((x) => formatAmount(x))
        .join("; ") + (nodes.length > 5 ? `; … (${nodes.length} nodes)` : "");
    const pods = t.pods === 1 ? "its pod does" : `its ${t.pods} pods (largest ${formatAmount(n.demand.largestPod)}) do`;
    return {
      candidates: count,
      needs: formatAmount(t),
      closest: `${name} has ${formatAmount(f)} free${after} in total, but ${pods} not fit on its nodes (free per node: ${shown || "no ready node"})`,
    };
  }
}

function matches(
  labels: Readonly<Record<string, string>>,
  keys: readonly string[],
  selector: Readonly<Record<string, string>>,
): boolean {
  for (const k of keys) if (labels[k] !== selector[k]) return false;
  return true;
}

/**
 * Places the packages of one intent on the edges, by the policy in the module comment.
 * @param packages in deployment order
 * @param edges a snapshot of the domain's edges; edge names are unique
 * @example
 * placePackages([{ name: "web", index: 0, request: { kind: "auto" }, demand, linked: [] }], edges)
 * // { decisions: [{ package: "web", edge: "edge-2", reason: "least loaded fitting edge of 2 healthy edges (cpu 40%, memory 25% after placement)" }], issues: [] }
 */
export function placePackages(packages: readonly PackageToPlace[], edges: readonly EdgeState[]): PlacementResult {
  return new Placer(edges).place(packages);
}
