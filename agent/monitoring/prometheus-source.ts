/**
 * The Prometheus-compatible source: one PromQL query per metric across every edge (Prometheus, or a Thanos
 * Querier in front of each edge's Prometheus), each answer split by the edge label the scrape config puts on
 * every edge's targets. The answers are reduced to the same {@link EdgeReading} as the direct scrape, so both
 * sources compute the figures with one function. CPU use is `rate()` over `rateWindow`: Prometheus keeps the
 * earlier readings.
 */
import { CaminoError } from "../../common/errors.js";
import { emptyReading, figuresOf, newPod, unreachableEdge, type EdgeReading } from "./edge-figures.js";
import type { PrometheusClient, VectorSample } from "./prometheus-client.js";
import type { LabelCache } from "./label-cache.js";
import { joinLabels } from "./label-join.js";
import { LINK_GROUP_LABELS, type LinkJoin, type LinkRates, linkFiguresOf } from "./link-figures.js";
import type { EdgeFigures, MetricsSource, WorkloadFigures } from "./snapshot.js";

export interface PrometheusSourceOptions {
  domainId: string;
  client: PrometheusClient;
  /** The domain's edges (read on every snapshot). */
  edges: () => readonly string[];
  /** The target label naming the edge. Default "edge". */
  edgeLabel?: string;
  /** The range of `rate()` for CPU counters, a PromQL duration. Default "1m". */
  rateWindow?: string;
  /** Clock. Default Date.now. */
  now?: () => number;
  /** The label cache: pods read without their labels get them from it (agent/monitoring/label-join.ts). */
  labels?: LabelCache;
  /** A link's CAMINO name from the intent's links (agent/monitoring/link-figures.ts). */
  linkName?: LinkJoin["linkName"];
}

/** The labels a link's series are summed by, the edge label first (`L` in the queries). */
const L = `E, ${LINK_GROUP_LABELS.join(", ")}`;

/** The queries, one per metric; `E` is the edge label, `W` the rate window. */
export const QUERIES = {
  up: "min by (E) (up{E!=''})",
  allocatable: "kube_node_status_allocatable{E!='',resource=~'cpu|memory'}",
  nodeReady: "kube_node_status_condition{E!='',condition='Ready',status='true'} == 1",
  podInfo: "kube_pod_info{E!=''}",
  podPhase: "kube_pod_status_phase{E!=''} == 1",
  podReady: "kube_pod_status_ready{E!='',condition='true'} == 1",
  podLabels: "kube_pod_labels{E!='',label_camino_io_intent!=''}",
  requests: "sum by (E, namespace, pod, resource) (kube_pod_container_resource_requests{E!='',resource=~'cpu|memory'})",
  limits: "sum by (E, namespace, pod, resource) (kube_pod_container_resource_limits{E!='',resource=~'cpu|memory'})",
  cpu: "sum by (E, namespace, pod) (rate(container_cpu_usage_seconds_total{E!='',container!=''}[W]))",
  memory: "sum by (E, namespace, pod) (container_memory_working_set_bytes{E!='',container!=''})",
  deploymentLabels: "kube_deployment_labels{E!='',label_camino_io_intent!=''}",
  desired: "kube_deployment_spec_replicas{E!=''}",
  available: "kube_deployment_status_replicas_available{E!=''}",
  linkRequests: `sum by (${L}, request_protocol, response_code, grpc_response_status) (rate(istio_requests_total{E!=''}[W]))`,
  linkP50: `histogram_quantile(0.5, sum by (le, ${L}) (rate(istio_request_duration_milliseconds_bucket{E!=''}[W])))`,
  linkP99: `histogram_quantile(0.99, sum by (le, ${L}) (rate(istio_request_duration_milliseconds_bucket{E!=''}[W])))`,
  linkTcpSent: `sum by (${L}) (rate(istio_tcp_sent_bytes_total{E!=''}[W]))`,
  linkTcpReceived: `sum by (${L}) (rate(istio_tcp_received_bytes_total{E!=''}[W]))`,
  linkTcpOpened: `sum by (${L}) (rate(istio_tcp_connections_opened_total{E!=''}[W]))`,
} as const;

type Answers = Record<keyof typeof QUERIES, VectorSample[]>;

const podKey = (m: Record<string, string>) => `${m["namespace"] ?? ""}/${m["pod"] ?? ""}`;
const deploymentKey = (m: Record<string, string>) => `${m["namespace"] ?? ""}/${m["deployment"] ?? ""}`;

/** The answers, split by edge, as one {@link EdgeReading} per edge. */
export function readingsOf(a: Answers, edgeLabel: string): Map<string, EdgeReading> {
  const readings = new Map<string, EdgeReading>();
  const of = (m: Record<string, string>) => {
    const edge = m[edgeLabel] ?? "";
    const r = readings.get(edge) ?? emptyReading();
    readings.set(edge, r);
    return r;
  };
  const pod = (m: Record<string, string>) => {
    const r = of(m);
    const key = podKey(m);
    const p = r.pods.get(key) ?? newPod();
    r.pods.set(key, p);
    return p;
  };
  const ready = new Set(a.nodeReady.map((s) => `${s.metric[edgeLabel]}/${s.metric["node"]}`));
  for (const s of a.allocatable) {
    const r = of(s.metric);
    const name = s.metric["node"] ?? "";
    const n = r.nodes.get(name) ?? { ready: ready.has(`${s.metric[edgeLabel]}/${name}`), cpuCores: 0, memoryBytes: 0 };
    if (s.metric["resource"] === "cpu") n.cpuCores = s.value;
    if (s.metric["resource"] === "memory") n.memoryBytes = s.value;
    r.nodes.set(name, n);
  }
  for (const s of a.podInfo) pod(s.metric).node = s.metric["node"] ?? "";
  for (const s of a.podPhase) pod(s.metric).phase = s.metric["phase"] ?? "";
  for (const s of a.podReady) pod(s.metric).ready = true;
  for (const s of a.podLabels) {
    const p = pod(s.metric);
    p.intent = s.metric["label_camino_io_intent"] ?? "";
    p.package = s.metric["label_camino_io_package"] ?? "";
    p.domain = s.metric["label_camino_io_domain"] ?? "";
  }
  for (const [answer, field] of [
    [a.requests, "requests"],
    [a.limits, "limits"],
  ] as const) {
    for (const s of answer) {
      const p = pod(s.metric);
      if (s.metric["resource"] === "cpu") p[field].cpuCores += s.value;
      if (s.metric["resource"] === "memory") p[field].memoryBytes += s.value;
    }
  }
  for (const [answer, field] of [
    [a.cpu, "cpuCores"],
    [a.memory, "memoryBytes"],
  ] as const) {
    for (const s of answer) {
      const r = of(s.metric);
      const u = r.usage.get(podKey(s.metric)) ?? { cpuCores: 0, memoryBytes: 0 };
      u[field] = s.value;
      r.usage.set(podKey(s.metric), u);
    }
  }
  const at = (answer: VectorSample[]) =>
    new Map(answer.map((s) => [`${s.metric[edgeLabel]}/${deploymentKey(s.metric)}`, s.value]));
  const desired = at(a.desired);
  const available = at(a.available);
  for (const s of a.deploymentLabels) {
    const key = `${s.metric[edgeLabel]}/${deploymentKey(s.metric)}`;
    of(s.metric).deployments.push({
      intent: s.metric["label_camino_io_intent"] ?? "",
      package: s.metric["label_camino_io_package"] ?? "",
      domain: s.metric["label_camino_io_domain"] ?? "",
      desired: desired.get(key) ?? 0,
      available: available.get(key) ?? 0,
    });
  }
  return readings;
}

/** The Prometheus / Thanos {@link MetricsSource}. */
export function createPrometheusSource(options: PrometheusSourceOptions): MetricsSource {
  const edgeLabel = options.edgeLabel ?? "edge";
  const window = options.rateWindow ?? "1m";
  const now = options.now ?? Date.now;
  const queries = Object.fromEntries(
    Object.entries(QUERIES).map(([k, q]) => [k, q.replace(/\bE\b/g, edgeLabel).replaceAll("[W]", `[${window}]`)]),
  ) as Record<keyof typeof QUERIES, string>;
  return {
    name: "prometheus",
    async snapshot(signal) {
      const at = new Date(now());
      const keys = Object.keys(queries) as (keyof typeof QUERIES)[];
      const answers = await Promise.all(keys.map((k) => options.client.query(queries[k], signal, at)));
      const a = Object.fromEntries(keys.map((k, i) => [k, answers[i] as VectorSample[]])) as Answers;
      const up = new Map(a.up.map((s) => [s.metric[edgeLabel] ?? "", s.value]));
      const readings = readingsOf(a, edgeLabel);
      const cache = options.labels;
      if (cache) await Promise.all([...readings].map(([edge, r]) => joinLabels(edge, r, cache)));
      const edges: EdgeFigures[] = [];
      const workloads: WorkloadFigures[] = [];
      for (const edge of options.edges()) {
        const r = readings.get(edge);
        if (up.get(edge) !== 1 || !r) {
          edges.push(unreachableEdge(edge));
          continue;
        }
        const f = figuresOf(edge, options.domainId, r);
        edges.push(f.edge);
        workloads.push(...f.workloads);
      }
      if (signal.aborted) throw new CaminoError("ERR_CANCELLED", "the monitoring snapshot was cancelled");
      const packages = new Map(
        a.deploymentLabels.map((s) => [
          `${s.metric["namespace"] ?? ""}/${s.metric["deployment"] ?? ""}`,
          s.metric["label_camino_io_package"] ?? "",
        ]),
      );
      const sample = (s: VectorSample) => ({ labels: s.metric, value: s.value });
      const rates: LinkRates = {
        requests: a.linkRequests.map(sample),
        buckets: [],
        p50: a.linkP50.map(sample),
        p99: a.linkP99.map(sample),
        tcpSent: a.linkTcpSent.map(sample),
        tcpReceived: a.linkTcpReceived.map(sample),
        tcpOpened: a.linkTcpOpened.map(sample),
      };
      const links = linkFiguresOf(rates, {
        packageOf: (ns, workload) => packages.get(`${ns}/${workload}`) || undefined,
        ...(options.linkName ? { linkName: options.linkName } : {}),
      });
      return { at, source: "prometheus", edges, workloads, links };
    },
  };
}
