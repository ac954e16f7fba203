/**
 * The node IPAM and node lifecycle controllers (pod CIDRs; the Ready condition and not-ready taints; eviction
 * from nodes that are not Ready) and the garbage collector (cascading deletion by ownerReferences).
 */
import type { KubeObject } from "../store.js";
import {
  DAEMONSETS,
  DEPLOYMENTS,
  NODES,
  NOT_READY_TAINT,
  type Obj,
  PODS,
  REPLICASETS,
  STATEFULSETS,
  clone,
  nameOf,
  nodeNameOf,
  nsOf,
  specOf,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { arr, isNodeReady, occupiesNode, rec } from "./scheduler.js";

/** Owner kinds (apps/v1) whose absence the garbage collector can tell. */
const OWNER_TYPES: Readonly<Record<string, string>> = {
  Deployment: DEPLOYMENTS,
  ReplicaSet: REPLICASETS,
  StatefulSet: STATEFULSETS,
  DaemonSet: DAEMONSETS,
};

/** Gives nodes without one a `spec.podCIDR` (10.244.<n>.0/24, the lowest free n, nodes by name). */
export function assignPodCidrs(ctx: ControllerContext): void {
  const nodes = ctx.store.list(NODES);
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
    ctx.put(NODES, { ...clone(n), spec: { ...clone(specOf(n)), podCIDR: cidr, podCIDRs: [cidr] } });
  }
}

/**
 * Evicts (deletes) the pods holding resources on nodes that are not Ready or no longer exist. Pods that
 * were never admitted there just wait, so a template naming a lost node does not churn.
 */
export function evictPods(ctx: ControllerContext): void {
  const nodes = new Map(ctx.store.list(NODES).map((n) => [nameOf(n), n]));
  for (const pod of ctx.list(PODS)) {
    const nodeName = nodeNameOf(pod);
    if (nodeName === undefined || !occupiesNode(pod)) continue;
    const node = nodes.get(nodeName);
    if (!node || !isNodeReady(node)) ctx.remove(PODS, pod);
  }
}

/** Deletes ReplicaSets and pods all of whose (apps/v1 workload) owners are gone or were replaced. */
export function collectGarbage(ctx: ControllerContext): void {
  for (const typeKey of [REPLICASETS, PODS]) {
    for (const o of ctx.list(typeKey)) {
      const refs = arr(o.metadata["ownerReferences"]);
      if (refs.length === 0) continue;
      const gone = refs.every((r) => {
        const ownerType = r["apiVersion"] === "apps/v1" ? OWNER_TYPES[String(r["kind"])] : undefined;
        if (ownerType === undefined) return false;
        const owner = ctx.store.get(ownerType, nsOf(o), String(r["name"]));
        return !owner || owner.metadata["uid"] !== r["uid"];
      });
      if (gone) ctx.remove(typeKey, o);
    }
  }
}
/**
 * A node as the node lifecycle controller records a kubelet stopping (or resuming) posting status: the Ready
 * condition (False, NodeStatusUnknown) and the not-ready NoSchedule and NoExecute taints.
 */
export function withReadiness(live: KubeObject, ready: boolean, now: string): KubeObject {
  const node = clone(live);
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
  return node;
}
