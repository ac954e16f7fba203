/** The `monitoring` section of the agent config: where metrics come from, how often, and who sees what. */
import { resolve } from "node:path";
import { dns1123LabelProblem } from "../../common/names.js";
import { joinPath, type Checker } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";
import { type AlertsConfig, parseAlertsSection } from "./alerts-section.js";
import {
  type InfluxConfig,
  type LabelCacheConfig,
  parseInfluxSection,
  parseLabelCacheSection,
} from "./lake-section.js";

/** One edge's metrics endpoints for the direct scrape. */
export interface ScrapeEndpoints {
  /** The edge's name, as in the `edges` section. */
  edge: string;
  /** kube-state-metrics' URL (`…/metrics`). */
  kubeStateMetrics: string;
  /** The kubelet's cAdvisor URL (`…/metrics/cadvisor`). */
  cadvisor: string;
  /**
   * Where the edge's sidecars' Istio standard metrics are read (`…/metrics/istio` on an emulated edge; a
   * federating endpoint over the sidecars on a real one). Without it the edge's links have no figures.
   */
  istio?: string;
  /** A file holding a bearer token sent to all of them (absolute). */
  bearerTokenFile?: string;
}

/** Where admission's free capacity comes from. */
export type CapacitySource = "kubernetes" | "monitoring" | "stricter";

/** The `monitoring` section, parsed, every default filled in. */
export interface MonitoringConfig {
  /** "scrape" (the edges' endpoints, the default) or "prometheus" (a Prometheus-compatible API, e.g. Thanos). */
  source: "scrape" | "prometheus";
  /** How often a snapshot is taken, in ms. Default 15000 (`interval: 15s`). */
  intervalMs: number;
  /** Per-request timeout, in ms. Default 5000 (`timeout: 5s`). */
  timeoutMs: number;
  /** The Prometheus-compatible API (`source: prometheus`). */
  prometheus?: {
    url: string;
    /** The target label naming the edge. Default "edge". */
    edgeLabel: string;
    /** The `rate()` window for CPU counters, a PromQL duration. Default "1m". */
    rateWindow: string;
    /** Bearer token file, or basic auth with a password file (absolute paths); at most one. */
    bearerTokenFile?: string;
    basicAuth?: { username: string; passwordFile: string };
  };
  /** The edges' endpoints (`source: scrape`). Edges without an entry are not monitored. */
  scrape: ScrapeEndpoints[];
  admission: {
    /** Default "kubernetes" (the edges' API, as before monitoring). */
    capacity: CapacitySource;
    /** When monitoring is asked for and cannot answer: use the Kubernetes figures ("kubernetes", default) or refuse ("refuse"). */
    fallback: "kubernetes" | "refuse";
    /** A snapshot older than this counts as the source being down, in ms. Default 60000 (`maxAge: 60s`). */
    maxAgeMs: number;
  };
  policy: {
    /** Northbound callers holding `monitoring:detail` get per-edge and per-package figures ("scoped", default), or nobody does ("aggregates"). */
    northbound: "scoped" | "aggregates";
    /** Peers get domain aggregates ("aggregates", default) or nothing ("none"). */
    peers: "aggregates" | "none";
  };
  /** Alert rules (agent/config/alerts-section.ts). */
  alerts: AlertsConfig;
  /** The label cache's TTL and Redis deadlines (Redis when REDIS_URL is set). */
  labelCache: LabelCacheConfig;
  /** Export of snapshots to InfluxDB; absent: no export. */
  influxdb?: InfluxConfig;
}

/** Defaults of the `monitoring` section, in the units the file uses. */
export const MONITORING_DEFAULTS = {
  source: "scrape",
  interval: "15s",
  timeout: "5s",
  edgeLabel: "edge",
  rateWindow: "1m",
  admission: { capacity: "kubernetes", fallback: "kubernetes", maxAge: "60s" },
  policy: { northbound: "scoped", peers: "aggregates" },
} as const;

const PROMQL_DURATION = /^[0-9]+(ms|s|m|h|d)$/;

/** Checks the `monitoring` section; problems are added to `c` with their paths. */
export function parseMonitoringSection(c: Checker, v: unknown, base: string): MonitoringConfig {
  const d = MONITORING_DEFAULTS;
  const o =
    c.object(v, "monitoring", [
      "source",
      "interval",
      "timeout",
      "prometheus",
      "scrape",
      "admission",
      "policy",
      "alerts",
      "labelCache",
      "influxdb",
    ]) ?? {};
  const file = (raw: unknown, path: string) => {
    const f = c.string(raw, path, { max: 4096 });
    return f ? resolve(base, f) : undefined;
  };
  const source = c.oneOf(o["source"], "monitoring.source", ["scrape", "prometheus"] as const) ?? d.source;
  const config: MonitoringConfig = {
    source,
    intervalMs: (c.duration(o["interval"], "monitoring.interval", 3_600_000) ?? { ms: 15_000 }).ms,
    timeoutMs: (c.duration(o["timeout"], "monitoring.timeout", 600_000) ?? { ms: 5_000 }).ms,
    scrape: [],
    admission: { capacity: d.admission.capacity, fallback: d.admission.fallback, maxAgeMs: 60_000 },
    policy: { northbound: d.policy.northbound, peers: d.policy.peers },
    alerts: parseAlertsSection(c, o["alerts"]),
    labelCache: parseLabelCacheSection(c, o["labelCache"]),
  };
  const influxdb = parseInfluxSection(c, o["influxdb"], base);
  if (influxdb) config.influxdb = influxdb;
  const p = c.object(o["prometheus"], "monitoring.prometheus", [
    "url",
    "edgeLabel",
    "rateWindow",
    "bearerTokenFile",
    "basicAuth",
  ]);
  if (p) {
    const url = c.string(p["url"], "monitoring.prometheus.url", { required: true, max: 2048, check: httpUrlProblem });
    const edgeLabel =
      c.string(p["edgeLabel"], "monitoring.prometheus.edgeLabel", {
        max: 128,
        check: (s) => (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s) ? undefined : "is not a Prometheus label name"),
      }) ?? d.edgeLabel;
    const rateWindow =
      c.string(p["rateWindow"], "monitoring.prometheus.rateWindow", {
        max: 16,
        check: (s) => (PROMQL_DURATION.test(s) ? undefined : 'must be a PromQL duration such as "1m"'),
      }) ?? d.rateWindow;
    const bearerTokenFile = file(p["bearerTokenFile"], "monitoring.prometheus.bearerTokenFile");
    const basic = c.object(p["basicAuth"], "monitoring.prometheus.basicAuth", ["username", "passwordFile"]);
    if (bearerTokenFile && basic) c.add("monitoring.prometheus", "give bearerTokenFile or basicAuth, not both");
    if (url) {
      config.prometheus = { url, edgeLabel, rateWindow };
      if (bearerTokenFile) config.prometheus.bearerTokenFile = bearerTokenFile;
      if (basic) {
        const username = c.string(basic["username"], "monitoring.prometheus.basicAuth.username", { required: true });
        const passwordFile = file(basic["passwordFile"], "monitoring.prometheus.basicAuth.passwordFile");
        if (!passwordFile) c.add("monitoring.prometheus.basicAuth.passwordFile", "is required");
        if (username && passwordFile) config.prometheus.basicAuth = { username, passwordFile };
      }
    }
  } else if (source === "prometheus") c.add("monitoring.prometheus", "is required with source: prometheus");
  const scrape = c.object(o["scrape"], "monitoring.scrape", ["edges"]);
  const seen = new Set<string>();
  c.list(scrape?.["edges"], "monitoring.scrape.edges", 256).forEach((raw, i) => {
    const path = `monitoring.scrape.edges[${i}]`;
    const e = c.object(raw, path, ["edge", "kubeStateMetrics", "cadvisor", "istio", "bearerTokenFile"]);
    if (!e) return;
    const edge = c.string(e["edge"], joinPath(path, "edge"), { required: true, max: 63, check: dns1123LabelProblem });
    if (edge && seen.has(edge)) c.add(joinPath(path, "edge"), `${JSON.stringify(edge)} is listed twice`);
    const opts = { required: true, max: 2048, check: httpUrlProblem };
    const ksm = c.string(e["kubeStateMetrics"], joinPath(path, "kubeStateMetrics"), opts);
    const cadvisor = c.string(e["cadvisor"], joinPath(path, "cadvisor"), opts);
    const istio =
      e["istio"] === undefined
        ? undefined
        : c.string(e["istio"], joinPath(path, "istio"), { max: 2048, check: httpUrlProblem });
    const token = file(e["bearerTokenFile"], joinPath(path, "bearerTokenFile"));
    if (!edge || !ksm || !cadvisor) return;
    seen.add(edge);
    config.scrape.push({
      edge,
      kubeStateMetrics: ksm,
      cadvisor,
      ...(istio ? { istio } : {}),
      ...(token ? { bearerTokenFile: token } : {}),
    });
  });
  const a = c.object(o["admission"], "monitoring.admission", ["capacity", "fallback", "maxAge"]);
  if (a) {
    config.admission.capacity =
      c.oneOf(a["capacity"], "monitoring.admission.capacity", ["kubernetes", "monitoring", "stricter"] as const) ??
      d.admission.capacity;
    config.admission.fallback =
      c.oneOf(a["fallback"], "monitoring.admission.fallback", ["kubernetes", "refuse"] as const) ??
      d.admission.fallback;
    config.admission.maxAgeMs = (
      c.duration(a["maxAge"], "monitoring.admission.maxAge", 86_400_000) ?? { ms: 60_000 }
    ).ms;
  }
  const pol = c.object(o["policy"], "monitoring.policy", ["northbound", "peers"]);
  if (pol) {
    config.policy.northbound =
      c.oneOf(pol["northbound"], "monitoring.policy.northbound", ["scoped", "aggregates"] as const) ??
      d.policy.northbound;
    config.policy.peers =
      c.oneOf(pol["peers"], "monitoring.policy.peers", ["aggregates", "none"] as const) ?? d.policy.peers;
  }
  return config;
}
