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
  /**
   * Why its pods are not ready, one entry per pod that is not: set by the edge observer (edge-observer.ts) only
   * for a workload short of replicas (`available < desired`) on a tick where it listed the pods; absent
   * otherwise (not looked at, which is not "no reason").
   */
  pods?: PodReason[];
}

/** Why one pod of a workload is not ready, as `kubectl describe pod` shows it. */
export interface PodReason {
  /** The pod's name. */
  pod: string;
  /** `status.phase`: Pending, Running, … */
  phase: string;
  /**
   * The reasons, most telling first: each container's `state.waiting.reason` ("ImagePullBackOff: <container>"),
   * a Pending pod's unschedulable reason and message ("Unschedulable: 0/3 nodes are available: …"), the kubelet's
   * rejection ("OutOfcpu: …"), else the Ready condition's ("ContainersNotReady: …").
   */
  reasons: string[];
}

/** A pod as the API lists it: only the fields read here. */
export type PodObject = KubernetesObject & {
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: { name?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
    initContainerStatuses?: { name?: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
};

/**
 * The workload (`Kind/name`) a pod belongs to, from its controller reference: a ReplicaSet's pods belong to its
 * Deployment (the ReplicaSet is named `<deployment>-<pod-template-hash>`). Undefined for a pod no workload owns.
 */
export function workloadOfPod(pod: PodObject): string | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller);
  if (!ref) return undefined;
  if (ref.kind === "ReplicaSet") {
    const cut = ref.name.lastIndexOf("-");
    return cut > 0 ? `Deployment/${ref.name.slice(0, cut)}` : undefined;
  }
  return `${ref.kind}/${ref.name}`;
}

/** Why a pod is not ready; undefined when it is Ready (or terminating: it is on its way out). Pure. */
export function podReasonOf(pod: PodObject): PodReason | undefined {
  const st = pod.status ?? {};
  const conditions = st.conditions ?? [];
  if (pod.metadata?.deletionTimestamp) return undefined;
  if (conditions.some((c) => c.type === "Ready" && c.status === "True")) return undefined;
  const reasons: string[] = [];
  for (const c of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]) {
    const w = c.state?.waiting;
    if (w?.reason) reasons.push(`${w.reason}: ${c.name ?? "?"}${w.message ? ` (${w.message})` : ""}`);
  }
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False")
    reasons.push(`${scheduled.reason ?? "NotScheduled"}${scheduled.message ? `: ${scheduled.message}` : ""}`);
  if (st.reason) reasons.push(`${st.reason}${st.message ? `: ${st.message}` : ""}`);
  if (reasons.length === 0) {
    const ready = conditions.find((c) => c.type === "Ready");
    reasons.push(ready?.reason ? `${ready.reason}${ready.message ? `: ${ready.message}` : ""}` : "not ready");
  }
  return { pod: pod.metadata?.name ?? "", phase: st.phase ?? "Unknown", reasons };
}

/**
 * Gives each of `workloads` (those short of replicas) the reasons of its pods that are not ready, from `pods` (the
 * pods of their intents): matched by intent label and controller; a workload none of whose pods is listed gets an
 * empty list. Changes `workloads` in place.
 */
export function givePodReasons(workloads: WorkloadStatus[], pods: readonly PodObject[]): void {
  const byWorkload = new Map<string, PodReason[]>();
  for (const p of pods) {
    const owner = workloadOfPod(p);
    const why = owner ? podReasonOf(p) : undefined;
    if (!owner || !why) continue;
    const key = `${p.metadata?.labels?.["camino.io/intent"] ?? ""}/${owner}`;
    const reasons = byWorkload.get(key);
    if (reasons) reasons.push(why);
    else byWorkload.set(key, [why]);
  }
  for (const x of workloads) x.pods = byWorkload.get(`${x.intent}/${x.kind}/${x.name}`) ?? [];
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
