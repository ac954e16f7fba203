/**
 * Workloads on an emulated edge, seen through kubectl and @kubernetes/client-node: Deployments become
 * Running/Ready pods, a pod larger than any node stays Pending with the scheduler's reason, an edge fills to
 * exactly its capacity and never beyond (high-water marks), and a lost node's pods are evicted and
 * rescheduled where they fit.
 */
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuantity, toMilli, toUnits } from "../../common/quantity.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";

let emulator: Emulator;
let k: Kubectl;
let core: CoreV1Api;
let apps: AppsV1Api;

const deployment = (name: string, replicas: number, cpu: string, memory = "128Mi") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: main
          image: nginx
          resources: {requests: {cpu: ${cpu}, memory: ${memory}}}
`;

/** Waits (bounded) until `check` holds. */
async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 200; i++) {
    last = await probe();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

const pods = async (app: string) =>
  (await core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` })).items;

beforeAll(async () => {
  emulator = await startEmulator({
    name: "edge-w",
    http: {},
    nodes: [
      { name: "node-1", cpu: "1", memory: "1Gi" },
      { name: "node-2", cpu: "1", memory: "1Gi" },
    ],
  });
  k = kubectlFor(emulator.httpUrl!);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "e", server: emulator.httpUrl!, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "c", cluster: "e", user: "u" }],
    currentContext: "c",
  });
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await emulator.close();
});

describe("workloads on an emulated edge", () => {
  it("runs a Deployment's pods, and fills the edge exactly to its capacity", async () => {
    expect((await k(["apply", "-f", k.file(deployment("fill", 4, "500m"))])).code).toBe(0);
    const running = await until(
      "fill pods",
      () => pods("fill"),
      (ps) => ps.length === 4 && ps.every((p) => p.status?.phase === "Running"),
    );
    expect(new Set(running.map((p) => p.spec?.nodeName))).toEqual(new Set(["node-1", "node-2"]));
    const dep = await until(
      "fill status",
      () => apps.readNamespacedDeployment({ name: "fill", namespace: "default" }),
      (d) => d.status?.availableReplicas === 4,
    );
    expect(dep.status).toMatchObject({
      replicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      updatedReplicas: 4,
      observedGeneration: 1,
    });
    const table = await k(["get", "deploy", "fill"]);
    expect(table.stdout).toMatch(/fill\s+4\/4\s+4\s+4/);
    // One more does not fit anywhere.
    expect((await k(["scale", "deploy", "fill", "--replicas=5"])).code).toBe(0);
    const pending = await until(
      "5th pod",
      () => pods("fill"),
      (ps) => ps.length === 5 && ps.some((p) => p.status?.conditions?.some((c) => c.reason === "Unschedulable")),
    );
    const stuck = pending.find((p) => p.status?.phase === "Pending")!;
    expect(stuck.status?.conditions?.find((c) => c.type === "PodScheduled")).toMatchObject({
      status: "False",
      reason: "Unschedulable",
      message: expect.stringMatching(/^0\/2 nodes are available: 2 Insufficient cpu\./),
    });
    for (const [node, mark] of emulator.highWaterMarks()) {
      const n = await core.readNode({ name: node });
      expect(mark.cpuMillis).toBeLessThanOrEqual(Number(toMilli(parseQuantity(n.status!.allocatable!["cpu"]!))));
      expect(mark.memoryBytes).toBeLessThanOrEqual(Number(toUnits(parseQuantity(n.status!.allocatable!["memory"]!))));
    }
    expect(emulator.highWaterMarks().get("node-1")?.cpuMillis).toBe(1000);
  });

  it("leaves a pod larger than any node Pending, with the reason kubectl shows", async () => {
    await k(["apply", "-f", k.file(deployment("big", 1, "2"))]);
    const [p] = await until(
      "big pod",
      () => pods("big"),
      (ps) => ps.length === 1 && ps[0]?.status?.conditions?.some((c) => c.reason === "Unschedulable") === true,
    );
    expect(p?.spec?.nodeName).toBeUndefined();
    const shown = await k(["get", "pods", "-l", "app=big"]);
    expect(shown.stdout).toMatch(/big-[a-z0-9]+-[a-z0-9]+\s+0\/1\s+Pending/);
  });

  it("evicts a lost node's pods and reschedules them where they fit, then recovers", async () => {
    await k(["scale", "deploy", "fill", "--replicas=2"]);
    await k(["delete", "deploy", "big"]);
    await until(
      "2 fill pods",
      () => pods("fill"),
      (ps) => ps.length === 2 && ps.every((p) => p.status?.phase === "Running"),
    );
    await emulator.setFaults({ nodesNotReady: ["node-1"] });
    const nodes = await until(
      "node-1 NotReady",
      () => k(["get", "nodes"]),
      (r) => /node-1\s+NotReady/.test(r.stdout),
    );
    expect(nodes.stdout).toMatch(/node-2\s+Ready/);
    const moved = await until(
      "pods on node-2",
      () => pods("fill"),
      (ps) => ps.length === 2 && ps.every((p) => p.spec?.nodeName === "node-2" && p.status?.phase === "Running"),
    );
    expect(moved).toHaveLength(2);
    await emulator.setFaults({ nodesNotReady: [] });
    await until(
      "node-1 Ready",
      () => k(["get", "nodes"]),
      (r) => /node-1\s+Ready/.test(r.stdout),
    );
  });
});
