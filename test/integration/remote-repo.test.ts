/**
 * Remote repositories over git smart HTTP with auth (git's own http-backend): registration checks, commits
 * pushed, and two agents' clones committing to one remote at once without losing either's commits.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeploymentRepository, SENTINEL_PATH } from "../../agent/cad/deployment-repo.js";
import { checkRemote, RemoteGitRepository, type GitCredentials } from "../../agent/cad/git/remote.js";
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
    await expect(checkRemote(url, "main", { username: server.username, password: "wrong" })).rejects.toMatchObject({ code: "ERR_REPO_AUTH" });
    await expect(checkRemote(url, "main")).rejects.toMatchObject({ code: "ERR_REPO_AUTH" });
    await expect(checkRemote(url, "release", creds)).rejects.toMatchObject({ code: "ERR_REPO_BRANCH", message: `${url}: branch release does not exist` });
    await expect(checkRemote(`${server.url}/nope.git`, "main", creds)).rejects.toMatchObject({ code: "ERR_REPO_NOT_FOUND" });
    const err = await checkRemote("http://user:hunter2@127.0.0.1:1/x.git", "main", creds).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "ERR_REPO_UNREACHABLE" });
    expect((err as Error).message).not.toContain("hunter2");
  });
});

describe("a remote deployment repository", () => {
  it("commits and pushes what it writes, as the server sees it", async () => {
    const url = server.createRepo("deploy");
    used.push("deploy");
    const repo = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds }));
    await repo.ensureSentinel();
    await repo.writeWave({ intent: "chain", revision: 1, wave: 1, packages: new Map([["web", new Map([["chain/web/a.yaml", "kind: A\n"]])]]) });
    expect(server.git("deploy", "ls-tree", "-r", "--name-only", "main").trim().split("\n")).toEqual([SENTINEL_PATH, "chain/web/a.yaml"]);
    expect(server.git("deploy", "log", "--format=%s", "main").trim().split("\n")).toEqual(["camino: chain revision 1 wave 1", "camino: keep the camino-system sentinel", "initial commit"]);
    // An update rewrites only what changed; a removal touches only the intent's paths.
    await repo.writeWave({ intent: "chain", revision: 2, wave: 1, packages: new Map([["web", new Map([["chain/web/a.yaml", "kind: A\n"], ["chain/web/b.yaml", "kind: B\n"]])]]) });
    expect(server.git("deploy", "diff", "--name-status", "main~1", "main").trim()).toBe("A\tchain/web/b.yaml");
    await repo.writeWave({ intent: "other", revision: 1, wave: 1, packages: new Map([["db", new Map([["other/db/x.yaml", "kind: X\n"]])]]) });
    await repo.removeIntent("chain", 2);
    expect(server.git("deploy", "ls-tree", "-r", "--name-only", "main").trim().split("\n")).toEqual([SENTINEL_PATH, "other/db/x.yaml"]);
    expect(server.git("deploy", "log", "-1", "--format=%s", "main").trim()).toBe("camino: remove chain revision 2");
  });

  it("loses no commit when two clones push at once: it fetches and re-applies on the newer head", async () => {
    const url = server.createRepo("busy");
    used.push("busy");
    const a = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds, maxAttempts: 40 }));
    const b = new DeploymentRepository(new RemoteGitRepository({ url, dir: clone(), credentials: creds, maxAttempts: 40 }));
    const writes = Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).writeWave({ intent: `chain-${i}`, revision: 1, wave: 1, packages: new Map([["web", new Map([[`chain-${i}/web/a.yaml`, `i: ${i}\n`]])]]) }),
    );
    await Promise.all(writes);
    const tree = server.git("busy", "ls-tree", "-r", "--name-only", "main").trim().split("\n");
    expect(tree.filter((p) => p.startsWith("chain-")).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `chain-${i}/web/a.yaml`).sort());
    const parents = server.git("busy", "rev-list", "--parents", "main").trim().split("\n");
    expect(parents.every((l) => l.split(" ").length <= 2)).toBe(true);
    expect(parents).toHaveLength(11);
  });
});
