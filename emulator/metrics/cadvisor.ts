/**
 * The kubelet's `/metrics/cadvisor` (container usage) for Running pods. The emulator runs no containers, so
 * usage is modelled: each container uses a share of what it requests ({@link UsageModel}).
 */
import { createHash } from "node:crypto";
import { toMilli, type Quantity } from "../../common/quantity.js";
import type { KubeObject, ObjectStore } from "../store.js";
import {
  at,
  controllerOf,
  isObj,
  milliValue,
  objects,
  ownerRefs,
  quantity,
  str,
  stringMap,
  unitValue,
  type Obj,
} from "./objects.js";
import { family, render, type Labels } from "./text-format.js";

/** How much of its requests a container uses. */
export interface UsageModel {
  /** Default share of requests used (CPU and memory), e.g. 0.5. */
  fraction: number;
  /** Key `<namespace>/<workload name>` (Deployment, StatefulSet, DaemonSet, CronJob, or a bare pod) → share of requests. */
  overrides: Map<string, { cpu?: number; memory?: number }>;
}

/** Half of requests for every workload, no overrides. */
export function defaultUsage(): UsageModel {
  return { fraction: 0.5, overrides: new Map() };
}

/** CPU a container with no CPU request (nor limit) uses, in cores. */
const UNREQUESTED_CPU_CORES = 0.01;
/** Working set of a container with no memory request (nor limit), in bytes. */
const UNREQUESTED_MEMORY_BYTES = 16 * 1024 * 1024;
/** cgroup v1 CPU shares bounds, as the kubelet converts millicores (MilliCPUToShares). */
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/**
 * The workload a pod belongs to, as `<namespace>/<name>`: Pod → ReplicaSet → Deployment, Pod → Job → CronJob,
 * StatefulSet and DaemonSet (and any other controller) directly; a pod without an owner is its own workload.
 * A ReplicaSet missing from the store is resolved by stripping the pod-template-hash from its name.
 */
export function workloadOf(store: ObjectStore, pod: KubeObject): string {
  const ns = str(pod, "metadata", "namespace");
  const owner = controllerOf(pod) ?? ownerRefs(pod)[0];
  if (!owner) return `${ns}/${str(pod, "metadata", "name")}`;
  const parent = (typeKey: string, kind: string): string | undefined => {
    const o = store.get(typeKey, ns, owner.name);
    const ref = o ? (controllerOf(o) ?? ownerRefs(o)[0]) : undefined;
    return ref?.kind === kind ? ref.name : undefined;
  };
  if (owner.kind === "ReplicaSet") {
    const deployment = parent("apps/replicasets", "Deployment");
    if (deployment) return `${ns}/${deployment}`;
    const hash = stringMap(pod, "metadata", "labels")["pod-template-hash"];
    if (!store.get("apps/replicasets", ns, owner.name) && hash && owner.name.endsWith(`-${hash}`))
      return `${ns}/${owner.name.slice(0, -hash.length - 1)}`;
  }
  if (owner.kind === "Job") {
    const cronJob = parent("batch/jobs", "CronJob");
    if (cronJob) return `${ns}/${cronJob}`;
  }
  return `${ns}/${owner.name}`;
}

/** Requests as the API server defaults them: a resource with a limit and no request requests its limit. */
function effectiveRequest(container: Obj, resource: string): Quantity | undefined {
  return (
    quantity(at(container, "resources", "requests", resource)) ??
    quantity(at(container, "resources", "limits", resource))
  );
}

/** The pod's QoS class: status.qosClass, else computed as the kubelet does. */
function qosClass(pod: KubeObject): "Guaranteed" | "Burstable" | "BestEffort" {
  const stated = str(pod, "status", "qosClass");
  if (stated === "Guaranteed" || stated === "Burstable" || stated === "BestEffort") return stated;
  let any = false;
  let guaranteed = true;
  for (const c of objects(pod, "spec", "containers")) {
    for (const resource of ["cpu", "memory"]) {
      const request = effectiveRequest(c, resource);
      const limit = quantity(at(c, "resources", "limits", resource));
      if (request || limit) any = true;
      if (!request || !limit || toMilli(request) !== toMilli(limit)) guaranteed = false;
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

export const timeMs = (v: string): number | undefined => {
  const t = v ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

const share = (v: number | undefined, fallback: number): number => {
  const x = v ?? fallback;
  return Number.isFinite(x) && x > 0 ? x : 0;
};

/**
 * The series the kubelet's `/metrics/cadvisor` exposes for the containers of Running pods (of every node, or of
 * `node`): `container_cpu_usage_seconds_total` (a counter: share × requested cores × seconds since the
 * container started; 0.01 cores without a CPU request), `container_memory_working_set_bytes` (share ×
 * requested bytes; 16Mi without a memory request), `container_memory_usage_bytes` (the working set plus a
 * quarter of it in page cache), `container_spec_cpu_shares` and `container_spec_memory_limit_bytes` (0 when
 * unlimited). Usage is capped at the container's limits. Shares come from `usage.overrides` for the pod's
 * workload, else `usage.fraction`. Labels: container, namespace, pod, node, id (cgroup path), image, name
 * (runtime container ID). Changing an override changes the CPU counter's slope since the container started,
 * so a lower share shows as a counter reset.
 */
export function renderCadvisor(store: ObjectStore, usage: UsageModel, nowMs: number, node?: string): string {
  const cpuUsage = family("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "counter");
  const memoryUsage = family(
    "container_memory_usage_bytes",
    "Current memory usage in bytes, including all memory regardless of when it was accessed",
  );
  const workingSet = family("container_memory_working_set_bytes", "Current working set in bytes.");
  const cpuShares = family("container_spec_cpu_shares", "CPU share of the container.");
  const memoryLimit = family("container_spec_memory_limit_bytes", "Memory limit for the container.");
  for (const pod of store.list("/pods")) {
    const nodeName = str(pod, "spec", "nodeName");
    if (str(pod, "status", "phase") !== "Running" || !nodeName || (node !== undefined && nodeName !== node)) continue;
    const namespace = str(pod, "metadata", "namespace");
    const podName = str(pod, "metadata", "name");
    const uid = str(pod, "metadata", "uid");
    const qos = qosClass(pod);
    const cgroup = `/kubepods/${qos === "Guaranteed" ? "" : `${qos.toLowerCase()}/`}pod${uid}`;
    const override = usage.overrides.get(workloadOf(store, pod));
    const cpuShare = share(override?.cpu, usage.fraction);
    const memoryShare = share(override?.memory, usage.fraction);
    const podStart = timeMs(str(pod, "status", "startTime")) ?? timeMs(str(pod, "metadata", "creationTimestamp"));
    const statuses = objects(pod, "status", "containerStatuses");
    for (const c of objects(pod, "spec", "containers")) {
      const container = str(c, "name");
      const status = statuses.find((s) => s["name"] === container);
      // A container the kubelet reports as waiting or terminated has no cgroup to measure.
      if (status && isObj(status["state"]) && !isObj(at(status, "state", "running"))) continue;
      const containerId =
        str(status, "containerID").replace(/^[a-z]+:\/\//, "") ||
        createHash("sha256").update(`${uid}/${container}`).digest("hex");
      const labels: Labels = [
        ["container", container],
        ["id", `${cgroup}/${containerId}`],
        ["image", str(status, "image") || str(c, "image")],
        ["name", containerId],
        ["namespace", namespace],
        ["node", nodeName],
        ["pod", podName],
      ];
      const cpuRequest = effectiveRequest(c, "cpu");
      const memoryRequest = effectiveRequest(c, "memory");
      const cpuLimit = quantity(at(c, "resources", "limits", "cpu"));
      const memLimit = quantity(at(c, "resources", "limits", "memory"));
      const limitBytes = memLimit ? unitValue(memLimit) : 0;

      const requestedCores = cpuRequest ? milliValue(cpuRequest) : 0;
      let cores = requestedCores > 0 ? cpuShare * requestedCores : UNREQUESTED_CPU_CORES;
      if (cpuLimit && milliValue(cpuLimit) > 0) cores = Math.min(cores, milliValue(cpuLimit));
      const start = timeMs(str(status, "state", "running", "startedAt")) ?? podStart ?? nowMs;
      const seconds = Math.max(0, (nowMs - start) / 1000);
      cpuUsage.samples.push({ labels, value: Math.round(cores * seconds * 1e9) / 1e9 });

      const requestedBytes = memoryRequest ? unitValue(memoryRequest) : 0;
      let working = requestedBytes > 0 ? Math.round(memoryShare * requestedBytes) : UNREQUESTED_MEMORY_BYTES;
      if (limitBytes > 0) working = Math.min(working, limitBytes);
      const used = working + Math.floor(working / 4);
      workingSet.samples.push({ labels, value: working });
      memoryUsage.samples.push({ labels, value: limitBytes > 0 ? Math.min(used, limitBytes) : used });

      const millis = cpuRequest ? Number(toMilli(cpuRequest)) : 0;
      cpuShares.samples.push({
        labels,
        value: Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((millis * 1024) / 1000))),
      });
      memoryLimit.samples.push({ labels, value: limitBytes });
    }
  }
  return render([cpuUsage, memoryUsage, workingSet, cpuShares, memoryLimit]);
}
