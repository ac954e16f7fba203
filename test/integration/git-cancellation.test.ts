/**
 * Cancellation reaches git over HTTP: a remote repository's push, fetch and check end at their deadline or at
 * the caller's signal even when the server never answers, the connection is closed (the server sees it go),
 * and nothing is half-written (the git CLI and `git fsck --strict` look at both sides).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeploymentRepository } from "../../agent/cad/deployment-repo.js";
import { gitHttpClient } from "../../agent/cad/git/http-client.js";
import { checkRemote, RemoteGitRepository, type GitCredentials } from "../../agent/cad/git/remote.js";
import { CaminoError } from "../../agent/errors.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { isService, startGitStallingProxy, type GitStallingProxy } from "../helpers/git-stalling-proxy.js";

let server: GitHttpServer;
let proxy: GitStallingProxy;
let creds: GitCredentials;
const used: string[] = [];
const clones: string[] = [];

beforeAll(async () => {
  server = await startGitHttpServer();
  proxy = await startGitStallingProxy(server.url);
  creds = { username: server.username, password: server.password };
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});
afterEach(() => {
  proxy.hold(undefined);
  for (const name of used.splice(0)) expect(server.git(name, "fsck", "--strict", "--no-dangling")).toBe("");
  for (const dir of clones.splice(0)) expect(git(dir, "fsck", "--strict", "--no-dangling")).toBe("");
});

const git = (dir: string, ...args: string[]) =>
  execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** A repository on the git server, reached through the proxy; its clone folder is checked after the test. */
function repository(name: string): { url: string; dir: string } {
  server.createRepo(name);
  used.push(name);
  const dir = mkdtempSync(join(tmpdir(), "camino-clone-"));
  clones.push(dir);
  return { url: `${proxy.url}/${name}.git`, dir };
}

/** `p`, or a failure saying `what` did not happen within `ms` (so a hang fails here, not at the test timeout). */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("a remote repository whose server stops answering", () => {
  it("a push to a git server that never answers ends at its deadline", async () => {
    const { url, dir } = repository("hung");
    const remote = new RemoteGitRepository({ url, dir, credentials: creds, deadlines: { push: 3_000 } });
    await remote.fetch();
    const before = git(dir, "rev-parse", "refs/heads/main");
    expect(before).toBe(server.git("hung", "rev-parse", "main").trim());

    proxy.hold(isService("git-receive-pack"), "silent");
    const held = proxy.nextHeld();
    const err = await within(
      10_000,
      new DeploymentRepository(remote).ensureSentinel().then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the push did not end",
    );
    expect(err).toBeInstanceOf(CaminoError);
    expect(err).toMatchObject({
      code: "ERR_DEADLINE",
      message: `push to ${url} did not finish within 3000 ms`,
      data: { operation: "push", repository: url, ms: 3_000 },
    });
    expect((err as Error).cause).toBeDefined();
    expect(JSON.stringify((err as CaminoError).toJSON())).not.toContain(server.password);

    // The server saw the push arrive, and saw its connection closed.
    const request = await within(5_000, held, "the push never reached the server");
    expect(request).toMatchObject({ method: "POST", path: "/hung.git/git-receive-pack" });
    await within(5_000, request.closed, "the push's connection was not closed");

    // Nothing half-written: the clone's branch is where it was, and so is the server's.
    expect(git(dir, "rev-parse", "refs/heads/main")).toBe(before);
    expect(git(dir, "rev-parse", "refs/remotes/origin/main")).toBe(before);
    expect(server.git("hung", "rev-parse", "main").trim()).toBe(before);

    // Once the server answers again, the clone pushes (with a deadline a loaded machine can meet).
    proxy.hold(undefined);
    const again = new RemoteGitRepository({ url, dir, credentials: creds });
    const { commit } = await new DeploymentRepository(again).ensureSentinel();
    expect(server.git("hung", "rev-parse", "main").trim()).toBe(commit);
  });

  it("a commit queued behind a hung push stops when its caller aborts, without waiting for that push", async () => {
    const { url, dir } = repository("queued");
    const remote = new RemoteGitRepository({ url, dir, credentials: creds, deadlines: { push: 3_000 } });
    const repo = new DeploymentRepository(remote);
    await remote.fetch();
    const before = git(dir, "rev-parse", "refs/heads/main");

    proxy.hold(isService("git-receive-pack"), "silent");
    const held = proxy.nextHeld();
    let firstEnded = false;
    const first = repo.ensureSentinel().then(
      () => undefined,
      (e: unknown) => e,
    );
    void first.finally(() => {
      firstEnded = true;
    });
    await within(5_000, held, "the first push never reached the server");
    const controller = new AbortController();
    const second = repo
      .writeWave(
        {
          intent: "chain",
          revision: 1,
          wave: 1,
          packages: new Map([["web", new Map([["chain/web/a.yaml", "a: 1\n"]])]]),
        },
        { signal: controller.signal },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    controller.abort();
    expect(await within(2_000, second, "the queued commit did not stop")).toMatchObject({
      code: "ERR_CANCELLED",
      // A plain abort() gives Node's own reason (an AbortError), whose text is Node's.
      message: expect.stringMatching(/^push to \S+\/queued\.git stopped: /),
      data: { operation: "push", repository: url },
    });
    expect(firstEnded).toBe(false);
    expect(await within(10_000, first, "the first push did not end")).toMatchObject({ code: "ERR_DEADLINE" });

    // The queued change was never written, here or there.
    expect(git(dir, "rev-parse", "refs/heads/main")).toBe(before);
    expect(server.git("queued", "rev-parse", "main").trim()).toBe(before);
    expect(server.git("queued", "ls-tree", "-r", "--name-only", "main").trim()).toBe("");
  });

  it("a caller's signal aborting a fetch mid-way closes the request, and keeps the clone as it was", async () => {
    const { url, dir } = repository("midway");
    const remote = new RemoteGitRepository({ url, dir, credentials: creds });
    await remote.fetch();
    const before = git(dir, "rev-parse", "refs/heads/main");
    // A new commit on the server, so the fetch has a pack to bring.
    const tree = server.git("midway", "rev-parse", "main^{tree}").trim();
    const next = server.git("midway", "commit-tree", tree, "-p", "main", "-m", "second").trim();
    server.git("midway", "update-ref", "refs/heads/main", next);

    proxy.hold(isService("git-upload-pack"), "midway");
    const controller = new AbortController();
    // The caller gives up once the server has begun to answer (half of the answer's first chunk is out).
    const held = proxy.nextHeld().then((h) => {
      controller.abort(new CaminoError("ERR_SHUTDOWN", "the agent is shutting down"));
      return h;
    });
    const err = await within(
      10_000,
      remote.fetch({ signal: controller.signal }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the fetch did not end",
    );
    expect(err).toMatchObject({
      code: "ERR_SHUTDOWN",
      message: `fetch from ${url} stopped: the agent is shutting down`,
      data: { operation: "fetch", repository: url },
    });
    const request = await held;
    expect(request).toMatchObject({ method: "POST", path: "/midway.git/git-upload-pack" });
    await within(5_000, request.closed, "the fetch's connection was not closed");

    expect(git(dir, "rev-parse", "refs/heads/main")).toBe(before);
    expect(git(dir, "rev-parse", "refs/remotes/origin/main")).toBe(before);
    // The commit was not brought in part: the clone does not have it.
    expect(() => git(dir, "cat-file", "-e", next)).toThrow();

    proxy.hold(undefined);
    expect(await remote.fetch()).toBe(next);
  });

  it("a registration check against a server that accepts and never answers ends at its deadline", async () => {
    proxy.hold(() => true, "silent");
    const held = proxy.nextHeld();
    const url = `${proxy.url}/silent.git`;
    const err = await within(
      10_000,
      checkRemote(url, "main", creds, { deadlines: { check: 300 } }).then(
        () => undefined,
        (e: unknown) => e,
      ),
      "the check did not end",
    );
    expect(err).toMatchObject({ code: "ERR_DEADLINE", message: `check of ${url} did not finish within 300 ms` });
    await within(5_000, (await held).closed, "the check's connection was not closed");
  });
});

describe("the git HTTP client", () => {
  let target: Server;
  let seen: (string | undefined)[];
  beforeAll(async () => {
    seen = [];
    target = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end("ok");
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((r) => target.close(r));
  });

  it("follows a redirect, sending credentials only to the same origin", async () => {
    const port = (target.address() as AddressInfo).port;
    const redirector = createServer((req, res) => {
      // /same → the same origin; anything else → the other server (another port: another origin).
      if (req.url === "/same") res.writeHead(302, { location: "/landed" }).end();
      else if (req.url === "/landed") res.end(`auth: ${req.headers.authorization ?? "none"}`);
      else res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
    try {
      const base = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
      const http = gitHttpClient();
      const headers = { authorization: `Basic ${Buffer.from("u:secret").toString("base64")}` };
      const read = async (body: AsyncIterableIterator<Uint8Array> | undefined) => {
        const chunks: Uint8Array[] = [];
        for await (const c of body ?? []) chunks.push(c);
        return Buffer.concat(chunks).toString();
      };
      const same = await http.request({ url: `${base}/same`, headers });
      expect(same.url).toBe(`${base}/landed`);
      expect(await read(same.body)).toBe(`auth: ${headers.authorization}`);
      const other = await http.request({ url: `${base}/other`, headers });
      expect(other.url).toBe(`http://127.0.0.1:${port}/elsewhere`);
      expect(await read(other.body)).toBe("ok");
      expect(seen).toEqual([undefined]);
    } finally {
      redirector.closeAllConnections();
      await new Promise((r) => redirector.close(r));
    }
  });
});
