/**
 * A monitoring snapshot of 100 edges × 50 workloads (2 pods each), through a real Prometheus and by direct
 * scrape: the snapshot's latency and the CPU this process (the agent's side: requests, parsing, the join) spends
 * per snapshot. The 100 edges are ONE SYNTHETIC METRICS SERVER in a child process: per edge a kube-state-metrics
 * and a cAdvisor endpoint (`/edge-<i>/metrics`, `/edge-<i>/metrics/cadvisor`) rendered by the emulator's own
 * exposition code from a synthetic store of 2 nodes and 50 Deployments, so the agent's CPU is not mixed with the
 * edges'. Prometheus scrapes the 200 targets every 5 s with an `edge` label per edge.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createPrometheusClient } from "../agent/monitoring/prometheus-client.js";
import { createPrometheusSource } from "../agent/monitoring/prometheus-source.js";
import { createScrapeSource } from "../agent/monitoring/scrape-source.js";
import type { MetricsSource } from "../agent/monitoring/snapshot.js";
import { defaultUsage, renderCadvisor, renderKubeStateMetrics } from "../emulator/metrics/exposition.js";
import { ObjectStore } from "../emulator/store.js";
import { startPrometheus, until } from "../test/helpers/prometheus-server.js";
import { summarise, type Summary } from "./stats.js";
import { QUERIES } from "../agent/monitoring/prometheus-source.js";

const EDGES = 100;
const WORKLOADS = 50;
const PODS = 2;

export interface MonitoringSnapshotFigures {
  edges: number;
  workloadsPerEdge: number;
  /** How the edges are served. */
  edgesServedBy: string;
  prometheus: { latency: Summary; cpuMsPerSnapshot: number; series: number };
  scrape: { latency: Summary; cpuMsPerSnapshot: number; bytesPerSnapshot: number };
}

/** One edge's store: 2 uneven nodes, 50 Deployments of 2 Running pods, CAMINO-labelled. */
function edgeStore(e: number, started: string): ObjectStore {
  const store = new ObjectStore();
  for (const [n, cpu, mem] of [
    ["node-1", "16", "64Gi"],
    ["node-2", "8", "32Gi"],
  ] as const)
    store.put("/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n },
      status: {
        allocatable: { cpu, memory: mem, pods: "110" },
        capacity: { cpu, memory: mem, pods: "110" },
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
  for (let w = 0; w < WORKLOADS; w++) {
    const labels = {
      "camino.io/intent": `intent-${w % 10}`,
      "camino.io/package": `pkg-${w}`,
      "camino.io/domain": "bench",
      "camino.io/edge": `edge-${e}`,
    };
    store.put("apps/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `pkg-${w}`, namespace: "chain", labels, generation: 1 },
      spec: { replicas: PODS },
      status: { replicas: PODS, availableReplicas: PODS, readyReplicas: PODS, updatedReplicas: PODS },
    });
    for (let p = 0; p < PODS; p++)
      store.put("/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `pkg-${w}-${p}`, namespace: "chain", uid: `uid-${e}-${w}-${p}`, labels },
        spec: {
          nodeName: p === 0 ? "node-1" : "node-2",
          containers: [
            {
              name: "main",
              image: "x",
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            },
          ],
        },
        status: {
          phase: "Running",
          startTime: started,
          conditions: [{ type: "Ready", status: "True" }],
          containerStatuses: [{ name: "main", ready: true, state: { running: { startedAt: started } } }],
        },
      });
  }
  return store;
}

/** The synthetic metrics server (run as `node dist/bench/monitoring.js --serve`): prints its port. */
async function serve(): Promise<void> {
  const started = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const stores = Array.from({ length: EDGES }, (_, e) => edgeStore(e, started));
  const ksm = stores.map((s) => renderKubeStateMetrics(s));
  const usage = defaultUsage();
  const server = createServer((req, res) => {
    const m = /^\/edge-(\d+)\/metrics(\/cadvisor)?$/.exec(req.url ?? "");
    const store = m ? stores[Number(m[1])] : undefined;
    if (!m || !store) return void res.writeHead(404).end();
    const body = m[2] ? renderCadvisor(store, usage, Date.now()) : (ksm[Number(m[1])] as string);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  console.log(String((server.address() as AddressInfo).port));
}

async function measureSource(source: MetricsSource, runs: number): Promise<{ latency: Summary; cpuMs: number }> {
  await source.snapshot(AbortSignal.timeout(120_000)); // warm-up (and the scrape source's first counters)
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const s = await source.snapshot(AbortSignal.timeout(120_000));
    latencies.push(performance.now() - t);
    if (s.workloads.length !== EDGES * WORKLOADS) throw new Error(`${source.name}: ${s.workloads.length} workloads`);
  }
  const used = process.cpuUsage(cpu);
  return { latency: summarise(latencies, performance.now() - wall), cpuMs: (used.user + used.system) / 1000 / runs };
}

export async function runMonitoringSnapshotBenchmark(quick: boolean): Promise<MonitoringSnapshotFigures> {
  const runs = quick ? 3 : 10;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--serve"], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (l) => resolve(Number(l)));
    child.once("exit", () => reject(new Error("the synthetic metrics server exited")));
  });
  const base = `http://127.0.0.1:${port}`;
  const prometheus = await startPrometheus(
    ["metrics", "metrics/cadvisor"]
      .map(
        (path, j) =>
          `  - job_name: ${j === 0 ? "kube-state-metrics" : "cadvisor"}\n    honor_labels: true\n    static_configs:\n` +
          Array.from(
            { length: EDGES },
            (_, e) =>
              `      - { targets: ["127.0.0.1:${port}"], labels: { edge: edge-${e}, __metrics_path__: /edge-${e}/${path} } }`,
          ).join("\n"),
      )
      .join("\n")
      .concat("\n"),
    "5s",
  );
  try {
    await prometheus.targetsUp(2 * EDGES, 120_000);
    const client = createPrometheusClient({ url: prometheus.url, timeoutMs: 60_000 });
    // Rates need two scrapes of every cAdvisor target within the window.
    await until(
      "two scrapes of every target",
      async () => {
        const [r] = await client.query(
          "count(count_over_time(container_cpu_usage_seconds_total[20s]) >= 2)",
          AbortSignal.timeout(30_000),
        );
        return r?.value === EDGES * WORKLOADS * PODS ? true : undefined;
      },
      120_000,
    );
    const [series] = await client.query("count({__name__=~'.+'})", AbortSignal.timeout(30_000));
    const edges = () => Array.from({ length: EDGES }, (_, e) => `edge-${e}`);
    const prom = await measureSource(
      createPrometheusSource({ domainId: "bench", client, edges, rateWindow: "20s" }),
      runs,
    );
    let bytes = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const text = await res.text();
      bytes += text.length;
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const targets = edges().map((edge) => ({
      edge,
      kubeStateMetrics: `${base}/${edge}/metrics`,
      cadvisor: `${base}/${edge}/metrics/cadvisor`,
    }));
    const scrape = await measureSource(
      createScrapeSource({
        domainId: "bench",
        targets: () => targets,
        minRateWindowMs: 0,
        fetch: counting,
        timeoutMs: 60_000,
      }),
      runs,
    );
    return {
      edges: EDGES,
      workloadsPerEdge: WORKLOADS,
      edgesServedBy:
        "one synthetic metrics server (a child process) serving 100 edges' kube-state-metrics and cAdvisor",
      prometheus: { latency: prom.latency, cpuMsPerSnapshot: prom.cpuMs, series: series?.value ?? 0 },
      scrape: { latency: scrape.latency, cpuMsPerSnapshot: scrape.cpuMs, bytesPerSnapshot: bytes / (runs + 1) },
    };
  } finally {
    await prometheus.close();
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
  }
}

export function formatMonitoringSnapshotFigures(f: MonitoringSnapshotFigures): string {
  const ms = (n: number) => n.toFixed(1);
  return [
    `Monitoring snapshot, ${f.edges} edges × ${f.workloadsPerEdge} workloads; edges: ${f.edgesServedBy}`,
    "| source | p50 latency | p99 latency | agent CPU per snapshot | read |",
    "|---|---|---|---|---|",
    `| Prometheus (${Object.keys(QUERIES).length} PromQL queries, split by edge) | ${ms(f.prometheus.latency.p50Ms)} ms | ${ms(f.prometheus.latency.p99Ms)} ms | ${ms(f.prometheus.cpuMsPerSnapshot)} ms | ${f.prometheus.series} series in the TSDB |`,
    `| direct scrape (200 endpoints) | ${ms(f.scrape.latency.p50Ms)} ms | ${ms(f.scrape.latency.p99Ms)} ms | ${ms(f.scrape.cpuMsPerSnapshot)} ms | ${(f.scrape.bytesPerSnapshot / 1e6).toFixed(1)} MB of exposition text |`,
  ].join("\n");
}

// The synthetic metrics server, or the benchmark alone: node dist/bench/monitoring.js [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const run = process.argv.includes("--serve")
    ? serve()
    : runMonitoringSnapshotBenchmark(process.argv.includes("--quick")).then((f) =>
        console.log(formatMonitoringSnapshotFigures(f)),
      );
  run.catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
