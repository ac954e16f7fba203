/**
 * The monitoring plane's own costs at 100 edges × 50 workloads (2 pods each: 10,000 pods per snapshot):
 *  - label-cache lookups per snapshot: one `getMany` of every pod, on Redis (a real redis-server on a Unix
 *    socket; one pipelined MGET) and in memory; beside them, the same pods looked up one GET at a time, awaited
 *    in turn (what pipelining saves), over the first 1,000 pods and scaled to a snapshot;
 *  - alert evaluation per tick: the default rules over a synthetic snapshot whose usage moves every tick (some
 *    workloads over their limits, some edges unreachable), carrying the state from tick to tick.
 */
import { evaluateAlerts, type AlertState } from "../agent/monitoring/alert-engine.js";
import { DEFAULT_ALERT_RULES } from "../agent/monitoring/alert-rules.js";
import { createMemoryLabelCache, type LabelCache, type PodLabels } from "../agent/monitoring/label-cache.js";
import { createRedisLabelCache } from "../agent/monitoring/redis-label-cache.js";
import type { MonitoringSnapshot } from "../agent/monitoring/snapshot.js";
import { redisServer } from "../test/helpers/redis-server.js";
import { Redis } from "ioredis";
import { summarise, type Summary } from "./stats.js";

const EDGES = 100;
const WORKLOADS = 50;
const PODS = 2;

export interface MonitoringPlaneFigures {
  edges: number;
  workloadsPerEdge: number;
  podsPerSnapshot: number;
  /** One getMany of every pod of a snapshot. */
  lookupsRedis: Summary;
  lookupsMemory: Summary;
  /** Sequential awaited GETs, per snapshot (measured over 1,000 pods, scaled). */
  unpipelinedRedisMsPerSnapshot: number;
  /** evaluateAlerts with the default rules, per tick. */
  alertTick: Summary;
  alertsFiringAtEnd: number;
}

function pods(): Array<[string, PodLabels]> {
  const out: Array<[string, PodLabels]> = [];
  for (let e = 0; e < EDGES; e++)
    for (let w = 0; w < WORKLOADS; w++)
      for (let p = 0; p < PODS; p++)
        out.push([
          `edge-${e}/chain-${w % 10}/pkg-${w}-${p}`,
          { intent: `chain-${w % 10}`, package: `pkg-${w}`, edge: `edge-${e}` },
        ]);
  return out;
}

function snapshot(tick: number): MonitoringSnapshot {
  const GiB = 1024 ** 3;
  const edges = Array.from({ length: EDGES }, (_, e) => ({
    edge: `edge-${e}`,
    reachable: (e + tick) % 37 !== 0,
    allocatable: { cpuMillis: 16_000, memoryBytes: 64 * GiB },
    requested: { cpuMillis: 10_000 + ((e * 97 + tick * 13) % 6000), memoryBytes: 40 * GiB },
    used: { cpuMillis: 8000, memoryBytes: 30 * GiB },
    free: { cpuMillis: 6000, memoryBytes: 24 * GiB },
  }));
  const workloads = [];
  for (let e = 0; e < EDGES; e++)
    for (let w = 0; w < WORKLOADS; w++) {
      const share = ((e * 31 + w * 17 + tick * 7) % 100) / 100;
      workloads.push({
        intent: `chain-${w % 10}`,
        package: `pkg-${w}`,
        edge: `edge-${e}`,
        domain: "x",
        used: { cpuMillis: 500 * share, memoryBytes: 512e6 * share },
        limits: { cpuMillis: 500, memoryBytes: 512e6 },
        replicasAvailable: share > 0.97 ? 1 : 2,
        replicasDesired: 2,
      });
    }
  return { at: new Date(Date.UTC(2026, 11, 2) + tick * 15_000), source: "bench", edges, workloads, links: [] };
}

async function lookups(cache: LabelCache, ids: string[], rounds: number): Promise<Summary> {
  for (let i = 0; i < 3; i++) await cache.getMany(ids);
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    const got = await cache.getMany(ids);
    times.push(performance.now() - t);
    if (got[ids.length - 1] === undefined) throw new Error(`${cache.kind} label cache: a lookup missed`);
  }
  return summarise(times, performance.now() - start);
}

export async function runMonitoringPlaneBenchmark(quick: boolean): Promise<MonitoringPlaneFigures> {
  const entries = pods();
  const ids = entries.map(([id]) => id);
  const rounds = quick ? 10 : 50;
  const redis = redisServer();
  await redis.start();
  let lookupsRedis: Summary;
  let unpipelinedRedisMsPerSnapshot: number;
  try {
    const cache = createRedisLabelCache({ path: redis.socket, ttlMs: 600_000, commandTimeoutMs: 5000 });
    try {
      for (let i = 0; i < 100 && !cache.health().healthy; i++) await new Promise((r) => setTimeout(r, 20));
      await cache.setMany(entries);
      lookupsRedis = await lookups(cache, ids, rounds);
    } finally {
      await cache.close();
    }
    const plain = new Redis({ path: redis.socket });
    try {
      const sample = ids.slice(0, 1000);
      const t = performance.now();
      for (const id of sample) await plain.get(`camino:pod:${id}`);
      unpipelinedRedisMsPerSnapshot = ((performance.now() - t) / sample.length) * ids.length;
    } finally {
      plain.disconnect();
    }
  } finally {
    await redis.stop();
  }
  const memory = createMemoryLabelCache({ ttlMs: 600_000 });
  await memory.setMany(entries);
  const lookupsMemory = await lookups(memory, ids, rounds);

  const ticks = quick ? 50 : 300;
  let state: AlertState = new Map();
  const snaps = Array.from({ length: 20 }, (_, i) => snapshot(i));
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ticks; i++) {
    const s = snaps[i % snaps.length] as MonitoringSnapshot;
    const now = new Date(Date.UTC(2026, 11, 2) + i * 15_000);
    const t = performance.now();
    state = evaluateAlerts(DEFAULT_ALERT_RULES, state, s, now).state;
    times.push(performance.now() - t);
  }
  const alertTick = summarise(times, performance.now() - start);
  return {
    edges: EDGES,
    workloadsPerEdge: WORKLOADS,
    podsPerSnapshot: ids.length,
    lookupsRedis,
    lookupsMemory,
    unpipelinedRedisMsPerSnapshot,
    alertTick,
    alertsFiringAtEnd: [...state.values()].filter((a) => a.firing).length,
  };
}

export function formatMonitoringPlaneFigures(f: MonitoringPlaneFigures): string {
  const ms = (n: number) => n.toFixed(2);
  return [
    `Monitoring plane at ${f.edges} edges × ${f.workloadsPerEdge} workloads (${f.podsPerSnapshot} pods per snapshot)`,
    `  label-cache lookups per snapshot, Redis (one pipelined MGET, Unix socket): p50 ${ms(f.lookupsRedis.p50Ms)} ms, p99 ${ms(f.lookupsRedis.p99Ms)} ms`,
    `  label-cache lookups per snapshot, in memory:                              p50 ${ms(f.lookupsMemory.p50Ms)} ms, p99 ${ms(f.lookupsMemory.p99Ms)} ms`,
    `  peer: one awaited GET per pod on the same Redis, scaled to a snapshot:    ${ms(f.unpipelinedRedisMsPerSnapshot)} ms (${(f.unpipelinedRedisMsPerSnapshot / f.lookupsRedis.p50Ms).toFixed(1)}x the MGET)`,
    `  alert evaluation per tick (${DEFAULT_ALERT_RULES.length} default rules, ${f.alertTick.calls} ticks): p50 ${ms(f.alertTick.p50Ms)} ms, p99 ${ms(f.alertTick.p99Ms)} ms; ${f.alertsFiringAtEnd} alerts firing at the end`,
  ].join("\n");
}

// Run alone: node dist/bench/monitoring-plane.js [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  runMonitoringPlaneBenchmark(process.argv.includes("--quick")).then(
    (f) => console.log(formatMonitoringPlaneFigures(f)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
