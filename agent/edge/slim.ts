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

/** An object's metadata as the copies' readers use it. */
export function slimMetadata(m: V1ObjectMeta | undefined): V1ObjectMeta {
  const out: V1ObjectMeta = {};
  if (!m) return out;
  if (m.name !== undefined) out.name = m.name;
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.labels !== undefined) out.labels = m.labels;
  if (m.deletionTimestamp !== undefined) out.deletionTimestamp = m.deletionTimestamp;
  const controller = m.ownerReferences?.find((r) => r.controller);
  // Only the controller's reference is read (the workload a pod belongs to); its uid and apiVersion are not.
  if (controller)
    out.ownerReferences = [{ kind: controller.kind, name: controller.name, controller: true } as V1OwnerReference];
  return out;
}

/** A container's name and resources, as PodRequests sums them. */
function resources(c: V1Container): V1Container {
  return c.resources ? { name: c.name, resources: c.resources } : { name: c.name };
}

/** A pod's status as podReasonOf reads it: the phase and reasons, two conditions, and containers that wait. */
function slimPodStatus(s: V1PodStatus): V1PodStatus {
  const out: V1PodStatus = {};
  if (s.phase !== undefined) out.phase = s.phase;
  if (s.reason !== undefined) out.reason = s.reason;
  if (s.message !== undefined) out.message = s.message;
  const conditions = (s.conditions ?? []).filter((c) => READ_CONDITIONS.has(c.type)).map(slimCondition);
  if (conditions.length > 0) out.conditions = conditions;
  const waiting = (list: V1PodStatus["containerStatuses"]) =>
    (list ?? [])
      .filter((c) => c.state?.waiting)
      .map((c) => ({ name: c.name, state: { waiting: c.state?.waiting } }) as V1ContainerStatus);
  const containers = waiting(s.containerStatuses);
  if (containers.length > 0) out.containerStatuses = containers;
  const inits = waiting(s.initContainerStatuses);
  if (inits.length > 0) out.initContainerStatuses = inits;
  return out;
}

function slimCondition(c: V1PodCondition): V1PodCondition {
  const out: V1PodCondition = { type: c.type, status: c.status };
  if (c.reason !== undefined) out.reason = c.reason;
  if (c.message !== undefined) out.message = c.message;
  return out;
}

/** What the copy keeps of a pod (see the module's comment). */
export function slimPod(p: V1Pod): V1Pod {
  const out: V1Pod = { metadata: slimMetadata(p.metadata) };
  const spec = p.spec;
  if (spec) {
    out.spec = { containers: spec.containers.map(resources) };
    if (spec.nodeName) out.spec.nodeName = spec.nodeName;
    if (spec.initContainers) out.spec.initContainers = spec.initContainers.map(resources);
  }
  if (p.status) out.status = slimPodStatus(p.status);
  return out;
}

/** What the copy keeps of a Deployment, StatefulSet or DaemonSet: its metadata, replicas and status counts. */
export function slimWorkload(o: WorkloadObject): WorkloadObject {
  const out: WorkloadObject = { metadata: slimMetadata(o.metadata) };
  if (o.apiVersion !== undefined) out.apiVersion = o.apiVersion;
  if (o.kind !== undefined) out.kind = o.kind;
  out.spec = o.spec?.replicas !== undefined ? { replicas: o.spec.replicas } : {};
  if (o.status) {
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(o.status)) if (typeof v === "number") counts[k] = v;
    out.status = counts;
  }
  return out;
}
