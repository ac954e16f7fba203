/**
 * The InfluxDB export against a real InfluxDB 1.6: the exporter creates its database, exported points are
 * queried back with their tags and fields; with InfluxDB killed, a batch is retried within its budget and then
 * dropped and counted, export() never waits, a full buffer drops its oldest lines (counted), and writes resume
 * once InfluxDB is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInfluxExporter } from "../../agent/monitoring/influx-exporter.js";
import type { MonitoringSnapshot } from "../../agent/monitoring/snapshot.js";
import { influxServer, type InfluxServer } from "../helpers/influxdb-server.js";

const GiB = 1024 ** 3;

function snapshot(at: number, fwCpu: number): MonitoringSnapshot {
  const usage = (cpuMillis: number, memoryBytes: number) => ({ cpuMillis, memoryBytes });
  return {
    at: new Date(at),
    source: "scrape",
    edges: [
      {
        edge: "edge-1",
        reachable: true,
        allocatable: usage(4000, 8 * GiB),
        requested: usage(1500, 2 * GiB),
        used: usage(700, GiB),
        free: usage(2500, 6 * GiB),
      },
      {
        edge: "edge 2,b",
        reachable: false,
        allocatable: usage(2000, 4 * GiB),
        requested: usage(0, 0),
        used: usage(0, 0),
        free: usage(2000, 4 * GiB),
      },
    ],
    workloads: [
      {
        intent: "chain",
        package: "fw",
        edge: "edge-1",
        domain: "x",
        used: usage(fwCpu, 200e6),
        limits: usage(500, 512e6),
        replicasAvailable: 1,
        replicasDesired: 2,
      },
      {
        intent: "chain",
        package: "nat",
        edge: "edge-1",
        domain: "x",
        used: usage(50, 100e6),
        limits: usage(0, 0),
        replicasAvailable: 1,
        replicasDesired: 1,
      },
    ],
    links: [
      { intent: "chain", link: "fw-nat-80", from: "fw", to: "nat", requestRate: 3.5, errorRate: 0.25, p99Ms: 12 },
    ],
  };
}
const LINES_PER_SNAPSHOT = 5;
const T = Date.parse("2026-12-02T10:00:00Z");

let influx: InfluxServer;
beforeAll(async () => {
  influx = await influxServer();
  await influx.start();
});
afterAll(async () => {
  await influx?.stop();
});

describe("InfluxDB export (real InfluxDB 1.6)", () => {
  it("creates the database and writes points that can be queried back", async () => {
    const before = await influx.query("", "SHOW DATABASES");
    expect(JSON.stringify(before)).not.toContain("camino_lake");
    const exporter = createInfluxExporter({
      url: influx.url,
      database: "camino_lake",
      domain: "x",
      flushIntervalMs: 50,
    });
    try {
      exporter.export(snapshot(T, 120));
      exporter.export(snapshot(T + 1000, 480));
      await exporter.flush();
      expect(exporter.stats()).toMatchObject({
        written: 2 * LINES_PER_SNAPSHOT,
        dropped: 0,
        retries: 0,
        lastError: "",
      });
    } finally {
      await exporter.close();
    }
    const w = await influx.query(
      "camino_lake",
      `SELECT cpu_millis, memory_bytes, cpu_limit_millis, replicas_available, replicas_desired FROM camino_workload WHERE "package" = 'fw' AND intent = 'chain' AND edge = 'edge-1' AND domain = 'x'`,
    );
    expect(w.results[0]?.series?.[0]?.values).toEqual([
      [T, 120, 200e6, 500, 1, 2],
      [T + 1000, 480, 200e6, 500, 1, 2],
    ]);
    const e = await influx.query("camino_lake", `SELECT reachable, free_cpu_millis FROM camino_edge GROUP BY edge`);
    const byEdge = Object.fromEntries((e.results[0]?.series ?? []).map((s) => [s.tags?.["edge"], s.values]));
    expect(byEdge).toEqual({
      "edge-1": [
        [T, true, 2500],
        [T + 1000, true, 2500],
      ],
      "edge 2,b": [
        [T, false, 2000],
        [T + 1000, false, 2000],
      ],
    });
    const l = await influx.query(
      "camino_lake",
      `SELECT request_rate, error_rate, p99_ms FROM camino_link WHERE link = 'fw-nat-80'`,
    );
    expect(l.results[0]?.series?.[0]?.values?.[0]).toEqual([T, 3.5, 0.25, 12]);
  });

  it("with InfluxDB down: retries, then counted drops, export() never waits; resumes when it is back", async () => {
    const drops: Array<[number, string]> = [];
    const exporter = createInfluxExporter({
      url: influx.url,
      database: "camino_down",
      domain: "x",
      flushIntervalMs: 20,
      attempts: 3,
      retryDelayMs: 20,
      timeoutMs: 2000,
      maxBufferedLines: 3 * LINES_PER_SNAPSHOT,
      onDrop: (n, why) => drops.push([n, why]),
    });
    try {
      await influx.kill();
      // export() only queues: it returns before anything is sent, with the lines buffered.
      expect(exporter.export(snapshot(T, 100))).toBeUndefined();
      expect(exporter.stats().buffered).toBe(LINES_PER_SNAPSHOT);
      await exporter.flush();
      expect(exporter.stats()).toMatchObject({
        written: 0,
        retries: 2,
        failedBatches: 1,
        dropped: LINES_PER_SNAPSHOT,
        buffered: 0,
      });
      expect(exporter.stats().lastError).toMatch(/^InfluxDB 127\.0\.0\.1:\d+ unreachable/);
      expect(drops).toEqual([[LINES_PER_SNAPSHOT, exporter.stats().lastError]]);

      // A full buffer drops its oldest lines, counted (four snapshots into room for three).
      for (let i = 1; i <= 4; i++) exporter.export(snapshot(T + i * 1000, 100 + i));
      expect(drops[1]?.[1]).toBe("the export buffer is full");
      expect(exporter.stats().dropped).toBeGreaterThanOrEqual(2 * LINES_PER_SNAPSHOT);
      await exporter.flush();
      const dropped = exporter.stats().dropped;
      expect(dropped).toBe(5 * LINES_PER_SNAPSHOT);

      await influx.start();
      exporter.export(snapshot(T + 10_000, 999));
      await exporter.flush();
      expect(exporter.stats()).toMatchObject({ written: LINES_PER_SNAPSHOT, dropped, lastError: "" });
    } finally {
      await exporter.close();
    }
    const w = await influx.query("camino_down", `SELECT cpu_millis FROM camino_workload WHERE "package" = 'fw'`);
    // Only the point written after the restart: the dropped ones never arrived.
    expect(w.results[0]?.series?.[0]?.values).toEqual([[T + 10_000, 999]]);
  });
});
