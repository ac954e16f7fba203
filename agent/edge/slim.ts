/**
 * What a watched copy (watched-list.ts) keeps of each pod and workload of an edge: the fields its readers use, and
 * nothing else, so that the copy's memory is what they need. The copy holds one pod and one workload per
 * deployed package and edge for as long as it runs; what the API sends is several times that (managedFields,
 * every condition with its times, every container's image and state, uids, timestamps).
 *
 * The readers, and what they read:
 * - the copy itself (the client's ListWatch): `metadata.name`, `namespace`, `resourceVersion`;
 * - intent-index.ts: `metadata.name`, `namespace`, `labels`;
 * - capacity.ts PodRequests: `metadata.labels`, `spec.nodeName`, each container's `resources`, `status.phase`;
 * - readiness.ts podReasonOf and workloadOfPod: `metadata.name`, `labels`, `deletionTimestamp`, the controller's
 *   owner reference (kind and name), `status.phase`, `reason`, `message`, the Ready and PodScheduled conditions
 *   (type, status, reason, message), and the waiting state of each (init) container;
 * - readiness.ts workloadStatusOf: `metadata.name`, `labels`, `generation`, `spec.replicas`, the status counts.
 * Pure.
 */
import type {
  V1Container,
  V1ContainerStatus,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";
import type { WorkloadObject } from "./readiness.js";

/** The pod conditions podReasonOf reads. */
const READ_CONDITIONS = new Set(["Ready", "PodScheduled"]);

// Each object below is made by one literal naming all its fields (undefined when absent): fields added one by one
// past the literal's would be kept in a separate array, one more allocation per object.

/** An object's metadata as the copies' readers use it. */
export function slimMetadata(m: V1ObjectMeta | undefined): V1ObjectMeta {
  if (!m) return {};
  const controller = m.ownerReferences?.find((r) => r.controller);
  return {
    name: m.name,
    namespace: m.namespace,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    labels: m.labels,
    deletionTimestamp: m.deletionTimestamp,
    // Only the controller's reference is read (the workload a pod belongs to); its uid and apiVersion are not.
    ownerReferences: controller
      ? [{ kind: controller.kind, name: controller.name, controller: true } as V1OwnerReference]
      : undefined,
  };
}

/** A container's name and resources, as PodRequests sums them. */
function resources(c: V1Container): V1Container {
  return { name: c.name, resources: c.resources };
}

/** The statuses of the containers that wait, with their name and why. */
function waiting(list: V1ContainerStatus[] | undefined): V1ContainerStatus[] | undefined {
  const out = (list ?? [])
    .filter((c) => c.state?.waiting)
    .map((c) => ({ name: c.name, state: { waiting: c.state?.waiting } }) as V1ContainerStatus);
  return out.length > 0 ? out : undefined;
}

/** A pod's status as podReasonOf reads it: the phase and reasons, two conditions, and containers that wait. */
function slimPodStatus(s: V1PodStatus): V1PodStatus {
  const conditions = (s.conditions ?? []).filter((c) => READ_CONDITIONS.has(c.type)).map(slimCondition);
  return {
    phase: s.phase,
    reason: s.reason,
    message: s.message,
    conditions: conditions.length > 0 ? conditions : undefined,
    containerStatuses: waiting(s.containerStatuses),
    initContainerStatuses: waiting(s.initContainerStatuses),
  };
}

function slimCondition(c: V1PodCondition): V1PodCondition {
  return { type: c.type, status: c.status, reason: c.reason, message: c.message };
}

/** What the copy keeps of a pod (see the module's comment). */
export function slimPod(p: V1Pod): V1Pod {
  const spec = p.spec;
  return {
    metadata: slimMetadata(p.metadata),
    spec: spec
      ? {
          nodeName: spec.nodeName,
          containers: spec.containers.map(resources),
          initContainers: spec.initContainers?.map(resources),
        }
      : undefined,
    status: p.status ? slimPodStatus(p.status) : undefined,
  };
}

/** What the copy keeps of a Deployment, StatefulSet or DaemonSet: its metadata, replicas and status counts. */
export function slimWorkload(o: WorkloadObject): WorkloadObject {
  let counts: Record<string, number> | undefined;
  if (o.status) {
    counts = {};
    for (const [k, v] of Object.entries(o.status)) if (typeof v === "number") counts[k] = v;
  }
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: slimMetadata(o.metadata),
    spec: o.spec?.replicas !== undefined ? { replicas: o.spec.replicas } : {},
    status: counts,
  };
}
