/**
 * Unified diffs (agent/util/unified-diff.ts): exact text for the shapes people read (a changed line with its
 * three lines of context, an added and a deleted file, a missing final newline), and, for many random edits,
 * the independent witness: `git apply` of the diff turns the old file into the new one exactly, and GNU `diff --minimal`
 * finds as many changed lines.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffLines, MAX_EDIT_DISTANCE, splitLines, unifiedDiff } from "../../agent/util/unified-diff.js";

const dir = mkdtempSync(join(tmpdir(), "camino-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${i + from}\n`).join("");

describe("unifiedDiff", () => {
  it("shows a changed line with three lines of context either side", () => {
    const before = lines(10);
    const after = before.replace("line 5\n", "line five\n");
    expect(unifiedDiff("app/x.yaml", before, after)).toBe(
      [
        "--- a/app/x.yaml",
        "+++ b/app/x.yaml",
        "@@ -2,7 +2,7 @@",
        " line 2",
        " line 3",
        " line 4",
        "-line 5",
        "+line five",
        " line 6",
        " line 7",
        " line 8",
        "",
      ].join("\n"),
    );
  });

  it("keeps changes far apart in separate hunks and near ones in one", () => {
    const before = lines(30);
    const far = before.replace("line 3\n", "x\n").replace("line 25\n", "y\n");
    expect(unifiedDiff("f", before, far).match(/^@@ .* @@$/gm)).toEqual(["@@ -1,6 +1,6 @@", "@@ -22,7 +22,7 @@"]);
    const near = before.replace("line 3\n", "x\n").replace("line 9\n", "y\n");
    expect(unifiedDiff("f", before, near).match(/^@@ .* @@$/gm)).toEqual(["@@ -1,12 +1,12 @@"]);
  });

  it("writes an added file against /dev/null, and a deleted one", () => {
    expect(unifiedDiff("n/a.yaml", undefined, "a: 1\nb: 2\n")).toBe(
      "--- /dev/null\n+++ b/n/a.yaml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n",
    );
    expect(unifiedDiff("n/a.yaml", "a: 1\n", undefined)).toBe("--- a/n/a.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a: 1\n");
  });

  it("marks a last line without a newline", () => {
    expect(unifiedDiff("f", "a\nb", "a\nb\n")).toBe(
      "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
    );
  });

  it("is empty for the same text", () => {
    expect(unifiedDiff("f", "a\n", "a\n")).toBe("");
  });

  it("applies with git apply to give the new file exactly, as short as diff --minimal's (random edits)", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Forty random edits as forty files, checked with one git apply and one diff -r (each spawn costs).
    const cases: { name: string; before: string; after: string }[] = [];
    for (let round = 0; round < 40; round++) {
      const old = Array.from({ length: 5 + rand(40) }, () => `v${rand(6)}\n`);
      const next = [...old];
      for (let e = 0; e < 1 + rand(8); e++) {
        const at = rand(next.length + 1);
        if (rand(3) === 0) next.splice(at, 1);
        else if (rand(2) === 0) next.splice(at, 0, `new${rand(5)}\n`);
        else next[Math.min(at, next.length - 1)] = `changed${rand(3)}\n`;
      }
      const after = rand(5) === 0 ? next.join("").replace(/\n$/, "") : next.join("");
      cases.push({ name: `file${round}.txt`, before: old.join(""), after });
    }
    for (const sub of ["work", "a", "b"]) mkdirSync(join(dir, sub), { recursive: true });
    for (const c of cases) {
      for (const [sub, text] of [
        ["work", c.before],
        ["a", c.before],
        ["b", c.after],
      ] as const)
        writeFileSync(join(dir, sub, c.name), text);
    }
    const patch = cases.map((c) => unifiedDiff(c.name, c.before, c.after)).join("");
    writeFileSync(join(dir, "p.diff"), patch);
    execFileSync("git", ["apply", join(dir, "p.diff")], { cwd: join(dir, "work") });
    for (const c of cases) expect(readFileSync(join(dir, "work", c.name), "utf8"), c.name).toBe(c.after);
    // Each script is a shortest one: as many changed lines as GNU diff --minimal finds for that file.
    let gnu = "";
    try {
      execFileSync("diff", ["-r", "--minimal", "-U0", "a", "b"], { cwd: dir });
    } catch (err) {
      gnu = String((err as { stdout: Buffer }).stdout);
    }
    const changes = (text: string) => text.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
    const perFile = new Map(
      gnu
        .split(/^diff .* a\/(\S+) b\/\S+$/m)
        .flatMap((part, i, all) => (i % 2 === 1 ? [[part, all[i + 1] ?? ""]] : [])),
    );
    for (const c of cases) {
      const mine = changes(unifiedDiff(c.name, c.before, c.after, 0));
      expect(mine, c.name).toBe(changes(perFile.get(c.name) ?? ""));
      if (c.before === c.after) expect(unifiedDiff(c.name, c.before, c.after)).toBe("");
    }
    expect(cases.filter((c) => c.before !== c.after).length).toBeGreaterThan(30);
  }, 30_000);

  it("falls back to replacing the middle whole past the edit-distance bound, still correctly", () => {
    const a = Array.from({ length: MAX_EDIT_DISTANCE }, (_, i) => `a${i}\n`);
    const b = Array.from({ length: MAX_EDIT_DISTANCE }, (_, i) => `b${i}\n`);
    const script = diffLines(["same\n", ...a], ["same\n", ...b]);
    expect(script[0]).toEqual({ op: " ", line: "same\n" });
    expect(script.filter((l) => l.op === "-").map((l) => l.line)).toEqual(a);
    expect(script.filter((l) => l.op === "+").map((l) => l.line)).toEqual(b);
  });

  it("splits text into lines that keep their newline", () => {
    expect(splitLines("")).toEqual([]);
    expect(splitLines("a\nb")).toEqual(["a\n", "b"]);
    expect(splitLines("a\n\n")).toEqual(["a\n", "\n"]);
  });
});
