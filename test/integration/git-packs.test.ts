/**
 * A commit's objects written as one pack (agent/cad/git/packs.ts): what git reads, how many packs a busy repository
 * keeps, and what the states a crash can leave look like to the next agent (a pack aside, a ref lock). Checked with the real git CLI.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PackStore } from "../../agent/cad/git/packs.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";

const gitCli = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function repository(): Promise<{ dir: string; repo: LocalGitRepository }> {
  const dir = mkdtempSync(join(tmpdir(), "camino-packs-"));
  dirs.push(dir);
  return { dir, repo: await new LocalGitRepository({ dir }).init() };
}

const packs = (dir: string) => readdirSync(join(dir, ".git", "objects", "pack")).filter((f) => f.endsWith(".pack"));
const looseObjects = (dir: string) =>
  readdirSync(join(dir, ".git", "objects")).filter((d) => /^[0-9a-f]{2}$/.test(d)).length;

/** One intent's files, as a deployment writes them. */
const intentFiles = (i: number) =>
  new Map([
    [`intent-${i}/web/deployment.yaml`, `kind: Deployment\nmetadata:\n  name: web\n  namespace: intent-${i}\n`],
    [`intent-${i}/web/Kptfile`, `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: web-${i}\n`],
  ]);

describe("a commit's objects in one pack", () => {
  it("are read by git and by the next agent; 200 commits leave a handful of packs, no loose object", async () => {
    const { dir, repo } = await repository();
    for (let i = 0; i < 200; i++) await repo.commit({ write: intentFiles(i), message: `deploy intent-${i}` });
    // Read by git while packs may be merging in the background, then once they are done.
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    await repo.settled();
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    expect(gitCli(dir, "log", "--format=%s").trim().split("\n")).toHaveLength(200);
    expect(gitCli(dir, "show", "HEAD:intent-7/web/deployment.yaml")).toContain("namespace: intent-7");
    // Merged geometrically: about log2 of the commits, never one per commit.
    expect(packs(dir).length).toBeLessThanOrEqual(10);
    expect(looseObjects(dir)).toBe(0);

    // The next agent (a new process would open it the same way) reads every file from the packs.
    const again = new LocalGitRepository({ dir });
    const files = await again.readFiles(undefined, "intent-199");
    expect(files.get("intent-199/web/Kptfile")).toContain("name: web-199");
    expect((await again.listFiles()).size).toBe(400);
    await again.commit({ remove: ["intent-0"], message: "terminate intent-0" });
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    expect(gitCli(dir, "ls-tree", "--name-only", "HEAD").split("\n")).not.toContain("intent-0");
  });

  it("what a crash can leave (half an index aside, a pack without its index, a pack whose commit never landed) is not read, and harms nothing", async () => {
    const { dir, repo } = await repository();
    const first = (await repo.commit({ write: intentFiles(1), message: "deploy intent-1" })).commit;
    const packDir = join(dir, ".git", "objects", "pack");
    // A crash while the index was written aside; one while the pack was written, or after, before its index.
    writeFileSync(join(packDir, "tmp_pack_0123456789ab"), "\xfftOc\0\0\0\u0002half");
    writeFileSync(join(packDir, `pack-${"e".repeat(40)}.pack`), "PACK\0\0\0\u0002no index");
    // A crash after the pack and its index, before the branch moved: objects nobody refers to.
    const orphan = await repository();
    await orphan.repo.commit({ write: intentFiles(2), message: "deploy intent-2 (never landed)" });
    for (const f of readdirSync(join(orphan.dir, ".git", "objects", "pack")))
      execFileSync("cp", [join(orphan.dir, ".git", "objects", "pack", f), packDir]);

    const restarted = new LocalGitRepository({ dir });
    expect(await restarted.head()).toBe(first);
    expect([...(await restarted.listFiles()).keys()]).toEqual(["intent-1/web/Kptfile", "intent-1/web/deployment.yaml"]);
    const next = await restarted.commit({ write: intentFiles(3), message: "deploy intent-3" });
    expect(next.changed).toBe(true);
    expect(gitCli(dir, "log", "--format=%s").trim().split("\n")).toEqual(["deploy intent-3", "deploy intent-1"]);
    // git passes over the stray files too; the orphan pack's objects are dangling, which fsck does not count.
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
  });

  it("a pack a crash cut short under its own name is replaced when the same objects are written again", async () => {
    const body = Buffer.from("kind: ConfigMap\nmetadata:\n  name: twice\n");
    const oid = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
    // The pack these objects make, and its name (its checksum), from another repository.
    const first = await repository();
    const name = (await new PackStore(join(first.dir, ".git")).write([{ oid, type: "blob", body }])) as string;
    const { dir, repo } = await repository();
    await repo.commit({ write: intentFiles(1), message: "deploy intent-1" });
    const packDir = join(dir, ".git", "objects", "pack");
    writeFileSync(join(packDir, `${name}.pack`), "PACK\0\0\0\u0002cut");
    chmodSync(join(packDir, `${name}.pack`), 0o444);
    expect(await new PackStore(join(dir, ".git")).write([{ oid, type: "blob", body }])).toBe(name);
    expect(gitCli(dir, "verify-pack", "-v", join(packDir, `${name}.idx`))).toContain(oid);
    expect(gitCli(dir, "cat-file", "-p", oid)).toBe(body.toString());
    expect(new PackStore(join(dir, ".git")).read(oid)?.body.toString()).toBe(body.toString());
  });

  it("a ref lock a crash left (made before this process) is taken back; one being held now is refused, named", async () => {
    const { dir, repo } = await repository();
    await repo.commit({ write: intentFiles(1), message: "deploy intent-1" });
    const lock = join(dir, ".git", "refs", "heads", "main.lock");
    writeFileSync(lock, "");
    await expect(repo.commit({ write: intentFiles(2), message: "deploy intent-2" })).rejects.toMatchObject({
      code: "ERR_REF_LOCKED",
    });
    const before = new Date(performance.timeOrigin - 60_000);
    utimesSync(lock, before, before);
    expect((await repo.commit({ write: intentFiles(2), message: "deploy intent-2" })).changed).toBe(true);
    expect(gitCli(dir, "log", "--format=%s").trim().split("\n")).toEqual(["deploy intent-2", "deploy intent-1"]);
    expect(readdirSync(join(dir, ".git", "refs", "heads"))).toEqual(["main"]);
  });

  it("a commit id or tag resolves from the packs, by a new repository object too; a tree's id or an unknown one is refused", async () => {
    const { dir, repo } = await repository();
    const first = (await repo.commit({ write: intentFiles(1), message: "deploy intent-1" })).commit;
    const second = (await repo.commit({ write: intentFiles(2), message: "deploy intent-2" })).commit;
    gitCli(dir, "tag", "-a", "v1", "-m", "first", first);
    for (const r of [repo, new LocalGitRepository({ dir })]) {
      expect(await r.resolve(first)).toBe(first);
      expect(await r.resolve(second)).toBe(second);
      // Asked again (a pinned blueprint revision, for every intent deployed from it): the same answer.
      expect(await r.resolve(second)).toBe(second);
      expect(await r.resolve("refs/tags/v1")).toBe(first);
      const tree = gitCli(dir, "rev-parse", `${second}^{tree}`).trim();
      await expect(r.resolve(tree)).rejects.toMatchObject({ code: "ERR_REVISION_NOT_FOUND" });
      await expect(r.resolve("0".repeat(40))).rejects.toMatchObject({ code: "ERR_REVISION_NOT_FOUND" });
    }
  });

  it("a root tree that grows with every intent is stored as deltas: the repository stays small, git and the next agent read every commit", async () => {
    const { dir, repo } = await repository();
    const commits: string[] = [];
    for (let i = 0; i < 300; i++)
      commits.push((await repo.commit({ write: intentFiles(i), message: `deploy intent-${i}` })).commit);
    // A few intents go, as terminations do.
    for (const i of [10, 150, 299])
      commits.push((await repo.commit({ remove: [`intent-${i}`], message: `terminate intent-${i}` })).commit);
    await repo.settled();
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    // Stored whole, the root trees alone would take their sizes added up; the packs hold far less than that.
    const rootTrees = commits.reduce((sum, c) => sum + Number(gitCli(dir, "cat-file", "-s", `${c}^{tree}`).trim()), 0);
    const packed = readdirSync(join(dir, ".git", "objects", "pack"))
      .filter((f) => f.endsWith(".pack"))
      .reduce((sum, f) => sum + statSync(join(dir, ".git", "objects", "pack", f)).size, 0);
    expect(rootTrees).toBeGreaterThan(1_500_000);
    expect(packed).toBeLessThan(rootTrees / 4);
    // Of the ~200 root trees over 4 KB, those not in the newest packs are deltas; a handful stay whole.
    const listed = gitCli(dir, "verify-pack", "-v", ...packs(dir).map((f) => join(dir, ".git", "objects", "pack", f)));
    const trees = listed.split("\n").filter((l) => / tree /.test(l));
    const deltas = trees.filter((l) => l.trim().split(/\s+/).length === 7);
    const wholeLarge = trees.filter((l) => {
      const fields = l.trim().split(/\s+/);
      return fields.length === 5 && Number(fields[2]) > 4096;
    });
    expect(deltas.length).toBeGreaterThan(150);
    expect(wholeLarge.length).toBeLessThan(15);
    // Old and new commits, through git and through a new repository object (as after a restart).
    const again = new LocalGitRepository({ dir });
    for (const [n, c] of [
      [120, commits[120]],
      [250, commits[250]],
      [298, commits[302]],
    ] as const) {
      expect(gitCli(dir, "show", `${c}:intent-${n}/web/deployment.yaml`)).toContain(`namespace: intent-${n}`);
      expect((await again.readFiles(c, `intent-${n}`)).get(`intent-${n}/web/Kptfile`)).toContain(`name: web-${n}`);
    }
    expect((await again.listFiles()).size).toBe(2 * 297);
    await again.commit({ write: intentFiles(1000), message: "deploy intent-1000" });
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    expect(gitCli(dir, "ls-tree", "--name-only", "HEAD").split("\n")).toContain("intent-1000");
  });

  it("a large tree is written stored, at no compression cost, and compressed when packs are merged; git reads both", async () => {
    const { dir } = await repository();
    const store = new PackStore(join(dir, ".git"));
    // A root tree of 2,500 entries (85 KB), mostly object ids, as at a few thousand intents; then the same with one changed.
    const ids = Array.from({ length: 2_500 }, () => randomBytes(20));
    const tree = () => {
      const body = Buffer.concat(ids.flatMap((id, i) => [Buffer.from(`100644 f${String(i).padStart(5, "0")}\0`), id]));
      const oid = createHash("sha1").update(`tree ${body.length}\0`).update(body).digest("hex");
      return { oid, type: "tree" as const, body };
    };
    const first = tree();
    await store.write([first], { merge: false });
    const sizes = () =>
      new Map(
        gitCli(dir, "verify-pack", "-v", ...packs(dir).map((f) => join(dir, ".git", "objects", "pack", f)))
          .split("\n")
          .filter((l) => / tree /.test(l))
          .map((l) => l.trim().split(/\s+/))
          .map((f) => [f[0], { size: Number(f[2]), inPack: Number(f[3]), delta: f.length === 7 }]),
      );
    expect(sizes().get(first.oid)?.inPack).toBeGreaterThanOrEqual(first.body.length);
    ids[7] = randomBytes(20);
    const second = tree();
    await store.write([second]);
    await store.settled();
    // Merged: the first is the chain's base, compressed; the second a delta against it.
    expect(packs(dir)).toHaveLength(1);
    const merged = sizes();
    expect(merged.get(first.oid)).toMatchObject({ delta: false });
    expect(merged.get(first.oid)?.inPack).toBeLessThan(first.body.length * 0.8);
    expect(merged.get(second.oid)).toMatchObject({ delta: true });
    for (const t of [first, second]) {
      expect(gitCli(dir, "cat-file", "-s", t.oid).trim()).toBe(String(t.body.length));
      expect(store.read(t.oid)?.body.equals(t.body)).toBe(true);
    }
    expect(gitCli(dir, "cat-file", "-p", second.oid)).toContain(`${ids[7]?.toString("hex")}\tf00007`);
  });

  it("stay geometric whatever the sizes come in: a pack of 2 objects beside one of 4, then many of 8, are merged", async () => {
    const { dir } = await repository();
    const store = new PackStore(join(dir, ".git"));
    let n = 0;
    const blobs = (count: number) =>
      Array.from({ length: count }, () => {
        const body = Buffer.from(`object ${n++}\n`);
        const oid = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
        return { oid, type: "blob" as const, body };
      });
    const all: string[] = [];
    for (const count of [2, 4, ...Array(30).fill(8)]) {
      const objects = blobs(count);
      all.push(...objects.map((o) => o.oid));
      await store.write(objects);
      await store.settled();
    }
    // 246 objects: each pack at least twice all the smaller ones together, so at most log2(246) + 1 packs.
    expect(packs(dir).length).toBeLessThanOrEqual(8);
    expect(gitCli(dir, "count-objects", "-v")).toContain("in-pack: 246");
    for (const oid of all) expect(store.read(oid)?.type).toBe("blob");
  });

  it("packs past the merge size are merged no more; the smaller ones still are, and every object stays readable", async () => {
    const { dir } = await repository();
    const store = new PackStore(join(dir, ".git"), 4_096);
    const blob = (size: number) => {
      const body = randomBytes(size); // does not compress: a pack's size is what it holds
      const oid = createHash("sha1").update(`blob ${size}\0`).update(body).digest("hex");
      return { oid, type: "blob" as const, body };
    };
    const large: string[] = [];
    const all: string[] = [];
    for (let i = 0; i < 40; i++) {
      const o = blob(i % 10 === 0 ? 6_000 : 200);
      all.push(o.oid);
      const name = await store.write([o]);
      if (i % 10 === 0) large.push(name as string);
      await store.settled();
    }
    const names = packs(dir).map((f) => f.slice(0, -".pack".length));
    // Each large pack is there as it was written; the 36 small ones were rolled into a few.
    expect(names).toEqual(expect.arrayContaining(large));
    expect(names.length).toBeLessThan(large.length + 8);
    for (const oid of all) expect(gitCli(dir, "cat-file", "-t", oid).trim()).toBe("blob");
    for (const oid of all) expect(store.read(oid)?.type).toBe("blob");
  });

  it("a merge a commit calls for is made on its own soon after, with nobody waiting for it", async () => {
    const { dir, repo } = await repository();
    await repo.commit({ write: intentFiles(1), message: "deploy intent-1" });
    await repo.settled();
    expect(packs(dir)).toHaveLength(1);
    // A second pack as large as the first calls for a merge, started a little after the commit (a timer that
    // keeps no process alive): it is made without a settle or another write.
    await repo.commit({ write: intentFiles(2), message: "deploy intent-2" });
    await vi.waitFor(() => expect(packs(dir)).toHaveLength(1), { timeout: 5_000, interval: 5 });
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
    expect(gitCli(dir, "log", "--format=%s").trim().split("\n")).toEqual(["deploy intent-2", "deploy intent-1"]);
  });

  it("a branch moves only once what the commit waits for is done; when that fails, the branch stays and the commit says why", async () => {
    const { dir, repo } = await repository();
    await repo.commit({ write: intentFiles(1), message: "deploy intent-1" });
    const first = gitCli(dir, "rev-parse", "main").trim();
    let recorded!: () => void;
    const after = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    const committing = repo.commit({ write: intentFiles(2), message: "deploy intent-2", after });
    // The commit's pack is written meanwhile; the branch waits.
    await repo.settled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gitCli(dir, "rev-parse", "main").trim()).toBe(first);
    recorded();
    const made = await committing;
    expect(made.changed).toBe(true);
    expect(gitCli(dir, "rev-parse", "main").trim()).toBe(made.commit);

    const failed = repo.commit({
      write: intentFiles(3),
      message: "deploy intent-3",
      after: Promise.reject(new Error("the journal could not be written")),
    });
    await expect(failed).rejects.toThrow("the journal could not be written");
    expect(gitCli(dir, "rev-parse", "main").trim()).toBe(made.commit);
    expect(readdirSync(join(dir, ".git", "refs", "heads"))).toEqual(["main"]);
    // The repository takes the next commit as usual. The refused commit's objects may stay in its pack, unreachable
    // (a dangling commit when the retry falls in another second and so gets another id): valid git, which gc prunes.
    expect((await repo.commit({ write: intentFiles(3), message: "deploy intent-3" })).changed).toBe(true);
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
  });
});
