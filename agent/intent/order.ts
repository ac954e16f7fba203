/**
 * Ordering of an intent's packages from their `after` lists: waves by longest path (a package's wave is
 * one more than the latest wave it waits for), and a deterministic topological order (by wave, then by
 * position in the document). A cycle is reported naming every package on it.
 */
import { IntentError } from "../errors.js";

/** What ordering needs of a package. */
export interface Orderable {
  readonly name: string;
  /** Position in the document; breaks ties. */
  readonly index: number;
  readonly after: readonly string[];
}

export interface Ordering {
  order: string[];
  waves: string[][];
}

/**
 * Orders packages. Unknown names in `after` must have been rejected before.
 * @throws IntentError with code ERR_INTENT_CYCLE naming the packages on a cycle.
 * @example orderPackages([{name: "a", index: 0, after: []}, {name: "b", index: 1, after: ["a"]}])
 *   // { order: ["a", "b"], waves: [["a"], ["b"]] }
 */
export function orderPackages(packages: readonly Orderable[]): Ordering {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const dependents = new Map<string, string[]>(packages.map((p) => [p.name, []]));
  const pending = new Map<string, number>();
  for (const p of packages) {
    pending.set(p.name, p.after.length);
    for (const dep of p.after) dependents.get(dep)?.push(p.name);
  }
  const wave = new Map<string, number>();
  const ready = packages.filter((p) => p.after.length === 0).map((p) => p.name);
  for (const name of ready) wave.set(name, 0);
  for (let i = 0; i < ready.length; i++) {
    const name = ready[i] as string;
    const w = wave.get(name) as number;
    for (const next of dependents.get(name) ?? []) {
      wave.set(next, Math.max(wave.get(next) ?? 0, w + 1));
      const left = (pending.get(next) as number) - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (ready.length < packages.length) throw cycleError(packages, byName, pending);

  const sorted = [...packages].sort(
    (a, b) => (wave.get(a.name) as number) - (wave.get(b.name) as number) || a.index - b.index,
  );
  const waves: string[][] = [];
  for (const p of sorted) {
    const w = wave.get(p.name) as number;
    waves[w] ??= [];
    waves[w].push(p.name);
  }
  return { order: sorted.map((p) => p.name), waves };
}

function cycleError(
  packages: readonly Orderable[],
  byName: Map<string, Orderable>,
  pending: Map<string, number>,
): IntentError {
  // Every package still pending waits, directly or not, on a cycle. Walk `after` edges among them from the
  // first in document order until a package repeats: the walk's tail from that package is a cycle.
  const stuck = packages.filter((p) => (pending.get(p.name) as number) > 0);
  const path: string[] = [];
  const at = new Map<string, number>();
  let current = stuck[0] as Orderable;
  while (!at.has(current.name)) {
    at.set(current.name, path.length);
    path.push(current.name);
    const next = current.after
      .map((n) => byName.get(n) as Orderable)
      .filter((d) => (pending.get(d.name) as number) > 0)
      .sort((a, b) => a.index - b.index)[0];
    current = next as Orderable;
  }
  const cycle = path.slice(at.get(current.name));
  const first = byName.get(cycle[0] as string) as Orderable;
  const text = [...cycle, cycle[0]].map((n) => JSON.stringify(n)).join(" after ");
  return new IntentError(
    [{ path: `spec.packages[${first.index}].after`, message: `the after lists form a cycle: ${text}` }],
    "ERR_INTENT_CYCLE",
  );
}
