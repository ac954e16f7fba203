/**
 * Placement benchmark: 10,000 packages over 1,000 edges, one placePackages call per intent of 4 packages, the
 * free amounts carried from intent to intent so the edges fill up (70% automatic, 20% edgeSelector on one of 5
 * zones, 10% an explicit edge; the packages of an intent linked in a chain). Beside it, in the same run, a
 * naive peer: first fit, scanning the edges in name order. Edges and packages are pseudo-random from a seed,
 * so every run places the same work.
 *
 * Per-package time is the time of the call divided by its packages. Memory is the heap the run keeps (every
 * decision, and the edges as they end up), measured after a full GC (run with --expose-gc).
 */
import {
  afterPlacing,
  fits,
  placePackages,
  type EdgeState,
  type PackageToPlace,
  type PlacementResult,
} from "../agent/orchestration/placement.js";
import { summarise, type Summary } from "./stats.js";

export interface PlacementRun {
  /** Per package, in milliseconds: one sample per call, its time over its packages. */
  perPackage: Summary;
  /** Per call (one intent of 4 packages). */
  perIntent: Summary;
  /** The whole run (median over rounds), placement calls only. */
  totalMs: number;
  placed: number;
  refused: number;
  /** Share of linked pairs, both placed, that ended on the same edge. */
  colocated: number;
}

export interface PlacementFigures {
  edges: number;
  packages: number;
  rounds: number;
  camino: PlacementRun;
  naive: PlacementRun;
  /** CAMINO p99 per package / the naive peer's. */
  p99Ratio: number;
  /** Heap kept by one run of CAMINO's placement, MiB (approximate without --expose-gc). */
  heapMiB: number;
}

export interface PlacementBenchOptions {
  /** Edges in the domain; 1,000 unless given. */
  edges?: number;
  /** Packages placed, in intents of 4; 10,000 unless given. */
  packages?: number;
  /** Alternating rounds of both placers (latencies pooled); 3 unless given. */
  rounds?: number;
  seed?: number;
}

type Place = (packages: readonly PackageToPlace[], edges: readonly EdgeState[]) => PlacementResult;

const GROUP = 4;
const Gi = 2 ** 30;
const Mi = 2 ** 20;

function random(seed: number): () => number {
  let x = seed;
  return () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
}

/** Edges named in name order, 2–5 nodes of 4–16 cores and 8–64 GiB each, 0–30% already requested. */
function makeEdges(n: number, rand: () => number): EdgeState[] {
  return Array.from({ length: n }, (_, i) => {
    const nodes = 2 + Math.floor(rand() * 4);
    const allocatable = { cpuMillis: 0, memoryBytes: 0, pods: 110 * nodes };
    const nodeFree = Array.from({ length: nodes }, () => {
      const cpu = (4 + Math.floor(rand() * 13)) * 1000;
      const memory = (8 + Math.floor(rand() * 57)) * Gi;
      allocatable.cpuMillis += cpu;
      allocatable.memoryBytes += memory;
      const used = rand() * 0.3;
      return { cpuMillis: Math.floor(cpu * (1 - used)), memoryBytes: Math.floor(memory * (1 - used)) };
    });
    const free = {
      cpuMillis: nodeFree.reduce((s, x) => s + x.cpuMillis, 0),
      memoryBytes: nodeFree.reduce((s, x) => s + x.memoryBytes, 0),
      pods: allocatable.pods - Math.floor(rand() * 20 * nodes),
    };
    return {
      name: `edge-${String(i).padStart(4, "0")}`,
      labels: { zone: `zone-${Math.floor(rand() * 5)}` },
      healthy: rand() >= 0.01,
      allocatable,
      free,
      nodeFree,
    };
  });
}

/** Intents of 4 packages: 1–4 equal pods of 100m–2.5 CPU and 128Mi–4Gi each, linked in a chain. */
function makeIntents(packages: number, edges: number, rand: () => number): PackageToPlace[][] {
  const intents: PackageToPlace[][] = [];
  for (let first = 0; first < packages; first += GROUP) {
    const names = Array.from({ length: Math.min(GROUP, packages - first) }, (_, k) => `p${first + k}`);
    intents.push(
      names.map((name, k) => {
        const kind = rand();
        const request: PackageToPlace["request"] =
          kind < 0.7
            ? { kind: "auto" }
            : kind < 0.9
              ? { kind: "selector", selector: { zone: `zone-${Math.floor(rand() * 5)}` } }
              : { kind: "edge", edge: `edge-${String(Math.floor(rand() * edges)).padStart(4, "0")}` };
        const pods = 1 + Math.floor(rand() * 4);
        const pod = {
          cpuMillis: 100 + Math.floor(rand() * 49) * 50,
          memoryBytes: (1 + Math.floor(rand() * 32)) * 128 * Mi,
        };
        const linked = [names[k - 1], names[k + 1]].filter((x): x is string => x !== undefined);
        return {
          name,
          index: k,
          request,
          demand: {
            total: { cpuMillis: pod.cpuMillis * pods, memoryBytes: pod.memoryBytes * pods, pods },
            largestPod: pod,
          },
          linked,
        };
      }),
    );
  }
  return intents;
}

/** The peer: for each package the first healthy edge in name order that is allowed and fits. */
const naivePlace: Place = (packages, edges) => {
  const working = new Map<number, EdgeState>();
  const result: PlacementResult = { decisions: [], issues: [] };
  for (const p of packages) {
    const r = p.request;
    const pairs = r.kind === "selector" ? Object.entries(r.selector) : [];
    let chosen = -1;
    for (let i = 0; i < edges.length; i++) {
      const e = working.get(i) ?? (edges[i] as EdgeState);
      if (r.kind === "edge" && e.name !== r.edge) continue;
      if (e.healthy && pairs.every(([k, v]) => e.labels[k] === v) && fits(p.demand, e)) chosen = i;
      if (chosen >= 0 || r.kind === "edge") break;
    }
    if (chosen < 0) {
      result.issues.push({ path: `spec.packages[${p.index}].placement`, message: "no edge" });
      continue;
    }
    const e = working.get(chosen) ?? (edges[chosen] as EdgeState);
    working.set(chosen, afterPlacing(p.demand, e));
    result.decisions.push({ package: p.name, edge: e.name, reason: "first fit" });
  }
  return result;
};

/** One pass over every intent: times each call, then carries what it placed into the edges for the next. */
function run(
  place: Place,
  start: readonly EdgeState[],
  intents: readonly PackageToPlace[][],
): { perIntentMs: number[]; decisions: PlacementResult["decisions"][]; edges: EdgeState[] } {
  const edges = [...start];
  const index = new Map(edges.map((e, i) => [e.name, i]));
  const perIntentMs: number[] = [];
  const decisions: PlacementResult["decisions"][] = [];
  for (const intent of intents) {
    const t = performance.now();
    const r = place(intent, edges);
    perIntentMs.push(performance.now() - t);
    decisions.push(r.decisions);
    const byName = new Map(intent.map((p) => [p.name, p]));
    for (const d of r.decisions) {
      const i = index.get(d.edge) as number;
      edges[i] = afterPlacing((byName.get(d.package) as PackageToPlace).demand, edges[i] as EdgeState);
    }
  }
  return { perIntentMs, decisions, edges };
}

function colocation(intents: readonly PackageToPlace[][], decisions: readonly PlacementResult["decisions"][]): number {
  let pairs = 0;
  let together = 0;
  intents.forEach((intent, k) => {
    const on = new Map((decisions[k] ?? []).map((d) => [d.package, d.edge]));
    for (let j = 1; j < intent.length; j++) {
      const a = on.get((intent[j - 1] as PackageToPlace).name);
      const b = on.get((intent[j] as PackageToPlace).name);
      if (a === undefined || b === undefined) continue;
      pairs++;
      if (a === b) together++;
    }
  });
  return pairs === 0 ? 0 : together / pairs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export function runPlacementBenchmark(options: PlacementBenchOptions = {}): PlacementFigures {
  const edgeCount = options.edges ?? 1000;
  const packageCount = options.packages ?? 10_000;
  const rounds = options.rounds ?? 3;
  const rand = random(options.seed ?? 7);
  const edges = makeEdges(edgeCount, rand);
  const intents = makeIntents(packageCount, edgeCount, rand);

  // Warm both up on the first tenth of the work, so the JIT is not what the first calls measure.
  run(placePackages, edges, intents.slice(0, Math.ceil(intents.length / 10)));
  run(naivePlace, edges, intents.slice(0, Math.ceil(intents.length / 10)));

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const kept = run(placePackages, edges, intents);
  gc?.();
  const heapMiB = (process.memoryUsage().heapUsed - before) / Mi;
  // Read after the measurement, so the run is still reachable when it is taken.
  if (kept.decisions.length !== intents.length) throw new Error("placement benchmark: a call's result went missing");

  const measure = (place: Place) => ({
    perIntent: [] as number[],
    perPackage: [] as number[],
    totals: [] as number[],
    last: undefined as ReturnType<typeof run> | undefined,
    place,
  });
  const ours = measure(placePackages);
  const peer = measure(naivePlace);
  for (let round = 0; round < rounds; round++) {
    for (const m of round % 2 === 0 ? [ours, peer] : [peer, ours]) {
      const r = run(m.place, edges, intents);
      m.perIntent.push(...r.perIntentMs);
      r.perIntentMs.forEach((ms, k) => {
        m.perPackage.push(ms / (intents[k] as PackageToPlace[]).length);
      });
      m.totals.push(r.perIntentMs.reduce((s, x) => s + x, 0));
      m.last = r;
    }
  }
  const figures = (m: typeof ours): PlacementRun => {
    const last = m.last as ReturnType<typeof run>;
    const placed = last.decisions.reduce((s, d) => s + d.length, 0);
    const totalMs = median(m.totals);
    return {
      perPackage: summarise(m.perPackage, totalMs * rounds),
      perIntent: summarise(m.perIntent, totalMs * rounds),
      totalMs,
      placed,
      refused: packageCount - placed,
      colocated: colocation(intents, last.decisions),
    };
  };
  const camino = figures(ours);
  const naive = figures(peer);
  return {
    edges: edgeCount,
    packages: packageCount,
    rounds,
    camino,
    naive,
    p99Ratio: camino.perPackage.p99Ms / naive.perPackage.p99Ms,
    heapMiB,
  };
}

/** The figures as a few lines of text for the benchmark report. */
export function formatPlacementFigures(f: PlacementFigures): string {
  const us = (ms: number) => (ms * 1000).toFixed(1).padStart(8);
  const row = (name: string, r: PlacementRun) =>
    [
      name.padEnd(34),
      us(r.perPackage.p50Ms),
      us(r.perPackage.p99Ms),
      us(r.perIntent.p99Ms),
      r.totalMs.toFixed(1).padStart(9),
      String(r.placed).padStart(7),
      String(r.refused).padStart(8),
      `${(r.colocated * 100).toFixed(0)}%`.padStart(11),
    ].join("  ");
  return [
    `Placement: ${f.packages} packages in intents of ${GROUP} over ${f.edges} edges, free carried across intents (${f.rounds} rounds, latencies pooled)`,
    [
      "placer".padEnd(34),
      "p50 µs".padStart(8),
      "p99 µs".padStart(8),
      "call p99".padStart(8),
      "total ms".padStart(9),
      "placed".padStart(7),
      "refused".padStart(8),
      "co-located".padStart(11),
    ].join("  "),
    row("CAMINO (co-location, least loaded)", f.camino),
    row("peer: first fit in name order", f.naive),
    `p99 per package vs peer: ${f.p99Ratio.toFixed(2)}x; heap kept by one run: ${f.heapMiB.toFixed(1)} MiB${(globalThis as { gc?: unknown }).gc ? "" : " (without --expose-gc: approximate)"}`,
  ].join("\n");
}
