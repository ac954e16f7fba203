/**
 * A counting HTTP proxy in front of a server (an emulated edge's Kubernetes API): the client is given the proxy's
 * URL, every request is passed on unchanged (responses streamed back, so watches work) and counted by method and
 * path (without the query). An independent witness of what a client asks of the server, for benchmarks and
 * tests: it needs nothing from the server or the client.
 *
 * A request the server refuses to take (connection refused, reset) closes the client's connection too, so the
 * client sees a failed connection as it would without the proxy, not an HTTP error of the proxy's own.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RequestCounterOptions {
  /** The server's base URL (http only), e.g. an emulator's `url`. */
  target: string;
  /** The loopback address to listen on. Default 127.0.0.1. */
  host?: string;
}

export interface RequestCounter {
  /** The proxy's base URL: give it to the client instead of `target`. */
  url: string;
  /** Requests since the start or the last {@link reset}, by `"METHOD /path"` (the query left out). */
  counts(): Map<string, number>;
  /** TCP connections the client opened since the start or the last {@link reset} (one per request without keep-alive). */
  connections(): number;
  /** Starts counting from zero (requests and connections). */
  reset(): void;
  /** Drops every client connection at once, as a server that restarts does; it goes on listening. */
  dropConnections(): void;
  /** Stops listening, ends open connections (watches too) and waits until the server has closed. */
  close(): Promise<void>;
}

/**
 * Starts a counting proxy to `options.target` on a free loopback port.
 * @example
 * const counter = await startRequestCounter({ target: emulator.url });
 * // … the agent talks to counter.url …
 * counter.counts().get("GET /apis/apps/v1/deployments"); // listings across all namespaces
 */
export async function startRequestCounter(options: RequestCounterOptions): Promise<RequestCounter> {
  const target = new URL(options.target);
  if (target.protocol !== "http:") throw new TypeError(`target: only http URLs are proxied, not ${target.protocol}`);
  const upstream = new http.Agent({ keepAlive: true });
  let counts = new Map<string, number>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const key = `${req.method ?? "GET"} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: upstream,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        // Sent now, as the server sent them: a watch with no event yet must not keep its client waiting.
        res.flushHeaders();
        answer.pipe(res);
        // The server dropped the connection mid-answer (a watch cut): the client's connection drops with it.
        answer.on("close", () => {
          if (!answer.complete) req.socket.destroy();
        });
      },
    );
    // The server did not take or finish the request: the client's connection ends the same way.
    up.on("error", () => req.socket.destroy());
    // The client hung up before the answer ended (a watch it stopped): the upstream request ends with it.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  server.on("connection", () => void connections++);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    counts: () => new Map(counts),
    connections: () => connections,
    reset: () => {
      counts = new Map();
      connections = 0;
    },
    dropConnections: () => server.closeAllConnections(),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      upstream.destroy();
      await closed;
    },
  };
}
