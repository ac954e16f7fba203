/**
 * The embedded metrics source: each edge's kube-state-metrics and cAdvisor endpoints, scraped directly (no
 * Prometheus), parsed as the text exposition format. CPU use is a rate of a counter, so it takes two readings:
 * the previous cAdvisor reading of each edge is kept, and an edge read for the first time (or again within
 * `minRateWindowMs`) is read a second time after a wait, so every rate is over a window at least that long.
 */
import { setTimeout as delay } from "node:timers/promises";
import { CaminoError } from "../../common/errors.js";
import { emptyReading, figuresOf, newPod, unreachableEdge, type EdgeReading } from "./edge-figures.js";
import { parseExposition, parseSamples, type Exposition, type RawSample } from "./exposition-parser.js";
import type { LabelCache } from "./label-cache.js";
import { joinLabels } from "./label-join.js";
import { emptyLinkRates, type LinkJoin, type LinkRates, linkFiguresOf } from "./link-figures.js";
import type { EdgeFigures, MetricsSource, MonitoringSnapshot, WorkloadFigures } from "./snapshot.js";

/** Where one edge's metrics are scraped. */
export interface ScrapeTarget {
  edge: string;
  /** kube-state-metrics' `/metrics` URL. */
  kubeStateMetrics: string;
  /** The kubelet's cAdvisor URL (`/metrics/cadvisor`), or an API server's node proxy to it. */
  cadvisor: string;
  /** Where the edge's sidecars' Istio standard metrics are read (a federating endpoint); none when omitted. */
  istio?: string;
  /** Sent as `Authorization: Bearer …` when given. */
  bearerToken?: string;
}

export interface ScrapeSourceOptions {
  /** This domain's id (the domain of workloads whose pods carry no `camino.io/domain`). */
  domainId: string;
  /** The edges' endpoints (read on every snapshot, so a reload can change them). */
  targets: () => readonly ScrapeTarget[];
  /** Per-request timeout in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * The shortest time between the two cAdvisor readings a CPU rate is computed from, in ms: an edge read for the
   * first time, or again sooner than this, is read a second time after waiting the rest. Default 1000.
   */
  minRateWindowMs?: number;
  /** Edges read at once. Default 16. */
  concurrency?: number;
  /** Clock, in ms. Default Date.now. */
  now?: () => number;
  /** HTTP client. Default global fetch. */
  fetch?: typeof fetch;
  /** The label cache: pods read without their labels get them from it (agent/monitoring/label-join.ts). */
  labels?: LabelCache;
  /** A link's CAMINO name from the intent's links (agent/monitoring/link-figures.ts). */
  linkName?: LinkJoin["linkName"];
}

/** Counter readings of one edge: container id → cumulative CPU seconds, and when they were read. */
interface CpuReading {
  atMs: number;
  counters: Map<string, { pod: string; seconds: number }>;
}

const podKey = (l: Readonly<Record<string, string>>): string => `${l["namespace"] ?? ""}/${l["pod"] ?? ""}`;

function cpuReadingOf(cadvisor: Exposition, atMs: number): CpuReading {
  const counters = new Map<string, { pod: string; seconds: number }>();
  for (const s of cadvisor.get("container_cpu_usage_seconds_total") ?? []) {
    if (!s.labels["container"]) continue;
    const id = `${podKey(s.labels)}/${s.labels["container"]}/${s.labels["id"] ?? ""}`;
    counters.set(id, { pod: podKey(s.labels), seconds: s.value });
  }
  return { atMs, counters };
}

/** Per-pod CPU rate in cores between two readings; a counter that went down was reset (Prometheus' rate()). */
export function cpuRates(prev: CpuReading, next: CpuReading): Map<string, number> {
  const out = new Map<string, number>();
  const seconds = (next.atMs - prev.atMs) / 1000;
  if (seconds <= 0) return out;
  for (const [id, c] of next.counters) {
    const before = prev.counters.get(id);
    if (!before) continue;
    const increase = c.seconds >= before.seconds ? c.seconds - before.seconds : c.seconds;
    out.set(c.pod, (out.get(c.pod) ?? 0) + increase / seconds);
  }
  return out;
}

/** One reading of an edge's Istio counters: series (name and labels) → value, and when it was read. */
interface MeshReading {
  atMs: number;
  series: Map<string, RawSample>;
}

const MESH_FAMILIES: Record<string, keyof LinkRates> = {
  istio_requests_total: "requests",
  istio_request_duration_milliseconds_bucket: "buckets",
  istio_tcp_sent_bytes_total: "tcpSent",
  istio_tcp_received_bytes_total: "tcpReceived",
  istio_tcp_connections_opened_total: "tcpOpened",
};

function meshReadingOf(samples: Map<string, RawSample[]>, atMs: number): MeshReading {
  const series = new Map<string, RawSample>();
  for (const name of Object.keys(MESH_FAMILIES))
    for (const s of samples.get(name) ?? []) {
      const labels = Object.keys(s.labels)
        .sort()
        .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
        .join(",");
      series.set(`${name}{${labels}}`, s);
    }
  return { atMs, series };
}

/** Per-second rates of the Istio counters between two readings (a counter that went down was reset). */
export function meshRates(prev: MeshReading, next: MeshReading, into: LinkRates = emptyLinkRates()): LinkRates {
  const seconds = (next.atMs - prev.atMs) / 1000;
  if (seconds <= 0) return into;
  for (const [id, s] of next.series) {
    const before = prev.series.get(id);
    if (!before) continue;
    const increase = s.value >= before.value ? s.value - before.value : s.value;
    into[MESH_FAMILIES[s.name] as keyof LinkRates].push({ labels: s.labels, value: increase / seconds });
  }
  return into;
}

/** `namespace/deployment` → its `camino.io/package`, from kube-state-metrics. */
function packagesOf(ksm: Exposition): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of ksm.get("kube_deployment_labels") ?? []) {
    const pkg = s.labels["label_camino_io_package"];
    if (pkg) out.set(`${s.labels["namespace"] ?? ""}/${s.labels["deployment"] ?? ""}`, pkg);
  }
  return out;
}

const one = (e: Exposition, name: string) => e.get(name) ?? [];

/** kube-state-metrics and per-pod usage → an {@link EdgeReading}. */
export function readingOf(ksm: Exposition, cadvisor: Exposition, cpu: Map<string, number>): EdgeReading {
  const r = emptyReading();
  const ready = new Set(
    one(ksm, "kube_node_status_condition")
      .filter((s) => s.labels["condition"] === "Ready" && s.labels["status"] === "true" && s.value === 1)
      .map((s) => s.labels["node"] ?? ""),
  );
  for (const s of one(ksm, "kube_node_status_allocatable")) {
    const name = s.labels["node"] ?? "";
    const n = r.nodes.get(name) ?? { ready: ready.has(name), cpuCores: 0, memoryBytes: 0 };
    if (s.labels["resource"] === "cpu") n.cpuCores = s.value;
    if (s.labels["resource"] === "memory") n.memoryBytes = s.value;
    r.nodes.set(name, n);
  }
  const pod = (key: string) => {
    let p = r.pods.get(key);
    if (!p) {
      p = newPod();
      r.pods.set(key, p);
    }
    return p;
  };
  for (const s of one(ksm, "kube_pod_info")) pod(podKey(s.labels)).node = s.labels["node"] ?? "";
  for (const s of one(ksm, "kube_pod_status_phase"))
    if (s.value === 1) pod(podKey(s.labels)).phase = s.labels["phase"] ?? "";
  for (const s of one(ksm, "kube_pod_status_ready"))
    if (s.labels["condition"] === "true" && s.value === 1) pod(podKey(s.labels)).ready = true;
  for (const s of one(ksm, "kube_pod_labels")) {
    const p = pod(podKey(s.labels));
    p.intent = s.labels["label_camino_io_intent"] ?? "";
    p.package = s.labels["label_camino_io_package"] ?? "";
    p.domain = s.labels["label_camino_io_domain"] ?? "";
  }
  for (const [family, field] of [
    ["kube_pod_container_resource_requests", "requests"],
    ["kube_pod_container_resource_limits", "limits"],
  ] as const) {
    for (const s of one(ksm, family)) {
      const p = pod(podKey(s.labels));
      if (s.labels["resource"] === "cpu") p[field].cpuCores += s.value;
      if (s.labels["resource"] === "memory") p[field].memoryBytes += s.value;
    }
  }
  const memory = new Map<string, number>();
  for (const s of one(cadvisor, "container_memory_working_set_bytes"))
    if (s.labels["container"]) memory.set(podKey(s.labels), (memory.get(podKey(s.labels)) ?? 0) + s.value);
  for (const key of new Set([...memory.keys(), ...cpu.keys()]))
    r.usage.set(key, { cpuCores: cpu.get(key) ?? 0, memoryBytes: memory.get(key) ?? 0 });
  const deploymentKey = (l: Readonly<Record<string, string>>) => `${l["namespace"] ?? ""}/${l["deployment"] ?? ""}`;
  const desired = new Map(one(ksm, "kube_deployment_spec_replicas").map((s) => [deploymentKey(s.labels), s.value]));
  const available = new Map(
    one(ksm, "kube_deployment_status_replicas_available").map((s) => [deploymentKey(s.labels), s.value]),
  );
  for (const s of one(ksm, "kube_deployment_labels")) {
    const intent = s.labels["label_camino_io_intent"];
    const pkg = s.labels["label_camino_io_package"];
    if (!intent || !pkg) continue;
    const key = deploymentKey(s.labels);
    r.deployments.push({
      intent,
      package: pkg,
      domain: s.labels["label_camino_io_domain"] ?? "",
      desired: desired.get(key) ?? 0,
      available: available.get(key) ?? 0,
    });
  }
  return r;
}

/** The direct-scrape {@link MetricsSource}. */
export function createScrapeSource(options: ScrapeSourceOptions): MetricsSource {
  const timeoutMs = options.timeoutMs ?? 5000;
  const minWindowMs = options.minRateWindowMs ?? 1000;
  const concurrency = options.concurrency ?? 16;
  const now = options.now ?? Date.now;
  const http = options.fetch ?? fetch;
  const previous = new Map<string, CpuReading>();

  const previousMesh = new Map<string, MeshReading>();

  async function fetchText(
    url: string,
    target: ScrapeTarget,
    signal: AbortSignal,
  ): Promise<{ text: string; atMs: number }> {
    const started = now();
    const res = await http(url, {
      headers: {
        accept: "text/plain;version=0.0.4",
        ...(target.bearerToken ? { authorization: `Bearer ${target.bearerToken}` } : {}),
      },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${new URL(url).pathname} answered HTTP ${res.status}`);
    // An endpoint renders its counters as the request arrives (on the edge's network, within a millisecond of
    // sending); the body may take much longer to arrive, so the send time is the better estimate of the reading.
    return { text, atMs: started };
  }

  async function get(
    url: string,
    target: ScrapeTarget,
    signal: AbortSignal,
  ): Promise<{ body: Exposition; atMs: number }> {
    const { text, atMs } = await fetchText(url, target, signal);
    return { body: parseExposition(text), atMs };
  }

  async function getMesh(url: string, target: ScrapeTarget, signal: AbortSignal): Promise<MeshReading> {
    const { text, atMs } = await fetchText(url, target, signal);
    return meshReadingOf(parseSamples(text), atMs);
  }

  async function readEdge(
    target: ScrapeTarget,
    signal: AbortSignal,
  ): Promise<{ reading: EdgeReading; links: LinkRates; packages: Map<string, string> }> {
    // One request at a time per edge: a counter's reading time is when its request was sent, which is only a good
    // estimate while the endpoint is not busy rendering another body for us.
    const ksm = await get(target.kubeStateMetrics, target, signal);
    let prev = previous.get(target.edge);
    let prevMesh = target.istio ? previousMesh.get(target.edge) : undefined;
    if (!prev) {
      const first = await get(target.cadvisor, target, signal);
      prev = cpuReadingOf(first.body, first.atMs);
    }
    if (target.istio && !prevMesh) prevMesh = await getMesh(target.istio, target, signal);
    // A rate over a short window is mostly timing noise: the two readings are at least the window apart.
    const wait = Math.min(prev.atMs, prevMesh?.atMs ?? Number.POSITIVE_INFINITY) + minWindowMs - now();
    if (wait > 0) await delay(wait, undefined, { signal });
    const cad = await get(target.cadvisor, target, signal);
    const reading = cpuReadingOf(cad.body, cad.atMs);
    previous.set(target.edge, reading);
    const links = emptyLinkRates();
    if (target.istio && prevMesh) {
      const mesh = await getMesh(target.istio, target, signal);
      previousMesh.set(target.edge, mesh);
      meshRates(prevMesh, mesh, links);
    }
    const r = readingOf(ksm.body, cad.body, cpuRates(prev, reading));
    if (options.labels) await joinLabels(target.edge, r, options.labels);
    return { reading: r, links, packages: packagesOf(ksm.body) };
  }

  return {
    name: "scrape",
    async snapshot(signal) {
      const targets = options.targets();
      const at = new Date(now());
      // A bounded fan-out: at most `concurrency` edges are read at once.
      const results: PromiseSettledResult<Awaited<ReturnType<typeof readEdge>>>[] = new Array(targets.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < targets.length; i = next++) {
          try {
            results[i] = { status: "fulfilled", value: await readEdge(targets[i] as ScrapeTarget, signal) };
          } catch (reason) {
            results[i] = { status: "rejected", reason };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
      if (signal.aborted) throw new CaminoError("ERR_CANCELLED", "the monitoring snapshot was cancelled");
      const edges: EdgeFigures[] = [];
      const workloads: WorkloadFigures[] = [];
      const rates = emptyLinkRates();
      const packages = new Map<string, string>();
      results.forEach((r, i) => {
        const edge = (targets[i] as ScrapeTarget).edge;
        if (r.status === "rejected") {
          previous.delete(edge);
          previousMesh.delete(edge);
          edges.push(unreachableEdge(edge));
          return;
        }
        for (const k of Object.keys(rates) as (keyof LinkRates)[]) for (const x of r.value.links[k]) rates[k].push(x);
        for (const [k, v] of r.value.packages) packages.set(k, v);
        const f = figuresOf(edge, options.domainId, r.value.reading);
        edges.push(f.edge);
        workloads.push(...f.workloads);
      });
      if (targets.length > 0 && edges.every((e) => !e.reachable)) {
        const first = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
        throw new CaminoError(
          "ERR_MONITORING_UNAVAILABLE",
          `no edge's metrics endpoints could be read (${targets[0]?.edge}: ${(first?.reason as Error | undefined)?.message ?? "unknown"})`,
          { data: { source: "scrape", edges: targets.length } },
        );
      }
      const links = linkFiguresOf(rates, {
        packageOf: (ns, workload) => packages.get(`${ns}/${workload}`),
        ...(options.linkName ? { linkName: options.linkName } : {}),
      });
      return { at, source: "scrape", edges, workloads, links } satisfies MonitoringSnapshot;
    },
  };
}
