/**
 * What a real cluster's control plane and kubelets do to workloads, emulated over the object store: the
 * Deployment, ReplicaSet, StatefulSet and DaemonSet controllers, the garbage collector (cascading deletion by
 * ownerReferences), the node IPAM and node lifecycle controllers (pod CIDRs; eviction from nodes that are not
 * Ready), the scheduler (./scheduler.ts) and the kubelets that start bound pods. Level-triggered: every pass
 * reads the store and writes only what differs, and passes repeat until one writes nothing, so a pass never
 * loops on its own writes.
 *
 * Simplifications, each documented where it happens: Deployments roll out Recreate-style whatever their
 * strategy (old ReplicaSets scaled to 0, the new one scaled up once their pods are gone, old ones deleted
 * once empty: no revision history kept); minReadySeconds is ignored (ready = available); deletions are
 * immediate (no graceful termination); containers never fail or restart; no ControllerRevisions or PVCs.
 * Readiness probes are not run: containers are ready once started, unless their workload is named by the
 * `unavailable` fault (then they never are).
 */
import { createHash, randomUUID } from "node:crypto";
import type { KubeObject, ObjectStore } from "../store.js";
import {
  arr,
  rec,
  strMap,
  addUsage,
  admissionFailure,
  DEFAULT_SCHEDULER,
  isNodeReady,
  isTerminated,
  matchesNodeAffinity,
  milliOf,
  occupiesNode,
  podCondition,
  schedulePod,
  untoleratedTaint,
  usageByNode,
} from "./scheduler.js";

/** How the controllers are wired: the store they reconcile, their clock, and how fast kubelets start pods. */
export interface ControllerOptions {
  store: ObjectStore;
  /** The clock for timestamps. */
  now?: () => Date;
  /** How long a bound pod's containers take to start, in ms. 0 (the default): on the same pass. */
  podStartDelayMs?: number;
  /** Where errors of watch- and timer-triggered reconciliation go. Default: console.error. */
  onError?: (err: unknown) => void;
  /** Workloads ("namespace/name") whose pods run but never become Ready (a fault). Default none. */
  unavailable?: () => ReadonlySet<string>;
}

/** The most a node ever had requested by the pods bound to it, per dimension. */
export interface HighWaterMark {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

type Obj = Record<string, unknown>;

const DEPLOYMENTS = "apps/deployments";
const REPLICASETS = "apps/replicasets";
const STATEFULSETS = "apps/statefulsets";
const DAEMONSETS = "apps/daemonsets";
const PODS = "/pods";
const NODES = "/nodes";
const WATCHED = [DEPLOYMENTS, REPLICASETS, STATEFULSETS, DAEMONSETS, PODS, NODES];
/** Owner kinds (apps/v1) whose absence the garbage collector can tell. */
const OWNER_TYPES: Readonly<Record<string, string>> = {
  Deployment: DEPLOYMENTS,
  ReplicaSet: REPLICASETS,
  StatefulSet: STATEFULSETS,
  DaemonSet: DAEMONSETS,
};

const HASH_LABEL = "pod-template-hash";
const REVISION_LABEL = "controller-revision-hash";
const REVISION = "deployment.kubernetes.io/revision";
const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
const MAX_PASSES = 10_000;
/** The alphabet of generated names (k8s.io/apimachinery/pkg/util/rand): no vowels, no confusable digits. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";
/** The tolerations the DaemonSet controller adds to its pods. */
const DAEMON_TOLERATIONS: Obj[] = [
  { key: NOT_READY_TAINT, operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

const clone = <T>(v: T): T => structuredClone(v);
const nameOf = (o: KubeObject): string => String(o.metadata["name"]);
const nsOf = (o: KubeObject): string | undefined => o.metadata["namespace"] as string | undefined;
const uidOf = (o: KubeObject): string => String(o.metadata["uid"] ?? "");
const specOf = (o: KubeObject): Obj => rec(o["spec"]);
const statusOf = (o: KubeObject): Obj => rec(o["status"]);
const generationOf = (o: KubeObject): number => Number(o.metadata["generation"] ?? 1);
const nodeNameOf = (pod: KubeObject): string | undefined => {
  const n = specOf(pod)["nodeName"];
  return typeof n === "string" && n !== "" ? n : undefined;
};
/** `spec.replicas`, 1 when absent. */
const replicasOf = (o: KubeObject): number => {
  const r = specOf(o)["replicas"];
  return typeof r === "number" && r >= 0 ? Math.floor(r) : 1;
};
const isPodReady = (pod: KubeObject): boolean => podCondition(pod, "Ready")?.["status"] === "True";
const isRunningReady = (pod: KubeObject): boolean => statusOf(pod)["phase"] === "Running" && isPodReady(pod);
const controllerUid = (o: KubeObject): string | undefined => {
  const ref = arr(o.metadata["ownerReferences"]).find((r) => r["controller"] === true);
  return ref ? String(ref["uid"]) : undefined;
};

/** JSON with object keys sorted, for comparing objects regardless of key order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** Whether two JSON values are equal, whatever the order of their keys (a key set to undefined is absent). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((x, i) => sameValue(x, y[i]));
  }
  const x = a as Obj;
  const y = b as Obj;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  const ky = Object.keys(y).filter((k) => y[k] !== undefined);
  return kx.length === ky.length && kx.every((k) => sameValue(x[k], y[k]));
}

/** Whether two stored objects are the same but for their resourceVersion (compared in place, no copies). */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined && k !== "metadata");
  const kb = Object.keys(b).filter((k) => b[k] !== undefined && k !== "metadata");
  if (ka.length !== kb.length || !ka.every((k) => sameValue(a[k], b[k]))) return false;
  const ma = Object.keys(a.metadata).filter((k) => a.metadata[k] !== undefined && k !== "resourceVersion");
  const mb = Object.keys(b.metadata).filter((k) => b.metadata[k] !== undefined && k !== "resourceVersion");
  return ma.length === mb.length && ma.every((k) => sameValue(a.metadata[k], b.metadata[k]));
}

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The hash of a pod template, as the `pod-template-hash` label carries it: FNV-1a over the template (keys
 * sorted), its decimal digits padded to 10 and encoded into the safe alphabet, as the controller's
 * SafeEncodeString does (so it looks like real ones, e.g. "7d4b9c8f6b").
 */
export function templateHash(template: unknown): string {
  const known = template !== null && typeof template === "object" ? hashes.get(template) : undefined;
  if (known) return known;
  const hash = [...String(fnv32a(stableJson(template))).padStart(10, "0")]
    .map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length])
    .join("");
  if (template !== null && typeof template === "object") hashes.set(template, hash);
  return hash;
}

/**
 * Templates hashed, by identity: a stored object is replaced, never changed in place, so its template's hash
 * holds while it is stored (the controllers hash every workload's template on every pass).
 */
const hashes = new WeakMap<object, string>();

/** A deterministic 5-character name suffix in the safe alphabet. */
function nameSuffix(seed: string): string {
  let h = fnv32a(seed);
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += ALPHANUMS[h % ALPHANUMS.length];
    h = Math.floor(h / ALPHANUMS.length);
  }
  return out;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** An image reference as containerd reports it ("nginx" → "docker.io/library/nginx:latest"). */
function normalizeImage(image: string): string {
  const slash = image.indexOf("/");
  const first = slash >= 0 ? image.slice(0, slash) : "";
  let name = image;
  if (!(slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")))
    name = `docker.io/${slash >= 0 ? "" : "library/"}${image}`;
  if (!name.includes("@") && !name.slice(name.lastIndexOf("/") + 1).includes(":")) name += ":latest";
  return name;
}

function imageId(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image;
  const repo = image.slice(0, image.lastIndexOf(":") > image.lastIndexOf("/") ? image.lastIndexOf(":") : image.length);
  return `${repo}@sha256:${sha256(image)}`;
}

/** The QoS class the API server records for a pod spec. */
function qosClass(spec: Obj): string {
  let any = false;
  let guaranteed = true;
  for (const c of [...arr(spec["containers"]), ...arr(spec["initContainers"])]) {
    const res = rec(c["resources"]);
    const req = rec(res["requests"]);
    const lim = rec(res["limits"]);
    for (const k of ["cpu", "memory"]) {
      if (req[k] !== undefined || lim[k] !== undefined) any = true;
      if (lim[k] === undefined || (req[k] !== undefined && milliOf(req[k]) !== milliOf(lim[k]))) guaranteed = false;
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

interface WantedCondition {
  type: string;
  status: "True" | "False";
  reason?: string;
  message?: string;
}

/**
 * Conditions after setting some: times kept while a condition's status (lastTransitionTime) or also its
 * reason and message (lastUpdateTime, with `updateTime`) stay the same, so re-asserting writes nothing.
 */
function setConditions(
  old: readonly Obj[],
  wanted: readonly WantedCondition[],
  now: string,
  style: "pod" | "workload",
): Obj[] {
  const made = wanted.map((w) => {
    const prev = old.find((c) => c["type"] === w.type);
    const sameStatus = prev !== undefined && prev["status"] === w.status;
    const same = sameStatus && prev["reason"] === w.reason && prev["message"] === w.message;
    const c: Obj = { type: w.type, status: w.status };
    if (style === "pod") c["lastProbeTime"] = null;
    else c["lastUpdateTime"] = same ? (prev["lastUpdateTime"] ?? now) : now;
    c["lastTransitionTime"] = sameStatus ? (prev["lastTransitionTime"] ?? now) : now;
    if (w.reason !== undefined) c["reason"] = w.reason;
    if (w.message !== undefined) c["message"] = w.message;
    return c;
  });
  // In `wanted`'s order (the writer's own order, as the kubelet writes its list), then any others.
  return [...made, ...old.filter((c) => !wanted.some((w) => w.type === c["type"]))];
}

function ownerRef(kind: string, owner: KubeObject): Obj {
  return {
    apiVersion: "apps/v1",
    kind,
    name: nameOf(owner),
    uid: uidOf(owner),
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** maxSurge and maxUnavailable resolved against a replica count, as the Deployment controller resolves them. */
function rollingParams(deployment: KubeObject, replicas: number): { surge: number; unavailable: number } {
  const strategy = rec(specOf(deployment)["strategy"]);
  if (strategy["type"] === "Recreate") return { surge: 0, unavailable: 0 };
  const ru = rec(strategy["rollingUpdate"]);
  const resolve = (v: unknown, roundUp: boolean): number => {
    const x = v ?? "25%";
    if (typeof x === "number") return x;
    const m = /^(\d+)%$/.exec(String(x));
    if (m) return (roundUp ? Math.ceil : Math.floor)((replicas * Number(m[1])) / 100);
    return Number(x) || 0;
  };
  const surge = resolve(ru["maxSurge"], true);
  let unavailable = resolve(ru["maxUnavailable"], false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, replicas) };
}

/**
 * The workload controllers, scheduler and kubelets of an emulated cluster. Scheduling picks, among the nodes
 * that fit, the least requested one (ties: first by name); see ./scheduler.ts.
 */
export class WorkloadControllers {
  readonly #store: ObjectStore;
  readonly #now: () => Date;
  readonly #delayMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #unavailable: () => ReadonlySet<string>;
  readonly #unwatch: (() => void)[] = [];
  #running = false;
  #queued = false;
  #reconciling = false;
  #writes = 0;
  /** Pod uid → the timer after which its containers start. */
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Pod uids whose start delay has passed. */
  readonly #startable = new Set<string>();
  /** Per owner, how many names were generated (for the next suffix). */
  readonly #nameCounters = new Map<string, number>();
  /** Per node, the next host number to try for a pod IP. */
  readonly #nextIp = new Map<string, number>();
  /** Pod uid → the order in which pods came to be (scheduling queue order). */
  readonly #order = new Map<string, number>();
  #sequence = 0;
  readonly #marks = new Map<string, HighWaterMark>();

  constructor(options: ControllerOptions) {
    this.#store = options.store;
    this.#now = options.now ?? (() => new Date());
    this.#delayMs = Math.max(0, options.podStartDelayMs ?? 0);
    this.#onError = options.onError ?? ((err: unknown) => console.error("emulator controllers:", err));
    this.#unavailable = options.unavailable ?? (() => new Set());
  }

  /** Watches workloads, pods and nodes, reconciling (on a microtask, coalesced) after every change. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const typeKey of WATCHED)
      this.#unwatch.push(this.#store.watch({ typeKey, filter: () => true, send: () => this.#kick() }));
    this.#kick();
  }

  /** Stops watching and clears pending pod-start timers. */
  stop(): void {
    this.#running = false;
    for (const u of this.#unwatch.splice(0)) u();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /** Reconciles until nothing changes (synchronously). @throws Error if that never happens. */
  reconcileAll(): void {
    if (this.#reconciling) return;
    this.#reconciling = true;
    try {
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const before = this.#writes;
        this.#pass();
        if (this.#writes === before) return;
      }
      throw new Error(`emulator controllers did not settle after ${MAX_PASSES} passes`);
    } finally {
      this.#reconciling = false;
    }
  }

  /**
   * What the node lifecycle controller records when a kubelet stops (or resumes) posting status: the Ready
   * condition (False, NodeStatusUnknown) and the not-ready NoSchedule and NoExecute taints. The node's pods
   * are evicted on the next reconcile. @throws Error for an unknown node.
   */
  setNodeReady(name: string, ready: boolean): void {
    const live = this.#store.get(NODES, undefined, name);
    if (!live) throw new Error(`node "${name}" not found`);
    const node = clone(live);
    const now = this.#stamp();
    const status = rec(node["status"]);
    node["status"] = status;
    const conditions = arr(status["conditions"]);
    const prev = conditions.find((c) => c["type"] === "Ready");
    const wanted = ready
      ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }
      : {
          type: "Ready",
          status: "False",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
        };
    const cond: Obj = {
      ...wanted,
      lastHeartbeatTime: now,
      lastTransitionTime: prev && prev["status"] === wanted.status ? (prev["lastTransitionTime"] ?? now) : now,
    };
    status["conditions"] = prev ? conditions.map((c) => (c === prev ? cond : c)) : [...conditions, cond];
    const spec = rec(node["spec"]);
    node["spec"] = spec;
    const taints = arr(spec["taints"]).filter((t) => t["key"] !== NOT_READY_TAINT);
    if (!ready)
      taints.push(
        { key: NOT_READY_TAINT, effect: "NoSchedule" },
        { key: NOT_READY_TAINT, effect: "NoExecute", timeAdded: now },
      );
    if (taints.length > 0) spec["taints"] = taints;
    else delete spec["taints"];
    this.#put(NODES, node);
  }

  /** Per node, the highest requests of the pods bound to it (and admitted) ever seen, per dimension. */
  highWaterMarks(): Map<string, HighWaterMark> {
    return new Map([...this.#marks].map(([k, v]) => [k, { ...v }]));
  }

  #kick(): void {
    if (!this.#running || this.#queued || this.#reconciling) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (this.#running) this.#safeReconcile();
    });
  }

  #safeReconcile(): void {
    try {
      this.reconcileAll();
    } catch (err) {
      this.#onError(err);
    }
  }

  #pass(): void {
    this.#recordMarks();
    this.#assignPodCidrs();
    this.#evictPods();
    this.#collectGarbage();
    this.#syncDeployments();
    this.#syncReplicaSets();
    this.#syncStatefulSets();
    this.#syncDaemonSets();
    this.#schedule();
    this.#runKubelets();
    this.#replicaSetStatuses();
    this.#deploymentStatuses();
    this.#statefulSetStatuses();
    this.#daemonSetStatuses();
    this.#recordMarks();
  }

  #stamp(): string {
    return this.#now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  /** Stores an object unless it is unchanged. */
  #put(typeKey: string, o: KubeObject): void {
    const live = this.#store.get(typeKey, nsOf(o), nameOf(o));
    if (live && (live === o || sameObject(live, o))) return;
    this.#writes++;
    this.#store.put(typeKey, o);
  }

  /** Stores an object with a new status, unless the status is the one it has (then nothing is copied). */
  #putStatus(typeKey: string, o: KubeObject, status: Obj): void {
    if (sameValue(o["status"], status)) return;
    this.#put(typeKey, { ...clone(o), status });
  }

  #remove(typeKey: string, o: KubeObject): void {
    if (!this.#store.remove(typeKey, nsOf(o), nameOf(o))) return;
    this.#writes++;
    if (typeKey === PODS) this.#forgetPod(uidOf(o));
  }

  #forgetPod(uid: string): void {
    const t = this.#timers.get(uid);
    if (t) clearTimeout(t);
    this.#timers.delete(uid);
    this.#startable.delete(uid);
    this.#order.delete(uid);
  }

  /** Objects of a type in the owner's namespace whose controller is the owner. */
  #owned(typeKey: string, owner: KubeObject): KubeObject[] {
    const uid = uidOf(owner);
    return this.#store.list(typeKey, nsOf(owner)).filter((o) => controllerUid(o) === uid);
  }

  /** Metadata of a new object, as the API server completes it. */
  #metadata(
    name: string,
    namespace: string | undefined,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    owner: Obj,
  ): Obj {
    const m: Obj = { name };
    if (namespace !== undefined) m["namespace"] = namespace;
    Object.assign(m, { uid: randomUUID(), creationTimestamp: this.#stamp(), generation: 1 });
    if (Object.keys(labels).length > 0) m["labels"] = labels;
    if (Object.keys(annotations).length > 0) m["annotations"] = annotations;
    m["ownerReferences"] = [owner];
    return m;
  }

  /** An unused `<base>-<5 chars>` pod name. */
  #generatedName(namespace: string | undefined, base: string): string {
    const key = `${namespace ?? ""}/${base}`;
    for (;;) {
      const n = this.#nameCounters.get(key) ?? 0;
      this.#nameCounters.set(key, n + 1);
      const name = `${base}-${nameSuffix(`${key}/${n}`)}`;
      if (!this.#store.get(PODS, namespace, name)) return name;
    }
  }

  /** Creates a pod from a template, owned by a workload. */
  #createPod(
    owner: KubeObject,
    kind: string,
    name: string,
    template: Obj,
    labels: Record<string, string>,
    extraSpec: Obj,
    generateName: boolean,
  ): void {
    if (this.#store.get(PODS, nsOf(owner), name)) return;
    const tmeta = rec(template["metadata"]);
    const metadata = this.#metadata(name, nsOf(owner), labels, strMap(tmeta["annotations"]), ownerRef(kind, owner));
    if (generateName) metadata["generateName"] = `${nameOf(owner)}-`;
    const spec: Obj = { ...clone(rec(template["spec"])), ...extraSpec };
    const pod: KubeObject = { metadata, spec, status: { phase: "Pending", qosClass: qosClass(spec) } };
    this.#order.set(uidOf(pod), this.#sequence++);
    this.#put(PODS, pod);
  }

  // ---- node IPAM and node lifecycle -------------------------------------------------------------------

  /** Gives nodes without one a `spec.podCIDR` (10.244.<n>.0/24, the lowest free n, nodes by name). */
  #assignPodCidrs(): void {
    const nodes = this.#store.list(NODES);
    const used = new Set<number>();
    for (const n of nodes) {
      const m = /^10\.244\.(\d+)\.0\/24$/.exec(String(specOf(n)["podCIDR"] ?? ""));
      if (m) used.add(Number(m[1]));
    }
    let next = 0;
    for (const n of nodes) {
      if (specOf(n)["podCIDR"]) continue;
      while (used.has(next)) next++;
      used.add(next);
      const cidr = `10.244.${next}.0/24`;
      this.#put(NODES, { ...clone(n), spec: { ...clone(specOf(n)), podCIDR: cidr, podCIDRs: [cidr] } });
    }
  }

  /**
   * Evicts (deletes) the pods holding resources on nodes that are not Ready or no longer exist. Pods that
   * were never admitted there just wait, so a template naming a lost node does not churn.
   */
  #evictPods(): void {
    const nodes = new Map(this.#store.list(NODES).map((n) => [nameOf(n), n]));
    for (const pod of this.#store.list(PODS)) {
      const nodeName = nodeNameOf(pod);
      if (nodeName === undefined || !occupiesNode(pod)) continue;
      const node = nodes.get(nodeName);
      if (!node || !isNodeReady(node)) this.#remove(PODS, pod);
    }
  }

  /** Deletes ReplicaSets and pods all of whose (apps/v1 workload) owners are gone or were replaced. */
  #collectGarbage(): void {
    for (const typeKey of [REPLICASETS, PODS]) {
      for (const o of this.#store.list(typeKey)) {
        const refs = arr(o.metadata["ownerReferences"]);
        if (refs.length === 0) continue;
        const gone = refs.every((r) => {
          const ownerType = r["apiVersion"] === "apps/v1" ? OWNER_TYPES[String(r["kind"])] : undefined;
          if (ownerType === undefined) return false;
          const owner = this.#store.get(ownerType, nsOf(o), String(r["name"]));
          return !owner || owner.metadata["uid"] !== r["uid"];
        });
        if (gone) this.#remove(typeKey, o);
      }
    }
  }

  // ---- Deployments and ReplicaSets ----------------------------------------------------------------------

  /**
   * Deployment → ReplicaSet `<name>-<template hash>`. Rollouts are Recreate-style whatever the strategy: old
   * ReplicaSets go to 0 replicas, the new one is scaled up once their pods are gone, and an old ReplicaSet
   * is deleted once it has no pods (no revision history is kept).
   */
  #syncDeployments(): void {
    for (const d of this.#store.list(DEPLOYMENTS)) {
      if (d.metadata["deletionTimestamp"]) continue;
      const spec = specOf(d);
      const replicas = replicasOf(d);
      const template = rec(spec["template"]);
      const hash = templateHash(template);
      const rsName = `${nameOf(d)}-${hash}`;
      const owned = this.#owned(REPLICASETS, d);
      const current = owned.find((rs) => nameOf(rs) === rsName);
      const old = owned.filter((rs) => rs !== current);
      const revisionOf = (rs: KubeObject) => Number(strMap(rs.metadata["annotations"])[REVISION] ?? 0) || 0;
      const maxOld = Math.max(0, ...old.map(revisionOf));
      const revision = current && revisionOf(current) > maxOld ? revisionOf(current) : maxOld + 1;
      const oldPods = old.some((rs) => this.#owned(PODS, rs).some((p) => !isTerminated(p)));
      const desired = oldPods ? 0 : replicas;
      const annotations = {
        "deployment.kubernetes.io/desired-replicas": String(replicas),
        "deployment.kubernetes.io/max-replicas": String(replicas + rollingParams(d, replicas).surge),
        [REVISION]: String(revision),
      };
      if (!current) {
        if (this.#store.get(REPLICASETS, nsOf(d), rsName)) continue; // the name is taken by another owner's
        const labels = { ...strMap(rec(template["metadata"])["labels"]), [HASH_LABEL]: hash };
        const selector = rec(spec["selector"]);
        const rsSpec: Obj = {
          replicas: desired,
          selector: {
            ...clone(selector),
            matchLabels: {
              ...strMap(selector["matchLabels"] ?? rec(template["metadata"])["labels"]),
              [HASH_LABEL]: hash,
            },
          },
          template: { ...clone(template), metadata: { ...clone(rec(template["metadata"])), labels } },
        };
        if (spec["minReadySeconds"] !== undefined) rsSpec["minReadySeconds"] = spec["minReadySeconds"];
        this.#put(REPLICASETS, {
          metadata: this.#metadata(rsName, nsOf(d), labels, annotations, ownerRef("Deployment", d)),
          spec: rsSpec,
          status: { replicas: 0 },
        });
      } else {
        this.#put(REPLICASETS, this.#withReplicas(current, desired, annotations));
      }
      for (const rs of old) {
        if (replicasOf(rs) !== 0) this.#put(REPLICASETS, this.#withReplicas(rs, 0, {}));
        else if (!this.#owned(PODS, rs).some((p) => !isTerminated(p))) this.#remove(REPLICASETS, rs);
      }
      const dAnnotations = strMap(d.metadata["annotations"]);
      if (dAnnotations[REVISION] !== String(revision)) {
        this.#put(DEPLOYMENTS, {
          ...clone(d),
          metadata: { ...clone(d.metadata), annotations: { ...dAnnotations, [REVISION]: String(revision) } },
        });
      }
    }
  }

  /**
   * A ReplicaSet with a replica count and annotations; its generation bumped if the spec changed. The ReplicaSet
   * itself when it has both already (nothing copied: every pass asks this of every ReplicaSet).
   */
  #withReplicas(rs: KubeObject, replicas: number, annotations: Record<string, string>): KubeObject {
    const sameSpec = specOf(rs)["replicas"] === replicas;
    const had = strMap(rs.metadata["annotations"]);
    if (sameSpec && Object.entries(annotations).every(([k, v]) => had[k] === v)) return rs;
    const next = clone(rs);
    next["spec"] = { ...specOf(next), replicas };
    if (Object.keys(annotations).length > 0) next.metadata["annotations"] = { ...had, ...annotations };
    if (!sameSpec) next.metadata["generation"] = generationOf(rs) + 1;
    return next;
  }

  /** ReplicaSet → pods `<rs>-<5 chars>`; surplus pods deleted unscheduled first, then not ready, then newest. */
  #syncReplicaSets(): void {
    for (const rs of this.#store.list(REPLICASETS)) {
      if (rs.metadata["deletionTimestamp"]) continue;
      const replicas = replicasOf(rs);
      const pods = this.#owned(PODS, rs).filter((p) => !isTerminated(p));
      const template = rec(specOf(rs)["template"]);
      for (let i = pods.length; i < replicas; i++) {
        const name = this.#generatedName(nsOf(rs), nameOf(rs));
        this.#createPod(rs, "ReplicaSet", name, template, strMap(rec(template["metadata"])["labels"]), {}, true);
      }
      if (pods.length > replicas)
        for (const p of this.#deletionOrder(pods).slice(0, pods.length - replicas)) this.#remove(PODS, p);
    }
  }

  #deletionOrder(pods: KubeObject[]): KubeObject[] {
    const rank = (p: KubeObject): number[] => [
      nodeNameOf(p) === undefined ? 0 : 1,
      statusOf(p)["phase"] === "Running" ? 1 : 0,
      isPodReady(p) ? 1 : 0,
      -(this.#order.get(uidOf(p)) ?? Number.MAX_SAFE_INTEGER),
    ];
    return [...pods].sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
      return nameOf(b).localeCompare(nameOf(a));
    });
  }

  #replicaSetStatuses(): void {
    for (const rs of this.#store.list(REPLICASETS)) {
      const pods = this.#owned(PODS, rs).filter((p) => !isTerminated(p));
      const templateLabels = strMap(rec(rec(specOf(rs)["template"])["metadata"])["labels"]);
      const fully = pods.filter((p) => {
        const l = strMap(p.metadata["labels"]);
        return Object.entries(templateLabels).every(([k, v]) => l[k] === v);
      }).length;
      const ready = pods.filter(isPodReady).length;
      const status: Obj = { replicas: pods.length };
      if (fully > 0) status["fullyLabeledReplicas"] = fully;
      if (ready > 0) status["readyReplicas"] = ready;
      if (ready > 0) status["availableReplicas"] = ready;
      status["observedGeneration"] = generationOf(rs);
      this.#putStatus(REPLICASETS, rs, status);
    }
  }

  #deploymentStatuses(): void {
    for (const d of this.#store.list(DEPLOYMENTS)) {
      const replicas = replicasOf(d);
      const rsName = `${nameOf(d)}-${templateHash(rec(specOf(d)["template"]))}`;
      const owned = this.#owned(REPLICASETS, d);
      const sum = (field: string) => owned.reduce((n, rs) => n + Number(statusOf(rs)[field] ?? 0), 0);
      const current = owned.find((rs) => nameOf(rs) === rsName);
      const total = sum("replicas");
      const updated = current ? Number(statusOf(current)["replicas"] ?? 0) : 0;
      const ready = sum("readyReplicas");
      const available = sum("availableReplicas");
      const unavailable = Math.max(0, replicas - available);
      const status: Obj = { observedGeneration: generationOf(d) };
      if (total > 0) status["replicas"] = total;
      if (updated > 0) status["updatedReplicas"] = updated;
      if (ready > 0) status["readyReplicas"] = ready;
      if (available > 0) status["availableReplicas"] = available;
      if (unavailable > 0) status["unavailableReplicas"] = unavailable;
      const minAvailable = replicas - rollingParams(d, replicas).unavailable;
      const complete = updated === replicas && total === replicas && available >= replicas;
      const now = this.#stamp();
      status["conditions"] = setConditions(
        arr(statusOf(d)["conditions"]),
        [
          available >= minAvailable
            ? {
                type: "Available",
                status: "True",
                reason: "MinimumReplicasAvailable",
                message: "Deployment has minimum availability.",
              }
            : {
                type: "Available",
                status: "False",
                reason: "MinimumReplicasUnavailable",
                message: "Deployment does not have minimum availability.",
              },
          complete
            ? {
                type: "Progressing",
                status: "True",
                reason: "NewReplicaSetAvailable",
                message: `ReplicaSet "${rsName}" has successfully progressed.`,
              }
            : {
                type: "Progressing",
                status: "True",
                reason: "ReplicaSetUpdated",
                message: `ReplicaSet "${rsName}" is progressing.`,
              },
        ],
        now,
        "workload",
      );
      const prior = statusOf(d)["collisionCount"];
      if (prior !== undefined) status["collisionCount"] = prior;
      this.#putStatus(DEPLOYMENTS, d, status);
    }
  }

  // ---- StatefulSets ---------------------------------------------------------------------------------------

  #statefulSetRevision(sts: KubeObject): string {
    return `${nameOf(sts)}-${templateHash(rec(specOf(sts)["template"]))}`;
  }

  /**
   * StatefulSet → pods `<name>-0 .. <name>-(n-1)`. OrderedReady (the default): pod i is created once pods
   * 0..i-1 are Running and Ready; Parallel: all at once. Scale-down deletes the ordinals out of range. A
   * template change replaces pods one at a time from the highest ordinal, once all are Ready (RollingUpdate;
   * OnDelete leaves them).
   */
  #syncStatefulSets(): void {
    for (const sts of this.#store.list(STATEFULSETS)) {
      if (sts.metadata["deletionTimestamp"]) continue;
      const spec = specOf(sts);
      const name = nameOf(sts);
      const replicas = replicasOf(sts);
      const template = rec(spec["template"]);
      const revision = this.#statefulSetRevision(sts);
      const parallel = spec["podManagementPolicy"] === "Parallel";
      const byOrdinal = new Map<number, KubeObject>();
      for (const p of this.#owned(PODS, sts)) {
        const m = /^(\d+)$/.exec(nameOf(p).startsWith(`${name}-`) ? nameOf(p).slice(name.length + 1) : "");
        const ordinal = m ? Number(m[1]) : -1;
        if (ordinal < 0 || ordinal >= replicas || isTerminated(p)) this.#remove(PODS, p);
        else byOrdinal.set(ordinal, p);
      }
      for (let i = 0; i < replicas; i++) {
        const pod = byOrdinal.get(i);
        if (!pod) {
          const podName = `${name}-${i}`;
          const labels = {
            ...strMap(rec(template["metadata"])["labels"]),
            "apps.kubernetes.io/pod-index": String(i),
            [REVISION_LABEL]: revision,
            "statefulset.kubernetes.io/pod-name": podName,
          };
          const extra: Obj = { hostname: podName };
          if (typeof spec["serviceName"] === "string" && spec["serviceName"] !== "")
            extra["subdomain"] = spec["serviceName"];
          this.#createPod(sts, "StatefulSet", podName, template, labels, extra, false);
          if (!parallel) break;
        } else if (!parallel && !isRunningReady(pod)) break;
      }
      const strategy = rec(spec["updateStrategy"])["type"];
      const all = [...Array(replicas).keys()].map((i) => byOrdinal.get(i));
      if (strategy !== "OnDelete" && all.every((p) => p !== undefined && isRunningReady(p))) {
        const stale = all
          .reverse()
          .find((p) => p !== undefined && strMap(p.metadata["labels"])[REVISION_LABEL] !== revision);
        if (stale) this.#remove(PODS, stale);
      }
    }
  }

  #statefulSetStatuses(): void {
    for (const sts of this.#store.list(STATEFULSETS)) {
      const pods = this.#owned(PODS, sts).filter((p) => !isTerminated(p));
      const revision = this.#statefulSetRevision(sts);
      const revisionOf = (p: KubeObject) => strMap(p.metadata["labels"])[REVISION_LABEL];
      const ready = pods.filter(isPodReady).length;
      const updated = pods.filter((p) => revisionOf(p) === revision).length;
      const replicas = replicasOf(sts);
      let currentRevision = String(statusOf(sts)["currentRevision"] ?? revision);
      if (updated === replicas && ready === replicas && pods.length === replicas) currentRevision = revision;
      const current = pods.filter((p) => revisionOf(p) === currentRevision).length;
      const status: Obj = { availableReplicas: ready, collisionCount: Number(statusOf(sts)["collisionCount"] ?? 0) };
      if (current > 0) status["currentReplicas"] = current;
      status["currentRevision"] = currentRevision;
      status["observedGeneration"] = generationOf(sts);
      if (ready > 0) status["readyReplicas"] = ready;
      status["replicas"] = pods.length;
      status["updateRevision"] = revision;
      if (updated > 0) status["updatedReplicas"] = updated;
      this.#putStatus(STATEFULSETS, sts, status);
    }
  }

  // ---- DaemonSets -----------------------------------------------------------------------------------------

  /** The template's pod spec with the tolerations the DaemonSet controller adds. */
  #daemonPodSpec(ds: KubeObject): Obj {
    const spec = clone(rec(rec(specOf(ds)["template"])["spec"]));
    const tolerations = arr(spec["tolerations"]);
    for (const t of DAEMON_TOLERATIONS)
      if (!tolerations.some((x) => stableJson(x) === stableJson(t))) tolerations.push(clone(t));
    spec["tolerations"] = tolerations;
    return spec;
  }

  /** The nodes that should run a daemon pod: Ready, matching its node selector/affinity, taints tolerated. */
  #daemonNodes(ds: KubeObject, nodes: readonly KubeObject[]): KubeObject[] {
    const spec = this.#daemonPodSpec(ds);
    const probe: KubeObject = { metadata: {}, spec };
    return nodes.filter(
      (n) =>
        isNodeReady(n) && matchesNodeAffinity(probe, n) && untoleratedTaint(n, arr(spec["tolerations"])) === undefined,
    );
  }

  /**
   * DaemonSet → one pod per eligible node, `spec.nodeName` preset (the kubelet still admits it only if it
   * fits). Pods on nodes no longer eligible are deleted; pods of an older template are replaced (all at once).
   */
  #syncDaemonSets(): void {
    const nodes = this.#store.list(NODES);
    for (const ds of this.#store.list(DAEMONSETS)) {
      if (ds.metadata["deletionTimestamp"]) continue;
      const template = rec(specOf(ds)["template"]);
      const hash = templateHash(template);
      const eligible = new Set(this.#daemonNodes(ds, nodes).map(nameOf));
      const byNode = new Map<string, KubeObject[]>();
      for (const p of this.#owned(PODS, ds)) {
        const nodeName = nodeNameOf(p);
        if (nodeName === undefined || !eligible.has(nodeName) || isTerminated(p)) {
          this.#remove(PODS, p);
          continue;
        }
        byNode.set(nodeName, [...(byNode.get(nodeName) ?? []), p]);
      }
      for (const nodeName of eligible) {
        const pods = (byNode.get(nodeName) ?? []).sort(
          (a, b) => (this.#order.get(uidOf(a)) ?? 0) - (this.#order.get(uidOf(b)) ?? 0),
        );
        for (const extra of pods.slice(1)) this.#remove(PODS, extra);
        const kept = pods[0];
        if (kept && strMap(kept.metadata["labels"])[REVISION_LABEL] === hash) continue;
        if (kept) this.#remove(PODS, kept);
        const labels = {
          ...strMap(rec(template["metadata"])["labels"]),
          [REVISION_LABEL]: hash,
          "pod-template-generation": String(generationOf(ds)),
        };
        const spec = { ...this.#daemonPodSpec(ds), nodeName };
        this.#createPod(
          ds,
          "DaemonSet",
          this.#generatedName(nsOf(ds), nameOf(ds)),
          { ...template, spec },
          labels,
          {},
          true,
        );
      }
    }
  }

  #daemonSetStatuses(): void {
    const nodes = this.#store.list(NODES);
    for (const ds of this.#store.list(DAEMONSETS)) {
      const eligible = new Set(this.#daemonNodes(ds, nodes).map(nameOf));
      const hash = templateHash(rec(specOf(ds)["template"]));
      const pods = this.#owned(PODS, ds).filter((p) => !isTerminated(p));
      const placed = pods.filter((p) => eligible.has(nodeNameOf(p) ?? ""));
      const scheduled = new Set(placed.map((p) => nodeNameOf(p)));
      const ready = placed.filter(isPodReady).length;
      const updated = placed.filter((p) => strMap(p.metadata["labels"])[REVISION_LABEL] === hash).length;
      const status: Obj = {
        currentNumberScheduled: scheduled.size,
        desiredNumberScheduled: eligible.size,
        numberMisscheduled: pods.length - placed.length,
        numberReady: ready,
      };
      if (ready > 0) status["numberAvailable"] = ready;
      if (eligible.size - ready > 0) status["numberUnavailable"] = eligible.size - ready;
      status["observedGeneration"] = generationOf(ds);
      if (updated > 0) status["updatedNumberScheduled"] = updated;
      this.#putStatus(DAEMONSETS, ds, status);
    }
  }

  // ---- scheduler and kubelets -----------------------------------------------------------------------------

  /** Binds pending pods (priority first, then in order of creation), or records why they cannot be. */
  #schedule(): void {
    const nodes = this.#store.list(NODES);
    const pods = this.#store.list(PODS);
    const usage = usageByNode(pods);
    const unseen = pods
      .filter((p) => !this.#order.has(uidOf(p)))
      .sort(
        (a, b) =>
          String(a.metadata["creationTimestamp"] ?? "").localeCompare(String(b.metadata["creationTimestamp"] ?? "")) ||
          nameOf(a).localeCompare(nameOf(b)),
      );
    for (const p of unseen) this.#order.set(uidOf(p), this.#sequence++);
    const pending = pods
      .filter(
        (p) =>
          nodeNameOf(p) === undefined &&
          !isTerminated(p) &&
          (specOf(p)["schedulerName"] ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER,
      )
      .sort(
        (a, b) =>
          Number(specOf(b)["priority"] ?? 0) - Number(specOf(a)["priority"] ?? 0) ||
          (this.#order.get(uidOf(a)) ?? 0) - (this.#order.get(uidOf(b)) ?? 0),
      );
    const now = this.#stamp();
    for (const pod of pending) {
      const result = schedulePod(pod, nodes, usage);
      const next = clone(pod);
      const status = { ...statusOf(next) };
      next["status"] = status;
      status["phase"] = "Pending";
      if (result.nodeName !== undefined) {
        next["spec"] = { ...specOf(next), nodeName: result.nodeName };
        status["conditions"] = setConditions(
          arr(status["conditions"]),
          [{ type: "PodScheduled", status: "True" }],
          now,
          "pod",
        );
        addUsage(usage, result.nodeName, next);
      } else {
        status["conditions"] = setConditions(
          arr(status["conditions"]),
          [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: result.message }],
          now,
          "pod",
        );
      }
      this.#put(PODS, next);
    }
  }

  /**
   * The kubelets: admit pods bound to their (Ready) node — those bound by their creator only if they fit —
   * and start them: at once, or after `podStartDelayMs` (ContainerCreating meanwhile).
   */
  #runKubelets(): void {
    const nodes = new Map(this.#store.list(NODES).map((n) => [nameOf(n), n]));
    const pods = this.#store.list(PODS);
    const usage = usageByNode(pods);
    const ips = new Map<string, Set<string>>();
    for (const p of pods) {
      const ip = statusOf(p)["podIP"];
      const nodeName = nodeNameOf(p);
      if (typeof ip === "string" && nodeName !== undefined) ips.set(nodeName, (ips.get(nodeName) ?? new Set()).add(ip));
    }
    const live = new Set<string>();
    const unavailable = this.#unavailable();
    for (const pod of pods) {
      const uid = uidOf(pod);
      live.add(uid);
      const nodeName = nodeNameOf(pod);
      const node = nodeName === undefined ? undefined : nodes.get(nodeName);
      if (nodeName === undefined || !node || isTerminated(pod) || !isNodeReady(node)) continue;
      if (!occupiesNode(pod)) {
        const failure = admissionFailure(pod, node, usage.get(nodeName));
        if (failure) {
          this.#put(PODS, {
            ...clone(pod),
            status: { ...statusOf(pod), phase: "Pending", reason: failure.reason, message: failure.message },
          });
          continue;
        }
        addUsage(usage, nodeName, pod);
      }
      const neverReady = unavailable.size > 0 && unavailable.has(this.#workloadOf(pod) ?? "");
      if (neverReady && statusOf(pod)["phase"] === "Running") {
        if (isPodReady(pod)) this.#put(PODS, { ...clone(pod), status: this.#unreadyStatus(pod) });
        continue;
      }
      if (isRunningReady(pod)) continue;
      if (this.#delayMs === 0 || this.#startable.has(uid)) {
        const used = ips.get(nodeName) ?? new Set<string>();
        ips.set(nodeName, used);
        const running: KubeObject = { ...clone(pod), status: this.#runningStatus(pod, node, used) };
        this.#put(PODS, neverReady ? { ...running, status: this.#unreadyStatus(running) } : running);
      } else {
        this.#put(PODS, { ...clone(pod), status: this.#creatingStatus(pod, node) });
        this.#armTimer(uid);
      }
    }
    for (const uid of [...this.#timers.keys(), ...this.#startable]) if (!live.has(uid)) this.#forgetPod(uid);
  }

  /** The "namespace/name" of the workload a pod belongs to (a ReplicaSet's pods: its Deployment's). */
  #workloadOf(pod: KubeObject): string | undefined {
    const ref = arr(pod.metadata["ownerReferences"]).find((r) => r["controller"] === true);
    if (!ref) return undefined;
    const ns = nsOf(pod) ?? "";
    if (ref["kind"] !== "ReplicaSet") return `${ns}/${String(ref["name"])}`;
    const rs = this.#store.get(REPLICASETS, ns, String(ref["name"]));
    const owner = rs
      ? arr(rs.metadata["ownerReferences"]).find((r) => r["controller"] === true && r["kind"] === "Deployment")
      : undefined;
    return `${ns}/${String(owner?.["name"] ?? ref["name"])}`;
  }

  /**
   * A running pod whose readiness never passes (the `unavailable` fault): Ready and ContainersReady False,
   * containers started but not ready; times kept, so asserting it again writes nothing.
   */
  #unreadyStatus(pod: KubeObject): Obj {
    const status = clone(statusOf(pod));
    const names = arr(specOf(pod)["containers"])
      .map((c) => String(c["name"]))
      .sort();
    const unready = `containers with unready status: [${names.join(" ")}]`;
    status["conditions"] = setConditions(
      arr(status["conditions"]),
      [
        { type: "PodReadyToStartContainers", status: "True" },
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "False", reason: "ContainersNotReady", message: unready },
        { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: unready },
        { type: "PodScheduled", status: "True" },
      ],
      this.#stamp(),
      "pod",
    );
    status["containerStatuses"] = arr(status["containerStatuses"]).map((c) => ({ ...c, ready: false }));
    return status;
  }

  #armTimer(uid: string): void {
    if (this.#timers.has(uid) || this.#startable.has(uid)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(uid);
      this.#startable.add(uid);
      this.#safeReconcile();
    }, this.#delayMs);
    timer.unref?.();
    this.#timers.set(uid, timer);
  }

  #hostIp(node: KubeObject): string {
    const internal = arr(statusOf(node)["addresses"]).find((a) => a["type"] === "InternalIP");
    return String(internal?.["address"] ?? "10.0.0.1");
  }

  /** The next free pod IP in the node's pod CIDR (host numbers 2..254, round robin as host-local IPAM). */
  #allocateIp(node: KubeObject, used: Set<string>): string | undefined {
    const m = /^(\d+\.\d+\.\d+)\.\d+\/\d+$/.exec(String(specOf(node)["podCIDR"] ?? ""));
    const prefix = m ? `${m[1]}.` : "10.244.0.";
    const name = nameOf(node);
    let n = this.#nextIp.get(name) ?? 2;
    for (let tries = 0; tries < 253; tries++) {
      const candidate = `${prefix}${n}`;
      n = n >= 254 ? 2 : n + 1;
      if (!used.has(candidate)) {
        this.#nextIp.set(name, n);
        used.add(candidate);
        return candidate;
      }
    }
    return undefined;
  }

  /** Status fields the kubelet writes for any pod it runs; times kept from before. */
  #baseStatus(pod: KubeObject, node: KubeObject): Obj {
    const old = statusOf(pod);
    const hostIP = this.#hostIp(node);
    const status: Obj = {
      ...clone(old),
      hostIP,
      hostIPs: [{ ip: hostIP }],
      qosClass: old["qosClass"] ?? qosClass(specOf(pod)),
      startTime: old["startTime"] ?? this.#stamp(),
    };
    delete status["reason"];
    delete status["message"];
    return status;
  }

  #creatingStatus(pod: KubeObject, node: KubeObject): Obj {
    const status = this.#baseStatus(pod, node);
    const containers = arr(specOf(pod)["containers"]);
    const names = containers.map((c) => String(c["name"])).sort();
    const unready = `containers with unready status: [${names.join(" ")}]`;
    status["phase"] = "Pending";
    status["conditions"] = setConditions(
      arr(statusOf(pod)["conditions"]),
      [
        { type: "PodReadyToStartContainers", status: "False" },
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "False", reason: "ContainersNotReady", message: unready },
        { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: unready },
        { type: "PodScheduled", status: "True" },
      ],
      this.#stamp(),
      "pod",
    );
    status["containerStatuses"] = [...containers]
      .sort((a, b) => String(a["name"]).localeCompare(String(b["name"])))
      .map((c) => ({
        image: normalizeImage(String(c["image"] ?? "")),
        imageID: "",
        lastState: {},
        name: c["name"],
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: "ContainerCreating" } },
      }));
    return status;
  }

  #runningStatus(pod: KubeObject, node: KubeObject, usedIps: Set<string>): Obj {
    const now = this.#stamp();
    const status = this.#baseStatus(pod, node);
    const spec = specOf(pod);
    const uid = uidOf(pod);
    const podIP =
      spec["hostNetwork"] === true ? status["hostIP"] : (statusOf(pod)["podIP"] ?? this.#allocateIp(node, usedIps));
    status["phase"] = "Running";
    status["conditions"] = setConditions(
      arr(statusOf(pod)["conditions"]),
      ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
        type,
        status: "True" as const,
      })),
      now,
      "pod",
    );
    if (typeof podIP === "string") {
      status["podIP"] = podIP;
      status["podIPs"] = [{ ip: podIP }];
    }
    const running = (c: Obj): Obj => {
      const image = normalizeImage(String(c["image"] ?? ""));
      return {
        containerID: `containerd://${sha256(`${uid}/${String(c["name"])}`)}`,
        image,
        imageID: imageId(image),
        lastState: {},
        name: c["name"],
      };
    };
    const byName = (a: Obj, b: Obj) => String(a["name"]).localeCompare(String(b["name"]));
    status["containerStatuses"] = arr(spec["containers"])
      .sort(byName)
      .map((c) => ({
        ...running(c),
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: now } },
      }));
    const inits = arr(spec["initContainers"]);
    if (inits.length > 0) {
      status["initContainerStatuses"] = inits.map((c) => {
        const sidecar = c["restartPolicy"] === "Always";
        const base = running(c);
        return sidecar
          ? { ...base, ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }
          : {
              ...base,
              ready: true,
              restartCount: 0,
              started: false,
              state: {
                terminated: {
                  containerID: base["containerID"],
                  exitCode: 0,
                  finishedAt: now,
                  reason: "Completed",
                  startedAt: now,
                },
              },
            };
      });
    }
    return status;
  }

  /** Records, per node, the highest requests of the pods admitted to it. */
  #recordMarks(): void {
    for (const [node, u] of usageByNode(this.#store.list(PODS))) {
      const m = this.#marks.get(node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      this.#marks.set(node, {
        cpuMillis: Math.max(m.cpuMillis, Number(u.requested.get("cpu") ?? 0n)),
        memoryBytes: Math.max(m.memoryBytes, Number((u.requested.get("memory") ?? 0n) / 1000n)),
        pods: Math.max(m.pods, u.pods),
      });
    }
  }
}
