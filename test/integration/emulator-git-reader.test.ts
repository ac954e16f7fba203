/**
 * The emulator's git reader (emulator/configsync/git-reader.ts) against repositories written by the plain git
 * CLI, never by the agent: it must read what git wrote (refs, trees, blobs, annotated tags), binary content and
 * many reads in flight at once, report the changed paths between two commits as git does, refuse an object whose
 * content does not hash to its id, and leave no git process behind when closed. The git CLI is the witness
 * throughout.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parseChangedPaths } from "../../emulator/configsync/changed-paths.js";
import { GitReader } from "../../emulator/configsync/git-reader.js";
import { runGit } from "../../emulator/configsync/run-git.js";
import { startEmulator } from "../../emulator/emulator.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { descendants, gitDescendants } from "../helpers/process-table.js";

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "plain git",
  GIT_AUTHOR_EMAIL: "git@localhost",
  GIT_COMMITTER_NAME: "plain git",
  GIT_COMMITTER_EMAIL: "git@localhost",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

const dirs: string[] = [];
/** Repositories written in a test, checked by `git fsck --strict` after it: sound, or what fsck must find wrong. */
const repos = new Map<string, "sound" | RegExp>();
const readers: GitReader[] = [];
const git = (dir: string, ...args: string[]): string =>
  execFileSync("git", ["-C", dir, ...args], { env: ENV, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
const gitBytes = (dir: string, ...args: string[]): Buffer =>
  execFileSync("git", ["-C", dir, ...args], { env: ENV, maxBuffer: 64 * 1024 * 1024 });

/** A new work tree made by `git init`, on branch main. */
function plainRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "camino-plain-git-"));
  dirs.push(dir);
  repos.set(dir, "sound");
  git(dir, "init", "-q", "-b", "main");
  return dir;
}

function write(dir: string, path: string, content: string | Buffer): void {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), content);
}

function commit(dir: string, message: string): string {
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "--allow-empty", "-m", message);
  return git(dir, "rev-parse", "HEAD").trim();
}

function reader(repository: string, timeoutMs?: number): GitReader {
  const r = new GitReader({ repository, ...(timeoutMs ? { timeoutMs } : {}) });
  readers.push(r);
  return r;
}

/** Replaces a loose object's file with the zlib of other content: the id no longer matches what is inside. */
function corruptLooseObject(dir: string, oid: string, type: string, content: string | Buffer): void {
  const file = join(dir, ".git", "objects", oid.slice(0, 2), oid.slice(2));
  const body = Buffer.from(content);
  chmodSync(file, 0o644);
  unlinkSync(file);
  writeFileSync(file, deflateSync(Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body])));
  repos.set(dir, /hash(-path)? mismatch/);
}

afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
  const written = [...repos];
  repos.clear();
  for (const [dir, state] of written) {
    let problems = "";
    try {
      git(dir, "fsck", "--strict", "--no-dangling");
    } catch (err) {
      problems = String((err as { stderr?: unknown }).stderr);
    }
    if (state === "sound") expect(problems, dir).toBe("");
    else expect(problems, dir).toMatch(state);
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("reading a repository written by the git CLI", () => {
  it("reads the branch head, every file under a folder, a tag and the blobs as git has them", async () => {
    const dir = plainRepo();
    write(dir, "README", "top\n");
    write(dir, "apps/a/deploy.yaml", "kind: Deployment\n");
    write(dir, "apps/a/svc.yaml", "kind: Service\n");
    write(dir, "apps/b/nested/deep/cm.yaml", "kind: ConfigMap\n");
    write(dir, "apps/b/run.sh", "#!/bin/sh\n");
    chmodSync(join(dir, "apps/b/run.sh"), 0o755);
    write(dir, "apps/name with spaces & ünïcode.yaml", "kind: Secret\n");
    symlinkSync("a/deploy.yaml", join(dir, "apps/link.yaml"));
    const c1 = commit(dir, "first");
    git(dir, "tag", "-a", "v1", "-m", "release 1");
    write(dir, "apps/a/deploy.yaml", "kind: Deployment\nspec: {}\n");
    const c2 = commit(dir, "second");

    const r = reader(dir);
    expect(await r.head("main")).toBe(c2);
    expect(await r.head("no-such-branch")).toBeUndefined();
    expect(await r.resolve("v1")).toBe(c1);
    expect(await r.resolve(c1)).toBe(c1);
    await expect(r.resolve("v2")).rejects.toMatchObject({ code: "ERR_GIT_OBJECT_MISSING" });

    // git's own listing of the files (blobs of file modes; the symlink is left out) is the witness.
    const lsTree = (at: string, path?: string) =>
      new Map(
        git(dir, "ls-tree", "-r", "-z", at, ...(path ? ["--", path] : []))
          .split("\0")
          .filter(Boolean)
          .map((line) => /^(\d+) blob ([0-9a-f]+)\t(.*)$/s.exec(line) as RegExpExecArray)
          .filter((m) => m[1] !== "120000")
          .map((m) => [m[3] as string, m[2] as string]),
      );
    const all = await r.listFiles(c2);
    expect(all).toEqual(lsTree(c2));
    expect([...all.keys()]).toContain("apps/name with spaces & ünïcode.yaml");
    expect([...all.keys()]).not.toContain("apps/link.yaml");
    expect(await r.listFiles(c2, "apps/b")).toEqual(lsTree(c2, "apps/b"));
    expect(await r.listFiles(c2, "apps/b").then((m) => [...m.keys()])).toEqual([
      "apps/b/nested/deep/cm.yaml",
      "apps/b/run.sh",
    ]);
    expect((await r.listFiles(c2, "missing")).size).toBe(0);
    for (const [path, oid] of all)
      expect((await r.readBlob(oid)).toString("utf8")).toBe(git(dir, "show", `${c2}:${path}`));
  });

  it("reads a bare repository, and says so when a folder is not a repository", async () => {
    const dir = plainRepo();
    write(dir, "x.yaml", "a: 1\n");
    const c = commit(dir, "one");
    const bare = mkdtempSync(join(tmpdir(), "camino-plain-bare-"));
    dirs.push(bare);
    execFileSync("git", ["clone", "-q", "--bare", dir, bare], { env: ENV });
    repos.set(bare, "sound");
    expect(await reader(bare).head("main")).toBe(c);
    const empty = mkdtempSync(join(tmpdir(), "camino-not-git-"));
    dirs.push(empty);
    await expect(reader(empty).head("main")).rejects.toMatchObject({ code: "ERR_GIT_NOT_A_REPOSITORY" });
  });

  it("reads binary blobs byte for byte, including bytes that look like cat-file's framing", async () => {
    const dir = plainRepo();
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    // Content that a line-based parser would take for the next answer's header.
    const lookalike = Buffer.concat([
      Buffer.from("\n0123456789012345678901234567890123456789 blob 3\nabc\n"),
      every,
      Buffer.from("\n\n"),
    ]);
    const big = randomBytes(3 * 1024 * 1024 + 7);
    write(dir, "every.bin", every);
    write(dir, "lookalike.bin", lookalike);
    write(dir, "big.bin", big);
    write(dir, "empty", "");
    const c = commit(dir, "binary");
    const r = reader(dir);
    const files = await r.listFiles(c);
    const read = await Promise.all(
      ["every.bin", "lookalike.bin", "big.bin", "empty"].map((p) => r.readBlob(files.get(p) as string)),
    );
    expect(read[0]?.equals(every)).toBe(true);
    expect(read[1]?.equals(lookalike)).toBe(true);
    expect(read[2]?.equals(big)).toBe(true);
    expect(read[3]?.length).toBe(0);
    for (const [path, oid] of files)
      expect((await r.readBlob(oid)).equals(gitBytes(dir, "cat-file", "blob", oid)), path).toBe(true);
  });

  it("answers many reads in flight at once, each with its own object, in order, a missing one failing alone", async () => {
    const dir = plainRepo();
    const written = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      // Sizes from 0 to ~200 KB, so answers span many pipe chunks and end in the middle of them.
      const body = Buffer.alloc((i * 7919) % 200_000, String.fromCharCode(33 + (i % 90)));
      written.set(`f/${i}.dat`, Buffer.concat([Buffer.from(`${i}\n`), body]));
      write(dir, `f/${i}.dat`, written.get(`f/${i}.dat`) as Buffer);
    }
    const c = commit(dir, "many");
    // git names each file's blob; the content is what was written.
    const expected = new Map<string, Buffer>();
    for (const line of git(dir, "ls-tree", "-r", c).trim().split("\n")) {
      const [meta, path] = line.split("\t") as [string, string];
      expected.set(meta.split(" ")[2] as string, written.get(path) as Buffer);
    }
    expect(expected.size).toBe(300);
    const r = reader(dir);
    const oids = [...expected.keys()].reverse();
    const missing = `${"0".repeat(39)}1`;
    const asks = [...oids.slice(0, 150), missing, ...oids.slice(150)];
    const answers = await Promise.allSettled(asks.map((oid) => r.readBlob(oid)));
    expect(answers[150]).toMatchObject({ status: "rejected", reason: { code: "ERR_GIT_OBJECT_MISSING" } });
    const ok = answers.filter((a) => a.status === "fulfilled").map((a) => (a as PromiseFulfilledResult<Buffer>).value);
    expect(ok).toHaveLength(300);
    for (const [i, content] of ok.entries())
      expect(content.equals(expected.get(oids[i] as string) as Buffer), `answer ${i}`).toBe(true);
  });
});

describe("changed paths", () => {
  it("reports modifications, additions, deletions and a rename (as a deletion and an addition) as git diff-tree does, many diffs at once", async () => {
    const dir = plainRepo();
    write(dir, "keep.yaml", "k: 1\n");
    write(dir, "app/edit.yaml", "v: 1\n");
    write(dir, "app/gone.yaml", "g: 1\n");
    write(dir, "app/old-name.yaml", "r: 1\n");
    write(dir, "other/x.yaml", "x: 1\n");
    const c1 = commit(dir, "one");
    write(dir, "app/edit.yaml", "v: 2\n");
    rmSync(join(dir, "app/gone.yaml"));
    git(dir, "mv", "app/old-name.yaml", "app/new name.yaml");
    write(dir, "app/sub/added.yaml", "a: 1\n");
    // A name with a line break and the reader's own end marker in it: -z output carries it as it is.
    write(dir, "app/line\n--end--\nbreak.yaml", "b: 1\n");
    write(dir, "other/x.yaml", "x: 2\n");
    const c2 = commit(dir, "two");
    const blob = (path: string) => git(dir, "rev-parse", `${c2}:${path}`).trim();
    const old = (path: string) => git(dir, "rev-parse", `${c1}:${path}`).trim();

    const r = reader(dir);
    await r.head("main");
    // Asked all at once: the answers come back through one diff-tree process, each to its own question.
    const [forward, backward, whole, none] = await Promise.all([
      r.changes(c1, c2, "app"),
      r.changes(c2, c1, "app"),
      r.changes(c1, c2),
      r.changes(c2, c2),
    ]);
    const byPath = (changes: typeof forward) =>
      Object.fromEntries(changes.map((c) => [c.path, { status: c.status, oid: c.newOid }]));
    const zero = "0".repeat(40);
    expect(byPath(forward)).toEqual({
      "app/edit.yaml": { status: "M", oid: blob("app/edit.yaml") },
      "app/gone.yaml": { status: "D", oid: zero },
      "app/old-name.yaml": { status: "D", oid: zero },
      "app/new name.yaml": { status: "A", oid: old("app/old-name.yaml") },
      "app/sub/added.yaml": { status: "A", oid: blob("app/sub/added.yaml") },
      "app/line\n--end--\nbreak.yaml": { status: "A", oid: blob("app/line\n--end--\nbreak.yaml") },
    });
    expect(byPath(backward)).toEqual({
      "app/edit.yaml": { status: "M", oid: old("app/edit.yaml") },
      "app/gone.yaml": { status: "A", oid: old("app/gone.yaml") },
      "app/old-name.yaml": { status: "A", oid: old("app/old-name.yaml") },
      "app/new name.yaml": { status: "D", oid: zero },
      "app/sub/added.yaml": { status: "D", oid: zero },
      "app/line\n--end--\nbreak.yaml": { status: "D", oid: zero },
    });
    // The whole repository: the change outside app/ too, and nothing that did not change.
    expect(whole.map((c) => c.path).sort()).toEqual(
      git(dir, "diff", "--no-renames", "--name-only", "-z", c1, c2).split("\0").filter(Boolean).sort(),
    );
    expect(none).toEqual([]);
  });

  it("reports what git diff-tree -r says for many kinds of commits on a root tree of hundreds of folders", async () => {
    const dir = plainRepo();
    const folder = (name: string, v = 1) => {
      write(dir, `${name}/pkg/a.yaml`, `a: ${v}\n`);
      write(dir, `${name}/pkg/b.yaml`, `b: ${name}\n`);
    };
    for (let i = 0; i < 300; i++) folder(`i-${String(i).padStart(3, "0")}`);
    // Names that meet in git's order: a file "a", "a.yaml", "a-b/", and later a folder "a/".
    write(dir, "a", "file\n");
    write(dir, "a.yaml", "x: 1\n");
    write(dir, "a-b/x.yaml", "x: 1\n");
    const commits = [commit(dir, "base")];
    const step = (message: string, change: () => void) => {
      change();
      commits.push(commit(dir, message));
    };
    const remove = (path: string) => rmSync(join(dir, path), { recursive: true, force: true });
    step("a folder added first, in the middle and last", () => {
      for (const n of ["0-first", "i-150a", "zz"]) folder(n);
    });
    step("a folder removed first, in the middle and last", () => {
      for (const n of ["0-first", "i-150", "zz"]) remove(n);
    });
    step("one deep file changed", () => write(dir, "i-200/pkg/a.yaml", "a: 2\n"));
    step("a file becomes a folder", () => {
      remove("a");
      write(dir, "a/x.yaml", "x: 1\n");
    });
    step("the folder becomes a file again", () => {
      remove("a");
      write(dir, "a", "file again\n");
    });
    step("a mode changed", () => chmodSync(join(dir, "i-010/pkg/b.yaml"), 0o755));
    step("a symlink added, then pointed elsewhere", () => symlinkSync("i-001/pkg/a.yaml", join(dir, "link")));
    step("the symlink pointed elsewhere", () => {
      remove("link");
      symlinkSync("i-002/pkg/a.yaml", join(dir, "link"));
    });
    step("every tenth folder changed", () => {
      for (let i = 0; i < 300; i += 10) folder(`i-${String(i).padStart(3, "0")}`, 3);
    });
    step("nothing changed", () => undefined);
    step("every folder renamed", () => {
      for (let i = 0; i < 300; i++) if (i !== 150) remove(`i-${String(i).padStart(3, "0")}`);
      for (let i = 0; i < 300; i++) folder(`j-${String(i).padStart(3, "0")}`);
    });
    const r = reader(dir);
    const pairs = commits.flatMap((c, i) => [
      [commits[i - 1] ?? c, c],
      [c, commits[i - 1] ?? c],
      [commits[0] as string, c],
    ]) as [string, string][];
    // What git says of the folder (a file of the folder's name is not under it).
    const witness = (from: string, to: string, folderName: string) =>
      parseChangedPaths(gitBytes(dir, "diff-tree", "-r", "-z", "--no-renames", from, to))
        .filter((c) => !folderName || c.path.startsWith(`${folderName}/`))
        .map((c) => `${c.status} ${c.newMode} ${c.newOid} ${c.path}`)
        .sort();
    for (const [from, to] of pairs)
      for (const under of ["", "i-010", "a"]) {
        const said = (await r.changes(from, to, under)).map((c) => `${c.status} ${c.newMode} ${c.newOid} ${c.path}`);
        expect(said.sort(), `${from}..${to} ${under}`).toEqual(witness(from, to, under));
      }
  });

  it("parses rename and copy records, with both paths, from diff-tree's raw output", () => {
    const dir = plainRepo();
    write(dir, "a.yaml", "a: 1\nb: 2\nc: 3\n");
    write(dir, "b.yaml", "x: 1\ny: 2\nz: 3\n");
    const c1 = commit(dir, "one");
    git(dir, "mv", "a.yaml", "moved.yaml");
    write(dir, "copy of b.yaml", "x: 1\ny: 2\nz: 3\n");
    const c2 = commit(dir, "two");
    const id = (at: string, path: string) => git(dir, "rev-parse", `${at}:${path}`).trim();
    const parsed = parseChangedPaths(
      gitBytes(dir, "diff-tree", "-r", "-z", "-M", "-C", "--find-copies-harder", c1, c2),
    );
    const file = { oldMode: "100644", newMode: "100644" };
    expect(parsed).toEqual([
      {
        status: "C",
        from: "b.yaml",
        path: "copy of b.yaml",
        ...file,
        oldOid: id(c1, "b.yaml"),
        newOid: id(c2, "copy of b.yaml"),
      },
      {
        status: "R",
        from: "a.yaml",
        path: "moved.yaml",
        ...file,
        oldOid: id(c1, "a.yaml"),
        newOid: id(c2, "moved.yaml"),
      },
    ]);
    expect(() => parseChangedPaths(Buffer.from(":100644 100644 abc D\0x\0"))).toThrow(/diff-tree wrote/);
  });
});

describe("corrupt objects", () => {
  it("refuses a blob whose content does not hash to its id, though git itself reads it without complaint", async () => {
    const dir = plainRepo();
    write(dir, "cm.yaml", "data: good\n");
    const c = commit(dir, "one");
    const oid = git(dir, "rev-parse", `${c}:cm.yaml`).trim();
    corruptLooseObject(dir, oid, "blob", "data: evil\n");
    // The premise: git hands out the wrong content without an error.
    expect(git(dir, "cat-file", "blob", oid)).toBe("data: evil\n");
    const r = reader(dir);
    await expect(r.readBlob(oid)).rejects.toMatchObject({
      code: "ERR_GIT_OBJECT_CORRUPT",
      message: expect.stringContaining(oid),
    });
    // The process survives a refused object: the next read is answered.
    expect(await r.head("main")).toBe(c);
  });

  it("refuses a tree whose content does not hash to its id, in a full read and in a diff", async () => {
    const dir = plainRepo();
    write(dir, "app/cm.yaml", "data: 1\n");
    const c1 = commit(dir, "one");
    write(dir, "app/cm.yaml", "data: 2\n");
    const c2 = commit(dir, "two");
    const tree = git(dir, "rev-parse", `${c2}:app`).trim();
    // A well-formed tree, but another one: it names the first commit's blob.
    const other = gitBytes(dir, "cat-file", "tree", git(dir, "rev-parse", `${c1}:app`).trim());
    corruptLooseObject(dir, tree, "tree", other);
    const r = reader(dir);
    await expect(r.listFiles(c2)).rejects.toMatchObject({ code: "ERR_GIT_OBJECT_CORRUPT" });
    await expect(reader(dir).changes(c1, c2)).rejects.toMatchObject({ code: "ERR_GIT_OBJECT_CORRUPT" });
  });

  it("refuses a tree whose entries are out of git's order or named twice, though its id matches its content", async () => {
    const dir = plainRepo();
    write(dir, "a.yaml", "a: 1\n");
    const c1 = commit(dir, "one");
    const blob = Buffer.from(git(dir, "rev-parse", `${c1}:a.yaml`).trim(), "hex");
    const entry = (mode: string, name: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), blob]);
    // What a defective writer might make: written as it is (--literally), with an id that matches.
    const tree = (...entries: Buffer[]) =>
      execFileSync("git", ["-C", dir, "hash-object", "-t", "tree", "-w", "--literally", "--stdin"], {
        env: ENV,
        input: Buffer.concat(entries),
      })
        .toString()
        .trim();
    const commitOf = (t: string) => git(dir, "commit-tree", "-p", c1, "-m", "defective", t).trim();
    const unsorted = commitOf(tree(entry("100644", "b.yaml"), entry("100644", "a.yaml")));
    const twice = commitOf(tree(entry("100644", "a.yaml"), entry("100644", "a.yaml")));
    // A folder sorts as if its name ended in "/": "a" (a folder) comes after "a.yaml", so this order is right.
    const folder = tree(entry("100644", "x.yaml"));
    const sorted = commitOf(
      tree(entry("100644", "a.yaml"), Buffer.concat([Buffer.from("40000 a\0"), Buffer.from(folder, "hex")])),
    );
    const r = reader(dir);
    expect([...(await r.listFiles(sorted)).keys()]).toEqual(["a.yaml", "a/x.yaml"]);
    await expect(r.listFiles(unsorted)).rejects.toMatchObject({
      code: "ERR_GIT_OBJECT_CORRUPT",
      message: expect.stringContaining("treeNotSorted"),
    });
    await expect(r.listFiles(twice)).rejects.toMatchObject({
      code: "ERR_GIT_OBJECT_CORRUPT",
      message: expect.stringContaining("duplicateEntries"),
    });
    await expect(r.changes(c1, unsorted)).rejects.toMatchObject({ code: "ERR_GIT_OBJECT_CORRUPT" });
    // git fsck, the witness, finds the same trees wrong.
    git(dir, "update-ref", "refs/heads/unsorted", unsorted);
    git(dir, "update-ref", "refs/heads/twice", twice);
    repos.set(dir, /treeNotSorted[\s\S]*duplicateEntries|duplicateEntries[\s\S]*treeNotSorted/);
  });
});

describe("processes", () => {
  let hanging: Server | undefined;
  afterAll(async () => {
    hanging?.closeAllConnections();
    await new Promise((r) => (hanging ? hanging.close(r) : r(undefined)));
  });

  it("keeps one cat-file and one diff-tree process per repository, and close ends them and a fetch in flight, leaving no git process", async () => {
    const dir = plainRepo();
    write(dir, "a.yaml", "a: 1\n");
    const c1 = commit(dir, "one");
    write(dir, "a.yaml", "a: 2\n");
    const c2 = commit(dir, "two");
    const local = reader(dir);
    for (let i = 0; i < 20; i++) await local.head("main");
    await local.listFiles(c1);
    for (let i = 0; i < 20; i++) await local.changes(i % 2 ? c1 : c2, i % 2 ? c2 : c1);
    const running = await gitDescendants();
    expect(running.filter((p) => p.args.includes("cat-file --batch"))).toHaveLength(1);
    expect(running.filter((p) => p.args.includes("diff-tree --stdin"))).toHaveLength(1);

    // A server that takes the request and never answers: the fetch waits until it is ended.
    hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging?.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/repo.git`;
    const remote = reader(url, 60_000);
    const token = "tok-do-not-show-1234";
    const fetching = remote.fetch({ branch: "main", credentials: { username: "ci", password: token } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    let seen: { pid: number; args: string }[] = [];
    for (let i = 0; i < 200 && !seen.some((p) => p.args.includes("remote-http")); i++) {
      await new Promise((r) => setTimeout(r, 25));
      seen = await gitDescendants();
    }
    expect(seen.map((p) => p.args).join("\n")).toMatch(/git(-remote-http| fetch)/);
    // The credentials are not on any command line (what `ps` shows everyone).
    const basic = Buffer.from(`ci:${token}`).toString("base64");
    for (const p of seen) {
      expect(p.args).not.toContain(token);
      expect(p.args).not.toContain(basic);
    }
    await Promise.all([local.close(), remote.close()]);
    expect(await fetching).toMatchObject({ code: "ERR_GIT_CLOSED" });
    expect(await gitDescendants()).toEqual([]);
  });

  it("kills a fetch that takes longer than its bound", async () => {
    hanging ??= createServer(() => undefined);
    if (!hanging.listening) await new Promise<void>((r) => hanging?.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/repo.git`;
    const r = reader(url, 500);
    await expect(r.fetch({ branch: "main" })).rejects.toMatchObject({ code: "ERR_GIT_TIMEOUT" });
    expect((await gitDescendants()).filter((p) => p.args.includes("fetch") || p.args.includes("remote-http"))).toEqual(
      [],
    );
  });
});

describe("a git command past its bound", () => {
  it("is ended with every process it started, even ones that ignore SIGTERM and hold its pipes", async () => {
    // Stands in for git with helpers of its own (git-remote-http): a shell whose children ignore SIGTERM.
    const marker = `sleep 61.${process.pid}`;
    const started = Date.now();
    const run = runGit(["-c", `trap '' TERM; ${marker} & ${marker}; wait`], {
      git: "/bin/sh",
      env: { PATH: process.env["PATH"] ?? "" },
      timeoutMs: 300,
    });
    await expect(run).rejects.toMatchObject({ code: "ERR_GIT_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await descendants()).filter((p) => p.args.includes(marker))).toEqual([]);
  }, 20_000);
});

describe("the emulator's ConfigSync", () => {
  it("leaves no git process behind when the emulator closes: cat-file of each repository, and a fetch in flight", async () => {
    const local = plainRepo();
    write(local, "app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n  namespace: app\n");
    commit(local, "local");
    const server = await startGitHttpServer();
    const hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    const emulator = await startEmulator({ name: "edge-procs" });
    try {
      const url = server.createRepo("procs");
      const work = plainRepo();
      write(work, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n  namespace: app\n");
      commit(work, "remote");
      git(work, "push", "-q", "--force", join(server.root, "procs.git"), "main");
      const token = Buffer.from(server.password).toString("base64");
      emulator.api.applyObject(
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "git-creds", namespace: "config-management-system" },
          data: { username: Buffer.from(server.username).toString("base64"), token },
        },
        "test",
      );
      const sync = (name: string, repo: string, extra: Record<string, unknown> = {}) =>
        emulator.api.applyObject(
          {
            apiVersion: "configsync.gke.io/v1beta1",
            kind: "RootSync",
            metadata: { name, namespace: "config-management-system" },
            spec: { sourceFormat: "unstructured", git: { repo, branch: "main", dir: ".", period: "100ms", ...extra } },
          },
          "test",
        );
      sync("local", local, { auth: "none" });
      sync("remote", url, { auth: "token", secretRef: { name: "git-creds" } });
      sync("hanging", `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/x.git`, { auth: "none" });
      let seen: { args: string }[] = [];
      for (let i = 0; i < 400; i++) {
        seen = await gitDescendants();
        if (
          emulator.store.get("/configmaps", "app", "local") &&
          emulator.store.get("/configmaps", "app", "remote") &&
          seen.filter((p) => p.args.includes("cat-file --batch")).length >= 2 &&
          seen.some(
            (p) => /remote-http|fetch/.test(p.args) && p.args.includes(String((hanging.address() as AddressInfo).port)),
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 25));
      }
      // The premise: the emulator did run git, and one fetch is stuck on the server that never answers.
      expect(emulator.store.get("/configmaps", "app", "remote")).toBeDefined();
      expect(seen.filter((p) => p.args.includes("cat-file --batch")).length).toBeGreaterThanOrEqual(2);
      expect(seen.map((p) => p.args).join("\n")).toContain(String((hanging.address() as AddressInfo).port));
      // The token is on no command line.
      for (const p of seen) expect(p.args).not.toContain(server.password);
    } finally {
      await emulator.close();
      hanging.closeAllConnections();
      await new Promise((r) => hanging.close(r));
      await server.close();
    }
    expect(await gitDescendants()).toEqual([]);
  });
});
