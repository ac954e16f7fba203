/** Ordering: waves and a deterministic topological order from `after`; a property test over random DAGs. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IntentError } from "../../agent/errors.js";
import { orderPackages, type Orderable } from "../../agent/intent/order.js";

/** A random DAG: package i may only wait for packages declared before it, then the list is shuffled. */
const dag = fc
  .integer({ min: 1, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.subarray(
            Array.from({ length: i }, (_, j) => j),
            { maxLength: Math.min(5, i) },
          ),
        ),
      ),
      fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
    ),
  )
  .map(([deps, perm]) =>
    perm.map((orig, index): Orderable => ({ name: `p${orig}`, index, after: deps[orig]!.map((d) => `p${d}`) })),
  );

describe("orderPackages", () => {
  it("puts every package after what it waits for, in a strictly later wave", () => {
    fc.assert(
      fc.property(dag, (packages) => {
        const { order, waves } = orderPackages(packages);
        expect([...order].sort()).toEqual(packages.map((p) => p.name).sort());
        const position = new Map(order.map((n, i) => [n, i]));
        const waveOf = new Map(waves.flatMap((w, i) => w.map((n) => [n, i] as const)));
        for (const p of packages) {
          for (const dep of p.after) {
            expect(position.get(dep)!).toBeLessThan(position.get(p.name)!);
            expect(waveOf.get(dep)!).toBeLessThan(waveOf.get(p.name)!);
          }
          // A package is in the earliest wave it can be: right after the latest thing it waits for.
          const expected = p.after.length === 0 ? 0 : Math.max(...p.after.map((d) => waveOf.get(d)!)) + 1;
          expect(waveOf.get(p.name)).toBe(expected);
        }
        expect(waves.every((w) => w.length > 0)).toBe(true);
        // The order is the waves read in sequence.
        expect(order).toEqual(waves.flat());
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: ties keep document order", () => {
    const packages: Orderable[] = ["e", "d", "c", "b", "a"].map((name, index) => ({
      name,
      index,
      after: name === "a" ? [] : ["a"],
    }));
    expect(orderPackages(packages)).toEqual({ order: ["a", "e", "d", "c", "b"], waves: [["a"], ["e", "d", "c", "b"]] });
  });

  it("names a cycle reached only through other packages", () => {
    const packages: Orderable[] = [
      { name: "head", index: 0, after: ["x"] },
      { name: "x", index: 1, after: ["y"] },
      { name: "y", index: 2, after: ["z"] },
      { name: "z", index: 3, after: ["x"] },
      { name: "free", index: 4, after: [] },
    ];
    expect(() => orderPackages(packages)).toThrow(IntentError);
    expect(() => orderPackages(packages)).toThrow(
      'spec.packages[1].after: the after lists form a cycle: "x" after "y" after "z" after "x"',
    );
  });

  it("finds a cycle in any random graph with a back edge", () => {
    fc.assert(
      fc.property(
        dag.filter((p) => p.some((q) => q.after.length > 0)),
        (packages) => {
          const victim = packages.find((p) => p.after.length > 0)!;
          // Make a dependency of `victim` wait for `victim`: a cycle.
          const dep = packages.find((p) => p.name === victim.after[0])!;
          const cyclic = packages.map((p) => (p === dep ? { ...p, after: [...p.after, victim.name] } : p));
          try {
            orderPackages(cyclic);
            return false;
          } catch (err) {
            return err instanceof IntentError && err.code === "ERR_INTENT_CYCLE";
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
