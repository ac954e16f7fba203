/**
 * Git deltas of trees (agent/cad/git/delta.ts): a tree made from its base by a delta is byte for byte the tree,
 * whatever changed (entries added, removed, replaced, at the start, the middle, the end), and a delta is only
 * made when it is much smaller than the tree.
 */
import { describe, expect, it } from "vitest";
import { applyDelta, decodeOffset, encodeOffset, treeDelta } from "../../agent/cad/git/delta.js";
import { treeBody, type TreeEntry } from "../../agent/cad/git/objects.js";

const oid = (i: number, salt = 0) => ((i * 7919 + salt * 104729) % 0xffffffff).toString(16).padStart(40, "c");
const tree = (names: Iterable<string>, salt = 0) =>
  treeBody([...names].map((name, i): TreeEntry => ({ name, mode: i % 3 ? "40000" : "100644", oid: oid(i, salt) })));

describe("a tree's delta", () => {
  const base = Array.from({ length: 1000 }, (_, i) => `intent-${i}`);

  it("rebuilds the tree exactly, and is a small fraction of it, after a change anywhere", () => {
    const baseTree = tree(base);
    const cases: [string, string[]][] = [
      ["one added at the end", [...base, "zzz-last"]],
      ["one added at the start", ["000-first", ...base]],
      ["one removed in the middle", base.filter((n) => n !== "intent-500")],
      ["a few added and removed across the tree", [...base.filter((n) => !/intent-(1|3)7$/.test(n)), "b-1", "m-2"]],
    ];
    for (const [what, names] of cases) {
      // The same names keep the same ids (and modes) only when they keep their index; compare against itself.
      const target = treeBody(
        names.map((name): TreeEntry => {
          const i = base.indexOf(name);
          return i >= 0
            ? { name, mode: i % 3 ? "40000" : "100644", oid: oid(i) }
            : { name, mode: "100644", oid: oid(9999) };
        }),
      );
      const delta = treeDelta(baseTree, target);
      expect(delta, what).toBeDefined();
      expect(applyDelta(baseTree, delta as Buffer).equals(target), what).toBe(true);
      expect(delta?.length, what).toBeLessThan(target.length / 20);
    }
  });

  it("rebuilds an entry whose id changed, and refuses to be made when everything changed", () => {
    const baseTree = tree(base);
    const changed = treeBody(
      base.map((name, i): TreeEntry => ({ name, mode: i % 3 ? "40000" : "100644", oid: oid(i, i === 42 ? 1 : 0) })),
    );
    const delta = treeDelta(baseTree, changed) as Buffer;
    expect(applyDelta(baseTree, delta).equals(changed)).toBe(true);
    expect(treeDelta(baseTree, tree(base, 5))).toBeUndefined();
    expect(treeDelta(Buffer.from("not a tree"), baseTree)).toBeUndefined();
  });

  it("is refused by a base of another size", () => {
    const baseTree = tree(base);
    const delta = treeDelta(baseTree, tree([...base, "x"])) as Buffer;
    expect(() => applyDelta(baseTree.subarray(1), delta)).toThrow(/base of/);
  });

  it("writes a base's distance as git does", () => {
    for (const d of [1, 127, 128, 16511, 16512, 2 ** 21, 123456789]) {
      const bytes = encodeOffset(d);
      expect(decodeOffset(Buffer.concat([Buffer.from([0xff]), bytes]), 1)).toEqual([d, bytes.length + 1]);
    }
    expect([...encodeOffset(128)]).toEqual([0x80, 0x00]);
  });
});
