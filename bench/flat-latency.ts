/**
 * Flat latency: does an intent cost the same when the domain already runs many? One agent process and two
 * emulated edges (processes, HTTP; ConfigSync period 100 ms, pods ready at once), as bench/lifecycle.ts sets them
 * up. At each level (0, 1,000 and 10,000 intents already deployed and READY in the same repositories and edges;
 * BENCH_FLAT_LEVELS=0,1000,10000 to change), a probe: single-package intents run one at a time, each
 * SubmitIntent → COMMITTED and → READY, then terminated (untimed) so the level stays as it is. Printed: the
 * probe's p50/p99 at each level and the ratio of each p50 to the p50 at 0 (the bar: at most 1.25 at
 * 10,000), the agent's RSS and live heap after each level is seeded, both right after two full collections made
 * through its inspector (bar: at most 20 MiB more RSS per 1,000 intents; without the collections RSS also holds
 * garbage V8 has not collected yet, and after the first one memory it freed and has not given back: measured at
 * 10,000 intents, 342 MiB after one and 253 after two; both are printed), and the CPU
 * the agent and the emulators spent per probe intent.
 *
 * Seeding goes through the real path, SubmitIntent, with up to 40 intents in flight: what is written (commits,
 * IESDs, journal records, objects on the edges) is what a real deployment writes. On a 2-core machine the first
 * 1,000 take about 40 s and 10,000 about 21 minutes: the emulated edges slow down as they fill.
 *
 * Run alone: `npm run build && node --expose-gc dist/bench/flat-latency.js [--quick]` (quick: 0, 200, 1,000;
 * writes bench/results/flat-latency-<time>.json).
 */
import { agentEnvironment } from "../agent/util/allocator.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { ROOT } from "../test/helpers/agent-process.js";
import { cpuSeconds, follow, intentOf, procStatus, startRig, type Rig } from "./lifecycle.js";
import { summarise, type Summary } from "./stats.js";

const note = (text: string) => process.stderr.write(`flat-latency bench: ${text}\n`);

const SEED_IN_FLIGHT = 40;
const PROBE = { name: "sink", cpu: "10m", memory: "16Mi" };

export interface FlatLevel {
  /** Intents deployed (READY) while the probe ran. */
  deployed: number;
  /** Seconds it took to seed this level from the one before, and the intents per second that made. */
  seedSeconds: number;
  probes: number;
  toCommitted: Summary;
  toReady: Summary;
  /**
   * The agent's resident memory after seeding (VmRSS), MiB: after two full collections (what the agent holds:
   * the memory the first one freed is given back to the system only by the second), and after the first alone.
   */
  agentRssMiB: number;
  agentRssAfterOneMiB: number;
  /** The agent's live heap after seeding: V8's heap in use right after a full collection, MiB. */
  agentLiveHeapMiB: number;
  /** CPU per probe intent (deploy and terminate), ms. */
  agentCpuMsPerProbe: number;
  emulatorCpuMsPerProbe: number;
}

export interface FlatFigures {
  levels: FlatLevel[];
}

/** Deploys intents `from`..`to`-1 (`seed-<i>`), up to 40 in flight, each followed to READY. */
async function seed(rig: Rig, from: number, to: number): Promise<void> {
  let next = from;
  let done = 0;
  let last = Date.now();
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const at = Date.now();
      const res = await rig.client.submitIntent({ intent: intentOf(`seed-${i}`, [PROBE]) }, { headers: rig.headers });
      const p = await follow(rig.client, rig.headers, res.deploymentId, at);
      if (p.state !== DeploymentState.READY)
        throw new Error(`seed-${i} ended ${DeploymentState[p.state ?? 0]}: ${p.reason}`);
      done++;
      if (Date.now() - last > 10_000) {
        last = Date.now();
        note(`seeding: ${from + done} of ${to} deployed`);
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_IN_FLIGHT }, worker));
}

/** A free loopback port (for the agent's inspector). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A full collection in the agent, through its inspector (HeapProfiler.collectGarbage), then the heap in use
 * (Runtime.getHeapUsage) and the resident memory, MiB: what the agent holds, without the garbage V8 has not
 * collected yet.
 */
async function afterCollection(
  inspectorPort: number,
  pid: number,
): Promise<{ heapMiB: number; rssMiB: number; rssAfterOneMiB: number }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(targets[0]?.webSocketDebuggerUrl as string);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method }));
    });
  try {
    const rss = () => (procStatus(pid)["VmRSS"] ?? Number.NaN) / 1024;
    await call("HeapProfiler.collectGarbage");
    const rssAfterOneMiB = rss();
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    return { heapMiB: Number(usage["usedSize"]) / 1048576, rssMiB: rss(), rssAfterOneMiB };
  } finally {
    ws.close();
  }
}

/** BENCH_FLAT_LEVELS: intents deployed at each level, comma-separated whole numbers. @throws naming a bad one */
function levelsOf(text: string): number[] {
  return text.split(",").map((part) => {
    const n = Number(part.trim());
    if (part.trim() === "" || !Number.isInteger(n) || n < 0)
      throw new TypeError(
        `BENCH_FLAT_LEVELS: ${JSON.stringify(part)} is not a whole number of intents (e.g. 0,1000,10000)`,
      );
    return n;
  });
}

/** One probe intent: SubmitIntent → COMMITTED and → READY (ms), then terminated. */
async function probe(rig: Rig, name: string): Promise<{ committed: number; ready: number }> {
  const t0 = Date.now();
  const res = await rig.client.submitIntent({ intent: intentOf(name, [PROBE]) }, { headers: rig.headers });
  const p = await follow(rig.client, rig.headers, res.deploymentId, t0);
  if (p.state !== DeploymentState.READY) throw new Error(`${name} ended ${DeploymentState[p.state ?? 0]}: ${p.reason}`);
  const figures = { committed: (p.committed.get(PROBE.name) ?? Number.NaN) - t0, ready: (p.settledAt as number) - t0 };
  const t1 = Date.now();
  await rig.client.terminateIntent({ name }, { headers: rig.headers });
  const end = await follow(rig.client, rig.headers, res.deploymentId, t1);
  if (end.state !== DeploymentState.TERMINATED) throw new Error(`${name} did not terminate: ${end.reason}`);
  return figures;
}

export async function runFlatLatencyBenchmark(
  options: { quick?: boolean; levels?: number[] } = {},
): Promise<FlatFigures> {
  const levels =
    options.levels ??
    (process.env["BENCH_FLAT_LEVELS"]
      ? levelsOf(process.env["BENCH_FLAT_LEVELS"])
      : options.quick
        ? [0, 200, 1000]
        : [0, 1000, 10000]);
  const probes = options.quick ? 10 : 20;
  const top = Math.max(...levels);
  // Room for every seeded pod on both edges (10m and 16Mi each; 1,000 pods a node).
  const nodes = Array.from({ length: Math.ceil(top / 2 / 1000) + 1 }, (_, i) => ({
    name: `node-${i + 1}`,
    cpu: "64",
    memory: "256Gi",
    pods: 1000,
  }));
  // The agent's inspector, on loopback, to collect its garbage before its memory is read.
  const inspectorPort = await freePort();
  const rig = await startRig(nodes, { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}` });
  const pid = rig.agent.child.pid as number;
  const emulatorCpu = () => rig.edges.reduce((sum, e) => sum + cpuSeconds(e.pid), 0);
  const out: FlatLevel[] = [];
  try {
    let deployed = 0;
    for (const level of [...levels].sort((a, b) => a - b)) {
      const s0 = Date.now();
      if (level > deployed) {
        note(`seeding ${deployed} → ${level}`);
        await seed(rig, deployed, level);
        deployed = level;
      }
      const seedSeconds = (Date.now() - s0) / 1000;
      const { heapMiB: live, rssMiB: rss, rssAfterOneMiB } = await afterCollection(inspectorPort, pid);
      note(`probing at ${level} deployed (agent RSS ${rss.toFixed(0)} MiB, live heap ${live.toFixed(0)} MiB)`);
      const cpu0 = cpuSeconds(pid);
      const emu0 = emulatorCpu();
      const committed: number[] = [];
      const ready: number[] = [];
      const start = performance.now();
      for (let i = 0; i < probes; i++) {
        const r = await probe(rig, `probe-${level}-${i}`);
        committed.push(r.committed);
        ready.push(r.ready);
      }
      const wall = performance.now() - start;
      out.push({
        deployed: level,
        seedSeconds,
        probes,
        toCommitted: summarise(committed, wall),
        toReady: summarise(ready, wall),
        agentRssMiB: rss,
        agentRssAfterOneMiB: rssAfterOneMiB,
        agentLiveHeapMiB: live,
        agentCpuMsPerProbe: ((cpuSeconds(pid) - cpu0) * 1000) / probes,
        emulatorCpuMsPerProbe: ((emulatorCpu() - emu0) * 1000) / probes,
      });
    }
  } finally {
    await rig.stop();
  }
  return { levels: out };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

export function flatLatencyTable(f: FlatFigures): string {
  const base = f.levels.find((l) => l.deployed === 0) ?? f.levels[0];
  const head = [
    "deployed".padStart(9),
    "→ COMMITTED p50 / p99".padStart(22),
    "ratio".padStart(6),
    "→ READY p50 / p99".padStart(19),
    "ratio".padStart(6),
    "agent RSS".padStart(10),
    "MiB/1k".padStart(7),
    "1st GC /1k".padStart(10),
    "live heap".padStart(10),
    "MiB/1k".padStart(7),
    "CPU/probe agent, emulators".padStart(27),
    "seeded in".padStart(10),
  ].join("  ");
  const rows = f.levels.map((l) => {
    const per1k = (now: number, then: number) =>
      base && l.deployed > base.deployed ? ((now - then) * 1000) / (l.deployed - base.deployed) : Number.NaN;
    const growth = per1k(l.agentRssMiB, base?.agentRssMiB ?? Number.NaN);
    const growthAfterOne = per1k(l.agentRssAfterOneMiB, base?.agentRssAfterOneMiB ?? Number.NaN);
    const heapGrowth = per1k(l.agentLiveHeapMiB, base?.agentLiveHeapMiB ?? Number.NaN);
    return [
      String(l.deployed).padStart(9),
      `${fmt(l.toCommitted.p50Ms)} / ${fmt(l.toCommitted.p99Ms)} ms`.padStart(22),
      fmt(l.toCommitted.p50Ms / (base?.toCommitted.p50Ms ?? NaN), 2).padStart(6),
      `${fmt(l.toReady.p50Ms)} / ${fmt(l.toReady.p99Ms)} ms`.padStart(19),
      fmt(l.toReady.p50Ms / (base?.toReady.p50Ms ?? NaN), 2).padStart(6),
      `${fmt(l.agentRssMiB)} MiB`.padStart(10),
      fmt(growth, 1).padStart(7),
      fmt(growthAfterOne, 1).padStart(10),
      `${fmt(l.agentLiveHeapMiB)} MiB`.padStart(10),
      fmt(heapGrowth, 1).padStart(7),
      `${fmt(l.agentCpuMsPerProbe)} ms, ${fmt(l.emulatorCpuMsPerProbe)} ms`.padStart(27),
      `${fmt(l.seedSeconds)} s`.padStart(10),
    ].join("  ");
  });
  const { allocator, env } = agentEnvironment(process.env);
  const conf = env["MALLOC_CONF"] ? ` (${env["MALLOC_CONF"]})` : "";
  return `Flat latency: single-package probes, one at a time, with intents already deployed (bar: p50 at 10,000 <= 1.25 x p50 at 0; RSS <= 20 MiB per 1,000; RSS after two full collections, the first one's alone beside it; allocator ${allocator}${conf})\n${head}\n${rows.join("\n")}\n`;
}

// Run alone: node dist/bench/flat-latency.js [--quick]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  runFlatLatencyBenchmark({ quick })
    .then((f) => {
      console.log(flatLatencyTable(f));
      const out = join(ROOT, "bench", "results");
      mkdirSync(out, { recursive: true });
      const file = join(out, `flat-latency-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, flat: f }, null, 2)}\n`,
      );
      console.log(`wrote ${file}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
