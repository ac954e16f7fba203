/**
 * Remote repositories over git smart HTTP with auth (git's own http-backend): registration checks, commits
 * pushed, and two agents' clones committing to one remote at once without losing either's commits.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeploymentRepository, SENTINEL_PATH } from "../../agent/cad/deployment-repo.js";
import { writeFileSync, chmodSync } from "node:fs";
import { checkRemote, RemoteGitRepository, type GitCredentials } from "../../agent/cad/git/remote.js";
import { RepositoryRegistry } from "../../agent/cad/repository-registry.js";
import { silentLogger } from "../../agent/log/logger.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";

let server: GitHttpServer;
let creds: GitCredentials;
const used: string[] = [];

beforeAll(async () => {
  server = await startGitHttpServer();
  creds = { username: server.username, password: server.password };
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const name of used.splice(0)) expect(server.git(name, "fsck", "--strict", "--no-dangling")).toBe("");
});

const clone = () => mkdtempSync(join(tmpdir(), "camino-clone-"));

describe("registration checks", () => {
  it("accepts a reachable repository with working credentials and an existing branch", async () => {
    const url = server.createRepo("ok");
    expect(await checkRemote(url, "main", creds)).toBe(server.git("ok", "rev-parse", "main").trim());
  });

  it("refuses wrong credentials, a missing branch, a missing repository and an unreachable server, without leaking secrets", async () => {
    const url = server.createRepo("checks");
    await expect(checkRemote(url, "main", { username: server.username, password: "wrong" })).rejects.toMatchObject({
      code: "ERR_REPOSITORY_AUTH",
    });
    await expect(checkRemote(url, "main")).rejects.toMatchObject({ code: "ERR_REPOSITORY_AUTH" });
    await expect(checkRemote(url, "release", creds)).rejects.toMatchObject({
      code: "ERR_REPOSITORY_BRANCH",
      message: `${url}: branch release does not exist`,
    });
    await expect(checkRemote(`${server.url}/nope.git`, "main", creds)).rejects.toMatchObject({
      code: "ERR_REPOSITORY_NOT_FOUND",
    });
    const err = await checkRemote("http://user:hunter2@127.0.0.1:1/x.git", "main", creds).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "ERR_REPOSITORY_UNREACHABLE" });
    expect((err as Error).message).not.toContain("hunter2");
  });
});

describe("a remote deployment repository", () => {
  it("commits and pushes what it writes, as the server sees it", async () => {
    const url = server.createRepo("deploy");
    used.push("deploy");
    const repo = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds }));
    await repo.ensureSentinel();
    await repo.writeWave({
      intent: "chain",
      revision: 1,
      wave: 1,
      packages: new Map([["web", new Map([["chain/web/a.yaml", "kind: A\n"]])]]),
    });
    expect(server.git("deploy", "ls-tree", "-r", "--name-only", "main").trim().split("\n")).toEqual([
      SENTINEL_PATH,
      "chain/web/a.yaml",
    ]);
    expect(server.git("deploy", "log", "--format=%s", "main").trim().split("\n")).toEqual([
      "camino: chain revision 1 wave 1",
      "camino: keep the camino-system sentinel",
      "initial commit",
    ]);
    // An update rewrites only what changed; a removal touches only the intent's paths.
    await repo.writeWave({
      intent: "chain",
      revision: 2,
      wave: 1,
      packages: new Map([
        [
          "web",
          new Map([
            ["chain/web/a.yaml", "kind: A\n"],
            ["chain/web/b.yaml", "kind: B\n"],
          ]),
        ],
      ]),
    });
    expect(server.git("deploy", "diff", "--name-status", "main~1", "main").trim()).toBe("A\tchain/web/b.yaml");
    await repo.writeWave({
      intent: "other",
      revision: 1,
      wave: 1,
      packages: new Map([["db", new Map([["other/db/x.yaml", "kind: X\n"]])]]),
    });
    await repo.removeIntent("chain", 2);
    expect(server.git("deploy", "ls-tree", "-r", "--name-only", "main").trim().split("\n")).toEqual([
      SENTINEL_PATH,
      "other/db/x.yaml",
    ]);
    expect(server.git("deploy", "log", "-1", "--format=%s", "main").trim()).toBe("camino: remove chain revision 2");
  });

  it("loses no commit when two clones push at once: it fetches and re-applies on the newer head", async () => {
    const url = server.createRepo("busy");
    used.push("busy");
    const a = new DeploymentRepository(
      new RemoteGitRepository({ url, dir: clone(), credentials: creds, maxAttempts: 40 }),
    );
    const b = new DeploymentRepository(
      new RemoteGitRepository({ url, dir: clone(), credentials: creds, maxAttempts: 40 }),
    );
    const writes = Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).writeWave({
        intent: `chain-${i}`,
        revision: 1,
        wave: 1,
        packages: new Map([["web", new Map([[`chain-${i}/web/a.yaml`, `i: ${i}\n`]])]]),
      }),
    );
    await Promise.all(writes);
    const tree = server.git("busy", "ls-tree", "-r", "--name-only", "main").trim().split("\n");
    expect(tree.filter((p) => p.startsWith("chain-")).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `chain-${i}/web/a.yaml`).sort(),
    );
    const parents = server.git("busy", "rev-list", "--parents", "main").trim().split("\n");
    expect(parents.every((l) => l.split(" ").length <= 2)).toBe(true);
    expect(parents).toHaveLength(11);
  });
});

describe("remote repository hazards", () => {
  it("recognises a wave its push landed before a crash by the commit's trailers, after fetching, and commits it no more", async () => {
    const url = server.createRepo("landed");
    used.push("landed");
    const first = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds }));
    await first.ensureSentinel();
    const baseline = server.git("landed", "rev-parse", "main").trim();
    const wave = (text: string, committedAfter?: string) => ({
      intent: "chain",
      revision: 3,
      wave: 1,
      packages: new Map([["web", new Map([["chain/web/a.yaml", text]])]]),
      committedAfter,
    });
    const landed = await first.writeWave(wave("v: 1\n"));
    // The agent restarts with a fresh clone that never heard the push's reply; its hydration differs a little.
    const again = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds }));
    const found = await again.writeWave(wave("v: 2\n", baseline));
    expect(found).toEqual({ commit: landed.commit, changed: false, recognised: true });
    expect(server.git("landed", "rev-parse", "main").trim()).toBe(landed.commit);
    // Only commits after the baseline count: a wave committed before it is an earlier life of the intent.
    const after = await again.writeWave(wave("v: 2\n", landed.commit));
    expect(after.changed).toBe(true);
    expect(server.git("landed", "show", "main:chain/web/a.yaml")).toBe("v: 2\n");
  });

  it("never loses a commit to a refresh that runs alongside it", async () => {
    const url = server.createRepo("racy");
    used.push("racy");
    const remote = new RemoteGitRepository({ url, dir: clone(), credentials: creds });
    const repo = new DeploymentRepository(remote);
    let stop = false;
    const refresher = (async () => {
      while (!stop) await remote.fetch();
    })();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        repo.writeWave({
          intent: `c-${i}`,
          revision: 1,
          wave: 1,
          packages: new Map([["p", new Map([[`c-${i}/p/a.yaml`, `i: ${i}\n`]])]]),
        }),
      ),
    );
    stop = true;
    await refresher;
    const onServer = server.git("racy", "ls-tree", "-r", "--name-only", "main").trim().split("\n");
    expect(onServer.filter((p) => p.startsWith("c-"))).toHaveLength(12);
    for (const r of results) expect(server.git("racy", "cat-file", "-t", r.commit).trim()).toBe("commit");
  });

  it("reports a push the server refuses (a hook) as final, and keeps the local branch at the remote's head", async () => {
    const url = server.createRepo("hooked");
    const hook = join(server.root, "hooked.git", "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'changes need a review' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    const remote = new RemoteGitRepository({ url, dir: clone(), credentials: creds });
    const err = await new DeploymentRepository(remote).ensureSentinel().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_REPOSITORY_PUSH_REFUSED" });
    expect(await remote.head()).toBe(server.git("hooked", "rev-parse", "main").trim());
  });

  it("re-registering a name at a new URL writes to the new remote, with the new credentials", async () => {
    const first = server.createRepo("first");
    const second = server.createRepo("second");
    used.push("first", "second");
    const dataDir = clone();
    const registry = await RepositoryRegistry.open({ dataDir, logger: silentLogger() });
    const secret = `${server.username}:${server.password}`;
    await registry.register({ name: "edge-9", role: "deployment", edge: "edge-9", url: first, branch: "main" }, secret);
    await registry.remove("edge-9");
    const again = await registry.register(
      { name: "edge-9", role: "deployment", edge: "edge-9", url: second, branch: "main" },
      secret,
    );
    await new DeploymentRepository(again.git).ensureSentinel();
    expect(server.git("second", "ls-tree", "-r", "--name-only", "main").trim()).toBe(SENTINEL_PATH);
    expect(server.git("first", "ls-tree", "-r", "--name-only", "main").trim()).toBe("");
  });

  it("refuses a URL that carries a token in its query", async () => {
    const registry = await RepositoryRegistry.open({ dataDir: clone(), logger: silentLogger() });
    await expect(
      registry.register({ name: "q", role: "blueprint", url: `${server.url}/x.git?private_token=abc`, branch: "main" }),
    ).rejects.toThrow("must not have a query or fragment");
  });
});
