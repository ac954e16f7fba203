/**
 * `meta.k8s.io/v1` Tables for `kubectl get`: the columns the real server prints for nodes, pods,
 * deployments, services and namespaces (priority 1 = `-o wide` only), NAME and AGE for everything else.
 */
import type { KubeObject } from "./store.js";

interface Column {
  name: string;
  type: string;
  format?: string;
  priority: number;
  description: string;
  cell: (o: KubeObject, now: number) => unknown;
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);

/** "5s", "3m", "2d4h" as kubectl shows ages. */
export function age(created: unknown, now: number): string {
  if (typeof created !== "string") return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 8 ? `${d}d${h % 24 ? `${h % 24}h` : ""}` : `${d}d`;
}

const name: Column = {
  name: "Name",
  type: "string",
  format: "name",
  priority: 0,
  description: "Name must be unique within a namespace.",
  cell: (o) => o.metadata["name"],
};
const ageCol: Column = {
  name: "Age",
  type: "string",
  priority: 0,
  description: "CreationTimestamp",
  cell: (o, now) => age(o.metadata["creationTimestamp"], now),
};
const s = (n: string, priority: number, cell: Column["cell"], type = "string"): Column => ({
  name: n,
  type,
  priority,
  description: n,
  cell,
});

function podStatus(o: KubeObject): string {
  if (o.metadata["deletionTimestamp"]) return "Terminating";
  const waiting = (
    (get(o, "status", "containerStatuses") ?? []) as { state?: { waiting?: { reason?: string } } }[]
  ).find((c) => c.state?.waiting?.reason);
  return waiting?.state?.waiting?.reason ?? String(get(o, "status", "phase") ?? "Pending");
}

const COLUMNS: Record<string, Column[]> = {
  "/nodes": [
    name,
    s("Status", 0, (o) => {
      const ready = ((get(o, "status", "conditions") ?? []) as { type: string; status: string }[]).find(
        (c) => c.type === "Ready",
      );
      return `${ready?.status === "True" ? "Ready" : "NotReady"}${get(o, "spec", "unschedulable") ? ",SchedulingDisabled" : ""}`;
    }),
    s(
      "Roles",
      0,
      (o) =>
        Object.keys((o.metadata["labels"] ?? {}) as object)
          .filter((k) => k.startsWith("node-role.kubernetes.io/"))
          .map((k) => k.slice(24))
          .join(",") || "<none>",
    ),
    ageCol,
    s("Version", 0, (o) => get(o, "status", "nodeInfo", "kubeletVersion") ?? ""),
    s(
      "Internal-IP",
      1,
      (o) =>
        ((get(o, "status", "addresses") ?? []) as { type: string; address: string }[]).find(
          (a) => a.type === "InternalIP",
        )?.address ?? "<none>",
    ),
    s(
      "External-IP",
      1,
      (o) =>
        ((get(o, "status", "addresses") ?? []) as { type: string; address: string }[]).find(
          (a) => a.type === "ExternalIP",
        )?.address ?? "<none>",
    ),
    s("OS-Image", 1, (o) => get(o, "status", "nodeInfo", "osImage") ?? "<unknown>"),
    s("Kernel-Version", 1, (o) => get(o, "status", "nodeInfo", "kernelVersion") ?? "<unknown>"),
    s("Container-Runtime", 1, (o) => get(o, "status", "nodeInfo", "containerRuntimeVersion") ?? "<unknown>"),
  ],
  "/pods": [
    name,
    s("Ready", 0, (o) => {
      const cs = (get(o, "status", "containerStatuses") ?? []) as { ready?: boolean }[];
      const total = ((get(o, "spec", "containers") ?? []) as unknown[]).length;
      return `${cs.filter((c) => c.ready).length}/${total}`;
    }),
    s("Status", 0, podStatus),
    s(
      "Restarts",
      0,
      (o) =>
        ((get(o, "status", "containerStatuses") ?? []) as { restartCount?: number }[]).reduce(
          (n, c) => n + (c.restartCount ?? 0),
          0,
        ),
      "integer",
    ),
    ageCol,
    s("IP", 1, (o) => get(o, "status", "podIP") ?? "<none>"),
    s("Node", 1, (o) => get(o, "spec", "nodeName") ?? "<none>"),
    s("Nominated Node", 1, (o) => get(o, "status", "nominatedNodeName") ?? "<none>"),
    s("Readiness Gates", 1, () => "<none>"),
  ],
  "apps/deployments": [
    name,
    s("Ready", 0, (o) => `${get(o, "status", "readyReplicas") ?? 0}/${get(o, "spec", "replicas") ?? 1}`),
    s("Up-to-date", 0, (o) => get(o, "status", "updatedReplicas") ?? 0, "integer"),
    s("Available", 0, (o) => get(o, "status", "availableReplicas") ?? 0, "integer"),
    ageCol,
    s("Containers", 1, (o) =>
      ((get(o, "spec", "template", "spec", "containers") ?? []) as { name: string }[]).map((c) => c.name).join(","),
    ),
    s("Images", 1, (o) =>
      ((get(o, "spec", "template", "spec", "containers") ?? []) as { image: string }[]).map((c) => c.image).join(","),
    ),
    s("Selector", 1, (o) =>
      Object.entries((get(o, "spec", "selector", "matchLabels") ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    ),
  ],
  "/services": [
    name,
    s("Type", 0, (o) => get(o, "spec", "type") ?? "ClusterIP"),
    s("Cluster-IP", 0, (o) => get(o, "spec", "clusterIP") ?? "<none>"),
    s(
      "External-IP",
      0,
      (o) =>
        ((get(o, "status", "loadBalancer", "ingress") ?? []) as { ip?: string; hostname?: string }[])
          .map((i) => i.ip ?? i.hostname)
          .join(",") || (get(o, "spec", "type") === "LoadBalancer" ? "<pending>" : "<none>"),
    ),
    s(
      "Port(s)",
      0,
      (o) =>
        ((get(o, "spec", "ports") ?? []) as { port: number; protocol?: string; nodePort?: number }[])
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
          .join(",") || "<none>",
    ),
    ageCol,
    s(
      "Selector",
      1,
      (o) =>
        Object.entries((get(o, "spec", "selector") ?? {}) as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(",") || "<none>",
    ),
  ],
  "/namespaces": [name, s("Status", 0, (o) => get(o, "status", "phase") ?? "Active"), ageCol],
};

/** Whether the Accept header asks for a Table. */
export const wantsTable = (accept: string) => accept.includes("as=Table");

/** A Table of objects of a type (`group/plural`). */
export function toTable(
  typeKey: string,
  objects: readonly KubeObject[],
  resourceVersion: string,
  now: number,
): Record<string, unknown> {
  const columns = COLUMNS[typeKey] ?? [name, ageCol];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ cell: _c, ...c }) => ({ ...c, format: c.format ?? "" })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
