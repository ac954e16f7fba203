/**
 * The Monitoring Service against a real Prometheus (Debian's package) scraping two emulated edges, and against
 * the edges' endpoints directly: the figures equal what the emulators' API reports (gauges exactly, CPU rates
 * within 2%); admission reads monitoring's free capacity and follows its fallback while Prometheus is down; a
 * real agent reports the outage in GetDomainInfo and its `camino.monitoring` health service (the agent itself
 * stays SERVING) and recovers when Prometheus is back; a caller without monitoring:detail gets aggregates only.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { federationClientAuth } from "../../federation/call-auth.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import type { PublicJwks } from "../../federation/trust.js";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeRegistry } from "../../agent/edge/edge-registry.js";
import { silentLogger } from "../../agent/log/logger.js";
import { admissionCapacity } from "../../agent/monitoring/admission-capacity.js";
import { createMonitoringService } from "../../agent/monitoring/monitoring-service.js";
import { createPrometheusClient } from "../../agent/monitoring/prometheus-client.js";
import { createPrometheusSource } from "../../agent/monitoring/prometheus-source.js";
import { createScrapeSource } from "../../agent/monitoring/scrape-source.js";
import type { EdgeFigures, MonitoringSnapshot, WorkloadFigures } from "../../agent/monitoring/snapshot.js";
import { CapacityBook } from "../../agent/orchestration/reservations.js";
import { parseQuantity, toMilli, toUnits } from "../../common/quantity.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startPrometheus, until, type PrometheusServer } from "../helpers/prometheus-server.js";

const DOMAIN = "domain-x";
const MI = 1024 * 1024;

const silent = silentLogger();

interface EdgeSpec {
  name: string;
  fraction: number;
  nodes: { name: string; cpu: string; memory: string }[];
  notReady?: string[];
  deployments: {
    name: string;
    camino?: string;
    replicas: number;
    requests: [string, string];
    limits: [string, string];
  }[];
}

// Uneven nodes, a CAMINO package per edge, and one workload that is not CAMINO's (it counts in "requested" only).
const SPECS: EdgeSpec[] = [
  {
    name: "edge-a",
    fraction: 0.5,
    nodes: [
      { name: "a-1", cpu: "4", memory: "8Gi" },
      { name: "a-2", cpu: "2", memory: "3Gi" },
      // NotReady from the start: counted nowhere, as the scheduler counts nothing on it.
      { name: "a-3", cpu: "16", memory: "64Gi" },
    ],
    notReady: ["a-3"],
    deployments: [
      { name: "web", camino: "web", replicas: 2, requests: ["500m", "256Mi"], limits: ["1", "512Mi"] },
      { name: "other", replicas: 1, requests: ["100m", "64Mi"], limits: ["3", "2Gi"] },
    ],
  },
  {
    name: "edge-b",
    fraction: 0.25,
    nodes: [{ name: "b-1", cpu: "8", memory: "16Gi" }],
    deployments: [{ name: "upf", camino: "upf", replicas: 3, requests: ["1500m", "1Gi"], limits: ["2", "2Gi"] }],
  },
];

const emulators = new Map<string, Emulator>();
let prometheus: PrometheusServer;
let agent: AgentProcess | undefined;
/** A second domain, trusted by the agent's domain: the federation peer asking for monitoring figures. */
let peer: AgentProcess | undefined;

async function api(e: Emulator, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${e.httpUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

function deployment(spec: EdgeSpec, d: EdgeSpec["deployments"][number]) {
  const labels: Record<string, string> = d.camino
    ? {
        "camino.io/intent": "demo",
        "camino.io/package": d.camino,
        "camino.io/domain": DOMAIN,
        "camino.io/edge": spec.name,
      }
    : {};
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: d.name, namespace: "chain", labels },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: { app: d.name } },
      template: {
        metadata: { labels: { app: d.name, ...labels } },
        spec: {
          containers: [
            {
              name: "main",
              image: `example.org/${d.name}:1`,
              resources: {
                requests: { cpu: d.requests[0], memory: d.requests[1] },
                limits: { cpu: d.limits[0], memory: d.limits[1] },
              },
            },
          ],
        },
      },
    },
  };
}

beforeAll(async () => {
  for (const spec of SPECS) {
    const e = await startEmulator({
      name: spec.name,
      http: {},
      metrics: {},
      nodes: spec.nodes,
      usageFraction: spec.fraction,
      ...(spec.notReady ? { faults: { nodesNotReady: spec.notReady } } : {}),
    });
    emulators.set(spec.name, e);
    await api(e, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "chain" } });
    for (const d of spec.deployments) await api(e, "/apis/apps/v1/namespaces/chain/deployments", deployment(spec, d));
  }
  // Every pod Running before anything is measured.
  await until("pods running", async () => {
    for (const spec of SPECS) {
      const want = spec.deployments.reduce((n, d) => n + d.replicas, 0);
      const running = (emulators.get(spec.name) as Emulator).store
        .list("/pods")
        .filter((p) => (p as { status?: { phase?: string } }).status?.phase === "Running");
      if (running.length !== want) return undefined;
    }
    return true;
  });
  const group = (path: string) => {
    const targets = SPECS.map(
      (s) =>
        `      - targets: ["${new URL((emulators.get(s.name) as Emulator).metricsUrl as string).host}"]\n        labels: { edge: ${s.name} }`,
    );
    return `${targets.join("\n")}\n    metrics_path: ${path}\n`;
  };
  prometheus = await startPrometheus(
    `  - job_name: kube-state-metrics\n    honor_labels: true\n    static_configs:\n${group("/metrics")}` +
      `  - job_name: cadvisor\n    honor_labels: true\n    static_configs:\n${group("/metrics/cadvisor")}`,
  );
  await prometheus.targetsUp(4, 60_000);
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await peer?.stop();
  await prometheus?.close();
  for (const e of emulators.values()) await e.close();
});

// ---------------------------------------------------------------------------------------------------------
// What the emulators' API says, computed here from the pods and nodes it serves (an independent witness).

// biome-ignore lint/suspicious/noExplicitAny: the test reads the emulator's API objects as plain JSON
type Obj = Record<string, any>;
const cores = (q: string) => Number(toMilli(parseQuantity(q))) / 1000;
const bytes = (q: string) => Number(toUnits(parseQuantity(q)));

function expected(spec: EdgeSpec): { edge: EdgeFigures; workloads: WorkloadFigures[] } {
  const e = emulators.get(spec.name) as Emulator;
  const nodes = e.store.list("/nodes") as Obj[];
  const alloc = { cpu: 0, mem: 0 };
  for (const n of nodes) {
    const ready = (n["status"].conditions as Obj[]).some((c) => c["type"] === "Ready" && c["status"] === "True");
    if (!ready) continue;
    alloc.cpu += cores(n["status"].allocatable.cpu);
    alloc.mem += bytes(n["status"].allocatable.memory);
  }
  const req = { cpu: 0, mem: 0 };
  const used = { cpu: 0, mem: 0 };
  const workloads = new Map<string, WorkloadFigures>();
  for (const p of e.store.list("/pods") as Obj[]) {
    if (!p["spec"].nodeName || p["status"]?.phase !== "Running") continue;
    const labels = p["metadata"].labels ?? {};
    for (const c of p["spec"].containers as Obj[]) {
      const cpu = cores(c["resources"].requests.cpu);
      const mem = bytes(c["resources"].requests.memory);
      req.cpu += cpu;
      req.mem += mem;
      used.cpu += spec.fraction * cpu;
      used.mem += Math.round(spec.fraction * mem);
      const pkg = labels["camino.io/package"];
      if (!pkg) continue;
      const w = workloads.get(pkg) ?? {
        intent: "demo",
        package: pkg,
        edge: spec.name,
        domain: DOMAIN,
        used: { cpuMillis: 0, memoryBytes: 0 },
        limits: { cpuMillis: 0, memoryBytes: 0 },
        replicasAvailable: 0,
        replicasDesired: 0,
      };
      w.used.cpuMillis += spec.fraction * cpu * 1000;
      w.used.memoryBytes += Math.round(spec.fraction * mem);
      w.limits.cpuMillis += cores(c["resources"].limits.cpu) * 1000;
      w.limits.memoryBytes += bytes(c["resources"].limits.memory);
      workloads.set(pkg, w);
    }
  }
  for (const d of e.store.list("apps/deployments") as Obj[]) {
    const w = workloads.get(d["metadata"].labels?.["camino.io/package"]);
    if (!w) continue;
    w.replicasDesired = d["spec"].replicas;
    w.replicasAvailable = d["status"]?.availableReplicas ?? 0;
  }
  const m = (x: number) => Math.round(x * 1000);
  return {
    edge: {
      edge: spec.name,
      reachable: true,
      allocatable: { cpuMillis: m(alloc.cpu), memoryBytes: alloc.mem },
      requested: { cpuMillis: m(req.cpu), memoryBytes: req.mem },
      used: { cpuMillis: m(used.cpu), memoryBytes: used.mem },
      free: { cpuMillis: m(alloc.cpu - req.cpu), memoryBytes: alloc.mem - req.mem },
    },
    workloads: [...workloads.values()],
  };
}

/** Gauges exactly, CPU use within 2%. */
function expectFigures(s: MonitoringSnapshot): void {
  for (const spec of SPECS) {
    const want = expected(spec);
    const got = s.edges.find((e) => e.edge === spec.name) as EdgeFigures;
    expect(got, spec.name).toBeDefined();
    expect(got.reachable).toBe(true);
    expect(got.allocatable).toEqual(want.edge.allocatable);
    expect(got.requested).toEqual(want.edge.requested);
    expect(got.free).toEqual(want.edge.free);
    expect(got.used.memoryBytes).toBe(want.edge.used.memoryBytes);
    expect(Math.abs(got.used.cpuMillis - want.edge.used.cpuMillis)).toBeLessThanOrEqual(
      0.02 * want.edge.used.cpuMillis,
    );
    for (const w of want.workloads) {
      const g = s.workloads.find((x) => x.edge === spec.name && x.package === w.package) as WorkloadFigures;
      expect(g, `${spec.name}/${w.package}`).toBeDefined();
      expect({ ...g, used: g.used.memoryBytes }).toEqual({ ...w, used: w.used.memoryBytes });
      expect(Math.abs(g.used.cpuMillis - w.used.cpuMillis)).toBeLessThanOrEqual(0.02 * w.used.cpuMillis);
    }
    // The workload that is not CAMINO's is counted in "requested" and never shown as a package.
    expect(s.workloads.filter((x) => x.edge === spec.name).map((x) => x.package)).toEqual(
      want.workloads.map((x) => x.package),
    );
  }
}

const prometheusSource = () =>
  createPrometheusSource({
    domainId: DOMAIN,
    client: createPrometheusClient({ url: prometheus.url, timeoutMs: 2000 }),
    edges: () => SPECS.map((s) => s.name),
    rateWindow: "5s",
  });

/**
 * Waits until Prometheus holds a full rate window (5 s, five scrapes) of every container's CPU counter: rate()
 * over a series younger than its window extrapolates, and is not what the counter's slope is.
 */
async function fullRateWindow(): Promise<void> {
  const pods = SPECS.reduce((n, s) => n + s.deployments.reduce((m, d) => m + d.replicas, 0), 0);
  await until(
    "five scrapes of every CPU counter",
    async () => {
      const [r] = await createPrometheusClient({ url: prometheus.url }).query(
        "count(count_over_time(container_cpu_usage_seconds_total{container!=''}[5s]) >= 5)",
        AbortSignal.timeout(2000),
      );
      return r?.value === pods ? true : undefined;
    },
    30_000,
  );
}

describe("figures", () => {
  it("through Prometheus: one query per metric split by the edge label equals what the emulators report", async () => {
    await fullRateWindow();
    const s = await prometheusSource().snapshot(AbortSignal.timeout(5000));
    expect(s.source).toBe("prometheus");
    expectFigures(s);
  });

  it("by direct scrape of kube-state-metrics and cAdvisor, the same figures", async () => {
    const source = createScrapeSource({
      domainId: DOMAIN,
      targets: () =>
        SPECS.map((spec) => {
          const url = (emulators.get(spec.name) as Emulator).metricsUrl as string;
          return { edge: spec.name, kubeStateMetrics: `${url}/metrics`, cadvisor: `${url}/metrics/cadvisor` };
        }),
      // The emulators share this process's event loop, so a reading's time is known to some ms: a 3 s window
      // keeps that well inside the 2% the figures must meet.
      minRateWindowMs: 3000,
    });
    expectFigures(await source.snapshot(AbortSignal.timeout(5000)));
    // The second snapshot rates from the first one's counters, with no wait of its own.
    expectFigures(await source.snapshot(AbortSignal.timeout(5000)));
  });

  it("a usage change pushed through the emulator's admin knobs shows in the next snapshot", async () => {
    const e = emulators.get("edge-b") as Emulator;
    e.usage.overrides.set("chain/upf", { memory: 0.75 });
    try {
      const source = prometheusSource();
      const s = await until("new working set in Prometheus", async () => {
        const snap = await source.snapshot(AbortSignal.timeout(5000));
        const w = snap.workloads.find((x) => x.package === "upf");
        return w && w.used.memoryBytes === 3 * Math.round(0.75 * 1024 * MI) ? snap : undefined;
      });
      expect(s.workloads.find((x) => x.package === "upf")?.limits.memoryBytes).toBe(3 * 2048 * MI);
    } finally {
      e.usage.overrides.delete("chain/upf");
    }
  });
});

describe("admission and outages", () => {
  it("admission reads monitoring's headroom; with Prometheus down it follows the fallback; it recovers", async () => {
    const monitoring = createMonitoringService({ source: prometheusSource(), intervalMs: 60_000, logger: silent });
    const edges = await EdgeRegistry.fromConfig(
      SPECS.map((s) => ({
        name: s.name,
        server: (emulators.get(s.name) as Emulator).httpUrl as string,
        labels: {},
        timeoutMs: 2000,
      })),
    );
    const book = (fallback: "kubernetes" | "refuse") =>
      new CapacityBook(
        () => edges.list(),
        admissionCapacity({ config: { capacity: "monitoring", fallback, maxAgeMs: 60_000 }, monitoring }),
      );
    // The workload that is not CAMINO's bursts far over its requests (20×, up to its limits): measured use on
    // edge-a then exceeds what is requested, and monitoring's free room is smaller than the scheduler's.
    const a = emulators.get("edge-a") as Emulator;
    a.usage.overrides.set("chain/other", { cpu: 20, memory: 20 });
    try {
      const s = await until("the burst in a snapshot", async () => {
        const snap = await monitoring.refresh(AbortSignal.timeout(5000));
        const e = snap.edges.find((x) => x.edge === "edge-a");
        // (A new share changes the counter's slope since the container started: the rate overshoots until the jump
        // leaves the rate window.)
        return e &&
          e.used.cpuMillis > e.requested.cpuMillis &&
          e.used.cpuMillis < e.allocatable.cpuMillis &&
          e.used.memoryBytes > e.requested.memoryBytes
          ? snap
          : undefined;
      });
      const fromKubernetes = book("kubernetes");
      await fromKubernetes.refresh();
      const state = fromKubernetes.edgeStates(edges.list()).find((x) => x.name === "edge-a");
      expect(fromKubernetes.capacitySource).toBe("monitoring");
      const e = s.edges.find((x) => x.edge === "edge-a") as EdgeFigures;
      expect(state?.free.cpuMillis).toBe(e.allocatable.cpuMillis - e.used.cpuMillis);
      expect(state?.free.memoryBytes).toBe(e.allocatable.memoryBytes - e.used.memoryBytes);
      expect(state?.free.cpuMillis).toBeLessThan(fromKubernetes.capacity("edge-a")?.free.cpuMillis as number);
    } finally {
      a.usage.overrides.delete("chain/other");
    }
    const fromKubernetes = book("kubernetes");
    await fromKubernetes.refresh();

    await prometheus.stop();
    try {
      await expect(monitoring.refresh(AbortSignal.timeout(5000))).rejects.toMatchObject({
        code: "ERR_MONITORING_UNAVAILABLE",
      });
      expect(monitoring.status().healthy).toBe(false);
      // Fallback "kubernetes": the edges' API figures, and the plan says so.
      const k = fromKubernetes.edgeStates(edges.list()).find((x) => x.name === "edge-a");
      expect(fromKubernetes.capacitySource).toMatch(
        /^kubernetes \(fallback from monitoring: the metrics source is unavailable/,
      );
      expect(k?.healthy).toBe(true);
      expect(k?.free.cpuMillis).toBe(fromKubernetes.capacity("edge-a")?.free.cpuMillis);
      // Fallback "refuse": no edge is admitted on, and the reason says why.
      const refusing = book("refuse");
      await refusing.refresh();
      const r = refusing.edgeStates(edges.list());
      expect(r.every((x) => !x.healthy && /admission needs monitoring/.test(x.reason ?? ""))).toBe(true);
    } finally {
      await prometheus.start();
    }
    await until(
      "Prometheus answering again",
      async () => (await monitoring.refresh(AbortSignal.timeout(5000))) && true,
    );
    expect(monitoring.status().healthy).toBe(true);
    fromKubernetes.edgeStates(edges.list());
    expect(fromKubernetes.capacitySource).toBe("monitoring");
    await monitoring.close();
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------
// A real agent (dist/), its Connect JSON API on the HTTP port.

async function call<T>(method: string, body: unknown, token: string, service = "camino.v1.DomainManager") {
  const res = await fetch(`${agent?.httpUrl}/${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface Sample {
  metric: string;
  labels?: { key: string; value: string }[];
  value?: number;
}

describe("the agent", () => {
  beforeAll(async () => {
    await prometheus.targetsUp(4, 60_000);
    peer = await startAgentProcess({ domainId: "domain-p", federation: {} });
    agent = await startAgentProcess({
      domainId: DOMAIN,
      federation: {},
      extraConfig: {
        edges: SPECS.map((s) => ({
          name: s.name,
          server: (emulators.get(s.name) as Emulator).httpUrl,
          timeoutMs: 2000,
        })),
        monitoring: {
          source: "prometheus",
          interval: "1s",
          timeout: "1s",
          prometheus: { url: prometheus.url, rateWindow: "5s" },
        },
      },
    });
    await agent.setPeers([peer]);
  }, 60_000);

  it("a federation peer's QueryMonitoring gets domain totals and nothing that names an edge, intent or package", async () => {
    const trust = createFederationTrust({
      domainId: "domain-p",
      ownKeys: {
        current: () => {
          const k = (peer as AgentProcess).key;
          return { kid: k.kid, alg: k.alg, privateKey: k.privateKey };
        },
        published: () => ({ keys: [(peer as AgentProcess).key.publicJwk] }) as PublicJwks,
      },
      peers: [{ id: DOMAIN, jwks: { keys: [agent?.key.publicJwk] } as PublicJwks }],
    });
    const client = createClient(
      Federation,
      createGrpcTransport({
        baseUrl: agent?.federationUrl as string,
        nodeOptions: { ca: readFileSync(agent?.federationFiles?.caFile as string, "utf8") },
        interceptors: [federationClientAuth(trust, DOMAIN)],
      }),
    );
    const { samples } = await until("aggregates from the peer's view", async () => {
      const r = await client.queryMonitoring({});
      return r.samples.some((x) => x.metric === "camino_domain_workloads" && x.value === 2) ? r : undefined;
    });
    expect(samples.every((x) => x.labels.length === 0)).toBe(true);
    expect(JSON.stringify(samples, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toMatch(
      /edge-a|edge-b|"web"|"upf"|demo|chain/,
    );
    expect(samples.find((x) => x.metric === "camino_domain_allocatable_cpu_millicores")?.value).toBe(
      SPECS.reduce((n, sp) => n + expected(sp).edge.allocatable.cpuMillis, 0),
    );
  });

  it("QueryMonitoring: holders of monitoring:detail get per-edge and per-package figures; others aggregates only", async () => {
    const detail = await agent?.token(["monitoring:read", "monitoring:detail"]);
    const plain = await agent?.token(["monitoring:read"]);
    const full = await until("per-edge figures", async () => {
      const r = await call<{ samples?: Sample[] }>("QueryMonitoring", {}, detail as string);
      return r.body.samples?.some((x) => x.metric === "camino_workload_replicas_desired") ? r.body.samples : undefined;
    });
    const named = (xs: Sample[]) =>
      xs.filter((x) => (x.labels ?? []).some((l) => ["edge", "package", "intent"].includes(l.key)));
    expect(named(full).length).toBeGreaterThan(0);
    const byLabels = (metric: string, edge: string) =>
      full.find((x) => x.metric === metric && x.labels?.some((l) => l.key === "edge" && l.value === edge))?.value ?? 0;
    const want = expected(SPECS[0] as EdgeSpec).edge;
    expect(byLabels("camino_edge_allocatable_cpu_millicores", "edge-a")).toBe(want.allocatable.cpuMillis);
    expect(byLabels("camino_edge_requested_memory_bytes", "edge-a")).toBe(want.requested.memoryBytes);

    const agg = await call<{ samples?: Sample[] }>("QueryMonitoring", {}, plain as string);
    expect(agg.status).toBe(200);
    expect(agg.body.samples?.length).toBeGreaterThan(0);
    expect(named(agg.body.samples ?? [])).toEqual([]);
    expect(agg.body.samples?.every((x) => (x.labels ?? []).length === 0)).toBe(true);
    const total = (agg.body.samples ?? []).find((x) => x.metric === "camino_domain_allocatable_cpu_millicores");
    expect(total?.value).toBe(SPECS.reduce((n, s) => n + expected(s).edge.allocatable.cpuMillis, 0));
    // Asking for one edge's or one package's figures without the scope is refused, not answered in aggregate.
    const refused = await call<{ code?: string }>("QueryMonitoring", { edge: "edge-a" }, plain as string);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("permission_denied");
  });

  it("camino top shows edges and packages with their use to monitoring:detail, domain totals to others", async () => {
    const run = (args: string[], token: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [CAMINO, "top", ...args],
          { env: { PATH: process.env["PATH"] ?? "", CAMINO_SERVER: agent?.grpcUrl ?? "", CAMINO_TOKEN: token } },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const detail = (await agent?.token(["monitoring:read", "monitoring:detail"])) as string;
    const json = await run(["-o", "json"], detail);
    expect(json.code, json.stderr).toBe(0);
    const top = JSON.parse(json.stdout) as {
      edges: { edge: string; cpuAllocatableMillis: number; memoryRequestedBytes: number }[];
      packages: { package: string; edge: string; replicasDesired: number; memoryLimitBytes: number }[];
    };
    const a = expected(SPECS[0] as EdgeSpec).edge;
    expect(top.edges.find((e) => e.edge === "edge-a")).toMatchObject({
      cpuAllocatableMillis: a.allocatable.cpuMillis,
      memoryRequestedBytes: a.requested.memoryBytes,
    });
    expect(top.packages.map((p) => [p.package, p.edge, p.replicasDesired, p.memoryLimitBytes]).sort()).toEqual([
      ["upf", "edge-b", 3, 3 * 2048 * MI],
      ["web", "edge-a", 2, 2 * 512 * MI],
    ]);
    const table = await run([], detail);
    expect(table.stdout).toMatch(/^edge-a\s+\d+m\s+\d+%\s+1100m\s+4900m\s/m);
    expect(table.stdout).toMatch(/^demo\s+web\s+edge-a\s+\d+m\s+2000m\s+\d+Mi\s+1024Mi\s+2\/2$/m);
    const plain = await run([], (await agent?.token(["monitoring:read"])) as string);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/edge-a|edge-b|web|upf/);
    expect(plain.stdout).toMatch(/all edges\s+\d+m\s+\d+m\s+14000m/);
    expect(plain.stderr).toContain("monitoring:detail");
  });

  it("Prometheus down: GetDomainInfo and camino.monitoring report it, the agent stays SERVING; it recovers", async () => {
    const token = (await agent?.token(["catalogue:read"])) as string;
    type Info = { dependencies?: { name: string; kind: string; healthy?: boolean; message?: string }[] };
    const monitoringDep = async () =>
      (await call<Info>("GetDomainInfo", {}, token)).body.dependencies?.find((d) => d.name === "monitoring");
    const health = async (service: string) =>
      (await call<{ status?: string }>("Check", { service }, token, "grpc.health.v1.Health")).body.status;
    await until("monitoring healthy", async () => ((await monitoringDep())?.healthy ? true : undefined));
    expect(await health("camino.monitoring")).toBe("SERVING");

    await prometheus.stop();
    try {
      const dep = await until("monitoring reported down", async () => {
        const d = await monitoringDep();
        return d && !d.healthy ? d : undefined;
      });
      expect(dep.kind).toBe("prometheus");
      expect(dep.message).toMatch(/cannot be reached|did not answer/);
      expect(dep.message).not.toMatch(/token|password/i);
      expect(await health("camino.monitoring")).toBe("NOT_SERVING");
      expect(await health("")).toBe("SERVING");
      expect(await health("camino.v1.DomainManager")).toBe("SERVING");
    } finally {
      await prometheus.start();
    }
    await until("monitoring healthy again", async () => ((await monitoringDep())?.healthy ? true : undefined), 30_000);
    expect(await health("camino.monitoring")).toBe("SERVING");
  }, 60_000);
});
