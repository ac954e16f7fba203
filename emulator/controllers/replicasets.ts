/**
 * The ReplicaSet controller: ReplicaSet → pods `<rs>-<5 chars>` (surplus pods deleted unscheduled first, then
 * not ready, then newest), and the ReplicaSet's status from its pods.
 */
import type { KubeObject } from "../store.js";
import {
  type Obj,
  PODS,
  REPLICASETS,
  generationOf,
  isPodReady,
  nameOf,
  nodeNameOf,
  nsOf,
  replicasOf,
  specOf,
  statusOf,
  uidOf,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { isTerminated, rec, strMap } from "./scheduler.js";

/** ReplicaSet → pods `<rs>-<5 chars>`; surplus pods deleted unscheduled first, then not ready, then newest. */
export function syncReplicaSets(ctx: ControllerContext): void {
  for (const rs of ctx.list(REPLICASETS)) {
    if (rs.metadata["deletionTimestamp"]) continue;
    const replicas = replicasOf(rs);
    const pods = ctx.owned(PODS, rs).filter((p) => !isTerminated(p));
    const template = rec(specOf(rs)["template"]);
    for (let i = pods.length; i < replicas; i++) {
      const name = ctx.generatedName(nsOf(rs), nameOf(rs));
      ctx.createPod(rs, "ReplicaSet", name, template, strMap(rec(template["metadata"])["labels"]), {}, true);
    }
    if (pods.length > replicas)
      for (const p of deletionOrder(ctx, pods).slice(0, pods.length - replicas)) ctx.remove(PODS, p);
  }
}

function deletionOrder(ctx: ControllerContext, pods: KubeObject[]): KubeObject[] {
  const rank = (p: KubeObject): number[] => [
    nodeNameOf(p) === undefined ? 0 : 1,
    statusOf(p)["phase"] === "Running" ? 1 : 0,
    isPodReady(p) ? 1 : 0,
    -(ctx.order.get(uidOf(p)) ?? Number.MAX_SAFE_INTEGER),
  ];
  return [...pods].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
    return nameOf(b).localeCompare(nameOf(a));
  });
}

export function replicaSetStatuses(ctx: ControllerContext): void {
  for (const rs of ctx.list(REPLICASETS)) {
    const pods = ctx.owned(PODS, rs).filter((p) => !isTerminated(p));
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
    ctx.putStatus(REPLICASETS, rs, status);
  }
}
