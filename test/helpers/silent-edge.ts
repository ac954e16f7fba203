/**
 * An "edge" that accepts every HTTP request and never answers: a plain node:http server on a loopback port 0.
 * It records each request and when its socket closes, so a test can witness that a client aborted it.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the silent edge received. */
export interface SilentRequest {
  url: string;
  /** Resolves when the request's socket closes. */
  closed: Promise<void>;
}

export interface SilentEdge {
  url: string;
  /** Every request so far, in arrival order. */
  requests: SilentRequest[];
  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<SilentRequest>;
  /** Resolves once `count` requests have arrived in all; rejects after `boundMs`. */
  untilRequests(count: number, boundMs?: number): Promise<void>;
  /**
   * Resolves with the URLs of the requests from index `from` on once every one of their sockets has closed;
   * rejects naming those still open after `boundMs`.
   */
  allClosed(from: number, boundMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startSilentEdge(): Promise<SilentEdge> {
  const requests: SilentRequest[] = [];
  let waiters: ((r: SilentRequest) => void)[] = [];
  const server = createServer((req: IncomingMessage) => {
    const r: SilentRequest = {
      url: req.url ?? "",
      closed: new Promise((resolve) => req.socket.once("close", () => resolve())),
    };
    requests.push(r);
    const w = waiters;
    waiters = [];
    for (const f of w) f(r);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    untilRequests(count, boundMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${requests.length} requests after ${boundMs} ms, not ${count}`)),
          boundMs,
        );
        const check = () => {
          if (requests.length >= count) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
    async allClosed(from, boundMs = 5000) {
      const mine = requests.slice(from);
      const open = new Set(mine.map((r) => r.url));
      for (const r of mine) void r.closed.then(() => open.delete(r.url));
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still open after ${boundMs} ms: ${[...open].join(", ")}`)), boundMs);
      });
      try {
        await Promise.race([Promise.all(mine.map((r) => r.closed)), bound]);
      } finally {
        clearTimeout(timer);
      }
      return mine.map((r) => r.url);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
