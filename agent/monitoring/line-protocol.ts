/**
 * Snapshots as InfluxDB line protocol (one point per edge, workload and link; millisecond timestamps):
 *   camino_edge,domain=x,edge=e1 reachable=true,allocatable_cpu_millis=4000,… 1764669600000
 *   camino_workload,domain=x,edge=e1,intent=chain,package=fw cpu_millis=120,memory_bytes=…,replicas_available=1i,… …
 *   camino_link,domain=x,from=fw,intent=chain,link=fw-nat-80,to=nat request_rate=3.5,error_rate=0,p99_ms=12 …
 * Tag keys are sorted (InfluxDB's fastest path); tag values are escaped as the format requires.
 */
import type { MonitoringSnapshot } from "./snapshot.js";

/** Escapes a measurement name, tag key or tag value (commas, spaces and, outside measurements, equals signs). */
function esc(s: string): string {
  return s.replace(/[,= \\]/g, (c) => `\\${c}`).replace(/\n/g, "\\n");
}

/** Fields written as integers (suffix `i`), so they stay integers in InfluxDB. */
const INTEGER_FIELDS = new Set(["replicas_available", "replicas_desired"]);

/** One point, or undefined when it has no field (a point needs at least one). */
function line(
  measurement: string,
  tags: Record<string, string>,
  fields: Record<string, number | boolean | undefined>,
  ms: number,
): string | undefined {
  const t = Object.keys(tags)
    .filter((k) => tags[k] !== "")
    .sort()
    .map((k) => `,${esc(k)}=${esc(tags[k] as string)}`)
    .join("");
  const f: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "boolean") f.push(`${k}=${v}`);
    else if (typeof v === "number" && Number.isFinite(v))
      f.push(INTEGER_FIELDS.has(k) ? `${k}=${Math.round(v)}i` : `${k}=${v}`);
  }
  return f.length === 0 ? undefined : `${measurement}${t} ${f.join(",")} ${ms}`;
}

/** The snapshot's points, one line each, with the domain as a tag. */
export function snapshotToLines(s: MonitoringSnapshot, domain: string): string[] {
  const ms = s.at.getTime();
  const out: Array<string | undefined> = [];
  for (const e of s.edges)
    out.push(
      line(
        "camino_edge",
        { domain, edge: e.edge, source: s.source },
        {
          reachable: e.reachable,
          allocatable_cpu_millis: e.allocatable.cpuMillis,
          allocatable_memory_bytes: e.allocatable.memoryBytes,
          requested_cpu_millis: e.requested.cpuMillis,
          requested_memory_bytes: e.requested.memoryBytes,
          used_cpu_millis: e.used.cpuMillis,
          used_memory_bytes: e.used.memoryBytes,
          free_cpu_millis: e.free.cpuMillis,
          free_memory_bytes: e.free.memoryBytes,
        },
        ms,
      ),
    );
  for (const w of s.workloads)
    out.push(
      line(
        "camino_workload",
        { domain: w.domain || domain, edge: w.edge, intent: w.intent, package: w.package },
        {
          cpu_millis: w.used.cpuMillis,
          memory_bytes: w.used.memoryBytes,
          cpu_limit_millis: w.limits.cpuMillis,
          memory_limit_bytes: w.limits.memoryBytes,
          replicas_available: w.replicasAvailable,
          replicas_desired: w.replicasDesired,
        },
        ms,
      ),
    );
  for (const l of s.links)
    out.push(
      line(
        "camino_link",
        { domain, intent: l.intent, link: l.link, from: l.from, to: l.to },
        {
          request_rate: l.requestRate,
          error_rate: l.errorRate,
          p50_ms: l.p50Ms,
          p99_ms: l.p99Ms,
          tcp_bytes_sent_rate: l.tcpBytesSentRate,
          tcp_bytes_received_rate: l.tcpBytesReceivedRate,
          tcp_connections_opened_rate: l.tcpConnectionsOpenedRate,
        },
        ms,
      ),
    );
  return out.filter((l): l is string => l !== undefined);
}
