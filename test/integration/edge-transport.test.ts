/**
 * Cancellation reaches the Kubernetes I/O: an edge that accepts requests and never answers has them aborted at
 * the edge's deadline, and a caller's abort ends its call too; in both cases the server, an independent
 * witness, sees each request's socket closed. Covers the three clients the edge driver uses (CoreV1Api,
 * CustomObjectsApi, KubernetesObjectApi with its discovery request).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeClient, EdgeError } from "../../agent/edge/edge-client.js";
import { startSilentEdge, type SilentEdge } from "../helpers/silent-edge.js";

let silent: SilentEdge;

beforeAll(async () => {
  silent = await startSilentEdge();
});
afterAll(async () => {
  await silent?.close();
});

const silentEdge = (timeoutMs: number) =>
  EdgeClient.fromConfig({ name: "silent", server: silent.url, labels: {}, timeoutMs });

describe("an edge that never answers", () => {
  // Capacity lists nodes and pods in parallel: either may be the one reported.
  it.each([
    ["read the RootSync", (e: EdgeClient) => e.rootSync(), "/apis/configsync.gke.io/v1beta1/namespaces/"],
    ["list (nodes|pods)", (e: EdgeClient) => e.capacity(), "/api/v1/nodes"],
    ["list Deployments", (e: EdgeClient) => e.workloads("chain", undefined), "/apis/apps/v1"],
  ])("is aborted at the deadline (%s), and its request is closed", async (what, call, path) => {
    const edge = await silentEdge(300);
    const from = silent.requests.length;
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
    const urls = await silent.allClosed(from);
    expect(urls.some((u) => u.startsWith(path))).toBe(true);
  });

  it("is aborted when the caller's signal aborts mid-call: the caller's reason, the request closed, health untouched", async () => {
    const edge = await silentEdge(60_000);
    const from = silent.requests.length;
    const arrived = silent.nextRequest();
    const controller = new AbortController();
    const reason = new Error("the caller gave up");
    const call = edge.rootSync(controller.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    await arrived;
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(await silent.allClosed(from)).toHaveLength(1);
    // The caller giving up says nothing about the edge.
    expect(edge.health).toMatchObject({ healthy: false, reason: "not checked yet" });
    // An already aborted signal sends nothing.
    await expect(edge.rootSync(controller.signal)).rejects.toBe(reason);
    expect(silent.requests).toHaveLength(from + 1);
  });
});
