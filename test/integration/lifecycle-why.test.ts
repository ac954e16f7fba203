/**
 * "Why is it not READY yet?" (agent/orchestration/blockers.ts), in one process and in seconds: the real
 * DeploymentManager over local git repositories and embedded edge emulators (test/helpers/in-process-domain.ts),
 * read as GetDeployment answers (`deploymentToProto`). Each intent is held at one place — a failpoint that does not
 * return, the one run turn taken, a refused admission, an edge whose ConfigSync is paused, pods that never become
 * ready — and reports exactly that blocker there; once released, READY with no blocker. A run that times out
 * ends ROLLED_BACK saying why, its package keeping what it still waited on. Independent witnesses: the
 * git CLI on the repositories and the emulators' object stores.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Failpoints } from "../../agent/failpoints.js";
import type { Intent } from "../../agent/intent/model.js";
import { validateIntent } from "../../agent/intent/validate.js";
import type { DeploymentRecord } from "../../agent/orchestration/journal.js";
import { deploymentToProto } from "../../agent/rpc/convert.js";
import type { Emulator } from "../../emulator/emulator.js";
import type { Blocker } from "../../gen/camino/v1/types_pb.js";
import { gitIn, startInProcessDomain, waitFor, type InProcessDomain } from "../helpers/in-process-domain.js";

/** Failpoints that hold a run at one named place until released. */
class Hold implements Failpoints {
  at: string | undefined;
  reached = 0;
  #waiting: (() => void)[] = [];
  async hit(name: string, signal?: AbortSignal): Promise<void> {
    if (name !== this.at) return;
    this.reached++;
    await new Promise<void>((resolve, reject) => {
      this.#waiting.push(resolve);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  }
  release(): void {
    this.at = undefined;
    for (const go of this.#waiting.splice(0)) go();
  }
}

const hold = new Hold();
let domain: InProcessDomain;

interface Pkg {
  name: string;
  edge: "edge-1" | "edge-2";
  after?: string[];
  cpu?: string;
  blueprint?: string;
  config?: Record<string, string>;
}

function intentOf(name: string, packages: Pkg[], timeout = "20s"): Intent {
  return validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: {
      timeout,
      packages: packages.map((p) => ({
        name: p.name,
        ...(p.blueprint
          ? { blueprint: p.blueprint }
          : { blueprint: "traffic-sink", replicas: 1, resources: { cpu: p.cpu ?? "10m", memory: "16Mi" } }),
        placement: { edge: p.edge },
        ...(p.after ? { after: p.after } : {}),
        ...(p.config ? { config: p.config } : {}),
      })),
    },
  });
}

/** The deployment as GetDeployment answers it. */
const get = (name: string) => deploymentToProto(domain.manager.get(name));
/** A package's blockers as GetDeployment answers them. */
const blockersOf = (name: string, pkg: string): Blocker[] =>
  get(name).packages.find((p) => p.package === pkg)?.waitingOn ?? [];
const emulator = (edge: string) => domain.emulators.get(edge) as Emulator;
const head = (edge: string) => gitIn(domain.repositoryDir(edge), "rev-parse", "main").trim();

async function settle(name: string, timeoutMs = 15_000): Promise<DeploymentRecord> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const _ of domain.manager.watch(name, undefined, signal));
  if (signal.aborted)
    throw new Error(`${name} did not settle within ${timeoutMs} ms: ${domain.manager.get(name).reason}`);
  return domain.manager.get(name);
}

/** Settles READY, and then waits on nothing. */
async function expectReadyWithoutBlockers(name: string): Promise<void> {
  const r = await settle(name);
  expect(r.state, r.reason).toBe("READY");
  const d = get(name);
  expect(d.waitingOn).toEqual([]);
  for (const p of d.packages) expect(p.waitingOn, p.package).toEqual([]);
}

describe("why an intent is not READY yet", () => {
  beforeAll(async () => {
    // One run at a time, so a second intent waits for its turn behind one held at admission.
    domain = await startInProcessDomain({ lifecycle: { maxConcurrentRuns: 1 }, failpoints: hold });
  }, 30_000);

  afterAll(async () => {
    hold.release();
    await domain?.close();
  });

  afterEach(async () => {
    hold.release();
    for (const e of ["edge-1", "edge-2"]) await emulator(e).setFaults({ syncPaused: false, unavailable: [] });
    expect(domain.logged.filter((l) => l.level === "error")).toEqual([]);
  });

  it("admission under way, and the queue behind it: the next intent waits for a turn", async () => {
    hold.at = "deploy-admission";
    await domain.manager.submit(intentOf("first", [{ name: "a", edge: "edge-1" }]), {});
    await waitFor("first held at admission", () => hold.reached === 1);
    expect(blockersOf("first", "a").map((b) => [b.kind, b.message])).toEqual([
      ["admission", "being admitted: placement, resources, prerequisites"],
    ]);

    await domain.manager.submit(intentOf("second", [{ name: "b", edge: "edge-2" }]), {});
    await waitFor("second queued", () => get("second").waitingOn.length > 0);
    const queued = get("second");
    expect(queued.waitingOn.map((b) => [b.kind, b.message])).toEqual([
      ["queue", "waiting for a turn: 1 deployments under way, 0 waiting before it (lifecycle.maxConcurrentRuns 1)"],
    ]);
    expect(blockersOf("second", "b").map((b) => b.kind)).toEqual(["queue"]);

    hold.release();
    await expectReadyWithoutBlockers("first");
    await expectReadyWithoutBlockers("second");
  });

  it("admission refused: which check, which edge, which resource; the intent ROLLED_BACK with its reason", async () => {
    await domain.manager.submit(
      intentOf("refused", [
        { name: "big", edge: "edge-1", cpu: "64" },
        { name: "rule", edge: "edge-2", blueprint: "ingress-rule", config: { host: "a.example.com", backend: "big" } },
      ]),
      {},
    );
    const r = await settle("refused");
    expect(r.state).toBe("ROLLED_BACK");
    const d = get("refused");
    expect(d.waitingOn.map((b) => b.kind)).toEqual(["admission"]);
    expect(d.waitingOn[0]?.message).toMatch(/^rolled back: admission refused/);
    expect(blockersOf("refused", "big").map((b) => [b.kind, b.edge, b.resource])).toEqual([
      ["admission", "edge-1", "cpu"],
    ]);
    expect(blockersOf("refused", "rule").map((b) => [b.kind, b.edge, b.resource])).toEqual([
      ["admission", "edge-2", "IngressClass/nginx"],
    ]);
  });

  it("ROLLED_BACK at spec.timeout: the intent says why, its package what it still waited on", async () => {
    await emulator("edge-1").setFaults({ unavailable: ["late/l1"] });
    await domain.manager.submit(intentOf("late", [{ name: "l1", edge: "edge-1" }], "3s"), {});
    const r = await settle("late");
    expect(r.state).toBe("ROLLED_BACK");
    const d = get("late");
    expect(d.waitingOn.map((b) => [b.kind, b.message])).toEqual([["rollout", `rolled back: ${r.reason}`]]);
    expect(r.reason).toMatch(/^spec\.timeout 3s passed during wave 1: available/);
    expect(blockersOf("late", "l1").map((b) => [b.kind, b.edge, b.replicasAvailable, b.replicasDesired])).toEqual([
      ["rollout", "edge-1", 0, 1],
    ]);
  });

  it("the edge's sync: the commit it must reach and what its RootSync reports now, until it syncs", async () => {
    const before = head("edge-2");
    await emulator("edge-2").setFaults({ syncPaused: true });
    await domain.manager.submit(intentOf("synced", [{ name: "s", edge: "edge-2" }]), {});
    await waitFor("synced waits for edge-2's sync", () => get("synced").waitingOn.some((b) => b.kind === "sync"));
    // The commit waited for is the one on top of the repository; the RootSync still reports the one before.
    await waitFor("the RootSync read", () => get("synced").waitingOn[0]?.syncStatus !== "not read yet");
    const [wait] = get("synced").waitingOn;
    expect(wait).toMatchObject({ kind: "sync", edge: "edge-2", commit: head("edge-2") });
    expect(head("edge-2")).not.toBe(before);
    expect(wait?.syncStatus).toBe(`at ${before.slice(0, 12)}`);
    const [pkgWait] = blockersOf("synced", "s");
    expect(pkgWait).toMatchObject({ kind: "sync", edge: "edge-2", commit: head("edge-2") });
    expect(pkgWait?.message).toMatch(/^wave 0 \(the chain's namespace\): edge edge-2 to sync commit /);

    await emulator("edge-2").setFaults({ syncPaused: false });
    await expectReadyWithoutBlockers("synced");
  });

  it("the rollout (replicas and the pods' reasons), the wave after it, and DEGRADED once READY", async () => {
    await emulator("edge-1").setFaults({ unavailable: ["rolling/p1"] });
    await domain.manager.submit(
      intentOf("rolling", [
        { name: "p1", edge: "edge-1" },
        { name: "p2", edge: "edge-2", after: ["p1"] },
      ]),
      {},
    );
    await waitFor("p1 waits on its pods", () => (blockersOf("rolling", "p1")[0]?.podReasons.length ?? 0) > 0);
    // The emulator's own word: the Deployment has no replica available.
    const dep = emulator("edge-1").store.get("apps/deployments", "rolling", "p1");
    expect((dep?.["status"] as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0).toBe(0);
    const [p1] = blockersOf("rolling", "p1");
    expect(p1).toMatchObject({ kind: "rollout", edge: "edge-1", replicasAvailable: 0, replicasDesired: 1 });
    expect(p1?.podReasons[0]).toMatch(/^pod p1-[a-z0-9-]+ /);
    expect(p1?.message).toMatch(/^Deployment\/p1 0\/1 available — pod p1-/);
    expect(blockersOf("rolling", "p2").map((b) => [b.kind, b.packages])).toEqual([["wave", ["p1"]]]);

    await emulator("edge-1").setFaults({ unavailable: [] });
    await expectReadyWithoutBlockers("rolling");

    await emulator("edge-1").setFaults({ unavailable: ["rolling/p1"] });
    await waitFor("p1 DEGRADED", () => domain.manager.get("rolling").packages[0]?.state === "DEGRADED");
    expect(blockersOf("rolling", "p1").map((b) => [b.kind, b.replicasAvailable, b.replicasDesired])).toEqual([
      ["rollout", 0, 1],
    ]);
    expect(blockersOf("rolling", "p2")).toEqual([]);
    await emulator("edge-1").setFaults({ unavailable: [] });
    await waitFor("rolling READY again", () => domain.manager.get("rolling").state === "READY");
    expect(blockersOf("rolling", "p1")).toEqual([]);
  });
});
