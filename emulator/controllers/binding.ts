/**
 * The scheduler's round: binds pending pods (priority first, then in order of creation) to the node
 * ./scheduler.ts picks, or records why none fits. Pods of the pass's scope are looked at, and, when some
 * node's usage changed (or every namespace is reconciled), every pending pod: room, or the reasons there is
 * none, may have changed for them.
 */
import type { KubeObject } from "../store.js";
import { NODES, PODS, clone, nameOf, nodeNameOf, setConditions, specOf, statusOf, uidOf } from "./common.js";
import type { ControllerContext } from "./context.js";
import { DEFAULT_SCHEDULER, arr, isTerminated, schedulePod } from "./scheduler.js";
import type { ChangeTracker } from "./tracker.js";

const byCreation = (a: KubeObject, b: KubeObject): number =>
  String(a.metadata["creationTimestamp"] ?? "").localeCompare(String(b.metadata["creationTimestamp"] ?? "")) ||
  nameOf(a).localeCompare(nameOf(b));

const isPending = (p: KubeObject): boolean =>
  nodeNameOf(p) === undefined &&
  !isTerminated(p) &&
  (specOf(p)["schedulerName"] ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER;

/** The pending pods to try, in queue order (higher priority first, then first come). */
function queue(ctx: ControllerContext, tracker: ChangeTracker, scoped: KubeObject[]): KubeObject[] {
  const everyPending = tracker.takeUsageChange("scheduler") || ctx.scope.all;
  const candidates = everyPending
    ? tracker
        .pendingPods()
        .map((r) => ctx.store.get(PODS, r.namespace, r.name))
        .filter((p): p is KubeObject => p !== undefined)
    : scoped;
  const rank = (p: KubeObject) => ctx.order.get(uidOf(p)) ?? 0;
  return candidates
    .filter(isPending)
    .sort((a, b) => Number(specOf(b)["priority"] ?? 0) - Number(specOf(a)["priority"] ?? 0) || rank(a) - rank(b));
}

/** Binds pending pods, or records why they cannot be bound. */
export function schedulePending(ctx: ControllerContext, tracker: ChangeTracker): void {
  const nodes = ctx.store.list(NODES);
  const scoped = ctx.list(PODS);
  for (const p of scoped.filter((p) => !ctx.order.has(uidOf(p))).sort(byCreation)) ctx.enqueue(uidOf(p));
  const now = ctx.stamp();
  for (const pod of queue(ctx, tracker, scoped)) {
    // The index counts a pod bound here as soon as it is stored, before the next pod is placed.
    const result = schedulePod(pod, nodes, tracker.usage);
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
    } else {
      status["conditions"] = setConditions(
        arr(status["conditions"]),
        [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: result.message }],
        now,
        "pod",
      );
    }
    ctx.put(PODS, next);
  }
}
