/**
 * A real git smart-HTTP server for tests: git's own `git http-backend` (CGI) behind a Node HTTP server on a
 * loopback port, with Basic auth required (user:password, or a token as the password, as GitLab and Gitea
 * accept). Repositories live under a temp folder; `createRepo` makes a bare one with a first commit.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface GitHttpServer {
  url: string;
  root: string;
  /** The accepted credentials. */
  username: string;
  password: string;
  /** Creates a bare repository with one commit on `branch` (a README); returns its URL. */
  createRepo(name: string, branch?: string): string;
  /** Runs git against a repository's bare folder. */
  git(name: string, ...args: string[]): string;
  close(): Promise<void>;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@localhost",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@localhost",
};

export async function startGitHttpServer(): Promise<GitHttpServer> {
  const root = mkdtempSync(join(tmpdir(), "camino-git-"));
  const username = "camino-ci";
  const password = "s3cret-token";
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end("authentication required\n");
      req.resume();
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        // http-backend refuses pushes from anonymous users.
        REMOTE_USER: username,
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
        HTTP_GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        ...GIT_ENV,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let sent = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (sent) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const i = line.indexOf(":");
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      sent = true;
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on("end", () => res.end());
    cgi.on("error", () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = (cwd: string, ...args: string[]) =>
    execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      env: { ...process.env, ...GIT_ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
  return {
    url,
    root,
    username,
    password,
    createRepo(name, branch = "main") {
      const bare = join(root, `${name}.git`);
      execFileSync("git", ["init", "-q", "--bare", "-b", branch, bare]);
      const work = mkdtempSync(join(tmpdir(), "camino-seed-"));
      run(work, "init", "-q", "-b", branch);
      run(work, "commit", "-q", "--allow-empty", "-m", "initial commit");
      run(work, "push", "-q", bare, branch);
      rmSync(work, { recursive: true, force: true });
      return `${url}/${name}.git`;
    },
    git: (name, ...args) => run(join(root, `${name}.git`), ...args),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
