/**
 * Alert rules: what is measured, the threshold it is compared with, and how long the condition must hold before
 * the alert fires (as Prometheus's `for:`). The defaults cover the paper's misbehaving workloads and edges;
 * `monitoring.alerts` in the config overrides any of them by name, and can turn one off.
 */

/** What a rule measures. Ratios are 0..1; counts are whole numbers. */
export type AlertRuleKind =
  /** A workload's CPU use over its CPU limit (workloads without a CPU limit are not judged). */
  | "workload-cpu"
  /** A workload's memory use over its memory limit. */
  | "workload-memory"
  /** Desired replicas less available replicas. */
  | "replicas-unavailable"
  /** An edge's requested CPU over its allocatable CPU (little free capacity left to admit). */
  | "edge-cpu"
  /** An edge's requested memory over its allocatable memory. */
  | "edge-memory"
  /** 1 while the metrics source cannot read the edge. */
  | "edge-unreachable"
  /** A link's share of failed requests (5xx, non-OK gRPC), from the mesh's metrics. */
  | "link-error-rate"
  /** A link's 99th percentile latency in milliseconds (links that saw requests). */
  | "link-latency-p99";

export const ALERT_RULE_KINDS: readonly AlertRuleKind[] = [
  "workload-cpu",
  "workload-memory",
  "replicas-unavailable",
  "edge-cpu",
  "edge-memory",
  "edge-unreachable",
  "link-error-rate",
  "link-latency-p99",
];

export type AlertSeverity = "info" | "warning" | "critical";

export interface AlertRule {
  /** Unique; alerts are named after it. */
  name: string;
  kind: AlertRuleKind;
  /** The condition holds when the measured value is at or above it. */
  threshold: number;
  /** How long the condition must hold before the alert fires, in milliseconds (0: at the first snapshot). */
  forMs: number;
  severity: AlertSeverity;
}

/** The default rules. */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  { name: "WorkloadCpuNearLimit", kind: "workload-cpu", threshold: 0.9, forMs: 120_000, severity: "warning" },
  { name: "WorkloadMemoryNearLimit", kind: "workload-memory", threshold: 0.9, forMs: 120_000, severity: "warning" },
  { name: "ReplicasUnavailable", kind: "replicas-unavailable", threshold: 1, forMs: 60_000, severity: "critical" },
  { name: "EdgeCpuNearlyExhausted", kind: "edge-cpu", threshold: 0.9, forMs: 300_000, severity: "warning" },
  { name: "EdgeMemoryNearlyExhausted", kind: "edge-memory", threshold: 0.9, forMs: 300_000, severity: "warning" },
  { name: "EdgeUnreachable", kind: "edge-unreachable", threshold: 1, forMs: 60_000, severity: "critical" },
  { name: "LinkErrorRate", kind: "link-error-rate", threshold: 0.05, forMs: 120_000, severity: "warning" },
  { name: "LinkLatencyHigh", kind: "link-latency-p99", threshold: 1000, forMs: 120_000, severity: "warning" },
];

/** How a rule's value reads in a summary. */
export function formatRuleValue(kind: AlertRuleKind, v: number): string {
  switch (kind) {
    case "workload-cpu":
    case "workload-memory":
    case "edge-cpu":
    case "edge-memory":
    case "link-error-rate":
      return `${(v * 100).toFixed(1)}%`;
    case "link-latency-p99":
      return `${Math.round(v * 10) / 10} ms`;
    default:
      return String(v);
  }
}
