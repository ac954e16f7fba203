/**
 * The StatefulSet controller: StatefulSet → pods `<name>-<ordinal>`, created in order (or in parallel) and
 * replaced one at a time from the highest ordinal on a template change, and the StatefulSet's status.
 */
import type { KubeObject } from "../store.js";
import {
  type Obj,
  PODS,
  REVISION_LABEL,
  STATEFULSETS,
  generationOf,
  isPodReady,
  isRunningReady,
  nameOf,
  replicasOf,
  specOf,
  statusOf,
  templateHash,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { isTerminated, rec, strMap } from "./scheduler.js";

function statefulSetRevision(sts: KubeObject): string {
  return `${nameOf(sts)}-${templateHash(rec(specOf(sts)["template"]))}`;
}

/**
 * StatefulSet → pods `<name>-0 .. <name>-(n-1)`. OrderedReady (the default): pod i is created once pods
 * 0..i-1 are Running and Ready; Parallel: all at once. Scale-down deletes the ordinals out of range. A
 * template change replaces pods one at a time from the highest ordinal, once all are Ready (RollingUpdate;
 * OnDelete leaves them).
 */
export function syncStatefulSets(ctx: ControllerContext): void {
  for (const sts of ctx.list(STATEFULSETS)) {
    if (sts.metadata["deletionTimestamp"]) continue;
    const spec = specOf(sts);
    const name = nameOf(sts);
    const replicas = replicasOf(sts);
    const template = rec(spec["template"]);
    const revision = statefulSetRevision(sts);
    const parallel = spec["podManagementPolicy"] === "Parallel";
    const byOrdinal = new Map<number, KubeObject>();
    for (const p of ctx.owned(PODS, sts)) {
      const m = /^(\d+)$/.exec(nameOf(p).startsWith(`${name}-`) ? nameOf(p).slice(name.length + 1) : "");
      const ordinal = m ? Number(m[1]) : -1;
      if (ordinal < 0 || ordinal >= replicas || isTerminated(p)) ctx.remove(PODS, p);
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
        ctx.createPod(sts, "StatefulSet", podName, template, labels, extra, false);
        if (!parallel) break;
      } else if (!parallel && !isRunningReady(pod)) break;
    }
    const strategy = rec(spec["updateStrategy"])["type"];
    const all = [...Array(replicas).keys()].map((i) => byOrdinal.get(i));
    if (strategy !== "OnDelete" && all.every((p) => p !== undefined && isRunningReady(p))) {
      const stale = all
        .reverse()
        .find((p) => p !== undefined && strMap(p.metadata["labels"])[REVISION_LABEL] !== revision);
      if (stale) ctx.remove(PODS, stale);
    }
  }
}

export function statefulSetStatuses(ctx: ControllerContext): void {
  for (const sts of ctx.list(STATEFULSETS)) {
    const pods = ctx.owned(PODS, sts).filter((p) => !isTerminated(p));
    const revision = statefulSetRevision(sts);
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
    ctx.putStatus(STATEFULSETS, sts, status);
  }
}
