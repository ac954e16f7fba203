/**
 * Degradation and recovery, observed continuously (agent/orchestration/health-watch.ts), in one process and in
 * seconds: the real DeploymentManager over local git repositories and embedded edge emulators
 * (test/helpers/in-process-domain.ts), whose faults and Kubernetes API the tests use as an operator would.
 * - a READY package whose Deployment is deleted by hand becomes DEGRADED naming it, in GetDeployment's record
 *   and in a following watch, and READY again once the emulator's ConfigSync re-applies it; the intent rolls up;
 * - a workload made unavailable, and a node lost, make it DEGRADED with its replicas; READY when they recover;
 * - an edge made unreachable makes its packages (and only those) DEGRADED naming the edge; READY when it answers;
 * - twenty intents on one edge are watched by that edge's one observer, from its watched copy: each read when it
 *   changes on the edge (a pod deleted), and once a minute otherwise;
 *   a termination or an update stops the watch of its intent (no DEGRADED while it removes or replaces pods).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EdgeClient } from "../../agent/edge/edge-client.js";
import type { Intent } from "../../agent/intent/model.js";
import { validateIntent } from "../../agent/intent/validate.js";
import type { DeploymentRecord, EventRecord, StateName } from "../../agent/orchestration/journal.js";
import type { Emulator } from "../../emulator/emulator.js";
import { startInProcessDomain, waitFor, type InProcessDomain } from "../helpers/in-process-domain.js";

const EDGES = ["edge-1", "edge-2"] as const;
type EdgeName = (typeof EDGES)[number];
const POLL_MS = 20;

let domain: InProcessDomain;

interface Pkg {
  name: string;
  edge: EdgeName;
  replicas?: number;
}

/** A validated intent of traffic-sink packages, as SubmitIntent would hand it to the manager. */
function intentOf(name: string, packages: Pkg[]): Intent {
  return validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: {
      timeout: "20s",
      packages: packages.map((p) => ({
        name: p.name,
        blueprint: "traffic-sink",
        replicas: p.replicas ?? 1,
        resources: { cpu: "10m", memory: "16Mi" },
        placement: { edge: p.edge },
      })),
    },
  });
}

/** Follows the deployment through the manager's watch until its run is over; returns its record then. */
async function settle(name: string, timeoutMs = 15_000): Promise<DeploymentRecord> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const _ of domain.manager.watch(name, undefined, signal));
  if (signal.aborted)
    throw new Error(`${name} did not settle within ${timeoutMs} ms: ${domain.manager.get(name).reason}`);
  return domain.manager.get(name);
}

/** Submits and waits READY. */
async function deploy(name: string, packages: Pkg[]): Promise<DeploymentRecord> {
  await domain.manager.submit(intentOf(name, packages), {});
  const r = await settle(name);
  expect(r.state, r.reason).toBe("READY");
  return r;
}

/** A following WatchDeployment of `name` (from its current state), collecting every event until stopped. */
function follow(name: string): { events: EventRecord[]; stop: () => Promise<void> } {
  const events: EventRecord[] = [];
  const controller = new AbortController();
  const done = (async () => {
    for await (const { event } of domain.manager.watch(name, undefined, controller.signal, { follow: true }))
      events.push(event);
  })();
  return {
    events,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** The package's record, as GetDeployment answers it. */
const pkgOf = (name: string, pkg: string) => domain.manager.get(name).packages.find((p) => p.package === pkg);

/** Polls GetDeployment until the package is in `state`; returns the record then. */
async function untilPackage(name: string, pkg: string, state: StateName, timeoutMs = 10_000) {
  await waitFor(
    `${name}/${pkg} ${state} (is ${pkgOf(name, pkg)?.state}: ${pkgOf(name, pkg)?.reason})`,
    () => pkgOf(name, pkg)?.state === state,
    timeoutMs,
  );
  return domain.manager.get(name);
}

/** The (package, state) pairs of state events, in order, after the snapshot a watch starts with. */
const transitions = (events: readonly EventRecord[], from: number) =>
  events
    .slice(from)
    .filter((e) => e.kind === "state")
    .map((e) => `${e.package || "(intent)"} ${e.state}`);

const emulator = (edge: EdgeName) => domain.emulators.get(edge) as Emulator;
const client = (edge: EdgeName) => domain.edges.get(edge) as EdgeClient;

/** Calls to an edge client's workload listing (the observer's one call per tick), until restored. */
function countListings(
  edge: EdgeName,
  method: "watchedWorkloadsOf" | "workloadsOf" | "rootSync" = "watchedWorkloadsOf",
): { calls: { at: number; intents: string[]; found: Set<string> }[]; restore: () => void } {
  const c = client(edge);
  const calls: { at: number; intents: string[]; found: Set<string> }[] = [];
  if (method === "rootSync") {
    // A read of the RootSync: one per tick of the edge's observer while anything is watched.
    const original = c.rootSync.bind(c);
    c.rootSync = (signal) => {
      calls.push({ at: Date.now(), intents: [], found: new Set() });
      return original(signal);
    };
  } else {
    const original = c[method].bind(c);
    c[method] = async (intents, signal) => {
      const call = { at: Date.now(), intents: [...intents], found: new Set<string>() };
      calls.push(call);
      const workloads = await original(intents, signal);
      for (const x of workloads) call.found.add(x.intent);
      return workloads;
    };
  }
  return { calls, restore: () => void delete (c as unknown as Record<string, unknown>)[method] };
}

/** Resolves once `edge`'s observer has read `intent`'s workloads from now, and found them (its watch has a baseline). */
async function watchedOnce(edge: EdgeName, intent: string): Promise<void> {
  const l = countListings(edge);
  try {
    await waitFor(`${intent} read on ${edge}`, () => l.calls.some((x) => x.found.has(intent)));
  } finally {
    l.restore();
  }
}

describe("a deployment observed after it is READY", () => {
  beforeAll(async () => {
    domain = await startInProcessDomain({
      lifecycle: { pollMs: POLL_MS },
      // One node each: a pod of a lost node has nowhere else to go.
      edges: [
        { name: "edge-1", nodes: [{ name: "edge-1-node", cpu: "8", memory: "16Gi", pods: 200 }] },
        { name: "edge-2", nodes: [{ name: "edge-2-node", cpu: "8", memory: "16Gi", pods: 200 }] },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await domain?.close();
  });

  afterEach(async () => {
    for (const e of EDGES) await emulator(e).setFaults({ apiUnavailable: false, nodesNotReady: [], unavailable: [] });
    expect(domain.logged.filter((l) => l.level === "error")).toEqual([]);
  });

  it("a Deployment deleted by hand: DEGRADED naming it (GetDeployment, a following watch), READY once ConfigSync re-applies it", async () => {
    await deploy("hand", [
      { name: "front", edge: "edge-1" },
      { name: "back", edge: "edge-2" },
    ]);
    await watchedOnce("edge-1", "hand");
    const watch = follow("hand");
    await waitFor("the watch's snapshot", () => watch.events.length >= 3);
    const from = watch.events.length;

    // As `kubectl delete deployment front -n hand` does it: through the edge's Kubernetes API.
    const url = `${emulator("edge-1").httpUrl}/apis/apps/v1/namespaces/hand/deployments/front`;
    const res = await fetch(url, { method: "DELETE" });
    expect(res.status).toBe(200);

    const degraded = await untilPackage("hand", "front", "DEGRADED");
    const front = degraded.packages.find((p) => p.package === "front");
    expect(front?.reason).toMatch(/^Deployment\/front (missing|0\/1 available) on edge-1$/);
    expect(degraded.packages.find((p) => p.package === "back")?.state).toBe("READY");
    expect(degraded.state).toBe("DEGRADED");
    expect(degraded.reason).toBe(`1 of 2 packages DEGRADED: front: ${front?.reason}`);

    // The emulator's ConfigSync re-applies what its repository says (every 20 quiet rounds): READY again.
    const back = await untilPackage("hand", "front", "READY");
    await waitFor("the intent READY", () => domain.manager.get("hand").state === "READY");
    expect(back.packages.find((p) => p.package === "front")?.reason).toBe("workloads available again on edge-1");
    expect(domain.manager.get("hand").reason).toBe("every package READY again (2 on edge-1, edge-2)");
    expect(emulator("edge-1").store.get("apps/deployments", "hand", "front")).toBeDefined();

    await waitFor("the watch saw READY", () => transitions(watch.events, from).at(-1) === "(intent) READY");
    await watch.stop();
    const seen = transitions(watch.events, from);
    expect(seen[0]).toBe("front DEGRADED");
    expect(seen[1]).toBe("(intent) DEGRADED");
    expect(seen.slice(-2)).toEqual(["front READY", "(intent) READY"]);
    // "back" never changed.
    expect(seen.filter((x) => x.startsWith("back"))).toEqual([]);
    await domain.manager.terminate("hand");
    expect((await settle("hand")).state).toBe("TERMINATED");
  });

  it("a workload made unavailable, then a node lost: DEGRADED with the replicas available; READY when they recover", async () => {
    await deploy("pods", [{ name: "sink", edge: "edge-2", replicas: 2 }]);
    await watchedOnce("edge-2", "pods");
    const watch = follow("pods");

    await emulator("edge-2").setFaults({ unavailable: ["pods/sink"] });
    let r = await untilPackage("pods", "sink", "DEGRADED");
    expect(r.packages[0]?.reason).toMatch(/^Deployment\/sink [01]\/2 available on edge-2$/);
    expect(r.state).toBe("DEGRADED");
    await waitFor("0/2", () => pkgOf("pods", "sink")?.reason === "Deployment/sink 0/2 available on edge-2");
    await emulator("edge-2").setFaults({ unavailable: [] });
    r = await untilPackage("pods", "sink", "READY");
    await waitFor("the intent READY", () => domain.manager.get("pods").state === "READY");

    await emulator("edge-2").setFaults({ nodesNotReady: ["edge-2-node"] });
    r = await untilPackage("pods", "sink", "DEGRADED");
    expect(r.packages[0]?.reason).toMatch(/^Deployment\/sink [01]\/2 available on edge-2$/);
    await emulator("edge-2").setFaults({ nodesNotReady: [] });
    await untilPackage("pods", "sink", "READY");
    await waitFor("the intent READY", () => domain.manager.get("pods").state === "READY");
    // A watcher hears it once its journal write is on disk, a moment after the record changed.
    await waitFor(
      "the watch told READY",
      () => watch.events.filter((e) => e.package === "" && e.kind === "state").at(-1)?.state === "READY",
    );

    await watch.stop();
    const intentStates = watch.events.filter((e) => e.package === "" && e.kind === "state").map((e) => e.state);
    // The snapshot, then two rounds of DEGRADED → READY (a reason that changes while DEGRADED may repeat it).
    expect(intentStates.filter((s, i) => s !== intentStates[i - 1])).toEqual([
      "READY",
      "DEGRADED",
      "READY",
      "DEGRADED",
      "READY",
    ]);
    await domain.manager.terminate("pods");
    expect((await settle("pods")).state).toBe("TERMINATED");
  });

  it("an edge made unreachable: its packages DEGRADED naming it, the others untouched; READY when it answers again", async () => {
    await deploy("reach", [
      { name: "near", edge: "edge-1" },
      { name: "far", edge: "edge-2" },
      { name: "far-too", edge: "edge-2" },
    ]);
    await watchedOnce("edge-2", "reach");
    const watch = follow("reach");

    await emulator("edge-2").setFaults({ apiUnavailable: true });
    const r = await untilPackage("reach", "far", "DEGRADED");
    await waitFor("far-too DEGRADED", () => pkgOf("reach", "far-too")?.state === "DEGRADED");
    for (const p of ["far", "far-too"]) expect(pkgOf("reach", p)?.reason).toMatch(/^edge edge-2 unreachable: .+/);
    expect(pkgOf("reach", "near")?.state).toBe("READY");
    await waitFor("the intent rolled up", () => domain.manager.get("reach").reason.startsWith("2 of 3 packages"));
    expect(domain.manager.get("reach").state).toBe("DEGRADED");
    expect(r.state).toBe("DEGRADED");

    await emulator("edge-2").setFaults({ apiUnavailable: false });
    await untilPackage("reach", "far", "READY");
    await untilPackage("reach", "far-too", "READY");
    await waitFor("the intent READY", () => domain.manager.get("reach").state === "READY");
    await watch.stop();
    const degraded = watch.events.filter((e) => e.state === "DEGRADED");
    expect(new Set(degraded.map((e) => e.package))).toEqual(new Set(["far", "far-too", ""]));
    await domain.manager.terminate("reach");
    expect((await settle("reach")).state).toBe("TERMINATED");
  });

  it("twenty intents on one edge: one observer per edge, each intent read from the edge's watched copy when it changes (and once a minute), no listing; termination and update stop their watch", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `many-${String(i).padStart(2, "0")}`);
    const one = countListings("edge-1");
    const two = countListings("edge-2");
    let listed: ReturnType<typeof countListings> | undefined;
    let ticks: ReturnType<typeof countListings> | undefined;
    try {
      await Promise.all(names.map((n) => domain.manager.submit(intentOf(n, [{ name: "sink", edge: "edge-1" }]), {})));
      for (const n of names) expect((await settle(n)).state).toBe("READY");
      await waitFor("twenty watched", () => domain.manager.watched === 20);
      expect(domain.manager.deps.observers.size).toBeLessThanOrEqual(EDGES.length);
      listed = countListings("edge-1", "workloadsOf");
      // Each is read once its watch starts, from the watched copy.
      await waitFor("each of the twenty read", () => names.every((n) => one.calls.some((c) => c.found.has(n))));
      // Then, at rest, a watch is told only when something of its intent changed on the edge (and once a minute
      // whatever did): in twelve watch periods none of the twenty is read again, where a reading at every period
      // would have read each twelve times. Every reading is answered by the watched copy: no listing request.
      const atRest = one.calls.length;
      ticks = countListings("edge-1", "rootSync");
      await waitFor("twelve watch periods", () => (ticks?.calls.length ?? 0) >= 12);
      expect(one.calls.slice(atRest).filter((c) => c.intents.some((i) => names.includes(i)))).toEqual([]);
      expect(listed.calls).toEqual([]);
      // A change to one intent (its pod deleted by hand, the ReplicaSet makes another) is read at the next watch
      // period.
      const changed = names[5] as string;
      const [pod] = emulator("edge-1").store.list("/pods", changed);
      const from = one.calls.length;
      const deletedAt = Date.now();
      const url = `${emulator("edge-1").httpUrl}/api/v1/namespaces/${changed}/pods/${String(pod?.metadata["name"])}`;
      expect((await fetch(url, { method: "DELETE" })).status).toBe(200);
      await waitFor("the changed intent read", () => one.calls.slice(from).some((c) => c.intents.includes(changed)));
      const read = one.calls.slice(from).find((c) => c.intents.includes(changed));
      expect((read?.at ?? 0) - deletedAt).toBeLessThan(2500);
      // Nothing of these intents is on edge-2: its observer does not ask about them.
      expect(two.calls.filter((c) => c.intents.some((i) => names.includes(i)))).toEqual([]);
    } finally {
      one.restore();
      two.restore();
      listed?.restore();
      ticks?.restore();
    }

    // A termination stops its intent's watch: removing its pods is not a degradation.
    const gone = names[0] as string;
    const events: EventRecord[] = [];
    const stop = domain.manager.events.subscribe(gone, (e) => events.push(e));
    await domain.manager.terminate(gone);
    expect(domain.manager.watched).toBe(19);
    expect((await settle(gone)).state).toBe("TERMINATED");
    // An update replaces the pods: no DEGRADED either, and it is watched again once READY.
    const moved = names[1] as string;
    const stopMoved = domain.manager.events.subscribe(moved, (e) => events.push(e));
    await domain.manager.submit(intentOf(moved, [{ name: "sink", edge: "edge-1", replicas: 2 }]), {});
    expect(domain.manager.watched).toBe(18);
    expect((await settle(moved)).state).toBe("READY");
    await waitFor("watched again", () => domain.manager.watched === 19);
    stop();
    stopMoved();
    expect(events.filter((e) => e.state === "DEGRADED")).toEqual([]);

    await Promise.all(names.slice(1).map((n) => domain.manager.terminate(n)));
    for (const n of names.slice(1)) expect((await settle(n)).state).toBe("TERMINATED");
    await waitFor("none watched", () => domain.manager.watched === 0);
  }, 60_000);
});
