/**
 * Durable state and recovery (issue 17), through a real agent process and two emulated edges (processes, HTTP),
 * set up as bench/lifecycle.ts sets up its latency runs (ConfigSync period 100 ms, pollMs 50):
 *  - the durable record's cost on one intent's control-plane latency: a 4-package single-wave intent on 2 edges,
 *    SubmitIntent → every package COMMITTED and → READY, one intent at a time (each terminated, untimed, before
 *    the next), with the journal as it runs (fsync of each record's file, one shared fsync of the folder) beside
 *    its peer in the same run: the same agent and edges with `CAMINO_JOURNAL_FSYNC=off` (records still written
 *    and renamed, never fsynced); and the journal's writes and fsyncs per intent, read from the agent's /metrics
 *    (`camino_journal_writes_total`, `camino_journal_fsyncs_total`) before and after the runs;
 *  - restart-to-serving with 1,000 recorded intents: the agent stopped, its journal filled with 1,000 READY
 *    records (copies of a real one, renamed: the 4-package intent as deployed, with its events and history),
 *    and started again; timed from the start of the process to the first `ListDeployments` answer listing all
 *    of them, beside its peer: the same restart with only the one real record. (The copies' objects were never
 *    deployed, so the observers find them missing after the start; that comes after the figure.)
 *
 * Run alone: `npm run build && node --expose-gc dist/bench/recovery.js [--quick]` (writes
 * bench/results/recovery-<time>.json); `npm run bench` runs it with the others. BENCH_RECOVERY_PROFILE=FILE
 * profiles one more start with the 1,000 records into FILE.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../test/helpers/agent-process.js";
import { cpuProfileEnv } from "../test/helpers/cpu-profile.js";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { deployOnce, follow, intentOf, journalCounters, startRig, type Pkg, type Rig } from "./lifecycle.js";
import { summarise, type Summary } from "./stats.js";

const note = (text: string) => process.stderr.write(`recovery bench: ${text}\n`);

export interface JournalCost {
  toCommitted: Summary;
  toReady: Summary;
  /** Per intent (deploy and terminate): records written, fsyncs of files and of the folder. */
  writesPerIntent: number;
  fileSyncsPerIntent: number;
  folderSyncsPerIntent: number;
}

export interface RecoveryFigures {
  runs: number;
  durable: JournalCost;
  noFsync: JournalCost;
  records: number;
  /** Process start → first ListDeployments listing every record, ms (median of the restarts). */
  restartMs: number;
  /** The same with one record. */
  restartOneMs: number;
  restarts: number;
}

const NODES = Array.from({ length: 4 }, (_, i) => ({ name: `node-${i + 1}`, cpu: "16", memory: "64Gi" }));
const ONE_WAVE: Pkg[] = [
  { name: "a", edge: "edge-1" },
  { name: "b", edge: "edge-1" },
  { name: "c", edge: "edge-2" },
  { name: "d", edge: "edge-2" },
];

async function journalCost(rig: Rig, runs: number, prefix: string): Promise<JournalCost> {
  for (let i = 0; i < 3; i++) await deployOnce(rig, `${prefix}-warm-${i}`, ONE_WAVE);
  const before = await journalCounters(rig);
  const committed: number[] = [];
  const ready: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const r = await deployOnce(rig, `${prefix}-${i}`, ONE_WAVE);
    committed.push(r.committedMs);
    ready.push(r.settledMs);
  }
  const wall = performance.now() - start;
  const after = await journalCounters(rig);
  return {
    toCommitted: summarise(committed, wall),
    toReady: summarise(ready, wall),
    writesPerIntent: (after.writes - before.writes) / runs,
    fileSyncsPerIntent: (after.file - before.file) / runs,
    folderSyncsPerIntent: (after.folder - before.folder) / runs,
  };
}

/**
 * Restarts the agent (running `whileDown` while it is stopped) and times process start → a ListDeployments page
 * listing `expect` deployments.
 */
async function timedRestart(
  rig: Rig,
  expect: number,
  whileDown?: () => void,
  env?: Record<string, string>,
): Promise<number> {
  let t0 = 0;
  await rig.agent.restart(
    async () => {
      whileDown?.();
      t0 = performance.now();
    },
    env ? { env } : undefined,
  );
  const { deployments } = await rig.client.listDeployments({ pageSize: 1000 }, { headers: rig.headers });
  if (deployments.length !== expect)
    throw new Error(`after the restart the agent lists ${deployments.length} deployments, not ${expect}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function runRecoveryBenchmark(quick = false): Promise<RecoveryFigures> {
  const runs = quick ? 5 : 15;
  const restarts = quick ? 2 : 5;
  const records = 1000;
  const restartMs: number[] = [];
  const restartOneMs: number[] = [];
  let durable: JournalCost;
  const plain = await startRig(NODES);
  try {
    durable = await journalCost(plain, runs, "durable");
    note(`durable journal: SubmitIntent → COMMITTED p50 ${durable.toCommitted.p50Ms.toFixed(1)} ms`);
    // One intent left READY: its record is the model of the 1,000.
    const t0 = Date.now();
    const res = await plain.client.submitIntent({ intent: intentOf("model", ONE_WAVE) }, { headers: plain.headers });
    const end = await follow(plain.client, plain.headers, res.deploymentId, t0);
    if (end.state !== DeploymentState.READY) throw new Error(`the model intent ended ${end.state}: ${end.reason}`);
    const dir = join(plain.agent.dir, "data", "deployments");
    const onlyModel = () => {
      for (const f of readdirSync(dir)) if (f !== "model.json") rmSync(join(dir, f));
    };
    restartOneMs.push(await timedRestart(plain, 1, onlyModel));
    for (let i = 1; i < restarts; i++) restartOneMs.push(await timedRestart(plain, 1));
    const model = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as { intent: string; id: string };
    const copies = () => {
      for (let i = 0; i < records - 1; i++) {
        const name = `copy-${String(i).padStart(4, "0")}`;
        const text = JSON.stringify({ ...model, intent: name, id: model.id.replace("model", name) });
        writeFileSync(join(dir, `${name}.json`), text, { mode: 0o600 });
      }
    };
    restartMs.push(await timedRestart(plain, records, copies));
    for (let i = 1; i < restarts; i++) restartMs.push(await timedRestart(plain, records));
    const profile = process.env["BENCH_RECOVERY_PROFILE"];
    if (profile) {
      // One more start, profiled (test/helpers/cpu-profile.ts); the profile is written when it stops.
      await timedRestart(plain, records, undefined, cpuProfileEnv(profile));
      await plain.agent.restart();
      note(`profile of a start with ${records} records: ${profile}`);
    }
    note(
      `restart with ${records} records: ${median(restartMs).toFixed(0)} ms, with 1: ${median(restartOneMs).toFixed(0)} ms`,
    );
  } finally {
    await plain.stop();
  }
  let noFsync: JournalCost;
  const unsynced = await startRig(NODES, { CAMINO_JOURNAL_FSYNC: "off" });
  try {
    noFsync = await journalCost(unsynced, runs, "unsynced");
    note(`journal without fsync: SubmitIntent → COMMITTED p50 ${noFsync.toCommitted.p50Ms.toFixed(1)} ms`);
  } finally {
    await unsynced.stop();
  }
  return {
    runs,
    durable,
    noFsync,
    records,
    restartMs: median(restartMs),
    restartOneMs: median(restartOneMs),
    restarts,
  };
}

/** The figures as a table, each beside its peer. */
export function recoveryTable(f: RecoveryFigures): string {
  const row = (name: string, value: string, peer: string, ratio: string) =>
    `${name.padEnd(58)}  ${value.padStart(12)}  ${peer.padStart(12)}  ${ratio.padStart(7)}`;
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const per = (c: JournalCost) =>
    `${c.writesPerIntent.toFixed(1)} writes, ${c.fileSyncsPerIntent.toFixed(1)} file + ${c.folderSyncsPerIntent.toFixed(1)} folder fsyncs`;
  return [
    `Durable state and recovery (real agent, 2 emulated edges; ${f.runs} intents each; peer: the journal without fsync)`,
    row("figure", "value", "peer", "ratio"),
    row(
      "SubmitIntent → 4 packages COMMITTED, p50",
      ms(f.durable.toCommitted.p50Ms),
      ms(f.noFsync.toCommitted.p50Ms),
      (f.durable.toCommitted.p50Ms / f.noFsync.toCommitted.p50Ms).toFixed(2),
    ),
    row(
      "SubmitIntent → READY, p50",
      ms(f.durable.toReady.p50Ms),
      ms(f.noFsync.toReady.p50Ms),
      (f.durable.toReady.p50Ms / f.noFsync.toReady.p50Ms).toFixed(2),
    ),
    `journal per intent (deploy + terminate): ${per(f.durable)}`,
    row(
      `restart → ListDeployments of ${f.records} records (peer: 1 record)`,
      ms(f.restartMs),
      ms(f.restartOneMs),
      (f.restartMs / f.restartOneMs).toFixed(2),
    ),
    `  goal: restart-to-serving under 1000 ms with ${f.records} records (median of ${f.restarts} restarts)`,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const figures = await runRecoveryBenchmark(quick);
  console.log(recoveryTable(figures));
  const out = join(ROOT, "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `recovery-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`\nwritten: ${file}`);
}
