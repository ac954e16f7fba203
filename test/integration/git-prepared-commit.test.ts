/**
 * A commit prepared while the caller waits on something else, landed later (LocalGitRepository.prepare / land,
 * used for a wave's commit during its dry run): the branch moves only at landing, to the prepared commit when it
 * is still where it was, and to a commit made anew on the new head when another commit came in between. Checked
 * with the real git CLI.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeploymentRepository } from "../../agent/cad/deployment-repo.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";

const gitCli = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const head = (dir: string) => gitCli(dir, "rev-parse", "main").trim();
const subjects = (dir: string) => gitCli(dir, "log", "--format=%s").trim().split("\n");

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function repository(): Promise<{ dir: string; repo: LocalGitRepository; d: DeploymentRepository }> {
  const dir = mkdtempSync(join(tmpdir(), "camino-prepared-"));
  dirs.push(dir);
  const repo = await new LocalGitRepository({ dir }).init();
  const d = new DeploymentRepository(repo);
  await d.ensureSentinel();
  return { dir, repo, d };
}

const wave = (intent: string, n: number, text = "replicas: 1") => ({
  intent,
  revision: 1,
  wave: n,
  packages: new Map([["web", new Map([[`${intent}/web/deployment.yaml`, `kind: Deployment\n${text}\n`]])]]),
});

describe("a prepared commit", () => {
  it("moves the branch only when it lands, to the commit prepared, with its trailers; git reads it", async () => {
    const { dir, d } = await repository();
    const before = head(dir);
    const prepared = await d.prepareWave(wave("atlas", 1));
    expect(prepared?.result.changed).toBe(true);
    // Written, not landed: the branch has not moved, and the repository is whole, the commit in it named by nothing.
    expect(head(dir)).toBe(before);
    expect(gitCli(dir, "cat-file", "-t", prepared?.result.commit as string).trim()).toBe("commit");
    expect(gitCli(dir, "fsck", "--strict")).toContain(`dangling commit ${prepared?.result.commit}`);

    const landed = await d.landWave(prepared as NonNullable<typeof prepared>);
    expect(landed).toEqual({ commit: prepared?.result.commit, changed: true });
    expect(head(dir)).toBe(landed.commit);
    expect(gitCli(dir, "show", "main:atlas/web/deployment.yaml")).toContain("replicas: 1");
    expect(gitCli(dir, "log", "-1", "--format=%B")).toContain("Camino-Wave: 1");
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
  });

  it("is made anew on the new head when another commit moved the branch first: both intents' files are kept", async () => {
    const { dir, d } = await repository();
    const prepared = await d.prepareWave(wave("atlas", 1));
    const other = await d.writeWave(wave("borealis", 1));
    const landed = await d.landWave(prepared as NonNullable<typeof prepared>);
    expect(landed.changed).toBe(true);
    expect(landed.commit).not.toBe(prepared?.result.commit);
    expect(gitCli(dir, "rev-parse", "main~1").trim()).toBe(other.commit);
    expect(gitCli(dir, "ls-tree", "--name-only", "main").split("\n")).toEqual(
      expect.arrayContaining(["atlas", "borealis"]),
    );
    expect(subjects(dir).slice(0, 2)).toEqual([
      "camino: atlas revision 1 wave 1",
      "camino: borealis revision 1 wave 1",
    ]);
    // The prepared commit never landed: objects nothing names, which git reports as dangling only.
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
  });

  it("of a change that changes nothing lands as no commit; one whose `after` fails leaves the branch where it was", async () => {
    const { dir, d } = await repository();
    const first = await d.writeWave(wave("atlas", 1));
    const same = await d.prepareWave(wave("atlas", 1));
    expect(await d.landWave(same as NonNullable<typeof same>)).toEqual({ commit: first.commit, changed: false });
    expect(head(dir)).toBe(first.commit);

    const failing = Promise.reject(new Error("the journal could not be written"));
    failing.catch(() => undefined);
    const prepared = await d.prepareWave({ ...wave("atlas", 2, "replicas: 2"), after: failing });
    await expect(d.landWave(prepared as NonNullable<typeof prepared>)).rejects.toThrow(
      "the journal could not be written",
    );
    expect(head(dir)).toBe(first.commit);
    expect(gitCli(dir, "fsck", "--strict", "--no-dangling")).toBe("");
  });
});
