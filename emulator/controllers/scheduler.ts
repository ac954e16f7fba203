/**
 * The emulated kube-scheduler: which node a pending pod may run on, decided as the default scheduler's filter
 * plugins decide it (NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit, in that order, the
 * first failing one giving the node's reason), and the `0/N nodes are available: ...` message it writes when
 * no node fits. Among the nodes that fit, the least requested one wins (the default LeastAllocated score:
 * the mean free fraction of cpu and memory after placing the pod, pods without requests counted at 100m and
 * 200Mi per container as the real scheduler does); ties go to the node first by name.
 *
 * Also the kubelet's admission of pods whose `spec.nodeName` was set by their creator (DaemonSet pods): the
 * same resource fit, against the pods already admitted to the node. Pure functions over store objects.
 */
import { parseQuantity, toMilli } from "../../common/quantity.js";
import type { KubeObject } from "../store.js";

type Obj = Record<string, unknown>;

/** The value as an object ({} when it is not one). */
export const rec = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
/** The value as a list of objects ([] when it is not a list). */
export const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(rec) : []);
/** The value as a map of strings. */
export const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v))) out[k] = String(x);
  return out;
};

/** Resource amounts by resource name, in thousandths of the resource's unit (millicores, millibytes, ...). */
export type ResourceList = Map<string, bigint>;

/** What the pods admitted to one node request together. */
export interface NodeUsage {
  /** Sum of the effective requests. */
  requested: ResourceList;
  /** Sum of requests with the scheduler's non-zero defaults (for scoring only). */
  nonZero: { cpu: bigint; memory: bigint };
  /** Number of pods. */
  pods: number;
}

/** A scheduling decision: a node, or why there is none. */
export type ScheduleResult = { nodeName: string } | { nodeName?: undefined; message: string };

/** The scheduler's name for pods that name none. */
export const DEFAULT_SCHEDULER = "default-scheduler";

const DEFAULT_MILLI_CPU = 100n; // 100m
const DEFAULT_MEMORY_MILLI = 200n * 1024n * 1024n * 1000n; // 200Mi
const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

/** A quantity in thousandths; 0 for a missing or malformed one. */
export function milliOf(q: unknown): bigint {
  if (typeof q === "number" && Number.isFinite(q)) return BigInt(Math.ceil(q * 1000));
  if (typeof q !== "string") return 0n;
  try {
    return toMilli(parseQuantity(q));
  } catch {
    return 0n;
  }
}

/** A container's effective requests: its requests, and its limits where a resource has no request. */
function containerRequests(c: Obj): ResourceList {
  const res = rec(c["resources"]);
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(rec(res["limits"]))) out.set(k, milliOf(v));
  for (const [k, v] of Object.entries(rec(res["requests"]))) out.set(k, milliOf(v));
  return out;
}

function add(into: ResourceList, from: ResourceList): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0n) + v);
}

/**
 * A pod's effective requests as the scheduler computes them: the sum over its containers (and restartable
 * init containers), at least the largest regular init container's, plus `spec.overhead`.
 */
export function podRequests(pod: KubeObject): ResourceList {
  const spec = rec(pod["spec"]);
  const sum: ResourceList = new Map();
  for (const c of arr(spec["containers"])) add(sum, containerRequests(c));
  const inits = arr(spec["initContainers"]);
  for (const c of inits) if (c["restartPolicy"] === "Always") add(sum, containerRequests(c));
  for (const c of inits) {
    if (c["restartPolicy"] === "Always") continue;
    for (const [k, v] of containerRequests(c)) if (v > (sum.get(k) ?? 0n)) sum.set(k, v);
  }
  const overhead: ResourceList = new Map();
  for (const [k, v] of Object.entries(rec(spec["overhead"]))) overhead.set(k, milliOf(v));
  add(sum, overhead);
  return sum;
}

/** cpu and memory requests with the scheduler's defaults for containers that request none (scoring only). */
function nonZeroRequests(pod: KubeObject): { cpu: bigint; memory: bigint } {
  let cpu = 0n;
  let memory = 0n;
  for (const c of arr(rec(pod["spec"])["containers"])) {
    const r = containerRequests(c);
    cpu += r.get("cpu") || DEFAULT_MILLI_CPU;
    memory += r.get("memory") || DEFAULT_MEMORY_MILLI;
  }
  return { cpu, memory };
}

/** A node's allocatable resources (its capacity when it reports none); `pods` as a count. */
export function nodeAllocatable(node: KubeObject): { resources: ResourceList; pods: number } {
  const status = rec(node["status"]);
  const alloc =
    Object.keys(rec(status["allocatable"])).length > 0 ? rec(status["allocatable"]) : rec(status["capacity"]);
  const resources: ResourceList = new Map();
  let pods = 110;
  for (const [k, v] of Object.entries(alloc)) {
    if (k === "pods") pods = Number(milliOf(v) / 1000n);
    else resources.set(k, milliOf(v));
  }
  return { resources, pods };
}

/** Whether the node's Ready condition is True and it is not being deleted. */
export function isNodeReady(node: KubeObject): boolean {
  if (node.metadata["deletionTimestamp"]) return false;
  return arr(rec(node["status"])["conditions"]).some((c) => c["type"] === "Ready" && c["status"] === "True");
}

/** Whether a pod has finished (Succeeded or Failed) or is being deleted: it holds no resources any more. */
export function isTerminated(pod: KubeObject): boolean {
  const phase = rec(pod["status"])["phase"];
  return phase === "Succeeded" || phase === "Failed" || Boolean(pod.metadata["deletionTimestamp"]);
}

/** A pod's condition of a type, if it has one. */
export function podCondition(pod: KubeObject, type: string): Obj | undefined {
  return arr(rec(pod["status"])["conditions"]).find((c) => c["type"] === type);
}

/**
 * Whether a pod holds resources on its node: it has `spec.nodeName`, is not terminated, and was bound by the
 * scheduler or admitted by the kubelet (condition PodScheduled True).
 */
export function occupiesNode(pod: KubeObject): boolean {
  const nodeName = rec(pod["spec"])["nodeName"];
  return (
    typeof nodeName === "string" &&
    nodeName !== "" &&
    !isTerminated(pod) &&
    podCondition(pod, "PodScheduled")?.["status"] === "True"
  );
}

/** Usage per node name of the pods that occupy a node. */
export function usageByNode(pods: readonly KubeObject[]): Map<string, NodeUsage> {
  const usage = new Map<string, NodeUsage>();
  for (const p of pods) if (occupiesNode(p)) addUsage(usage, String(rec(p["spec"])["nodeName"]), p);
  return usage;
}

/** Adds a pod to a node's usage. */
export function addUsage(usage: Map<string, NodeUsage>, nodeName: string, pod: KubeObject): void {
  let u = usage.get(nodeName);
  if (!u) {
    u = { requested: new Map(), nonZero: { cpu: 0n, memory: 0n }, pods: 0 };
    usage.set(nodeName, u);
  }
  add(u.requested, podRequests(pod));
  const nz = nonZeroRequests(pod);
  u.nonZero.cpu += nz.cpu;
  u.nonZero.memory += nz.memory;
  u.pods++;
}

/** Whether a toleration tolerates a taint (an empty effect tolerates every effect; Exists with no key, every taint). */
export function toleratesTaint(toleration: Obj, taint: Obj): boolean {
  const effect = toleration["effect"];
  if (effect !== undefined && effect !== "" && effect !== taint["effect"]) return false;
  const key = toleration["key"];
  if ((toleration["operator"] ?? "Equal") === "Exists") return key === undefined || key === "" || key === taint["key"];
  return key === taint["key"] && String(toleration["value"] ?? "") === String(taint["value"] ?? "");
}

/** The node's first NoSchedule/NoExecute taint the tolerations do not tolerate. */
export function untoleratedTaint(node: KubeObject, tolerations: readonly Obj[]): Obj | undefined {
  return arr(rec(node["spec"])["taints"])
    .filter((t) => t["effect"] === "NoSchedule" || t["effect"] === "NoExecute")
    .find((t) => !tolerations.some((tol) => toleratesTaint(tol, t)));
}

function matchesExpression(expr: Obj, value: string | undefined): boolean {
  const values = Array.isArray(expr["values"]) ? expr["values"].map(String) : [];
  switch (expr["operator"]) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0] as string))
        return false;
      const a = BigInt(value);
      const b = BigInt(values[0] as string);
      return expr["operator"] === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** Whether a pod's `spec.nodeSelector` and required node affinity match the node. */
export function matchesNodeAffinity(pod: KubeObject, node: KubeObject): boolean {
  const spec = rec(pod["spec"]);
  const labels = strMap(node.metadata["labels"]);
  for (const [k, v] of Object.entries(strMap(spec["nodeSelector"]))) if (labels[k] !== v) return false;
  const required = rec(rec(rec(spec["affinity"])["nodeAffinity"])["requiredDuringSchedulingIgnoredDuringExecution"]);
  if (!Array.isArray(required["nodeSelectorTerms"])) return true;
  const name = String(node.metadata["name"]);
  return arr(required["nodeSelectorTerms"]).some((term) => {
    const exprs = arr(term["matchExpressions"]);
    const fields = arr(term["matchFields"]);
    if (exprs.length === 0 && fields.length === 0) return false;
    return (
      exprs.every((e) =>
        matchesExpression(e, Object.hasOwn(labels, String(e["key"])) ? labels[String(e["key"])] : undefined),
      ) && fields.every((e) => matchesExpression(e, e["key"] === "metadata.name" ? name : undefined))
    );
  });
}

/** The resources the node lacks for the pod, as the scheduler names them ("Too many pods", "Insufficient cpu"). */
export function insufficientResources(
  pod: KubeObject,
  node: KubeObject,
  usage: NodeUsage | undefined,
): { reason: string; resource: string; requested: bigint; used: bigint; capacity: bigint }[] {
  const alloc = nodeAllocatable(node);
  const out: { reason: string; resource: string; requested: bigint; used: bigint; capacity: bigint }[] = [];
  const podsUsed = usage?.pods ?? 0;
  if (podsUsed + 1 > alloc.pods)
    out.push({
      reason: "Too many pods",
      resource: "pods",
      requested: 1n,
      used: BigInt(podsUsed),
      capacity: BigInt(alloc.pods),
    });
  const requests = podRequests(pod);
  const order = (k: string) => (k === "cpu" ? 0 : k === "memory" ? 1 : 2);
  for (const k of [...requests.keys()].sort((a, b) => order(a) - order(b) || a.localeCompare(b))) {
    const want = requests.get(k) ?? 0n;
    if (want <= 0n) continue;
    // cpu, memory and extended resources (with a '/') are always checked; others only when the node reports them.
    if (!alloc.resources.has(k) && k !== "cpu" && k !== "memory" && !k.includes("/")) continue;
    const capacity = alloc.resources.get(k) ?? 0n;
    const used = usage?.requested.get(k) ?? 0n;
    if (want > capacity - used) out.push({ reason: `Insufficient ${k}`, resource: k, requested: want, used, capacity });
  }
  return out;
}

/** Why a pod cannot go to a node (empty when it can), checked in the default scheduler's filter order. */
export function filterNode(pod: KubeObject, node: KubeObject, usage: NodeUsage | undefined): string[] {
  const tolerations = arr(rec(pod["spec"])["tolerations"]);
  if (
    rec(node["spec"])["unschedulable"] === true &&
    !tolerations.some((t) => toleratesTaint(t, { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" }))
  ) {
    return ["node(s) were unschedulable"];
  }
  const taint = untoleratedTaint(node, tolerations);
  if (taint) return [`node(s) had untolerated taint {${String(taint["key"] ?? "")}: ${String(taint["value"] ?? "")}}`];
  // A node that is not Ready but carries no taint saying so (the node lifecycle controller adds one).
  if (!isNodeReady(node)) return [`node(s) had untolerated taint {${NOT_READY_TAINT}: }`];
  if (!matchesNodeAffinity(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  return insufficientResources(pod, node, usage).map((r) => r.reason);
}

/** The scheduler's FitError text: "0/N nodes are available: <count> <reason>, ...." with the reasons sorted. */
export function unschedulableMessage(nodeCount: number, histogram: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return "no nodes available to schedule pods";
  const reasons = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${nodeCount} nodes are available${reasons.length > 0 ? `: ${reasons.join(", ")}.` : "."}`;
}

function leastAllocatedScore(pod: KubeObject, node: KubeObject, usage: NodeUsage | undefined): number {
  const alloc = nodeAllocatable(node).resources;
  const nz = nonZeroRequests(pod);
  const part = (capacity: bigint, requested: bigint) =>
    capacity <= 0n || requested > capacity ? 0 : Number(((capacity - requested) * 100n) / capacity);
  return (
    (part(alloc.get("cpu") ?? 0n, (usage?.nonZero.cpu ?? 0n) + nz.cpu) +
      part(alloc.get("memory") ?? 0n, (usage?.nonZero.memory ?? 0n) + nz.memory)) /
    2
  );
}

/**
 * Picks a node for a pod: every node is filtered; of those that fit, the least requested (ties: first by
 * name). Without one, the message the scheduler writes into the pod's PodScheduled condition.
 */
export function schedulePod(
  pod: KubeObject,
  nodes: readonly KubeObject[],
  usage: ReadonlyMap<string, NodeUsage>,
): ScheduleResult {
  const sorted = [...nodes].sort((a, b) => String(a.metadata["name"]).localeCompare(String(b.metadata["name"])));
  const histogram = new Map<string, number>();
  let best: { name: string; score: number } | undefined;
  for (const node of sorted) {
    const name = String(node.metadata["name"]);
    const reasons = filterNode(pod, node, usage.get(name));
    if (reasons.length > 0) {
      for (const r of reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
      continue;
    }
    const score = leastAllocatedScore(pod, node, usage.get(name));
    if (!best || score > best.score) best = { name, score };
  }
  if (best) return { nodeName: best.name };
  return { message: unschedulableMessage(sorted.length, histogram) };
}

/**
 * The kubelet's admission of a pod already bound to its node: undefined when it fits next to the pods admitted
 * there, else the reason and message the kubelet reports ("OutOfcpu", "Pod was rejected: Node didn't have
 * enough resource: cpu, requested: 600, used: 800, capacity: 1000").
 */
export function admissionFailure(
  pod: KubeObject,
  node: KubeObject,
  usage: NodeUsage | undefined,
): { reason: string; message: string } | undefined {
  const lacking = insufficientResources(pod, node, usage)[0];
  if (!lacking) return undefined;
  // cpu in millicores, pods as a count, everything else in whole units, as the kubelet prints them.
  const unit = (v: bigint) => String(lacking.resource === "cpu" || lacking.resource === "pods" ? v : v / 1000n);
  return {
    reason: `OutOf${lacking.resource}`,
    message: `Pod was rejected: Node didn't have enough resource: ${lacking.resource}, requested: ${unit(lacking.requested)}, used: ${unit(lacking.used)}, capacity: ${unit(lacking.capacity)}`,
  };
}
