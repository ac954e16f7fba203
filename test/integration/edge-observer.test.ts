/**
 * The edge observer's calls carry its signal: closing it (or aborting the parent signal it was given) aborts
 * the edge calls under way, whose requests the server sees closed, and rejects every waiter; a wait asked of a
 * closed observer is refused at once and sends nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeClient } from "../../agent/edge/edge-client.js";
import { EdgeObserver } from "../../agent/orchestration/edge-observer.js";
import { startSilentEdge, type SilentEdge } from "../helpers/silent-edge.js";

let silent: SilentEdge;
let edge: EdgeClient;
const C = "c".repeat(40);
const never = async () => false;

beforeAll(async () => {
  silent = await startSilentEdge();
  // The edge's own deadline is far away: only the observer's signal can end its calls.
  edge = await EdgeClient.fromConfig({ name: "silent", server: silent.url, labels: {}, timeoutMs: 60_000 });
});
afterAll(async () => {
  await silent?.close();
});

/**
 * Starts a sync waiter and a workload waiter, `first` first, and resolves once the edge call of the first
 * tick is under way (a tick asks for the waiters there when it starts; the other waits for the next tick).
 */
async function waiting(observer: EdgeObserver, first: "sync" | "workloads") {
  const from = silent.requests.length;
  const caller = new AbortController().signal;
  const settled = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: unknown) => e,
    );
  const sync = () =>
    settled(observer.waitSynced({ commit: C, intent: "chain", isDescendant: never, timeoutMs: 60_000 }, caller));
  const workloads = () => settled(observer.waitAvailable("chain", "p", caller, () => {}));
  const [a, b] = first === "sync" ? [sync(), workloads()] : [workloads(), sync()];
  await silent.untilRequests(from + 1);
  return { from, waiters: [a, b] };
}

describe("the edge observer", () => {
  it("close() aborts its edge calls under way (their requests closed) and rejects its waiters", async () => {
    const observer = new EdgeObserver(edge, 50);
    const { from, waiters } = await waiting(observer, "sync");
    observer.close();
    const shutdown = { code: "ERR_SHUTDOWN", message: "the observer of edge silent was closed" };
    for (const w of waiters) expect(await w).toMatchObject(shutdown);
    expect(await silent.allClosed(from)).toEqual([
      "/apis/configsync.gke.io/v1beta1/namespaces/config-management-system/rootsyncs/root-sync",
    ]);
    const count = silent.requests.length;
    await expect(
      observer.waitSynced(
        { commit: C, intent: "chain", isDescendant: never, timeoutMs: 60_000 },
        new AbortController().signal,
      ),
    ).rejects.toMatchObject(shutdown);
    expect(silent.requests).toHaveLength(count);
  });

  it("stops with the parent signal it was given, rejecting its waiters with the parent's reason", async () => {
    const parent = new AbortController();
    const observer = new EdgeObserver(edge, 50, parent.signal);
    const { from, waiters } = await waiting(observer, "workloads");
    const reason = new Error("the agent is shutting down");
    parent.abort(reason);
    for (const w of waiters) expect(await w).toBe(reason);
    // The workload listing starts with the discovery of apps/v1.
    expect(await silent.allClosed(from)).toEqual(["/apis/apps/v1"]);
  });
});
