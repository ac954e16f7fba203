/**
 * The DaemonSet controller: one pod per eligible node (Ready, matching the pod's node selector and affinity,
 * taints tolerated), `spec.nodeName` preset, and the DaemonSet's status.
 */
import type { KubeObject } from "../store.js";
import {
  DAEMONSETS,
  NODES,
  NOT_READY_TAINT,
  type Obj,
  PODS,
  REVISION_LABEL,
  clone,
  generationOf,
  isPodReady,
  nameOf,
  nodeNameOf,
  nsOf,
  specOf,
  stableJson,
  templateHash,
  uidOf,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { arr, isNodeReady, isTerminated, matchesNodeAffinity, rec, strMap, untoleratedTaint } from "./scheduler.js";

/** The tolerations the DaemonSet controller adds to its pods. */
const DAEMON_TOLERATIONS: Obj[] = [
  { key: NOT_READY_TAINT, operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

/** The template's pod spec with the tolerations the DaemonSet controller adds. */
function daemonPodSpec(ds: KubeObject): Obj {
  const spec = clone(rec(rec(specOf(ds)["template"])["spec"]));
  const tolerations = arr(spec["tolerations"]);
  for (const t of DAEMON_TOLERATIONS)
    if (!tolerations.some((x) => stableJson(x) === stableJson(t))) tolerations.push(clone(t));
  spec["tolerations"] = tolerations;
  return spec;
}

/** The nodes that should run a daemon pod: Ready, matching its node selector/affinity, taints tolerated. */
function daemonNodes(ds: KubeObject, nodes: readonly KubeObject[]): KubeObject[] {
  const spec = daemonPodSpec(ds);
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
export function syncDaemonSets(ctx: ControllerContext): void {
  const nodes = ctx.store.list(NODES);
  for (const ds of ctx.list(DAEMONSETS)) {
    if (ds.metadata["deletionTimestamp"]) continue;
    const template = rec(specOf(ds)["template"]);
    const hash = templateHash(template);
    const eligible = new Set(daemonNodes(ds, nodes).map(nameOf));
    const byNode = new Map<string, KubeObject[]>();
    for (const p of ctx.owned(PODS, ds)) {
      const nodeName = nodeNameOf(p);
      if (nodeName === undefined || !eligible.has(nodeName) || isTerminated(p)) {
        ctx.remove(PODS, p);
        continue;
      }
      byNode.set(nodeName, [...(byNode.get(nodeName) ?? []), p]);
    }
    for (const nodeName of eligible) {
      const pods = (byNode.get(nodeName) ?? []).sort(
        (a, b) => (ctx.order.get(uidOf(a)) ?? 0) - (ctx.order.get(uidOf(b)) ?? 0),
      );
      for (const extra of pods.slice(1)) ctx.remove(PODS, extra);
      const kept = pods[0];
      if (kept && strMap(kept.metadata["labels"])[REVISION_LABEL] === hash) continue;
      if (kept) ctx.remove(PODS, kept);
      const labels = {
        ...strMap(rec(template["metadata"])["labels"]),
        [REVISION_LABEL]: hash,
        "pod-template-generation": String(generationOf(ds)),
      };
      const spec = { ...daemonPodSpec(ds), nodeName };
      ctx.createPod(ds, "DaemonSet", ctx.generatedName(nsOf(ds), nameOf(ds)), { ...template, spec }, labels, {}, true);
    }
  }
}

export function daemonSetStatuses(ctx: ControllerContext): void {
  const nodes = ctx.store.list(NODES);
  for (const ds of ctx.list(DAEMONSETS)) {
    const eligible = new Set(daemonNodes(ds, nodes).map(nameOf));
    const hash = templateHash(rec(specOf(ds)["template"]));
    const pods = ctx.owned(PODS, ds).filter((p) => !isTerminated(p));
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
    ctx.putStatus(DAEMONSETS, ds, status);
  }
}
