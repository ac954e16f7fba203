/**
 * The edge observer's standing watches (settled deployments) follow what changes: with the edge's watched copy
 * live, a tick tells only the watches of intents the copy heard a change of, and the restless ones; every watch
 * when the RootSync's errors change or the copy is not live; and a watch grown restless without a change is told
 * at the next rescan. The edge is a stand-in object with the EdgeClient methods the observer calls, so that what
 * the copy "hears" is set by the test.
 */
import { afterEach, expect, it, vi } from "vitest";
import type { EdgeClient, WorkloadStatus } from "../../agent/edge/edge-client.js";
import { EdgeObserver } from "../../agent/orchestration/edge-observer.js";

const observers: EdgeObserver[] = [];
afterEach(() => {
  for (const o of observers.splice(0)) o.close();
});

function fakeEdge() {
  const marks = new Map<string, number>();
  const listeners = new Set<(intent: string) => void>();
  let sequence = 0;
  const state = { live: true, errors: [] as unknown[], reads: 0, workloads: [] as WorkloadStatus[] };
  const edge = {
    name: "edge-1",
    get watchedLive() {
      return state.live;
    },
    changesOf: (intent: string) => (state.live ? (marks.get(intent) ?? 0) : undefined),
    onIntentChange(listener: (intent: string) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async rootSync() {
      state.reads++;
      return {
        metadata: { generation: 1 },
        status: { observedGeneration: 1, sync: { commit: "c".repeat(40), errors: state.errors }, conditions: [] },
      };
    },
    watchedWorkloadsOf: async () => [],
    watchedPodsOf: async () => [],
    workloadsOf: async () => state.workloads,
    podsOf: async () => [],
  };
  /** What the copy hearing a change of one of the intent's objects does. */
  const change = (intent: string) => {
    marks.set(intent, ++sequence);
    for (const l of listeners) l(intent);
  };
  /** Resolves once `n` more ticks have read the RootSync (a tick with watches due reads it first). */
  const ticks = async (n: number) => {
    const until = state.reads + n;
    await vi.waitFor(() => expect(state.reads).toBeGreaterThanOrEqual(until), { timeout: 5_000, interval: 2 });
  };
  return { edge: edge as unknown as EdgeClient, state, change, ticks };
}

function watchAll(observer: EdgeObserver, intents: string[], restless = new Set<string>()) {
  const told = new Map<string, number>();
  for (const intent of intents)
    observer.watchWorkloads(
      intent,
      () => told.set(intent, (told.get(intent) ?? 0) + 1),
      () => restless.has(intent),
    );
  return told;
}

const intents = Array.from({ length: 50 }, (_, i) => `chain-${i}`);
const all = (n: number) => new Map(intents.map((i) => [i, n]));

it("tells a watch when something of its intent changed, not at every tick", async () => {
  const { edge, change, ticks } = fakeEdge();
  const observer = new EdgeObserver(edge, 5, undefined, 5, 60_000);
  observers.push(observer);
  const told = watchAll(observer, intents);
  await ticks(3);
  // Each told once when it started, then nothing changed.
  expect(told).toEqual(all(1));
  change("chain-7");
  change("chain-30");
  await ticks(3);
  expect(told).toEqual(new Map([...all(1), ["chain-7", 2], ["chain-30", 2]]));
});

it("tells every watch when the RootSync's errors change, and while the copy is not live", async () => {
  const { edge, state, ticks } = fakeEdge();
  const observer = new EdgeObserver(edge, 5, undefined, 5, 60_000);
  observers.push(observer);
  const told = watchAll(observer, intents);
  await ticks(2);
  state.errors = [{ code: "KNV2009", errorMessage: "failed to apply Deployment/x" }];
  await ticks(3);
  expect(told).toEqual(all(2));
  state.live = false;
  await ticks(1);
  const before = told.get("chain-0") as number;
  await ticks(3);
  expect(told.get("chain-0")).toBeGreaterThanOrEqual(before + 2);
});

it("tells a restless watch at every tick, and one grown restless with no change at the next rescan", async () => {
  const { edge, ticks } = fakeEdge();
  const observer = new EdgeObserver(edge, 5, undefined, 5, 150);
  observers.push(observer);
  const restless = new Set(["chain-1"]);
  const told = watchAll(observer, intents, restless);
  await ticks(5);
  expect(told.get("chain-1")).toBeGreaterThanOrEqual(4);
  expect(told.get("chain-2")).toBe(1);
  // Restless now, though nothing of it changed (a check of its own has something to say).
  restless.add("chain-2");
  await vi.waitFor(() => expect(told.get("chain-2")).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 5 });
  restless.clear();
  await ticks(2);
  const settled = new Map(told);
  await ticks(4);
  expect(told).toEqual(settled);
});

it("lists what a run waits on at once when the copy hears a change of its intent, not a period later", async () => {
  const { edge, state, change } = fakeEdge();
  // A period of a minute: only a change brings the next listing forward.
  const observer = new EdgeObserver(edge, 60_000, undefined, 60_000, 60_000);
  observers.push(observer);
  const web = { kind: "Deployment", name: "web", intent: "chain-1", package: "web", desired: 1, available: 0 };
  state.workloads = [web];
  const why: string[] = [];
  const available = observer.waitAvailable("chain-1", "web", new AbortController().signal, (w) => why.push(w));
  await vi.waitFor(() => expect(why.length).toBe(1), { timeout: 5_000, interval: 2 });
  state.workloads = [{ ...web, available: 1 }];
  const started = Date.now();
  change("chain-1");
  await available;
  expect(Date.now() - started).toBeLessThan(2_000);
});

it("looks at once at a run that starts to wait for an intent the copy just heard of, while watches keep the loop going", async () => {
  const { edge, state, change } = fakeEdge();
  // Periods of a minute: the loop runs for the watches, and only what a run waits on may bring a tick forward.
  const observer = new EdgeObserver(edge, 60_000, undefined, 60_000, 60_000);
  observers.push(observer);
  const told = watchAll(observer, intents);
  await vi.waitFor(() => expect(told).toEqual(all(1)), { timeout: 5_000, interval: 2 });
  // Available before the run began to wait (while its sync was judged), as on a busy edge.
  state.workloads = [{ kind: "Deployment", name: "web", intent: "chain-1", package: "web", desired: 1, available: 1 }];
  change("chain-1");
  const started = Date.now();
  await observer.waitAvailable("chain-1", "web", new AbortController().signal, () => {});
  expect(Date.now() - started).toBeLessThan(2_000);
});
