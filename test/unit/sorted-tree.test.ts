/**
 * A root tree kept as bytes and spliced (agent/cad/git/sorted-tree.ts): after any changes, byte for byte the tree
 * that writing every entry anew gives, in git's order (a tree's name sorts as if it ended in "/").
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseTree, treeBody, type EntryMode, type TreeEntry } from "../../agent/cad/git/objects.js";
import { SortedTree, type SplicedEntry } from "../../agent/cad/git/sorted-tree.js";

const oid = (s: string) => createHash("sha1").update(s).digest("hex");

/** A small random generator, seeded, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

// Names around "/" in byte order ("-" < "." < "/" < "0"), the cases git's order turns on.
const NAMES = ["a", "a-b", "a.b", "a0", "ab", "b", "foo", "foo-bar", "foo.bar", "foo0", "foo_", "é", "z", "_camino"];

describe("a tree spliced", () => {
  it("is what writing every entry gives, after adds, removals, replacements and a file turned folder", () => {
    const next = random(7);
    for (let round = 0; round < 300; round++) {
      const entries = new Map<string, TreeEntry>();
      for (const name of NAMES)
        if (next() < 0.5)
          entries.set(name, { name, mode: next() < 0.5 ? "40000" : "100644", oid: oid(`${name}${round}`) });
      let tree = SortedTree.parse(treeBody([...entries.values()])) as SortedTree;
      for (let step = 0; step < 3; step++) {
        const changes = new Map<string, SplicedEntry | undefined>();
        for (const name of NAMES) {
          const r = next();
          if (r < 0.15) {
            changes.set(name, undefined);
            entries.delete(name);
          } else if (r < 0.35) {
            const mode: EntryMode = next() < 0.5 ? "40000" : "100644";
            const e = { name, mode, oid: oid(`${name}${round}.${step}`) };
            changes.set(name, e);
            entries.set(name, e);
          }
        }
        tree = tree.splice(changes);
        const expected = treeBody([...entries.values()]);
        expect(tree.body.equals(expected), `round ${round} step ${step}`).toBe(true);
        expect(tree.count).toBe(entries.size);
        for (const name of NAMES)
          expect(tree.get(name)).toEqual(
            entries.has(name) ? { mode: entries.get(name)?.mode, oid: entries.get(name)?.oid } : undefined,
          );
      }
    }
  });

  it("reads a tree of thousands of entries, and refuses one cut short", () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({
      name: `intent-${i}`,
      mode: "40000" as const,
      oid: oid(String(i)),
    }));
    const body = treeBody(entries);
    const tree = SortedTree.parse(body) as SortedTree;
    expect(tree.count).toBe(5000);
    expect(tree.get("intent-4321")?.oid).toBe(oid("4321"));
    expect(tree.get("intent-5000")).toBeUndefined();
    const spliced = tree.splice(
      new Map([
        ["intent-77", undefined],
        ["intent-5000", { mode: "40000", oid: oid("new") }],
      ]),
    );
    expect(parseTree(spliced.body).map((e) => e.name)).toEqual(
      parseTree(
        treeBody([
          ...entries.filter((e) => e.name !== "intent-77"),
          { name: "intent-5000", mode: "40000", oid: oid("new") },
        ]),
      ).map((e) => e.name),
    );
    expect(SortedTree.parse(body.subarray(0, body.length - 5))).toBeUndefined();
  });
});
