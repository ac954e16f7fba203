/**
 * The Deployment controller: Deployment → ReplicaSet `<name>-<template hash>`, rolled out Recreate-style
 * whatever the strategy (no revision history kept), and the Deployment's status from its ReplicaSets'.
 */
import type { KubeObject } from "../store.js";
import {
  DEPLOYMENTS,
  HASH_LABEL,
  type Obj,
  PODS,
  REPLICASETS,
  REVISION,
  clone,
  generationOf,
  nameOf,
  nsOf,
  ownerRef,
  replicasOf,
  setConditions,
  specOf,
  statusOf,
  templateHash,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { arr, isTerminated, rec, strMap } from "./scheduler.js";

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
 * Deployment → ReplicaSet `<name>-<template hash>`. Rollouts are Recreate-style whatever the strategy: old
 * ReplicaSets go to 0 replicas, the new one is scaled up once their pods are gone, and an old ReplicaSet
 * is deleted once it has no pods (no revision history is kept).
 */
export function syncDeployments(ctx: ControllerContext): void {
  for (const d of ctx.list(DEPLOYMENTS)) {
    if (d.metadata["deletionTimestamp"]) continue;
    const spec = specOf(d);
    const replicas = replicasOf(d);
    const template = rec(spec["template"]);
    const hash = templateHash(template);
    const rsName = `${nameOf(d)}-${hash}`;
    const owned = ctx.owned(REPLICASETS, d);
    const current = owned.find((rs) => nameOf(rs) === rsName);
    const old = owned.filter((rs) => rs !== current);
    const revisionOf = (rs: KubeObject) => Number(strMap(rs.metadata["annotations"])[REVISION] ?? 0) || 0;
    const maxOld = Math.max(0, ...old.map(revisionOf));
    const revision = current && revisionOf(current) > maxOld ? revisionOf(current) : maxOld + 1;
    const oldPods = old.some((rs) => ctx.owned(PODS, rs).some((p) => !isTerminated(p)));
    const desired = oldPods ? 0 : replicas;
    const annotations = {
      "deployment.kubernetes.io/desired-replicas": String(replicas),
      "deployment.kubernetes.io/max-replicas": String(replicas + rollingParams(d, replicas).surge),
      [REVISION]: String(revision),
    };
    if (!current) {
      if (ctx.store.get(REPLICASETS, nsOf(d), rsName)) continue; // the name is taken by another owner's
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
      ctx.put(REPLICASETS, {
        metadata: ctx.metadata(rsName, nsOf(d), labels, annotations, ownerRef("Deployment", d)),
        spec: rsSpec,
        status: { replicas: 0 },
      });
    } else {
      ctx.put(REPLICASETS, withReplicas(current, desired, annotations));
    }
    for (const rs of old) {
      if (replicasOf(rs) !== 0) ctx.put(REPLICASETS, withReplicas(rs, 0, {}));
      else if (!ctx.owned(PODS, rs).some((p) => !isTerminated(p))) ctx.remove(REPLICASETS, rs);
    }
    const dAnnotations = strMap(d.metadata["annotations"]);
    if (dAnnotations[REVISION] !== String(revision)) {
      ctx.put(DEPLOYMENTS, {
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
function withReplicas(rs: KubeObject, replicas: number, annotations: Record<string, string>): KubeObject {
  const sameSpec = specOf(rs)["replicas"] === replicas;
  const had = strMap(rs.metadata["annotations"]);
  if (sameSpec && Object.entries(annotations).every(([k, v]) => had[k] === v)) return rs;
  const next = clone(rs);
  next["spec"] = { ...specOf(next), replicas };
  if (Object.keys(annotations).length > 0) next.metadata["annotations"] = { ...had, ...annotations };
  if (!sameSpec) next.metadata["generation"] = generationOf(rs) + 1;
  return next;
}
export function deploymentStatuses(ctx: ControllerContext): void {
  for (const d of ctx.list(DEPLOYMENTS)) {
    const replicas = replicasOf(d);
    const rsName = `${nameOf(d)}-${templateHash(rec(specOf(d)["template"]))}`;
    const owned = ctx.owned(REPLICASETS, d);
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
    const now = ctx.stamp();
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
    ctx.putStatus(DEPLOYMENTS, d, status);
  }
}
