/**
 * A plain HTTP proxy in front of a real git server (test/helpers/git-http-server.ts) that can stop answering:
 * requests it is told to hold are never answered ("silent"), or get the response head and half of the
 * server's first chunk and then nothing ("midway"). It reports when a held request's connection closes,
 * an independent witness that the client hung up rather than waited.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the proxy holds. */
export interface HeldRequest {
  method: string;
  path: string;
  /** Resolves when the client's connection closes. */
  closed: Promise<void>;
}

export interface GitStallingProxy {
  /** The proxy's base URL: a repository `<server>/x.git` is `<url>/x.git` through it. */
  url: string;
  /** From now on, requests that `match` are held; `undefined` forwards everything again. Forgets earlier holds. */
  hold(match: ((req: IncomingMessage) => boolean) | undefined, mode?: "silent" | "midway"): void;
  /** The next request held (for "midway", once its partial answer has been sent). */
  nextHeld(): Promise<HeldRequest>;
  close(): Promise<void>;
}

/** A request is a push (`POST …/git-receive-pack`) or a fetch (`POST …/git-upload-pack`). */
export const isService = (service: "git-receive-pack" | "git-upload-pack") => (req: IncomingMessage) =>
  req.method === "POST" && new URL(req.url ?? "/", "http://x").pathname.endsWith(`/${service}`);

export async function startGitStallingProxy(upstream: string): Promise<GitStallingProxy> {
  const target = new URL(upstream);
  let rule: { match: (req: IncomingMessage) => boolean; mode: "silent" | "midway" } | undefined;
  const waiting: ((h: HeldRequest) => void)[] = [];
  const held: HeldRequest[] = [];
  const report = (h: HeldRequest) => {
    const w = waiting.shift();
    if (w) w(h);
    else held.push(h);
  };
  const server: Server = createServer((req, res) => {
    const hold = rule?.match(req) ? rule.mode : undefined;
    const closed = new Promise<void>((resolve) => req.socket.once("close", () => resolve()));
    const h: HeldRequest = { method: req.method ?? "GET", path: req.url ?? "/", closed };
    if (hold === "silent") {
      // Take the body and never answer.
      req.resume();
      return report(h);
    }
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (hold !== "midway") {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.once("data", (chunk: Buffer) => {
          up.pause();
          res.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))), () => report(h));
        });
        // The rest of the answer is never sent; the upstream connection goes when the client's does.
        closed.then(() => up.destroy());
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold(match, mode = "silent") {
      rule = match ? { match, mode } : undefined;
      // A new rule starts afresh: requests held, or waited for, under the last one are no longer reported.
      held.length = 0;
      waiting.length = 0;
    },
    nextHeld: () => {
      const h = held.shift();
      return h ? Promise.resolve(h) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
