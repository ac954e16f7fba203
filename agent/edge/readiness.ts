/**
 * Whether a workload (Deployment, StatefulSet, DaemonSet) is available, judged from its status as
 * `kubectl rollout status` judges it: replicas count as available only once they run the current spec. Pure.
 */
import type { KubernetesObject } from "@kubernetes/client-node";

/** The kinds whose availability makes a package ready. */
export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet"] as const;

/** One of {@link WORKLOAD_KINDS}. */
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** A workload's desired and available replicas. */
export interface WorkloadStatus {
  kind: string;
  name: string;
  /** From the camino.io/intent and camino.io/package labels. */
  intent: string;
  package: string;
  desired: number;
  available: number;
}

/** A workload as the API lists it: only the fields read here. */
export type WorkloadObject = KubernetesObject & {
  spec?: { replicas?: number };
  status?: Record<string, number>;
};

/**
 * The desired and available replicas of one workload. While a rollout is under way (the controller has not
 * seen the spec, or not every replica is updated), only updated replicas count, so an update is not available
 * while the old pods still serve.
 * @example workloadStatusOf("Deployment", deployment) // { desired: 2, available: 1, … }
 */
export function workloadStatusOf(kind: WorkloadKind, o: WorkloadObject): WorkloadStatus {
  const st = o.status ?? {};
  const desired = kind === "DaemonSet" ? (st["desiredNumberScheduled"] ?? 0) : (o.spec?.replicas ?? 1);
  const seen = (st["observedGeneration"] ?? 0) >= (o.metadata?.generation ?? 0);
  const updated = kind === "DaemonSet" ? (st["updatedNumberScheduled"] ?? 0) : (st["updatedReplicas"] ?? 0);
  const rolledOut = seen && (desired === 0 || updated >= desired);
  const availableNow =
    kind === "DaemonSet"
      ? (st["numberAvailable"] ?? 0)
      : kind === "StatefulSet"
        ? (st["availableReplicas"] ?? st["readyReplicas"] ?? 0)
        : (st["availableReplicas"] ?? 0);
  const labels = o.metadata?.labels ?? {};
  return {
    kind,
    name: o.metadata?.name ?? "",
    intent: labels["camino.io/intent"] ?? "",
    package: labels["camino.io/package"] ?? "",
    desired,
    available: rolledOut ? availableNow : Math.min(availableNow, updated),
  };
}

/** Whether every workload has all its desired replicas available (true for none). */
export function allAvailable(workloads: readonly WorkloadStatus[]): boolean {
  return workloads.every((w) => w.available >= w.desired);
}
