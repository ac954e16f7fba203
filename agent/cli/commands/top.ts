import { MetricScope, type MetricSample } from "../../../gen/camino/v1/types_pb.js";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, structured, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";

const cpu = (m: number | undefined) => (m === undefined ? "-" : `${Math.round(m)}m`);
const mem = (b: number | undefined) => (b === undefined ? "-" : `${Math.round(b / (1024 * 1024))}Mi`);
const pct = (part: number | undefined, whole: number | undefined) =>
  part === undefined || !whole ? "-" : `${Math.round((100 * part) / whole)}%`;

const rate = (v: number | undefined) => (v === undefined ? "-" : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const ms = (v: number | undefined) => (v === undefined ? "-" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}ms`);
const bytes = (v: number) =>
  v >= 1024 * 1024
    ? `${(v / (1024 * 1024)).toFixed(1)}MiB/s`
    : v >= 1024
      ? `${(v / 1024).toFixed(1)}KiB/s`
      : `${Math.round(v)}B/s`;

/** Samples grouped by their label set: key → labels and metric → value. */
function group(samples: readonly MetricSample[], keys: readonly string[]) {
  const rows = new Map<string, { labels: Record<string, string>; values: Record<string, number> }>();
  for (const s of samples) {
    const labels = Object.fromEntries(s.labels.map((l) => [l.key, l.value]));
    const key = keys.map((k) => labels[k] ?? "").join("\u0000");
    const row = rows.get(key) ?? { labels, values: {} };
    row.values[s.metric] = s.value;
    rows.set(key, row);
  }
  return [...rows.values()];
}

export const topCommand: Command = {
  name: "top",
  summary: "show edges, packages and links with their use and service level, like kubectl top",
  help: `Usage: camino top [edges|packages|links] [--intent NAME] [-o table|json|yaml] [client flags]

Shows the newest monitoring snapshot (QueryMonitoring, scope monitoring:read): per edge its allocatable,
requested, used and free CPU and memory; per deployed package its CPU and memory use against its limits and its
available/desired replicas; per link of a chain its request rate, error rate and p50/p99 latency (TCP links:
connections opened and bytes per second), from the mesh's metrics. Per-edge, per-package and per-link figures
need the scope monitoring:detail; without it the agent answers domain totals only, and top shows those
(\`top links\` is then refused).

  edges | packages | links   what to show (default all three)
  --intent NAME         packages of one intent only (needs monitoring:detail)
${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, intent: { type: "string" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    const what = positionals[0] ?? "all";
    if (!["all", "edges", "packages", "links"].includes(what) || positionals.length > 1)
      throw new UsageError(
        `camino top takes "edges", "packages" or "links", not ${JSON.stringify(positionals.join(" "))}`,
      );
    const scope =
      what === "edges"
        ? MetricScope.INFRASTRUCTURE
        : what === "packages"
          ? MetricScope.WORKLOAD
          : what === "links"
            ? MetricScope.LINK
            : MetricScope.UNSPECIFIED;
    const conn = connect(values, io.env);
    const { samples } = await conn
      .client(DomainManager)
      .queryMonitoring({ scope, intent: (values.intent as string | undefined) ?? "" }, conn.callOptions);
    const detailed = samples.some((s) => s.labels.length > 0);
    if (!detailed) {
      const totals = Object.fromEntries(samples.map((s) => [s.metric, s.value]));
      if (format !== "table") {
        io.stdout.write(structured({ domain: totals }, format));
        return EXIT.OK;
      }
      const v = (k: string) => totals[`camino_domain_${k}`];
      io.stdout.write(
        table(
          [
            "DOMAIN TOTALS",
            "CPU USED",
            "CPU FREE",
            "CPU ALLOCATABLE",
            "MEMORY USED",
            "MEMORY FREE",
            "EDGES",
            "WORKLOADS",
          ],
          [
            [
              "all edges",
              cpu(v("used_cpu_millicores")),
              cpu(v("free_cpu_millicores")),
              cpu(v("allocatable_cpu_millicores")),
              mem(v("used_memory_bytes")),
              mem(v("free_memory_bytes")),
              v("edges") === undefined ? "-" : `${v("edges_reachable")}/${v("edges")}`,
              v("workloads") === undefined ? "-" : String(v("workloads")),
            ],
          ],
        ),
      );
      io.stderr.write("per-edge and per-package figures need the scope monitoring:detail\n");
      return EXIT.OK;
    }
    const edges = group(
      samples.filter((s) => s.metric.startsWith("camino_edge_")),
      ["edge"],
    ).map((r) => ({
      edge: r.labels["edge"] ?? "",
      reachable: r.values["camino_edge_reachable"] === 1,
      cpuUsedMillis: r.values["camino_edge_used_cpu_millicores"],
      cpuRequestedMillis: r.values["camino_edge_requested_cpu_millicores"],
      cpuAllocatableMillis: r.values["camino_edge_allocatable_cpu_millicores"],
      cpuFreeMillis: r.values["camino_edge_free_cpu_millicores"],
      memoryUsedBytes: r.values["camino_edge_used_memory_bytes"],
      memoryRequestedBytes: r.values["camino_edge_requested_memory_bytes"],
      memoryAllocatableBytes: r.values["camino_edge_allocatable_memory_bytes"],
      memoryFreeBytes: r.values["camino_edge_free_memory_bytes"],
    }));
    const packages = group(
      samples.filter((s) => s.metric.startsWith("camino_workload_")),
      ["intent", "package", "edge"],
    ).map((r) => ({
      intent: r.labels["intent"] ?? "",
      package: r.labels["package"] ?? "",
      edge: r.labels["edge"] ?? "",
      cpuUsedMillis: r.values["camino_workload_used_cpu_millicores"],
      cpuLimitMillis: r.values["camino_workload_limit_cpu_millicores"],
      memoryUsedBytes: r.values["camino_workload_used_memory_bytes"],
      memoryLimitBytes: r.values["camino_workload_limit_memory_bytes"],
      replicasAvailable: r.values["camino_workload_replicas_available"],
      replicasDesired: r.values["camino_workload_replicas_desired"],
    }));
    const links = group(
      samples.filter((s) => s.metric.startsWith("camino_link_")),
      ["intent", "link"],
    ).map((r) => ({
      intent: r.labels["intent"] ?? "",
      link: r.labels["link"] ?? "",
      from: r.labels["from"] ?? "",
      to: r.labels["to"] ?? "",
      requestRate: r.values["camino_link_request_rate"],
      errorRate: r.values["camino_link_error_rate"],
      p50Ms: r.values["camino_link_latency_p50_ms"],
      p99Ms: r.values["camino_link_latency_p99_ms"],
      tcpConnectionsOpenedRate: r.values["camino_link_tcp_connections_opened_rate"],
      tcpBytesSentRate: r.values["camino_link_tcp_sent_bytes_rate"],
      tcpBytesReceivedRate: r.values["camino_link_tcp_received_bytes_rate"],
    }));
    if (format !== "table") {
      io.stdout.write(structured({ edges, packages, links }, format));
      return EXIT.OK;
    }
    const parts: string[] = [];
    if (what === "all" || what === "edges")
      parts.push(
        table(
          ["EDGE", "CPU USED", "CPU%", "CPU REQUESTED", "CPU FREE", "MEMORY USED", "MEMORY%", "MEMORY FREE"],
          edges.map((e) =>
            e.reachable
              ? [
                  e.edge,
                  cpu(e.cpuUsedMillis),
                  pct(e.cpuUsedMillis, e.cpuAllocatableMillis),
                  cpu(e.cpuRequestedMillis),
                  cpu(e.cpuFreeMillis),
                  mem(e.memoryUsedBytes),
                  pct(e.memoryUsedBytes, e.memoryAllocatableBytes),
                  mem(e.memoryFreeBytes),
                ]
              : [e.edge, "unreachable", "-", "-", "-", "-", "-", "-"],
          ),
        ),
      );
    if (what === "all" || what === "packages")
      parts.push(
        table(
          ["INTENT", "PACKAGE", "EDGE", "CPU USED", "CPU LIMIT", "MEMORY USED", "MEMORY LIMIT", "REPLICAS"],
          packages.map((p) => [
            p.intent,
            p.package,
            p.edge,
            cpu(p.cpuUsedMillis),
            p.cpuLimitMillis ? cpu(p.cpuLimitMillis) : "-",
            mem(p.memoryUsedBytes),
            p.memoryLimitBytes ? mem(p.memoryLimitBytes) : "-",
            `${p.replicasAvailable ?? 0}/${p.replicasDesired ?? 0}`,
          ]),
        ),
      );
    if ((what === "all" && links.length > 0) || what === "links")
      parts.push(
        table(
          ["INTENT", "LINK", "FROM", "TO", "REQ/S", "ERRORS", "P50", "P99", "TCP CONN/S", "TCP OUT/IN"],
          links.map((l) => [
            l.intent,
            l.link,
            l.from,
            l.to,
            rate(l.requestRate),
            l.requestRate ? `${((l.errorRate ?? 0) * 100).toFixed(1)}%` : "-",
            ms(l.p50Ms),
            ms(l.p99Ms),
            rate(l.tcpConnectionsOpenedRate),
            l.tcpBytesSentRate === undefined
              ? "-"
              : `${bytes(l.tcpBytesSentRate)}/${bytes(l.tcpBytesReceivedRate ?? 0)}`,
          ]),
        ),
      );
    io.stdout.write(parts.join("\n"));
    return EXIT.OK;
  },
};
