/**
 * Cancellation reaches the Kubernetes I/O: an edge that accepts requests and never answers has them aborted at
 * the edge's deadline, and a caller's abort ends its call too; in both cases the server, an independent
 * witness, sees each request's socket closed. Covers the three clients the edge driver uses (CoreV1Api,
 * CustomObjectsApi, KubernetesObjectApi with its discovery request).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeClient, EdgeError } from "../../agent/edge/edge-client.js";

/** A request the silent server received, and whether its socket has closed. */
interface Seen {
  url: string;
  closed: Promise<void>;
}

let server: Server;
let url: string;
const seen: Seen[] = [];
let onRequest: ((r: Seen) => void) | undefined;

beforeAll(async () => {
  // Accepts every request and never answers.
  server = createServer((req: IncomingMessage) => {
    const r: Seen = { url: req.url ?? "", closed: new Promise((resolve) => req.socket.once("close", () => resolve())) };
    seen.push(r);
    onRequest?.(r);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
});

/** Resolves when every request seen from index `from` on has its socket closed; fails naming those still open. */
async function allClosed(from: number, boundMs = 5000): Promise<string[]> {
  const mine = seen.slice(from);
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
}

const silentEdge = (timeoutMs: number) => EdgeClient.fromConfig({ name: "silent", server: url, labels: {}, timeoutMs });

describe("an edge that never answers", () => {
  // Capacity lists nodes and pods in parallel: either may be the one reported.
  it.each([
    ["read the RootSync", (e: EdgeClient) => e.rootSync(), "/apis/configsync.gke.io/v1beta1/namespaces/"],
    ["list (nodes|pods)", (e: EdgeClient) => e.capacity(), "/api/v1/nodes"],
    ["list Deployments", (e: EdgeClient) => e.workloads("chain", undefined), "/apis/apps/v1"],
  ])("is aborted at the deadline (%s), and its request is closed", async (what, call, path) => {
    const edge = await silentEdge(300);
    const from = seen.length;
    const started = Date.now();
    const err = await call(edge).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(EdgeError);
    expect(err).toMatchObject({
      code: "ERR_EDGE_TIMEOUT",
      message: expect.stringMatching(new RegExp(`^edge silent: ${what} did not answer within 300 ms$`)),
    });
    // The deadline ended the call, not something slower.
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000);
    expect(edge.health).toMatchObject({
      healthy: false,
      reason: expect.stringMatching(new RegExp(`^${what} did not answer within 300 ms$`)),
    });
    // The witness: the server saw the request, and then its socket closed.
    const urls = await allClosed(from);
    expect(urls.some((u) => u.startsWith(path))).toBe(true);
  });

  it("is aborted when the caller's signal aborts mid-call: the caller's reason, the request closed, health untouched", async () => {
    const edge = await silentEdge(60_000);
    const from = seen.length;
    const arrived = new Promise<void>((resolve) => {
      onRequest = () => resolve();
    });
    const controller = new AbortController();
    const reason = new Error("the caller gave up");
    const call = edge.rootSync(controller.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    await arrived;
    onRequest = undefined;
    controller.abort(reason);
    expect(await call).toBe(reason);
    const urls = await allClosed(from);
    expect(urls).toHaveLength(1);
    // The caller giving up says nothing about the edge.
    expect(edge.health).toMatchObject({ healthy: false, reason: "not checked yet" });
    // An already aborted signal sends nothing.
    await expect(edge.rootSync(controller.signal)).rejects.toBe(reason);
    expect(seen).toHaveLength(from + 1);
  });
});
