/**
 * The emulator's tree objects (emulator/configsync/tree-object.ts), read from their bytes, against the reading
 * they replaced (every entry made into strings, checked as `git fsck` checks a tree) kept here as the oracle: the
 * same entries or the same refusal for well-formed and damaged trees, and the same differences between two trees
 * as pairing their entries by name.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TreeEntry } from "../../emulator/configsync/git-objects.js";
import { diffTrees, TreeObject } from "../../emulator/configsync/tree-object.js";

/** The reading before tree-object.ts: every entry as strings, checked in stored order. */
function oracleParse(oid: string, content: Buffer): TreeEntry[] {
  const idBytes = oid.length === 40 ? 20 : 32;
  const out: TreeEntry[] = [];
  const corrupt = (why: string) => new Error(`tree ${oid} is corrupt: ${why}`);
  const names = new Set<string>();
  let previous: Buffer | undefined;
  let i = 0;
  while (i < content.length) {
    const space = content.indexOf(0x20, i);
    if (space < 0) throw corrupt(`entry at byte ${i} has no mode`);
    const mode = content.toString("latin1", i, space);
    if (!/^[0-7]{5,6}$/.test(mode)) throw corrupt(`entry at byte ${i} has mode ${JSON.stringify(mode)}`);
    const nul = content.indexOf(0, space + 1);
    if (nul < 0 || nul === space + 1) throw corrupt(`entry at byte ${i} has no name`);
    if (nul + 1 + idBytes > content.length) throw corrupt(`entry at byte ${i} is cut short`);
    const name = content.toString("utf8", space + 1, nul);
    if (name === "." || name === ".." || name.includes("/")) throw corrupt(`entry name ${JSON.stringify(name)}`);
    const key = Buffer.concat([content.subarray(space + 1, nul), Buffer.from(mode === "40000" ? "/" : "")]);
    if (names.has(name)) throw corrupt(`entry ${JSON.stringify(name)} is there twice (fsck: duplicateEntries)`);
    if (previous && Buffer.compare(previous, key) >= 0)
      throw corrupt(`entry ${JSON.stringify(name)} is out of git's order (fsck: treeNotSorted)`);
    names.add(name);
    previous = key;
    out.push({ mode, name, oid: content.toString("hex", nul + 1, nul + 1 + idBytes) });
    i = nul + 1 + idBytes;
  }
  return out;
}

/** A deterministic random source (tests must not depend on luck). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const idOf = (text: string) => createHash("sha1").update(text).digest();
const treeId = (content: Buffer) => createHash("sha1").update(`tree ${content.length}\0`).update(content).digest("hex");
const keyOf = (e: { mode: string; name: string }) => Buffer.from(e.mode === "40000" ? `${e.name}/` : e.name);
const MODES = ["40000", "100644", "100755", "120000", "160000"];

/** A well-formed tree of entries whose names share prefixes (so "a", "a.b", "a-b", "a/" meet) in git's order. */
function wellFormed(next: () => number, size: number, salt = ""): { mode: string; name: string; seed: string }[] {
  const byName = new Map<string, { mode: string; name: string; seed: string }>();
  const letters = ["a", "b", ".", "-", "é", "0"];
  while (byName.size < size) {
    let name = "";
    for (let n = 1 + Math.floor(next() * 4); n > 0; n--) name += letters[Math.floor(next() * letters.length)];
    if (name === "." || name === "..") continue;
    byName.set(name, { mode: MODES[Math.floor(next() * MODES.length)] as string, name, seed: `${name}${salt}` });
  }
  return [...byName.values()].sort((x, y) => Buffer.compare(keyOf(x), keyOf(y)));
}

const bytesOf = (entries: readonly { mode: string; name: string; seed: string }[]) =>
  Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`), idOf(e.seed)])));

/** What the tree object says of a content (read alone, or as a change from `base`): its entries, or its refusal. */
function read(content: Buffer, oracle: boolean, base?: TreeObject): TreeEntry[] | string {
  const oid = treeId(content);
  try {
    return oracle ? oracleParse(oid, content) : new TreeObject(oid, content, base).entries();
  } catch (err) {
    return (err as Error).message;
  }
}

describe("a tree object read from its bytes", () => {
  it("has the entries the string reading had, and finds each by name, in trees whose names share prefixes", () => {
    const next = random(1);
    for (let round = 0; round < 200; round++) {
      const entries = wellFormed(next, Math.floor(next() * 40));
      const content = bytesOf(entries);
      const tree = new TreeObject(treeId(content), content);
      expect(tree.entries()).toEqual(oracleParse(treeId(content), content));
      for (const e of tree.entries()) expect(tree.find(e.name)).toEqual(e);
      expect(tree.find("not-there")).toBeUndefined();
    }
  });

  it("refuses a damaged tree as the string reading did, with the same message", () => {
    const next = random(2);
    const cases: Buffer[] = [];
    for (let round = 0; round < 400; round++) {
      const entries = wellFormed(next, 2 + Math.floor(next() * 12));
      const content = bytesOf(entries);
      const at = Math.floor(next() * content.length);
      // A byte changed, cut short, two entries swapped, an entry given twice, a file named as a folder.
      const swapped = [...entries];
      const k = Math.floor(next() * (entries.length - 1));
      [swapped[k], swapped[k + 1]] = [swapped[k + 1] as (typeof entries)[0], swapped[k] as (typeof entries)[0]];
      const twice = [...entries.slice(0, k + 1), entries[k] as (typeof entries)[0], ...entries.slice(k + 1)];
      const asFile = entries.map((e) => ({ ...e, mode: "100644" }));
      const named = [...entries, { mode: "40000", name: (entries[0] as (typeof entries)[0]).name, seed: "dir" }].sort(
        (x, y) => Buffer.compare(keyOf(x), keyOf(y)),
      );
      const changed = Buffer.from(content);
      changed[at] = [0x20, 0, 0x2f, 0x2e, 0x38, 0x61][round % 6] as number;
      const reversed = bytesOf([...entries, ...twice.slice(k, k + 1)].reverse());
      cases.push(
        changed,
        content.subarray(0, at),
        bytesOf(swapped),
        bytesOf(twice),
        bytesOf(named),
        bytesOf(asFile),
        reversed,
      );
    }
    cases.push(Buffer.from("40000 .\0"), Buffer.from(`40000 ..\0${"x".repeat(20)}`), Buffer.from("1006 a\0"));
    let refused = 0;
    for (const content of cases) {
      const said = read(content, false);
      expect(said).toEqual(read(content, true));
      if (typeof said === "string") refused++;
    }
    expect(refused).toBeGreaterThan(cases.length / 2);
  });

  it("read as a change from a checked tree, has the same entries or the same refusal as read alone", () => {
    const next = random(4);
    type Entry = ReturnType<typeof wellFormed>[number];
    const sorted = (entries: Entry[]) => entries.sort((x, y) => Buffer.compare(keyOf(x), keyOf(y)));
    let checked = 0;
    for (let round = 0; round < 1500; round++) {
      const base = wellFormed(next, Math.floor(next() * 50));
      const baseTree = new TreeObject(treeId(bytesOf(base)), bytesOf(base));
      const changed = [...base];
      const at = Math.floor(next() * (base.length + 1));
      const what = round % 8;
      // Added, removed, changed, a file given the name of a folder (or the reverse) far from it, the same name
      // twice, out of order, a damaged byte, several changes.
      const other = wellFormed(next, 3, `-${round}`);
      if (what === 0) changed.splice(at, 0, ...other);
      else if (what === 1) changed.splice(at, 1 + Math.floor(next() * 3));
      else if (what === 2 && changed[at]) changed[at] = { ...(changed[at] as Entry), seed: `new-${round}` };
      else if (what === 3 && changed[at]) {
        const e = changed[at] as Entry;
        changed.push({ ...e, mode: e.mode === "40000" ? "100644" : "40000", seed: "twin" });
      } else if (what === 4 && changed[at]) changed.splice(at, 0, changed[at] as Entry);
      else if (what === 6) for (const e of other) changed.splice(Math.floor(next() * changed.length), 0, e);
      const content = bytesOf(what === 3 || what === 6 ? sorted(changed) : what === 5 ? changed.reverse() : changed);
      if (what === 7 && content.length > 0)
        content[Math.floor(next() * content.length)] = [0x20, 0, 0x2f, 0x38][round % 4] as number;
      const said = read(content, false, baseTree);
      expect(said).toEqual(read(content, false));
      expect(said).toEqual(read(content, true));
      if (typeof said === "string") checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe("the differences between two trees", () => {
  /** The entries that differ, paired by name, as the walk before diffTrees paired them. */
  function oracleDiff(a: TreeEntry[], b: TreeEntry[]): string[] {
    const before = new Map(a.map((e) => [e.name, e]));
    const after = new Map(b.map((e) => [e.name, e]));
    const out: string[] = [];
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      const x = before.get(name);
      const y = after.get(name);
      if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
      // A file and a folder of one name are two changes, as git reports them.
      if (x && y && (x.mode === "40000") !== (y.mode === "40000")) out.push(`-${x.mode} ${name}`, `+${y.mode} ${name}`);
      else out.push(`${x ? "-" : ""}${x?.mode ?? ""}${y ? "+" : ""}${y?.mode ?? ""} ${name}`);
    }
    return out.sort();
  }

  it("are those of pairing entries by name, for small and large changes anywhere in a tree", () => {
    const next = random(3);
    for (let round = 0; round < 300; round++) {
      const base = wellFormed(next, Math.floor(next() * 60));
      const edits = Math.floor(next() * (round % 3 === 0 ? 30 : 3));
      const byName = new Map(base.map((e) => [`${e.name}${e.mode === "40000" ? "/" : ""}`, e]));
      for (const e of wellFormed(next, edits, `-${round}`)) {
        const key = `${e.name}${e.mode === "40000" ? "/" : ""}`;
        const other = `${e.name}${e.mode === "40000" ? "" : "/"}`;
        // Removed, or added or changed; never a name given twice.
        if (next() < 0.3) byName.delete(key);
        else if (!byName.has(other)) byName.set(key, e);
      }
      const changed = [...byName.values()].sort((x, y) => Buffer.compare(keyOf(x), keyOf(y)));
      const a = new TreeObject(treeId(bytesOf(base)), bytesOf(base));
      const b = new TreeObject(treeId(bytesOf(changed)), bytesOf(changed));
      const said = diffTrees(a, b)
        .map(({ before, after }) => {
          const x = before === undefined ? undefined : a.entry(before);
          const y = after === undefined ? undefined : b.entry(after);
          return `${x ? "-" : ""}${x?.mode ?? ""}${y ? "+" : ""}${y?.mode ?? ""} ${(x ?? y)?.name}`;
        })
        .sort();
      expect(said).toEqual(oracleDiff(a.entries(), b.entries()));
    }
  });
});
