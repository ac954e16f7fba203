/**
 * The monitoring model every part of the Monitoring Service shares: one snapshot of the domain at a time, as
 * a metrics source reads it (Prometheus/Thanos, or the edges' own endpoints), joined to deployments through the
 * `camino.io/*` labels and the label cache. Alert rules, QueryMonitoring, admission and the InfluxDB export all
 * read snapshots; none of them queries a source itself.
 */

/** CPU in millicores and memory in bytes. */
export interface Usage {
  cpuMillis: number;
  memoryBytes: number;
}

/** One edge's infrastructure figures (its Ready nodes). */
export interface EdgeFigures {
  edge: string;
  /** False when the source could not read the edge; the figures below are then absent or stale. */
  reachable: boolean;
  allocatable: Usage;
  /** Sum of the requests of the pods scheduled there. */
  requested: Usage;
  /** Measured use (cAdvisor / container metrics). */
  used: Usage;
  /** allocatable − requested, never below zero. */
  free: Usage;
  /**
   * allocatable − max(requested, used), never below zero: what is neither promised nor measured in use. The
   * "monitoring" capacity source of admission reads this. Absent when the edge was not read.
   */
  headroom?: Usage;
}

/** One deployed package's workload figures on one edge. */
export interface WorkloadFigures {
  intent: string;
  package: string;
  edge: string;
  domain: string;
  /** Measured use, summed over the package's pods. */
  used: Usage;
  /** Its limits, summed over its pods (0 when a resource has no limit). */
  limits: Usage;
  replicasAvailable: number;
  replicasDesired: number;
}

/** One link's service level, from the mesh's standard metrics (istio_requests_total, …_duration_…, istio_tcp_*). */
export interface LinkFigures {
  intent: string;
  /** `<from>-<to>-<port>`, the Network Manager's link name. */
  link: string;
  from: string;
  to: string;
  /** Requests per second over the source's rate window (HTTP/gRPC links); 0 for TCP links. */
  requestRate: number;
  /** Share of requests answered 5xx (or a non-OK gRPC status), 0..1. */
  errorRate: number;
  /** Latency percentiles in milliseconds; undefined when no request was seen. */
  p50Ms?: number;
  p99Ms?: number;
  /** TCP links: bytes per second sent and received, connections opened per second. */
  tcpBytesSentRate?: number;
  tcpBytesReceivedRate?: number;
  tcpConnectionsOpenedRate?: number;
}

/** The domain as one read of the metrics source saw it. */
export interface MonitoringSnapshot {
  /** When the source was read. */
  at: Date;
  /** The source: "prometheus" (a Prometheus-compatible API) or "scrape" (the edges' endpoints). */
  source: string;
  edges: EdgeFigures[];
  workloads: WorkloadFigures[];
  links: LinkFigures[];
}

/** Where snapshots come from (the Monitoring Service's sources implement it). */
export interface MetricsSource {
  readonly name: string;
  /** Reads a snapshot. @throws CaminoError (unavailable) when the source cannot be read. */
  snapshot(signal: AbortSignal): Promise<MonitoringSnapshot>;
}
