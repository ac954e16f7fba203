/**
 * A tree object's body (agent/cad/git/objects.ts treeBody) in git's order, checked against the git CLI: `git
 * mktree` sorts the same entries itself, and the ids must match, for ASCII names (compared as strings) and names
 * with other characters (compared as UTF-8 bytes), with directories ordered as if their names ended in '/'.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashObject, treeBody, type TreeEntry } from "../../agent/cad/git/objects.js";

const dir = mkdtempSync(join(tmpdir(), "camino-tree-order-"));
execFileSync("git", ["init", "-q", dir]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The id git gives the tree of these entries (it sorts them itself). */
const gitTreeId = (entries: readonly TreeEntry[]) =>
  execFileSync("git", ["-C", dir, "mktree", "--missing"], {
    input: entries
      .map((e) => `${e.mode === "40000" ? "040000 tree" : `${e.mode} blob`} ${e.oid}\t${e.name}`)
      .join("\n"),
    encoding: "utf8",
  }).trim();

const oid = (i: number) => i.toString(16).padStart(40, "a");

describe("a tree's body", () => {
  it("has git's order and bytes, for a repository's worth of ASCII names", () => {
    const names = ["a", "a-b", "a.b", "a0", "b", "B", "intent-10", "intent-9", "intent-100", "z_", "_z"];
    const entries: TreeEntry[] = [];
    for (let i = 0; i < 2000; i++) entries.push({ name: `intent-${i}`, mode: "40000", oid: oid(i) });
    for (const [i, name] of names.entries())
      entries.push({ name, mode: i % 2 ? "100644" : "40000", oid: oid(5000 + i) });
    entries.push({ name: "run.sh", mode: "100755", oid: oid(9000) });
    // Given in no order at all.
    entries.sort((x, y) => (x.oid < y.oid ? 1 : -1));
    expect(hashObject("tree", treeBody(entries)).oid).toBe(gitTreeId(entries));
  });

  it("orders a directory as if its name ended in '/', and names beyond ASCII by their UTF-8 bytes", () => {
    const entries: TreeEntry[] = [
      { name: "a", mode: "40000", oid: oid(1) },
      { name: "a.txt", mode: "100644", oid: oid(2) },
      { name: "a-", mode: "100644", oid: oid(3) },
      { name: "é", mode: "100644", oid: oid(4) },
      { name: "z", mode: "100644", oid: oid(5) },
      { name: "\u{1F600}", mode: "100644", oid: oid(6) },
      { name: "\uFF21", mode: "40000", oid: oid(7) },
    ];
    expect(hashObject("tree", treeBody(entries)).oid).toBe(gitTreeId(entries));
  });
});
