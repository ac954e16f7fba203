/**
 * The emulator's workload controllers, scheduler and kubelets, observed through the object store: Deployments
 * (scale, roll, cascade), placement by resources, node selectors and taints with the scheduler's exact
 * messages, no over-commit (watched from outside the scheduler, and its high-water marks), StatefulSets,
 * DaemonSets, node loss and delayed pod start.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkloadControllers } from "../../emulator/controllers/workloads.js";
import { ObjectStore, type KubeObject } from "../../emulator/store.js";

type Obj = Record<string, unknown>;

const NOW = new Date("2025-03-01T10:00:00.123Z");
const STAMP = "2025-03-01T10:00:00Z";
const NS = "default";
const ALPHABET = "[bcdfghjklmnpqrstvwxz2456789]";

interface NodeSpec {
  name: string;
  cpu: string;
  memory: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Obj[];
  ip?: string;
}

/** A node as emulator.ts creates it. */
function node(n: NodeSpec): KubeObject {
  const allocatable = { cpu: n.cpu, memory: n.memory, pods: String(n.pods ?? 110) };
  return {
    metadata: {
      name: n.name,
      uid: `node-${n.name}`,
      creationTimestamp: STAMP,
      labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", ...n.labels },
    },
    spec: n.taints ? { taints: n.taints } : {},
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: STAMP,
          lastTransitionTime: STAMP,
        },
      ],
      addresses: [
        { type: "InternalIP", address: n.ip ?? "10.0.0.1" },
        { type: "Hostname", address: n.name },
      ],
    },
  };
}

interface PodShape {
  cpu?: string;
  memory?: string;
  limitsOnly?: boolean;
  image?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Obj[];
}

function template(app: string, p: PodShape): Obj {
  const amounts: Obj = {};
  if (p.cpu) amounts["cpu"] = p.cpu;
  if (p.memory) amounts["memory"] = p.memory;
  const resources = Object.keys(amounts).length === 0 ? {} : p.limitsOnly ? { limits: amounts } : { requests: amounts };
  const spec: Obj = { containers: [{ name: "main", image: p.image ?? "nginx:1.27", resources }] };
  if (p.nodeSelector) spec["nodeSelector"] = p.nodeSelector;
  if (p.tolerations) spec["tolerations"] = p.tolerations;
  return { metadata: { labels: { app } }, spec };
}

/** A workload as the API server stores it. */
function workload(name: string, spec: Obj): KubeObject {
  return { metadata: { name, namespace: NS, uid: randomUUID(), creationTimestamp: STAMP, generation: 1 }, spec };
}

const deployment = (name: string, replicas: number, p: PodShape = {}) =>
  workload(name, { replicas, selector: { matchLabels: { app: name } }, template: template(name, p) });

function setup(nodes: NodeSpec[], podStartDelayMs = 0) {
  const store = new ObjectStore();
  for (const n of nodes) store.put("/nodes", node(n));
  const ctl = new WorkloadControllers({ store, now: () => NOW, podStartDelayMs });
  return { store, ctl };
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);
const pods = (store: ObjectStore) => store.list("/pods");
const running = (store: ObjectStore) => pods(store).filter((p) => get(p, "status", "phase") === "Running");
const pending = (store: ObjectStore) => pods(store).filter((p) => get(p, "status", "phase") === "Pending");
const scheduledCondition = (p: KubeObject) =>
  (get(p, "status", "conditions") as Obj[]).find((c) => c["type"] === "PodScheduled");
const onNode = (store: ObjectStore, name: string) => pods(store).filter((p) => get(p, "spec", "nodeName") === name);

/** Millicores of a cpu quantity as these tests write them ("250m", "2"); read here, not by the emulator's parser. */
function cpuMillis(q: unknown): number {
  const m = /^(\d+)(m?)$/.exec(String(q));
  if (!m) throw new Error(`the witness cannot read the cpu quantity ${JSON.stringify(q)}`);
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Bytes of a memory quantity as these tests write them ("64Mi", "3Gi", "1024"). */
function memoryBytes(q: unknown): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`the witness cannot read the memory quantity ${JSON.stringify(q)}`);
  return Number(m[1]) * 1024 ** ["", "Ki", "Mi", "Gi"].indexOf(m[2] ?? "");
}

interface Use {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

/**
 * Over-commit as a client of the API server would see it, without the emulator's scheduler or its accounting:
 * follows every change to pods through a watch of the store, and after each one adds up, per node, the requests
 * of the pods bound to it that still hold resources (not Succeeded or Failed, not being deleted), to compare
 * with the node's allocatable. Pods with init containers or overhead are refused rather than miscounted.
 */
function overCommitWitness(store: ObjectStore) {
  const live = new Map<string, KubeObject>();
  const peaks = new Map<string, Use>();
  const overCommits: string[] = [];
  let events = 0;
  let refusedForRoom = 0;
  const check = () => {
    for (const node of store.list("/nodes")) {
      const name = String(node.metadata["name"]);
      const use: Use = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      for (const p of live.values()) {
        if (get(p, "spec", "nodeName") !== name || p.metadata["deletionTimestamp"]) continue;
        if (["Succeeded", "Failed"].includes(String(get(p, "status", "phase")))) continue;
        if (get(p, "spec", "initContainers") !== undefined || get(p, "spec", "overhead") !== undefined)
          throw new Error(`the witness does not count init containers or overhead (pod ${String(p.metadata["name"])})`);
        use.pods++;
        for (const c of get(p, "spec", "containers") as Obj[]) {
          // A resource with a limit and no request requests its limit.
          const amounts = { ...(get(c, "resources", "limits") as Obj), ...(get(c, "resources", "requests") as Obj) };
          if (amounts["cpu"] !== undefined) use.cpuMillis += cpuMillis(amounts["cpu"]);
          if (amounts["memory"] !== undefined) use.memoryBytes += memoryBytes(amounts["memory"]);
        }
      }
      const allocatable = get(node, "status", "allocatable") as Obj;
      const room: Use = {
        cpuMillis: cpuMillis(allocatable["cpu"]),
        memoryBytes: memoryBytes(allocatable["memory"]),
        pods: Number(allocatable["pods"]),
      };
      if (use.cpuMillis > room.cpuMillis || use.memoryBytes > room.memoryBytes || use.pods > room.pods)
        overCommits.push(`event ${events}: node ${name} holds ${JSON.stringify(use)} of ${JSON.stringify(room)}`);
      const peak = peaks.get(name) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      peaks.set(name, {
        cpuMillis: Math.max(peak.cpuMillis, use.cpuMillis),
        memoryBytes: Math.max(peak.memoryBytes, use.memoryBytes),
        pods: Math.max(peak.pods, use.pods),
      });
    }
  };
  store.watch({
    typeKey: "/pods",
    filter: () => true,
    send: (e) => {
      events++;
      const key = `${String(e.object.metadata["namespace"])}/${String(e.object.metadata["name"])}`;
      if (e.type === "DELETED") live.delete(key);
      else live.set(key, structuredClone(e.object));
      const scheduled = (get(e.object, "status", "conditions") as Obj[] | undefined)?.find(
        (c) => c["type"] === "PodScheduled",
      );
      if (scheduled?.["reason"] === "Unschedulable" && /Insufficient/.test(String(scheduled["message"])))
        refusedForRoom++;
      check();
    },
  });
  return {
    /** Every moment a node held more than its allocatable. */
    overCommits,
    /** Per node, the most its pods ever requested together. */
    peaks,
    get events() {
      return events;
    },
    /** Pod changes that record the scheduler refusing a pod for lack of room. */
    get refusedForRoom() {
      return refusedForRoom;
    },
  };
}

/** Changes a stored object's spec as an update through the API would (generation bumped). */
function updateSpec(store: ObjectStore, typeKey: string, name: string, change: (spec: Obj) => void): void {
  const live = store.get(typeKey, NS, name);
  if (!live) throw new Error(`${typeKey} ${name} missing`);
  const next = structuredClone(live);
  change(next["spec"] as Obj);
  next.metadata["generation"] = Number(next.metadata["generation"]) + 1;
  store.put(typeKey, next);
}

/** Writes nothing more: a second reconcile leaves the store's resourceVersion unchanged. */
function expectSettled(store: ObjectStore, ctl: WorkloadControllers): void {
  const rv = store.resourceVersion;
  ctl.reconcileAll();
  expect(store.resourceVersion).toBe(rv);
}

describe("Deployments", () => {
  it("a Deployment of 3 becomes one ReplicaSet and 3 Running, Ready pods, with exact statuses", () => {
    const { store, ctl } = setup([
      { name: "edge-a", cpu: "2", memory: "4Gi", ip: "10.0.0.11" },
      { name: "edge-b", cpu: "2", memory: "4Gi", ip: "10.0.0.12" },
    ]);
    const d = deployment("web", 3, { cpu: "100m", memory: "64Mi" });
    store.put("apps/deployments", d);
    ctl.reconcileAll();

    const rss = store.list("apps/replicasets");
    expect(rss).toHaveLength(1);
    const rs = rss[0] as KubeObject;
    const hash = String(get(rs, "metadata", "labels", "pod-template-hash"));
    expect(hash).toMatch(new RegExp(`^${ALPHABET}{10}$`));
    expect(rs.metadata["name"]).toBe(`web-${hash}`);
    expect(rs.metadata["ownerReferences"]).toEqual([
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "web",
        uid: d.metadata["uid"],
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(rs.metadata).toMatchObject({
      namespace: NS,
      generation: 1,
      creationTimestamp: STAMP,
      annotations: { "deployment.kubernetes.io/revision": "1", "deployment.kubernetes.io/desired-replicas": "3" },
    });
    expect(rs.metadata["uid"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(get(rs, "spec", "replicas")).toBe(3);
    expect(get(rs, "spec", "selector")).toEqual({ matchLabels: { app: "web", "pod-template-hash": hash } });
    expect(rs["status"]).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    });

    const ps = pods(store);
    expect(ps).toHaveLength(3);
    for (const p of ps) {
      expect(p.metadata["name"]).toMatch(new RegExp(`^web-${hash}-${ALPHABET}{5}$`));
      expect(p.metadata["generateName"]).toBe(`web-${hash}-`);
      expect(p.metadata["labels"]).toEqual({ app: "web", "pod-template-hash": hash });
      expect(p.metadata["ownerReferences"]).toEqual([
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `web-${hash}`,
          uid: rs.metadata["uid"],
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(get(p, "spec", "containers")).toEqual([
        { name: "main", image: "nginx:1.27", resources: { requests: { cpu: "100m", memory: "64Mi" } } },
      ]);
      const status = p["status"] as Obj;
      expect(status["phase"]).toBe("Running");
      expect(status["qosClass"]).toBe("Burstable");
      expect((status["conditions"] as Obj[]).map((c) => [c["type"], c["status"]])).toEqual([
        ["PodReadyToStartContainers", "True"],
        ["Initialized", "True"],
        ["Ready", "True"],
        ["ContainersReady", "True"],
        ["PodScheduled", "True"],
      ]);
      expect(status["containerStatuses"]).toEqual([
        {
          name: "main",
          image: "docker.io/library/nginx:1.27",
          imageID: expect.stringMatching(/^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/),
          containerID: expect.stringMatching(/^containerd:\/\/[0-9a-f]{64}$/),
          lastState: {},
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: STAMP } },
        },
      ]);
      const nodeName = get(p, "spec", "nodeName");
      expect(status["hostIP"]).toBe(nodeName === "edge-a" ? "10.0.0.11" : "10.0.0.12");
      expect(status["podIP"]).toMatch(nodeName === "edge-a" ? /^10\.244\.0\.\d+$/ : /^10\.244\.1\.\d+$/);
    }
    expect(new Set(ps.map((p) => get(p, "status", "podIP"))).size).toBe(3);
    // Least requested: the pods spread.
    expect([onNode(store, "edge-a").length, onNode(store, "edge-b").length].sort()).toEqual([1, 2]);
    expect(get(store.get("/nodes", undefined, "edge-b"), "spec", "podCIDR")).toBe("10.244.1.0/24");

    const live = store.get("apps/deployments", NS, "web") as KubeObject;
    expect(live["status"]).toEqual({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
          lastUpdateTime: STAMP,
          lastTransitionTime: STAMP,
        },
        {
          type: "Progressing",
          status: "True",
          reason: "NewReplicaSetAvailable",
          message: `ReplicaSet "web-${hash}" has successfully progressed.`,
          lastUpdateTime: STAMP,
          lastTransitionTime: STAMP,
        },
      ],
    });
    expect(get(live, "metadata", "annotations", "deployment.kubernetes.io/revision")).toBe("1");
    expectSettled(store, ctl);
  });

  it("scales up and down (surplus pods go, unscheduled ones first)", () => {
    const { store, ctl } = setup([{ name: "n1", cpu: "4", memory: "8Gi" }]);
    store.put("apps/deployments", deployment("web", 2, { cpu: "100m" }));
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(2);

    updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 5));
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(5);
    const rs = store.list("apps/replicasets")[0] as KubeObject;
    expect(rs.metadata["generation"]).toBe(2);
    expect(rs["status"]).toMatchObject({ replicas: 5, observedGeneration: 2 });
    expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({
      observedGeneration: 2,
      replicas: 5,
      readyReplicas: 5,
      availableReplicas: 5,
    });

    updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 1));
    ctl.reconcileAll();
    expect(pods(store)).toHaveLength(1);
    expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({
      observedGeneration: 3,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
    });

    updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 0));
    ctl.reconcileAll();
    expect(pods(store)).toHaveLength(0);
    const status = store.get("apps/deployments", NS, "web")?.["status"] as Obj;
    expect(Object.keys(status).sort()).toEqual(["conditions", "observedGeneration"]);
    expectSettled(store, ctl);
  });

  it("a template change rolls to a new ReplicaSet; the old one goes once its pods are gone", () => {
    const { store, ctl } = setup([{ name: "n1", cpu: "4", memory: "8Gi" }]);
    store.put("apps/deployments", deployment("web", 3, { image: "nginx:1.27" }));
    ctl.reconcileAll();
    const oldRs = store.list("apps/replicasets")[0] as KubeObject;

    updateSpec(
      store,
      "apps/deployments",
      "web",
      (s) => ((((s["template"] as Obj)["spec"] as { containers: Obj[] }).containers[0] as Obj)["image"] = "nginx:1.28"),
    );
    ctl.reconcileAll();
    const rss = store.list("apps/replicasets");
    expect(rss).toHaveLength(1);
    const newRs = rss[0] as KubeObject;
    expect(newRs.metadata["name"]).not.toBe(oldRs.metadata["name"]);
    expect(get(newRs, "metadata", "annotations", "deployment.kubernetes.io/revision")).toBe("2");
    const hash = get(newRs, "metadata", "labels", "pod-template-hash");
    expect(running(store)).toHaveLength(3);
    for (const p of pods(store)) {
      expect(get(p, "metadata", "labels", "pod-template-hash")).toBe(hash);
      expect(get(p, "status", "containerStatuses", "0", "image")).toBe("docker.io/library/nginx:1.28");
    }
    const d = store.get("apps/deployments", NS, "web") as KubeObject;
    expect(get(d, "metadata", "annotations", "deployment.kubernetes.io/revision")).toBe("2");
    expect(d["status"]).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expectSettled(store, ctl);
  });

  it("deleting a Deployment deletes its ReplicaSets and pods", () => {
    const { store, ctl } = setup([{ name: "n1", cpu: "4", memory: "8Gi" }]);
    store.put("apps/deployments", deployment("web", 2));
    store.put("apps/deployments", deployment("api", 1));
    ctl.reconcileAll();
    expect(pods(store)).toHaveLength(3);
    store.remove("apps/deployments", NS, "web");
    ctl.reconcileAll();
    expect(store.list("apps/replicasets").map((r) => get(r, "metadata", "ownerReferences", "0", "name"))).toEqual([
      "api",
    ]);
    expect(pods(store).map((p) => get(p, "metadata", "labels", "app"))).toEqual(["api"]);
  });
});

describe("scheduling", () => {
  it("a pod larger than any node stays Pending with the scheduler's message", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "1", memory: "1Gi" },
    ]);
    store.put("apps/deployments", deployment("big", 1, { cpu: "4" }));
    store.put("apps/deployments", deployment("huge", 1, { cpu: "4", memory: "8Gi" }));
    ctl.reconcileAll();
    const [big, huge] = ["big", "huge"].map(
      (app) => pods(store).find((p) => get(p, "metadata", "labels", "app") === app) as KubeObject,
    );
    expect(get(big, "spec", "nodeName")).toBeUndefined();
    expect(get(big, "status", "phase")).toBe("Pending");
    expect(scheduledCondition(big as KubeObject)).toEqual({
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/2 nodes are available: 2 Insufficient cpu.",
      lastProbeTime: null,
      lastTransitionTime: STAMP,
    });
    expect(scheduledCondition(huge as KubeObject)?.["message"]).toBe(
      "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.",
    );
    expect(store.get("apps/deployments", NS, "big")?.["status"]).toEqual({
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      unavailableReplicas: 1,
      conditions: [
        {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
          lastUpdateTime: STAMP,
          lastTransitionTime: STAMP,
        },
        {
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: expect.stringMatching(/^ReplicaSet "big-\w{10}" is progressing\.$/),
          lastUpdateTime: STAMP,
          lastTransitionTime: STAMP,
        },
      ],
    });
    expectSettled(store, ctl);
  });

  it("fills the edge exactly to capacity, no further; high-water marks never exceed allocatable", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "1", memory: "1Gi" },
    ]);
    store.put("apps/deployments", deployment("web", 5, { cpu: "500m", memory: "256Mi" }));
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(4);
    expect(onNode(store, "a")).toHaveLength(2);
    expect(onNode(store, "b")).toHaveLength(2);
    expect(pending(store)).toHaveLength(1);
    expect(scheduledCondition(pending(store)[0] as KubeObject)?.["message"]).toBe(
      "0/2 nodes are available: 2 Insufficient cpu.",
    );
    const marks = ctl.highWaterMarks();
    for (const n of ["a", "b"])
      expect(marks.get(n)).toEqual({ cpuMillis: 1000, memoryBytes: 512 * 1024 * 1024, pods: 2 });
    expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({
      replicas: 5,
      readyReplicas: 4,
      availableReplicas: 4,
      unavailableReplicas: 1,
    });

    // Scaling down removes the unscheduled pod first.
    updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 4));
    ctl.reconcileAll();
    expect(pending(store)).toHaveLength(0);
    expect(running(store)).toHaveLength(4);

    // A second workload whose limits (used as requests) do not fit either.
    store.put("apps/deployments", deployment("lim", 1, { cpu: "100m", limitsOnly: true }));
    ctl.reconcileAll();
    const lim = pods(store).find((p) => get(p, "metadata", "labels", "app") === "lim") as KubeObject;
    expect(get(lim, "status", "qosClass")).toBe("Burstable");
    expect(scheduledCondition(lim)?.["message"]).toBe("0/2 nodes are available: 2 Insufficient cpu.");
    for (const n of ["a", "b"]) expect(ctl.highWaterMarks().get(n)?.cpuMillis).toBe(1000);
  });

  it("counts pods against allocatable pods", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "4", memory: "4Gi", pods: 2 }]);
    store.put("apps/deployments", deployment("web", 3));
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(2);
    expect(scheduledCondition(pending(store)[0] as KubeObject)?.["message"]).toBe(
      "0/1 nodes are available: 1 Too many pods.",
    );
    expect(ctl.highWaterMarks().get("a")?.pods).toBe(2);
  });

  it("honours nodeSelector and taints, with the scheduler's wording", () => {
    const { store, ctl } = setup([
      {
        name: "a",
        cpu: "2",
        memory: "2Gi",
        labels: { disk: "ssd" },
        taints: [{ key: "dedicated", value: "edge", effect: "NoSchedule" }],
      },
      { name: "b", cpu: "2", memory: "2Gi" },
      { name: "c", cpu: "2", memory: "2Gi", labels: { disk: "ssd" } },
    ]);
    store.put("apps/deployments", deployment("ssd", 2, { nodeSelector: { disk: "ssd" } }));
    store.put("apps/deployments", deployment("nvme", 1, { nodeSelector: { disk: "nvme" } }));
    store.put("apps/deployments", deployment("ded", 1, { nodeSelector: { disk: "ssd" }, cpu: "3" }));
    store.put(
      "apps/deployments",
      deployment("tol", 3, {
        nodeSelector: { disk: "ssd" },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "edge", effect: "NoSchedule" }],
      }),
    );
    ctl.reconcileAll();
    const byApp = (app: string) => pods(store).filter((p) => get(p, "metadata", "labels", "app") === app);
    expect(byApp("ssd").map((p) => get(p, "spec", "nodeName"))).toEqual(["c", "c"]);
    expect(scheduledCondition(byApp("nvme")[0] as KubeObject)?.["message"]).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: edge}, 2 node(s) didn't match Pod's node affinity/selector.",
    );
    expect(scheduledCondition(byApp("ded")[0] as KubeObject)?.["message"]).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: edge}.",
    );
    const tol = byApp("tol").map((p) => get(p, "spec", "nodeName"));
    expect(tol.every((n) => n === "a" || n === "c")).toBe(true);
    expect(tol).toContain("a");

    // A cordoned node takes nothing new.
    const b = structuredClone(store.get("/nodes", undefined, "b") as KubeObject);
    (b["spec"] as Obj)["unschedulable"] = true;
    store.put("/nodes", b);
    store.put("apps/deployments", deployment("any", 1, { cpu: "2500m" }));
    ctl.reconcileAll();
    expect(scheduledCondition(byApp("any")[0] as KubeObject)?.["message"]).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: edge}, 1 node(s) were unschedulable.",
    );
  });

  it("retries pending pods when capacity appears", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "1", memory: "1Gi" }]);
    store.put("apps/deployments", deployment("web", 3, { cpu: "500m" }));
    ctl.reconcileAll();
    expect(pending(store)).toHaveLength(1);
    store.put("/nodes", node({ name: "b", cpu: "1", memory: "1Gi" }));
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(3);
    expect(onNode(store, "b")).toHaveLength(1);
  });
});

describe("StatefulSets and DaemonSets", () => {
  it("a StatefulSet makes <name>-0..n-1, in order, and scales down from the top", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "4", memory: "4Gi" }]);
    store.put(
      "apps/statefulsets",
      workload("db", {
        replicas: 3,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: template("db", { cpu: "100m" }),
      }),
    );
    ctl.reconcileAll();
    expect(pods(store).map((p) => p.metadata["name"])).toEqual(["db-0", "db-1", "db-2"]);
    const p1 = store.get("/pods", NS, "db-1") as KubeObject;
    expect(p1.metadata["labels"]).toMatchObject({
      app: "db",
      "apps.kubernetes.io/pod-index": "1",
      "statefulset.kubernetes.io/pod-name": "db-1",
    });
    expect(p1["spec"]).toMatchObject({ hostname: "db-1", subdomain: "db" });
    expect(get(p1, "metadata", "ownerReferences", "0", "kind")).toBe("StatefulSet");
    const revision = get(p1, "metadata", "labels", "controller-revision-hash");
    expect(revision).toMatch(new RegExp(`^db-${ALPHABET}{10}$`));
    expect(running(store)).toHaveLength(3);
    expect(store.get("apps/statefulsets", NS, "db")?.["status"]).toEqual({
      availableReplicas: 3,
      collisionCount: 0,
      currentReplicas: 3,
      currentRevision: revision,
      observedGeneration: 1,
      readyReplicas: 3,
      replicas: 3,
      updateRevision: revision,
      updatedReplicas: 3,
    });
    updateSpec(store, "apps/statefulsets", "db", (s) => (s["replicas"] = 1));
    ctl.reconcileAll();
    expect(pods(store).map((p) => p.metadata["name"])).toEqual(["db-0"]);
    expectSettled(store, ctl);
  });

  it("a DaemonSet runs one pod per eligible Ready node", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "1", memory: "1Gi" },
      { name: "c", cpu: "1", memory: "1Gi", taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] },
    ]);
    store.put(
      "apps/daemonsets",
      workload("agent", { selector: { matchLabels: { app: "agent" } }, template: template("agent", { cpu: "100m" }) }),
    );
    ctl.reconcileAll();
    const ps = pods(store);
    expect(ps.map((p) => get(p, "spec", "nodeName")).sort()).toEqual(["a", "b"]);
    for (const p of ps) {
      expect(p.metadata["name"]).toMatch(new RegExp(`^agent-${ALPHABET}{5}$`));
      expect(get(p, "status", "phase")).toBe("Running");
      expect(get(p, "metadata", "labels", "pod-template-generation")).toBe("1");
    }
    expect(store.get("apps/daemonsets", NS, "agent")?.["status"]).toEqual({
      currentNumberScheduled: 2,
      desiredNumberScheduled: 2,
      numberMisscheduled: 0,
      numberReady: 2,
      numberAvailable: 2,
      observedGeneration: 1,
      updatedNumberScheduled: 2,
    });
    ctl.setNodeReady("b", false);
    ctl.reconcileAll();
    expect(pods(store).map((p) => get(p, "spec", "nodeName"))).toEqual(["a"]);
    expect(store.get("apps/daemonsets", NS, "agent")?.["status"]).toMatchObject({
      currentNumberScheduled: 1,
      desiredNumberScheduled: 1,
      numberReady: 1,
    });
    ctl.setNodeReady("b", true);
    ctl.reconcileAll();
    expect(
      running(store)
        .map((p) => get(p, "spec", "nodeName"))
        .sort(),
    ).toEqual(["a", "b"]);
    expectSettled(store, ctl);
  });

  it("a daemon pod that does not fit its node is not admitted (no over-commit)", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "1", memory: "1Gi" }]);
    store.put("apps/deployments", deployment("web", 2, { cpu: "400m" }));
    ctl.reconcileAll();
    store.put(
      "apps/daemonsets",
      workload("agent", { selector: { matchLabels: { app: "agent" } }, template: template("agent", { cpu: "300m" }) }),
    );
    ctl.reconcileAll();
    const agent = pods(store).find((p) => get(p, "metadata", "labels", "app") === "agent") as KubeObject;
    expect(agent["status"]).toMatchObject({
      phase: "Pending",
      reason: "OutOfcpu",
      message: "Pod was rejected: Node didn't have enough resource: cpu, requested: 300, used: 800, capacity: 1000",
    });
    expect(ctl.highWaterMarks().get("a")?.cpuMillis).toBe(800);
    expectSettled(store, ctl);
    // Room made: the daemon pod is admitted and runs.
    updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 1));
    ctl.reconcileAll();
    expect(get(store.get("/pods", NS, String(agent.metadata["name"])), "status", "phase")).toBe("Running");
    expect(ctl.highWaterMarks().get("a")?.cpuMillis).toBe(800);
  });
});

describe("node loss", () => {
  it("evicts the node's pods; replacements go where they fit, the rest stay Pending; recovery takes them", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "1", memory: "1Gi" },
    ]);
    store.put("apps/deployments", deployment("web", 4, { cpu: "500m" }));
    ctl.reconcileAll();
    expect(onNode(store, "b")).toHaveLength(2);
    const before = new Set(onNode(store, "b").map((p) => p.metadata["name"]));

    ctl.setNodeReady("b", false);
    const b = store.get("/nodes", undefined, "b") as KubeObject;
    expect((get(b, "status", "conditions") as Obj[]).find((c) => c["type"] === "Ready")).toMatchObject({
      status: "False",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
    });
    expect(get(b, "spec", "taints")).toEqual([
      { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" },
      { key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: STAMP },
    ]);
    ctl.reconcileAll();
    expect(onNode(store, "b")).toHaveLength(0);
    expect(pods(store).some((p) => before.has(p.metadata["name"]))).toBe(false);
    expect(pending(store)).toHaveLength(2);
    expect(scheduledCondition(pending(store)[0] as KubeObject)?.["message"]).toBe(
      "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
    );
    expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({
      replicas: 4,
      readyReplicas: 2,
      availableReplicas: 2,
      unavailableReplicas: 2,
    });
    expect(ctl.highWaterMarks().get("a")?.cpuMillis).toBe(1000);

    ctl.setNodeReady("b", true);
    expect(get(store.get("/nodes", undefined, "b"), "spec", "taints")).toBeUndefined();
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(4);
    expect(onNode(store, "b")).toHaveLength(2);
    expectSettled(store, ctl);
  });

  it("replacements land on a node with room", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "1", memory: "1Gi" },
      { name: "c", cpu: "2", memory: "2Gi" },
    ]);
    const witness = overCommitWitness(store);
    store.put("apps/deployments", deployment("web", 2, { cpu: "900m" }));
    ctl.reconcileAll();
    const victim = String(get(running(store)[0], "spec", "nodeName"));
    ctl.setNodeReady(victim, false);
    ctl.reconcileAll();
    expect(running(store)).toHaveLength(2);
    expect(onNode(store, victim)).toHaveLength(0);
    expect(witness.overCommits).toEqual([]);
  });

  it("never over-commits across random scaling, rollouts and node losses", () => {
    // mulberry32: every bit of it varies (the low bits of the LCG this replaced repeat every few calls, so its
    // "random" workloads were all alike and never filled a node).
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    const nodes = [
      { name: "a", cpu: "1", memory: "1Gi" },
      { name: "b", cpu: "2", memory: "2Gi" },
      { name: "c", cpu: "1500m", memory: "3Gi" },
    ];
    const { store, ctl } = setup(nodes);
    const witness = overCommitWitness(store);
    const cpus = ["100m", "250m", "500m", "700m"];
    for (const name of ["x", "y", "z"])
      store.put(
        "apps/deployments",
        deployment(name, 1 + rand(4), { cpu: cpus[rand(4)] as string, memory: `${64 * (1 + rand(8))}Mi` }),
      );
    const down = new Set<string>();
    for (let step = 0; step < 60; step++) {
      const op = rand(4);
      const name = ["x", "y", "z"][rand(3)] as string;
      if (op === 0) updateSpec(store, "apps/deployments", name, (s) => (s["replicas"] = rand(7)));
      else if (op === 1)
        updateSpec(
          store,
          "apps/deployments",
          name,
          (s) =>
            ((((s["template"] as Obj)["spec"] as { containers: Obj[] }).containers[0] as Obj)["resources"] = {
              requests: { cpu: cpus[rand(4)] },
            }),
        );
      else {
        const n = (nodes[rand(3)] as NodeSpec).name;
        const ready = down.has(n);
        ctl.setNodeReady(n, ready);
        if (ready) down.delete(n);
        else down.add(n);
      }
      ctl.reconcileAll();
      for (const d of store.list("apps/deployments")) {
        const mine = pods(store).filter((p) => get(p, "metadata", "labels", "app") === d.metadata["name"]);
        expect(mine).toHaveLength(Number(get(d, "spec", "replicas")));
      }
      for (const n of down) expect(onNode(store, n)).toHaveLength(0);
    }
    expect(witness.overCommits).toEqual([]);
    // The scenario pushed every node to its limit (else it would show nothing about that node): pods were
    // refused for lack of room, and each node was full at some moment.
    expect(witness.refusedForRoom).toBeGreaterThan(0);
    for (const n of nodes) expect(witness.peaks.get(n.name)?.cpuMillis, `node ${n.name}`).toBe(cpuMillis(n.cpu));
    // The emulator's own high-water marks, which the integration tests read, say what the witness saw.
    expect(ctl.highWaterMarks()).toEqual(witness.peaks);
  });
});

describe("pod start and watch-driven reconciliation", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("podStartDelayMs keeps pods ContainerCreating, not Ready, until the delay passed", () => {
    vi.useFakeTimers();
    const { store, ctl } = setup([{ name: "a", cpu: "2", memory: "2Gi" }], 1000);
    store.put("apps/deployments", deployment("web", 2));
    store.put(
      "apps/statefulsets",
      workload("db", { replicas: 2, selector: { matchLabels: { app: "db" } }, template: template("db", {}) }),
    );
    ctl.reconcileAll();
    const webPods = () => pods(store).filter((p) => get(p, "metadata", "labels", "app") === "web");
    expect(webPods()).toHaveLength(2);
    for (const p of webPods()) {
      expect(get(p, "status", "phase")).toBe("Pending");
      expect(get(p, "status", "containerStatuses", "0", "state")).toEqual({ waiting: { reason: "ContainerCreating" } });
      expect((get(p, "status", "conditions") as Obj[]).find((c) => c["type"] === "Ready")).toMatchObject({
        status: "False",
        reason: "ContainersNotReady",
        message: "containers with unready status: [main]",
      });
      expect(get(p, "status", "qosClass")).toBe("BestEffort");
    }
    expect(store.get("apps/deployments", NS, "web")?.["status"]).not.toHaveProperty("readyReplicas");
    // OrderedReady: db-1 waits for db-0.
    expect(store.get("/pods", NS, "db-1")).toBeUndefined();
    vi.advanceTimersByTime(999);
    expect(running(store)).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(webPods().every((p) => get(p, "status", "phase") === "Running")).toBe(true);
    expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(get(store.get("/pods", NS, "db-1"), "status", "phase")).toBe("Pending");
    vi.advanceTimersByTime(1000);
    expect(get(store.get("/pods", NS, "db-1"), "status", "phase")).toBe("Running");
    ctl.stop();
  });

  it("start() reconciles on watch events and then stays quiet", async () => {
    const { store, ctl } = setup([{ name: "a", cpu: "2", memory: "2Gi" }]);
    ctl.start();
    try {
      store.put("apps/deployments", deployment("web", 2));
      await vi.waitFor(
        () => expect(store.get("apps/deployments", NS, "web")?.["status"]).toMatchObject({ readyReplicas: 2 }),
        { timeout: 2000, interval: 5 },
      );
      await new Promise((r) => setImmediate(r));
      const rv = store.resourceVersion;
      await new Promise((r) => setImmediate(r));
      expect(store.resourceVersion).toBe(rv);
      updateSpec(store, "apps/deployments", "web", (s) => (s["replicas"] = 3));
      await vi.waitFor(() => expect(running(store)).toHaveLength(3), { timeout: 2000, interval: 5 });
    } finally {
      ctl.stop();
    }
    store.put("apps/deployments", deployment("later", 1));
    await new Promise((r) => setImmediate(r));
    expect(store.list("apps/replicasets")).toHaveLength(1);
  });
});

describe("many namespaces: a reconcile looks at what changed", () => {
  /** A 1-replica Deployment named "app" in its own namespace. */
  const inNamespace = (ns: string, p: PodShape = { cpu: "10m", memory: "16Mi" }): KubeObject => {
    const d = deployment("app", 1, p);
    d.metadata["namespace"] = ns;
    return d;
  };
  const podsIn = (store: ObjectStore, ns: string) => store.list("/pods", ns);
  const availableIn = (store: ObjectStore, ns: string) =>
    get(store.get("apps/deployments", ns, "app"), "status", "availableReplicas") === 1;
  const deployMany = (store: ObjectStore, ctl: WorkloadControllers, n: number) => {
    for (let i = 0; i < n; i++) store.put("apps/deployments", inNamespace(`ns-${i}`));
    ctl.reconcileAll();
    for (let i = 0; i < n; i++) expect(availableIn(store, `ns-${i}`)).toBe(true);
  };

  it("a Deployment in a new namespace runs without the others being listed or written", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "8", memory: "16Gi", pods: 500 },
      { name: "b", cpu: "8", memory: "16Gi", pods: 500 },
    ]);
    deployMany(store, ctl, 200);
    const written: string[] = [];
    store.watch({
      typeKey: "/pods",
      filter: () => true,
      send: (e) => written.push(String(e.object.metadata["namespace"])),
    });
    const list = store.list.bind(store);
    const listedAll: string[] = [];
    vi.spyOn(store, "list").mockImplementation((typeKey: string, namespace?: string) => {
      if (namespace === undefined && typeKey !== "/nodes") listedAll.push(typeKey);
      return list(typeKey, namespace);
    });

    store.put("apps/deployments", inNamespace("new"));
    ctl.reconcileAll();

    expect(availableIn(store, "new")).toBe(true);
    expect(get(podsIn(store, "new")[0], "status", "phase")).toBe("Running");
    expect(new Set(written)).toEqual(new Set(["new"]));
    expect(listedAll).toEqual([]);
    vi.restoreAllMocks();
    expectSettled(store, ctl);
  });

  it("a node going NotReady evicts its pods in every namespace, and they come back on the other node", () => {
    const { store, ctl } = setup([
      { name: "a", cpu: "8", memory: "16Gi", pods: 500 },
      { name: "b", cpu: "8", memory: "16Gi", pods: 500 },
    ]);
    deployMany(store, ctl, 60);
    const onB = new Set(onNode(store, "b").map((p) => String(p.metadata["namespace"])));
    expect(onB.size).toBeGreaterThan(20);

    ctl.setNodeReady("b", false);
    ctl.reconcileAll();

    expect(onNode(store, "b")).toEqual([]);
    for (let i = 0; i < 60; i++) {
      const [pod] = podsIn(store, `ns-${i}`);
      expect(get(pod, "spec", "nodeName")).toBe("a");
      expect(get(pod, "status", "phase")).toBe("Running");
      expect(availableIn(store, `ns-${i}`)).toBe(true);
    }
    expectSettled(store, ctl);
  });

  it("a node going Ready again schedules the pods pending in namespaces nothing else touched", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "8", memory: "16Gi", pods: 500 }]);
    ctl.setNodeReady("a", false);
    for (let i = 0; i < 30; i++) store.put("apps/deployments", inNamespace(`ns-${i}`));
    ctl.reconcileAll();
    expect(pending(store)).toHaveLength(30);
    expect(scheduledCondition(pending(store)[0] as KubeObject)?.["message"]).toBe(
      "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
    );

    ctl.setNodeReady("a", true);
    ctl.reconcileAll();

    expect(running(store)).toHaveLength(30);
    for (let i = 0; i < 30; i++) expect(availableIn(store, `ns-${i}`)).toBe(true);
    expectSettled(store, ctl);
  });

  it("room freed in one namespace lets a pod pending in another schedule, and the high-water mark holds", () => {
    const { store, ctl } = setup([{ name: "a", cpu: "1", memory: "4Gi" }]);
    store.put("apps/deployments", inNamespace("big", { cpu: "800m" }));
    store.put("apps/deployments", inNamespace("waits", { cpu: "500m" }));
    ctl.reconcileAll();
    expect(get(podsIn(store, "waits")[0], "status", "phase")).toBe("Pending");
    expect(scheduledCondition(podsIn(store, "waits")[0] as KubeObject)?.["message"]).toBe(
      "0/1 nodes are available: 1 Insufficient cpu.",
    );

    store.remove("apps/deployments", "big", "app");
    ctl.reconcileAll();

    expect(podsIn(store, "big")).toEqual([]);
    expect(get(podsIn(store, "waits")[0], "status", "phase")).toBe("Running");
    expect(ctl.highWaterMarks().get("a")).toEqual({ cpuMillis: 800, memoryBytes: 0, pods: 1 });
    expectSettled(store, ctl);
  });

  it("a workload named by the unavailable fault turns unready, and back, in a namespace nothing else touched", () => {
    const store = new ObjectStore();
    store.put("/nodes", node({ name: "a", cpu: "8", memory: "16Gi", pods: 500 }));
    const unavailable = new Set<string>();
    const ctl = new WorkloadControllers({ store, now: () => NOW, unavailable: () => unavailable });
    deployMany(store, ctl, 20);

    unavailable.add("ns-7/app");
    ctl.reconcileAll();
    expect(availableIn(store, "ns-7")).toBe(false);
    expect(get(podsIn(store, "ns-7")[0], "status", "phase")).toBe("Running");
    expect(availableIn(store, "ns-8")).toBe(true);

    unavailable.clear();
    ctl.reconcileAll();
    expect(availableIn(store, "ns-7")).toBe(true);
    expectSettled(store, ctl);
  });
});
