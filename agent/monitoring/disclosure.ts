/**
 * What a snapshot discloses, and to whom. Callers holding `monitoring:detail` (when the policy allows detail)
 * get per-edge, per-package and per-link figures; everyone else, federation peers included, gets domain
 * aggregates only: sums over the reachable edges and over the workloads, with no label that names an edge, an
 * intent or a package. The sample names are stable (docs/monitoring.md lists them).
 */
import type { MonitoringSnapshot, Usage } from "./snapshot.js";

/** One figure, as QueryMonitoring returns it. */
export interface FigureSample {
  metric: string;
  labels: Record<string, string>;
  value: number;
  time: Date;
}

/** Which figures, and of what. */
export interface FigureQuery {
  /** Infrastructure (edges), workload (packages), link (each link's service level), or all three. */
  scope: "infrastructure" | "workload" | "link" | "all";
  /** Detail only: restrict to one intent, package or edge. */
  intent?: string;
  package?: string;
  edge?: string;
  /** Metric names; empty means every metric of the scope. */
  metrics?: readonly string[];
}

const usageSamples = (prefix: string, what: string, u: Usage) =>
  [
    [`${prefix}_${what}_cpu_millicores`, u.cpuMillis],
    [`${prefix}_${what}_memory_bytes`, u.memoryBytes],
  ] as const;

/** Per-edge, per-package and per-link figures (for holders of `monitoring:detail`). */
export function detailFigures(s: MonitoringSnapshot, q: FigureQuery): FigureSample[] {
  const out: FigureSample[] = [];
  const push = (metric: string, labels: Record<string, string>, value: number) =>
    out.push({ metric, labels, value, time: s.at });
  if (q.scope === "infrastructure" || q.scope === "all") {
    for (const e of s.edges) {
      if (q.edge && e.edge !== q.edge) continue;
      if (q.intent || q.package) continue;
      const labels = { edge: e.edge };
      push("camino_edge_reachable", labels, e.reachable ? 1 : 0);
      if (!e.reachable) continue;
      for (const what of ["allocatable", "requested", "used", "free"] as const)
        for (const [m, v] of usageSamples("camino_edge", what, e[what])) push(m, labels, v);
    }
  }
  if (q.scope === "workload" || q.scope === "all") {
    for (const w of s.workloads) {
      if (
        (q.edge && w.edge !== q.edge) ||
        (q.intent && w.intent !== q.intent) ||
        (q.package && w.package !== q.package)
      )
        continue;
      const labels = { intent: w.intent, package: w.package, edge: w.edge, domain: w.domain };
      for (const [m, v] of usageSamples("camino_workload", "used", w.used)) push(m, labels, v);
      for (const [m, v] of usageSamples("camino_workload", "limit", w.limits)) push(m, labels, v);
      push("camino_workload_replicas_available", labels, w.replicasAvailable);
      push("camino_workload_replicas_desired", labels, w.replicasDesired);
    }
  }
  if (q.scope === "link" || q.scope === "all") {
    for (const l of s.links) {
      if (q.intent && l.intent !== q.intent) continue;
      if (q.package && l.from !== q.package && l.to !== q.package) continue;
      if (q.edge) continue;
      const labels = { intent: l.intent, link: l.link, from: l.from, to: l.to };
      push("camino_link_request_rate", labels, l.requestRate);
      push("camino_link_error_rate", labels, l.errorRate);
      if (l.p50Ms !== undefined) push("camino_link_latency_p50_ms", labels, l.p50Ms);
      if (l.p99Ms !== undefined) push("camino_link_latency_p99_ms", labels, l.p99Ms);
      if (l.tcpBytesSentRate !== undefined) push("camino_link_tcp_sent_bytes_rate", labels, l.tcpBytesSentRate);
      if (l.tcpBytesReceivedRate !== undefined)
        push("camino_link_tcp_received_bytes_rate", labels, l.tcpBytesReceivedRate);
      if (l.tcpConnectionsOpenedRate !== undefined)
        push("camino_link_tcp_connections_opened_rate", labels, l.tcpConnectionsOpenedRate);
    }
  }
  return filterMetrics(out, q.metrics);
}

/**
 * Domain aggregates only: no sample has a label, so none can name an edge, an intent or a package. There are no
 * aggregates of links (a link is always an intent's): the link scope gives nothing here.
 */
export function aggregateFigures(s: MonitoringSnapshot, q: Pick<FigureQuery, "scope" | "metrics">): FigureSample[] {
  const out: FigureSample[] = [];
  const push = (metric: string, value: number) => out.push({ metric, labels: {}, value, time: s.at });
  const sum = (items: Usage[]): Usage =>
    items.reduce((a, u) => ({ cpuMillis: a.cpuMillis + u.cpuMillis, memoryBytes: a.memoryBytes + u.memoryBytes }), {
      cpuMillis: 0,
      memoryBytes: 0,
    });
  if (q.scope === "infrastructure" || q.scope === "all") {
    const reachable = s.edges.filter((e) => e.reachable);
    push("camino_domain_edges", s.edges.length);
    push("camino_domain_edges_reachable", reachable.length);
    for (const what of ["allocatable", "requested", "used", "free"] as const)
      for (const [m, v] of usageSamples("camino_domain", what, sum(reachable.map((e) => e[what])))) push(m, v);
  }
  if (q.scope === "workload" || q.scope === "all") {
    push("camino_domain_workloads", s.workloads.length);
    for (const [m, v] of usageSamples("camino_domain_workload", "used", sum(s.workloads.map((w) => w.used))))
      push(m, v);
    push(
      "camino_domain_workload_replicas_available",
      s.workloads.reduce((a, w) => a + w.replicasAvailable, 0),
    );
    push(
      "camino_domain_workload_replicas_desired",
      s.workloads.reduce((a, w) => a + w.replicasDesired, 0),
    );
  }
  return filterMetrics(out, q.metrics);
}

function filterMetrics(samples: FigureSample[], metrics: readonly string[] | undefined): FigureSample[] {
  if (!metrics || metrics.length === 0) return samples;
  const wanted = new Set(metrics);
  return samples.filter((s) => wanted.has(s.metric));
}
