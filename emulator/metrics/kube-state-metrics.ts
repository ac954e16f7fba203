/**
 * kube-state-metrics v2 as an emulated edge serves it (object state: nodes, pods, deployments, replica sets,
 * namespaces), with its metric names, label names and units, and `kube_pod_labels` as with
 * `--metric-labels-allowlist=pods=[*]`. A pure function of the store.
 */
import type { KubeObject, ObjectStore } from "../store.js";
import {
  at,
  controllerOf,
  int,
  milliValue,
  objects,
  ownerRefs,
  quantities,
  str,
  stringMap,
  unitValue,
} from "./objects.js";
import { byCodeUnit, family, render, type Family } from "./text-format.js";

const CONDITION_STATUSES = ["true", "false", "unknown"] as const;
const POD_PHASES = ["Pending", "Succeeded", "Failed", "Unknown", "Running"] as const;
const NAMESPACE_PHASES = ["Active", "Terminating"] as const;

/** kube-state-metrics' SanitizeLabelName: anything outside [a-zA-Z0-9_] becomes `_`. */
export const sanitizeLabelName = (s: string): string => s.replace(/[^a-zA-Z0-9_]/g, "_");
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
