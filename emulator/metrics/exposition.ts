/**
 * What an emulated edge's monitoring would scrape, in the Prometheus text exposition format 0.0.4:
 *
 * - kube-state-metrics v2 (object state: nodes, pods, deployments, replica sets, namespaces), with its metric
 *   names, label names and units, and `kube_pod_labels` as with `--metric-labels-allowlist=pods=[*]`;
 * - the kubelet's `/metrics/cadvisor` (container usage), for Running pods. The emulator runs no containers, so
 *   usage is modelled: each container uses a share of what it requests ({@link UsageModel}).
 *
 * Pure functions of the store (and, for cAdvisor, the usage model and a clock): the same input renders the
 * same text, series sorted, so scrapes are reproducible.
 */
import { createHash } from "node:crypto";
import { parseQuantity, toMilli, toUnits, type Quantity } from "../../common/quantity.js";
import type { KubeObject, ObjectStore } from "../store.js";

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

// ---------------------------------------------------------------------------------------------------------
// Exposition

type Labels = ReadonlyArray<readonly [string, string]>;

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels: Labels; value: number }[];
}

const family = (name: string, help: string, type: "gauge" | "counter" = "gauge"): Family => ({
  name,
  help,
  type,
  samples: [],
});

const escapeLabelValue = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Renders families in the given order, each with HELP and TYPE (also when empty, as kube-state-metrics does), series sorted. */
function render(families: Family[]): string {
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    const lines = new Set<string>();
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
      lines.add(`${f.name}${labels ? `{${labels}}` : ""} ${formatValue(s.value)}\n`);
    }
    out += [...lines].sort(byCodeUnit).join("");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading objects

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
const str = (o: unknown, ...path: string[]): string => {
  const v = at(o, ...path);
  return typeof v === "string" ? v : "";
};
const int = (o: unknown, ...path: string[]): number | undefined => {
  const v = at(o, ...path);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
};
const objects = (o: unknown, ...path: string[]): Obj[] => {
  const v = at(o, ...path);
  return Array.isArray(v) ? v.filter(isObj) : [];
};
const stringMap = (o: unknown, ...path: string[]): Record<string, string> => {
  const v = at(o, ...path);
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
};

function quantity(v: unknown): Quantity | undefined {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string") return undefined;
  try {
    return parseQuantity(text);
  } catch {
    return undefined;
  }
}

/** `MilliValue() / 1000`: cores for CPU, exact bytes for whole-byte quantities. */
const milliValue = (q: Quantity): number => Number(toMilli(q)) / 1000;
/** `Value()`: whole units, rounded up. */
const unitValue = (q: Quantity): number => Number(toUnits(q));

function quantities(o: unknown, ...path: string[]): [string, Quantity][] {
  const v = at(o, ...path);
  if (!isObj(v)) return [];
  const out: [string, Quantity][] = [];
  for (const [name, raw] of Object.entries(v)) {
    const q = quantity(raw);
    if (q) out.push([name, q]);
  }
  return out;
}

interface OwnerRef {
  kind: string;
  name: string;
  controller: boolean;
}

const ownerRefs = (o: unknown): OwnerRef[] =>
  objects(o, "metadata", "ownerReferences").map((r) => ({
    kind: str(r, "kind"),
    name: str(r, "name"),
    controller: r["controller"] === true,
  }));

/** metav1.GetControllerOf: the owner reference with `controller: true`. */
const controllerOf = (o: unknown): OwnerRef | undefined => ownerRefs(o).find((r) => r.controller);

// ---------------------------------------------------------------------------------------------------------
// kube-state-metrics

const CONDITION_STATUSES = ["true", "false", "unknown"] as const;
const POD_PHASES = ["Pending", "Succeeded", "Failed", "Unknown", "Running"] as const;
const NAMESPACE_PHASES = ["Active", "Terminating"] as const;

/** kube-state-metrics' SanitizeLabelName: anything outside [a-zA-Z0-9_] becomes `_`. */
const sanitizeLabelName = (s: string): string => s.replace(/[^a-zA-Z0-9_]/g, "_");
/** kube-state-metrics' lintLabelName: camelCase → snake_case, lower case. */
const toSnakeCase = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/**
 * Kubernetes labels as Prometheus labels, as kube-state-metrics' mapToPrometheusLabels makes them: keys sorted,
 * `<prefix>_<snake_case(sanitized key)>`, and keys that collide after sanitizing all get `_conflictN` suffixes.
 */
function mapToPrometheusLabels(prefix: string, labels: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  const used = new Map<string, number>();
  const conflicts = new Map<string, number>();
  const nextFree = (base: string, count: number): [string, number] => {
    let n = count;
    for (;;) {
      n++;
      const candidate = `${base}_conflict${n}`;
      if (!used.has(candidate)) return [candidate, n];
    }
  };
  for (const k of Object.keys(labels).sort(byCodeUnit)) {
    const base = `${prefix}_${toSnakeCase(sanitizeLabelName(k))}`;
    let name = base;
    const seen = conflicts.get(base);
    const taken = used.get(name);
    if (seen !== undefined) {
      const [next, n] = nextFree(base, seen);
      name = next;
      conflicts.set(base, n);
    } else if (taken !== undefined) {
      const [renamed, n1] = nextFree(base, 0);
      used.delete(name);
      (out[taken] as [string, string])[0] = renamed;
      used.set(renamed, taken);
      const [next, n2] = nextFree(base, n1);
      name = next;
      conflicts.set(base, n2);
    }
    used.set(name, out.length);
    out.push([name, labels[k] as string]);
  }
  return out;
}

/** A resource name's unit as kube-state-metrics reports it; undefined for resources it leaves out. */
function resourceUnit(name: string, forNode: boolean): "core" | "byte" | "integer" | undefined {
  if (name === "cpu") return "core";
  if (name === "memory" || name === "storage" || name === "ephemeral-storage") return "byte";
  if (name.startsWith("hugepages-") || name.startsWith("attachable-volumes-")) return "byte";
  if (forNode && name === "pods") return "integer";
  // Extended resources: domain-prefixed, outside kubernetes.io, not a quota "requests." name.
  if (name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.")) return "integer";
  return undefined;
}

function nodeFamilies(store: ObjectStore): Family[] {
  const info = family("kube_node_info", "Information about a cluster node.");
  const unschedulable = family("kube_node_spec_unschedulable", "Whether a node can schedule new pods.");
  const allocatable = family(
    "kube_node_status_allocatable",
    "The allocatable for different resources of a node that are available for scheduling.",
  );
  const capacity = family("kube_node_status_capacity", "The capacity for different resources of a node.");
  const condition = family("kube_node_status_condition", "The condition of a cluster node.");
  for (const n of store.list("/nodes")) {
    const node = str(n, "metadata", "name");
    const internalIp = objects(n, "status", "addresses").find((a) => a["type"] === "InternalIP");
    info.samples.push({
      labels: [
        ["node", node],
        ["kernel_version", str(n, "status", "nodeInfo", "kernelVersion")],
        ["os_image", str(n, "status", "nodeInfo", "osImage")],
        ["container_runtime_version", str(n, "status", "nodeInfo", "containerRuntimeVersion")],
        ["kubelet_version", str(n, "status", "nodeInfo", "kubeletVersion")],
        ["kubeproxy_version", str(n, "status", "nodeInfo", "kubeProxyVersion")],
        ["provider_id", str(n, "spec", "providerID")],
        ["pod_cidr", str(n, "spec", "podCIDR")],
        ["system_uuid", str(n, "status", "nodeInfo", "systemUUID")],
        ["internal_ip", str(internalIp, "address")],
      ],
      value: 1,
    });
    unschedulable.samples.push({ labels: [["node", node]], value: at(n, "spec", "unschedulable") === true ? 1 : 0 });
    for (const [f, field] of [
      [allocatable, "allocatable"],
      [capacity, "capacity"],
    ] as const) {
      for (const [resource, q] of quantities(n, "status", field)) {
        const unit = resourceUnit(resource, true);
        if (unit)
          f.samples.push({
            labels: [
              ["node", node],
              ["resource", sanitizeLabelName(resource)],
              ["unit", unit],
            ],
            value: milliValue(q),
          });
      }
    }
    for (const c of objects(n, "status", "conditions")) {
      const status = str(c, "status").toLowerCase();
      for (const s of CONDITION_STATUSES)
        condition.samples.push({
          labels: [
            ["node", node],
            ["condition", str(c, "type")],
            ["status", s],
          ],
          value: status === s ? 1 : 0,
        });
    }
  }
  return [info, unschedulable, allocatable, capacity, condition];
}

function podFamilies(store: ObjectStore): Family[] {
  const limits = family("kube_pod_container_resource_limits", "The number of requested limit resource by a container.");
  const requests = family(
    "kube_pod_container_resource_requests",
    "The number of requested request resource by a container.",
  );
  const containerReady = family(
    "kube_pod_container_status_ready",
    "Describes whether the containers readiness check succeeded.",
  );
  const info = family("kube_pod_info", "Information about pod.");
  const labels = family("kube_pod_labels", "Kubernetes labels converted to Prometheus labels.");
  const owner = family("kube_pod_owner", "Information about the Pod's owner.");
  const phase = family("kube_pod_status_phase", "The pods current phase.");
  const ready = family("kube_pod_status_ready", "Describes whether the pod is ready to serve requests.");
  for (const p of store.list("/pods")) {
    const id: [string, string][] = [
      ["namespace", str(p, "metadata", "namespace")],
      ["pod", str(p, "metadata", "name")],
      ["uid", str(p, "metadata", "uid")],
    ];
    const node = str(p, "spec", "nodeName");
    const createdBy = controllerOf(p);
    info.samples.push({
      labels: [
        ...id,
        ["host_ip", str(p, "status", "hostIP")],
        ["pod_ip", str(p, "status", "podIP")],
        ["node", node],
        ["created_by_kind", createdBy?.kind || "<none>"],
        ["created_by_name", createdBy?.name || "<none>"],
        ["priority_class", str(p, "spec", "priorityClassName")],
        ["host_network", String(at(p, "spec", "hostNetwork") === true)],
      ],
      value: 1,
    });
    labels.samples.push({
      labels: [...id, ...mapToPrometheusLabels("label", stringMap(p, "metadata", "labels"))],
      value: 1,
    });
    const owners = ownerRefs(p);
    if (owners.length === 0)
      owner.samples.push({
        labels: [...id, ["owner_kind", "<none>"], ["owner_name", "<none>"], ["owner_is_controller", "<none>"]],
        value: 1,
      });
    for (const o of owners)
      owner.samples.push({
        labels: [...id, ["owner_kind", o.kind], ["owner_name", o.name], ["owner_is_controller", String(o.controller)]],
        value: 1,
      });

    const current = str(p, "status", "phase");
    if (current)
      for (const ph of POD_PHASES)
        phase.samples.push({ labels: [...id, ["phase", ph]], value: current === ph ? 1 : 0 });

    // The Ready condition as kube-state-metrics reads it; pods written without conditions fall back to their containers' readiness.
    const statuses = objects(p, "status", "containerStatuses");
    const readyCondition = objects(p, "status", "conditions").find((c) => c["type"] === "Ready");
    const readyStatus = readyCondition
      ? str(readyCondition, "status").toLowerCase()
      : statuses.length > 0
        ? String(statuses.every((s) => s["ready"] === true))
        : "";
    if (readyStatus)
      for (const s of CONDITION_STATUSES)
        ready.samples.push({ labels: [...id, ["condition", s]], value: readyStatus === s ? 1 : 0 });
    for (const s of statuses)
      containerReady.samples.push({
        labels: [...id, ["container", str(s, "name")]],
        value: s["ready"] === true ? 1 : 0,
      });

    for (const c of objects(p, "spec", "containers")) {
      for (const [f, field] of [
        [requests, "requests"],
        [limits, "limits"],
      ] as const) {
        for (const [resource, q] of quantities(c, "resources", field)) {
          const unit = resourceUnit(resource, false);
          if (!unit) continue;
          f.samples.push({
            labels: [
              ...id,
              ["container", str(c, "name")],
              ["node", node],
              ["resource", sanitizeLabelName(resource)],
              ["unit", unit],
            ],
            value: unit === "core" ? milliValue(q) : unitValue(q),
          });
        }
      }
    }
  }
  return [limits, requests, containerReady, info, labels, owner, phase, ready];
}

function deploymentFamilies(store: ObjectStore): Family[] {
  const fields: [string, string, (d: KubeObject) => number][] = [
    [
      "kube_deployment_metadata_generation",
      "Sequence number representing a specific generation of the desired state.",
      (d) => int(d, "metadata", "generation") ?? 0,
    ],
    [
      "kube_deployment_spec_replicas",
      "Number of desired pods for a deployment.",
      (d) => int(d, "spec", "replicas") ?? 1,
    ],
    [
      "kube_deployment_status_observed_generation",
      "The generation observed by the deployment controller.",
      (d) => int(d, "status", "observedGeneration") ?? 0,
    ],
    [
      "kube_deployment_status_replicas",
      "The number of replicas per deployment.",
      (d) => int(d, "status", "replicas") ?? 0,
    ],
    [
      "kube_deployment_status_replicas_available",
      "The number of available replicas per deployment.",
      (d) => int(d, "status", "availableReplicas") ?? 0,
    ],
    [
      "kube_deployment_status_replicas_ready",
      "The number of ready replicas per deployment.",
      (d) => int(d, "status", "readyReplicas") ?? 0,
    ],
    [
      "kube_deployment_status_replicas_unavailable",
      "The number of unavailable replicas per deployment.",
      (d) => int(d, "status", "unavailableReplicas") ?? 0,
    ],
    [
      "kube_deployment_status_replicas_updated",
      "The number of updated replicas per deployment.",
      (d) => int(d, "status", "updatedReplicas") ?? 0,
    ],
  ];
  const deployments = store.list("apps/deployments");
  // As with `--metric-labels-allowlist=deployments=[*]`: how a monitoring join finds a Deployment's package.
  const labels = family("kube_deployment_labels", "Kubernetes labels converted to Prometheus labels.");
  for (const d of deployments)
    labels.samples.push({
      labels: [
        ["namespace", str(d, "metadata", "namespace")],
        ["deployment", str(d, "metadata", "name")],
        ...mapToPrometheusLabels("label", stringMap(d, "metadata", "labels")),
      ],
      value: 1,
    });
  return [
    labels,
    ...fields.map(([name, help, value]) => {
      const f = family(name, help);
      for (const d of deployments)
        f.samples.push({
          labels: [
            ["namespace", str(d, "metadata", "namespace")],
            ["deployment", str(d, "metadata", "name")],
          ],
          value: value(d),
        });
      return f;
    }),
  ];
}

function namespaceFamilies(store: ObjectStore): Family[] {
  const phase = family("kube_namespace_status_phase", "kubernetes namespace status phase.");
  for (const ns of store.list("/namespaces")) {
    const current = str(ns, "status", "phase");
    if (current)
      for (const ph of NAMESPACE_PHASES)
        phase.samples.push({
          labels: [
            ["namespace", str(ns, "metadata", "name")],
            ["phase", ph],
          ],
          value: current === ph ? 1 : 0,
        });
  }
  return [phase];
}

function replicaSetFamilies(store: ObjectStore): Family[] {
  const owner = family("kube_replicaset_owner", "Information about the ReplicaSet's owner.");
  for (const rs of store.list("apps/replicasets")) {
    const id: [string, string][] = [
      ["namespace", str(rs, "metadata", "namespace")],
      ["replicaset", str(rs, "metadata", "name")],
    ];
    const owners = ownerRefs(rs);
    if (owners.length === 0)
      owner.samples.push({
        labels: [...id, ["owner_kind", "<none>"], ["owner_name", "<none>"], ["owner_is_controller", "<none>"]],
        value: 1,
      });
    for (const o of owners)
      owner.samples.push({
        labels: [...id, ["owner_kind", o.kind], ["owner_name", o.name], ["owner_is_controller", String(o.controller)]],
        value: 1,
      });
  }
  return [owner];
}

/**
 * The kube-state-metrics v2 view of the store: `kube_node_*` (info, allocatable, capacity, conditions),
 * `kube_pod_*` (info, owner, labels, phase, ready, container requests and limits), `kube_deployment_*`
 * (labels, spec and status replicas, generations), `kube_replicaset_owner` and `kube_namespace_status_phase`.
 * CPU in cores (`unit="core"`), memory in bytes (`unit="byte"`), pods as `unit="integer"`.
 */
export function renderKubeStateMetrics(store: ObjectStore): string {
  return render([
    ...deploymentFamilies(store),
    ...namespaceFamilies(store),
    ...nodeFamilies(store),
    ...podFamilies(store),
    ...replicaSetFamilies(store),
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// cAdvisor

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
function workloadOf(store: ObjectStore, pod: KubeObject): string {
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

const timeMs = (v: string): number | undefined => {
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
