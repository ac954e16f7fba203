/**
 * Each link's service level from the mesh's metrics, through both sources: two emulated edges serve Istio's
 * standard metrics for a chain (fw → nat over HTTP on edge a, fw → db over TCP across edges), a real Prometheus
 * (Debian's package) scrapes them with kube-state-metrics and cAdvisor, and the Prometheus source (one PromQL
 * query per metric across both edges) and the direct scrape give the same link figures: rates within a few per
 * cent, percentiles within one bucket, and what the emulator's `links` fault set.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrometheusClient } from "../../agent/monitoring/prometheus-client.js";
import { createPrometheusSource } from "../../agent/monitoring/prometheus-source.js";
import { createScrapeSource } from "../../agent/monitoring/scrape-source.js";
import type { LinkFigures } from "../../agent/monitoring/snapshot.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { ISTIO_DURATION_BUCKETS } from "../../emulator/metrics/istio.js";
import { meshChain, runningPods } from "../helpers/mesh-chain.js";
import { startPrometheus, until, type PrometheusServer } from "../helpers/prometheus-server.js";

let a: Emulator;
let b: Emulator;
let prometheus: PrometheusServer;

/** The bucket an estimate falls in: the index of the first bound at or above it. */
const bucketOf = (ms: number) => ISTIO_DURATION_BUCKETS.findIndex((le) => ms <= le);
const linkName = (intent: string, _from: string, to: string) =>
  intent === "chain" ? ({ nat: "fw-nat-80", db: "fw-db-5432" } as Record<string, string>)[to] : undefined;

beforeAll(async () => {
  const nodes = (n: string) => [{ name: n, cpu: "8", memory: "16Gi" }];
  a = await startEmulator({ name: "edge-a", http: {}, metrics: {}, admin: {}, nodes: nodes("a-1") });
  b = await startEmulator({ name: "edge-b", http: {}, metrics: {}, admin: {}, nodes: nodes("b-1") });
  await meshChain(a, b, "chain", true);
  await runningPods([a, b], 3);
  const res = await fetch(`${a.adminUrl}/faults`, {
    method: "PATCH",
    body: JSON.stringify({
      links: { "chain/fw-nat-80": { requestRate: 40, errorRatio: 0.25, latencyMs: 30, p99LatencyMs: 400 } },
    }),
  });
  expect(res.status).toBe(200);
  const job = (name: string, path: string) =>
    `  - job_name: ${name}\n    honor_labels: true\n    metrics_path: ${path}\n    static_configs:\n` +
    [a, b]
      .map((e) => `      - targets: ["${new URL(e.metricsUrl as string).host}"]\n        labels: { edge: ${e.name} }\n`)
      .join("");
  prometheus = await startPrometheus(
    job("kube-state-metrics", "/metrics") + job("cadvisor", "/metrics/cadvisor") + job("istio", "/metrics/istio"),
  );
  await prometheus.targetsUp(6, 60_000);
}, 120_000);

afterAll(async () => {
  await prometheus?.close();
  await a?.close();
  await b?.close();
});

describe("link figures", () => {
  it("through Prometheus and by direct scrape agree, and are what the emulator's fault set", async () => {
    const promSource = createPrometheusSource({
      domainId: "d",
      client: createPrometheusClient({ url: prometheus.url, auth: { kind: "none" }, timeoutMs: 5000 }),
      edges: () => ["edge-a", "edge-b"],
      rateWindow: "5s",
      linkName,
    });
    const scrapeSource = createScrapeSource({
      domainId: "d",
      minRateWindowMs: 2000,
      linkName,
      targets: () =>
        [a, b].map((e) => ({
          edge: e.name,
          kubeStateMetrics: `${e.metricsUrl}/metrics`,
          cadvisor: `${e.metricsUrl}/metrics/cadvisor`,
          istio: `${e.metricsUrl}/metrics/istio`,
        })),
    });
    const signal = AbortSignal.timeout(60_000);
    // Prometheus has a full rate window (5 s) of every series, the failed requests' (which appear later) too.
    const client = createPrometheusClient({ url: prometheus.url, auth: { kind: "none" }, timeoutMs: 5000 });
    await until(
      "a full rate window in Prometheus",
      async () => {
        const full = await client.query(
          "min(count_over_time(istio_requests_total[6s])) >= 6 and min(count_over_time(istio_tcp_connections_opened_total[6s])) >= 6",
          signal,
        );
        return full.length > 0 ? true : undefined;
      },
      60_000,
    );
    const viaProm = (await promSource.snapshot(signal)).links;
    const viaScrape = (await scrapeSource.snapshot(signal)).links;
    const byName = (links: LinkFigures[], name: string) => links.find((l) => l.link === name) as LinkFigures;
    expect(viaScrape.map((l) => l.link)).toEqual(["fw-db-5432", "fw-nat-80"]);
    expect(viaProm.map((l) => l.link)).toEqual(["fw-db-5432", "fw-nat-80"]);

    const nat = { prom: byName(viaProm, "fw-nat-80"), scrape: byName(viaScrape, "fw-nat-80") };
    for (const f of Object.values(nat)) {
      expect(f).toMatchObject({ intent: "chain", from: "fw", to: "nat" });
      expect(f.requestRate).toBeGreaterThan(40 * 0.97);
      expect(f.requestRate).toBeLessThan(40 * 1.03);
      expect(f.errorRate).toBeCloseTo(0.25, 2);
      expect(f.tcpConnectionsOpenedRate).toBeUndefined();
    }
    // The fault's p50 (30 ms) is in the (25, 50] bucket, its p99 (400 ms) in (250, 500].
    for (const f of Object.values(nat)) {
      expect(bucketOf(f.p50Ms as number)).toBe(bucketOf(30));
      expect(bucketOf(f.p99Ms as number)).toBe(bucketOf(400));
    }
    expect(Math.abs(bucketOf(nat.prom.p99Ms as number) - bucketOf(nat.scrape.p99Ms as number))).toBeLessThanOrEqual(1);

    // The TCP link across edges: the client side on edge a, at the default 10 connections a second.
    const db = { prom: byName(viaProm, "fw-db-5432"), scrape: byName(viaScrape, "fw-db-5432") };
    for (const f of Object.values(db)) {
      expect(f).toMatchObject({ intent: "chain", from: "fw", to: "db", requestRate: 0, errorRate: 0 });
      expect(f.tcpConnectionsOpenedRate as number).toBeGreaterThan(10 * 0.97);
      expect(f.tcpConnectionsOpenedRate as number).toBeLessThan(10 * 1.03);
      expect((f.tcpBytesSentRate as number) / (f.tcpConnectionsOpenedRate as number)).toBeCloseTo(2048, 0);
      expect(f.p99Ms).toBeUndefined();
    }
    const within = (x: number, y: number) => Math.abs(x - y) / Math.max(x, y);
    expect(within(nat.prom.requestRate, nat.scrape.requestRate)).toBeLessThan(0.03);
    expect(within(db.prom.tcpBytesReceivedRate as number, db.scrape.tcpBytesReceivedRate as number)).toBeLessThan(0.03);
  }, 90_000);
});
