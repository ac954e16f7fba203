/**
 * The service lifecycle through a real agent process and two emulated edges (processes, HTTP), ConfigSync
 * period 100 ms, pods ready at once, the agent polling workloads every 50 ms:
 *  - control-plane latency: a 4-package single-wave intent on 2 edges, SubmitIntent → every package
 *    COMMITTED (wave 0 committed and synced, dry runs, wave 1 committed on both repositories); one intent at a
 *    time, each terminated (untimed) before the next, so every run meets the same edges;
 *  - the same 4 packages in 3 waves (a; b after a; c, d after b), SubmitIntent → READY, beside its peer in the
 *    same run: 4 back-to-back sync rounds of a separate RootSync on the same emulator (commit a file, wait for
 *    the RootSync to report it synced, commit the next) — the floor of 4 sequential syncs (wave 0 + 3 waves);
 *  - throughput: single-package intents submitted at a steady rate (BENCH_LIFECYCLE_RATE, default 50/s) for
 *    BENCH_LIFECYCLE_SECONDS (default 60) on edges sized so that capacity is never the limit; the rates at which
 *    intents reach COMMITTED and READY, their latencies, the agent's peak RSS (VmHWM), and the CPU time of the
 *    agent and of the emulators (on a 2-core machine they compete). What has not settled by the run's length (at
 *    least 30 s) after the last submission is counted as unfinished, and the run ends there.
 * Each intent's progress is read from WatchDeployment; the agent's event times are compared with the moment
 * SubmitIntent was called (same machine, same clock).
 *
 * Run alone: `npm run build && node --expose-gc dist/bench/lifecycle.js [--quick]` (writes
 * bench/results/lifecycle-<time>.json); `npm run bench` runs it with the others.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { DeploymentRepository } from "../agent/cad/deployment-repo.js";
import { LocalGitRepository } from "../agent/cad/git/repository.js";
import { intentToMessage } from "../agent/intent/load.js";
import { validateIntent } from "../agent/intent/validate.js";
import { ROOT, startAgentProcess, type AgentProcess } from "../test/helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../test/helpers/emulator-process.js";
import { summarise, type Summary } from "./stats.js";

export interface LifecycleOptions {
  /** Fewer runs (10) and a shorter throughput run (10 s unless BENCH_LIFECYCLE_SECONDS says). */
  quick?: boolean;
  /** Timed runs of each latency benchmark. Default 20. */
  runs?: number;
  /** Seconds of steady submission in the throughput run. Default BENCH_LIFECYCLE_SECONDS or 60. */
  seconds?: number;
  /** Intents submitted per second in the throughput run. Default BENCH_LIFECYCLE_RATE or 50. */
  rate?: number;
  /** Extra environment of the throughput run's agent (NODE_OPTIONS for a profiler, say). */
  agentEnv?: Record<string, string>;
}

export interface ThroughputFigures {
  seconds: number;
  offeredPerSecond: number;
  submitted: number;
  committed: number;
  ready: number;
  failed: number;
  /** Neither READY nor failed when the run was cut (drainBoundSeconds after the last submission). */
  unfinished: number;
  drainBoundSeconds: number;
  /** Intents that reached COMMITTED over the seconds from the first submission to the last of them. */
  committedPerSecond: number;
  readyPerSecond: number;
  /** From the end of submission until the last intent settled, or until the run was cut. */
  drainSeconds: number;
  submitRpc: Summary;
  toCommitted: Summary;
  toReady: Summary;
  /** The agent's peak resident set (VmHWM), MiB. */
  agentPeakRssMiB: number;
  /** The agent's CPU time over the run, seconds (user + system). */
  agentCpuSeconds: number;
  /** Both emulators' CPU time over the run, seconds. */
  emulatorCpuSeconds: number;
  /** The agent's journal over the run, per intent committed: records written and fsyncs (file + folder). */
  journalWritesPerIntent: number;
  journalFsyncsPerIntent: number;
  failures: string[];
}

export interface LifecycleFigures {
  syncPeriodMs: number;
  pollMs: number;
  /** SubmitIntent → all 4 packages COMMITTED (one wave, 2 edges). */
  toCommitted: Summary;
  /** The same runs' own split, from their GetDeployment `timing`: the agent's own work and waiting on edges, p50. */
  agentMsP50: number;
  edgeMsP50: number;
  /** The same split per step of the run (GetDeployment `timing.steps`), p50 over the runs, in the run's order. */
  stepsP50: { step: string; agentMs: number; edgeMs: number }[];
  /** SubmitIntent → READY (3 waves). */
  toReady3Waves: Summary;
  /** One commit → RootSync synced round, back to back. */
  syncRound: Summary;
  /** 4 back-to-back sync rounds (wave 0 + 3 waves): the floor of toReady3Waves. */
  syncFloor: Summary;
  throughput: ThroughputFigures;
}

/** Progress on stderr: these runs take minutes. */
const note = (text: string) => process.stderr.write(`lifecycle bench: ${text}\n`);

const TARGETS = { toCommittedP50Ms: 150, toReadyP50Ms: 1500, committedPerSecond: 50 };
const SYNC_PERIOD = "100ms";
const POLL_MS = 50;

export type Pkg = { name: string; edge?: string; after?: string[]; cpu?: string; memory?: string };

export function intentOf(name: string, packages: Pkg[]) {
  return intentToMessage(
    validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name },
      spec: {
        timeout: "300s",
        packages: packages.map((p) => ({
          name: p.name,
          blueprint: "traffic-sink",
          replicas: 1,
          resources: { cpu: p.cpu ?? "100m", memory: p.memory ?? "64Mi" },
          ...(p.after ? { after: p.after } : {}),
          ...(p.edge ? { placement: { edge: p.edge } } : {}),
        })),
      },
    }),
  );
}

interface Progress {
  /** Agent time (ms) each package first reached COMMITTED. */
  committed: Map<string, number>;
  /** Agent time (ms) the intent settled, and how. */
  settledAt?: number;
  state?: DeploymentState;
  reason?: string;
}

const SETTLED = new Set([
  DeploymentState.READY,
  DeploymentState.ROLLED_BACK,
  DeploymentState.FAILED,
  DeploymentState.TERMINATED,
]);

/** Follows a deployment from `sinceMs` (events replayed from the agent's record, then live) until it settles. */
export async function follow(
  client: Client<typeof DomainManager>,
  headers: Record<string, string>,
  id: string,
  sinceMs: number,
): Promise<Progress> {
  const progress: Progress = { committed: new Map() };
  for await (const { event } of client.watchDeployment(
    { name: id, since: timestampFromMs(sinceMs - 1) },
    { headers, timeoutMs: 600_000 },
  )) {
    if (!event) continue;
    const at = event.time ? timestampDate(event.time).getTime() : Date.now();
    if (event.package && event.state === DeploymentState.COMMITTED && !progress.committed.has(event.package))
      progress.committed.set(event.package, at);
    if (!event.package && event.kind === "state" && SETTLED.has(event.state)) {
      progress.settledAt = at;
      progress.state = event.state;
      progress.reason = event.reason;
    }
  }
  return progress;
}

export interface Rig {
  agent: AgentProcess;
  edges: EmulatorProcess[];
  client: Client<typeof DomainManager>;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

export async function startRig(
  nodes: { name: string; cpu: string; memory: string; pods?: number }[],
  env: Record<string, string> = {},
): Promise<Rig> {
  // The agent's and emulators' folders (git objects, journal) go under .camino/, not /tmp: creating files in
  // /tmp costs about 15 times more on these machines, which would measure the disk, not CAMINO.
  const scratch = join(ROOT, ".camino", "bench-tmp");
  mkdirSync(scratch, { recursive: true });
  process.env["TMPDIR"] = scratch;
  const started = await Promise.allSettled(
    ["edge-1", "edge-2"].map((name) => startEmulatorProcess({ name, nodes, podStartDelayMs: 0 })),
  );
  const edges = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(edges.map((e) => e.stop()));
    throw failed.reason;
  }
  let agent: AgentProcess;
  try {
    agent = await startAgentProcess({
      logLevel: "info",
      env,
      extraConfig: {
        edges: edges.map((e, i) => ({
          name: `edge-${i + 1}`,
          server: e.url,
          labels: {},
          repository: `edge-${i + 1}-deploy`,
          timeoutMs: 30_000,
          syncPeriod: SYNC_PERIOD,
        })),
        lifecycle: { defaultTimeoutSeconds: 300, pollMs: POLL_MS, cleanupTimeoutSeconds: 60, capacityMaxAgeMs: 250 },
      },
    });
  } catch (err) {
    await Promise.all(edges.map((e) => e.stop()));
    throw err;
  }
  // Logs are not needed here; at 50 intents/s keeping them all would weigh on the benchmark process.
  agent.child.stderr?.on("data", () => agent.logs.splice(0));
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const headers = {
    authorization: `Bearer ${await agent.token(["intents:write", "intents:read", "catalogue:read"], 7200)}`,
  };
  // Until both edges answer with their capacity and their RootSyncs were registered.
  for (let i = 0; ; i++) {
    const { edges: listed } = await client.listEdges({}, { headers });
    if (listed.length === 2 && listed.every((e) => e.healthy && e.rootSync?.commit)) break;
    if (i > 200)
      throw new Error(`edges not ready: ${JSON.stringify(listed.map((e) => [e.name, e.healthy, e.message]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    agent,
    edges,
    client,
    headers,
    async stop() {
      await agent.stop();
      await Promise.all(edges.map((e) => e.stop()));
    },
  };
}

/**
 * Runs one intent to READY and returns SubmitIntent → all COMMITTED and → READY, in ms; then terminates it (untimed)
 * so every run meets the same edges: the emulator re-applies its whole repository on every sync round, so
 * intents left deployed would make each later round slower.
 */
export async function deployOnce(
  rig: Rig,
  name: string,
  packages: Pkg[],
): Promise<{
  committedMs: number;
  settledMs: number;
  agentMs: number;
  edgeMs: number;
  steps: { step: string; agentMs: number; edgeMs: number }[];
}> {
  const t0 = Date.now();
  const res = await rig.client.submitIntent({ intent: intentOf(name, packages) }, { headers: rig.headers });
  const progress = await follow(rig.client, rig.headers, res.deploymentId, t0);
  if (progress.state !== DeploymentState.READY)
    throw new Error(`${name} ended ${DeploymentState[progress.state ?? 0]}: ${progress.reason}`);
  const { deployment } = await rig.client.getDeployment({ name }, { headers: rig.headers });
  const t1 = Date.now();
  await rig.client.terminateIntent({ name }, { headers: rig.headers });
  const end = await follow(rig.client, rig.headers, res.deploymentId, t1);
  if (end.state !== DeploymentState.TERMINATED)
    throw new Error(`${name} did not terminate: ${DeploymentState[end.state ?? 0]}: ${end.reason}`);
  return {
    committedMs: Math.max(...packages.map((p) => progress.committed.get(p.name) ?? NaN)) - t0,
    settledMs: (progress.settledAt as number) - t0,
    agentMs: deployment?.timing?.agentMs ?? NaN,
    edgeMs: deployment?.timing?.edgeMs ?? NaN,
    steps: (deployment?.timing?.steps ?? []).map(({ step, agentMs, edgeMs }) => ({ step, agentMs, edgeMs })),
  };
}

/**
 * The peer of a multi-wave deployment: a RootSync of its own on the same emulator, over a local repository;
 * `chains` times `rounds` back-to-back rounds of commit → synced (seen through a watch of the RootSync).
 */
async function measureSyncRounds(
  edge: EmulatorProcess,
  chains: number,
  rounds: number,
): Promise<{ round: Summary; chain: Summary }> {
  mkdirSync(join(ROOT, ".camino"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".camino", "bench-floor-"));
  const base = `${edge.url}/apis/configsync.gke.io/v1beta1/namespaces/config-management-system/rootsyncs`;
  const controller = new AbortController();
  try {
    const repo = new DeploymentRepository(await new LocalGitRepository({ dir }).init());
    await repo.ensureSentinel();
    const waiters = new Map<string, () => void>();
    const created = await fetch(base, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "configsync.gke.io/v1beta1",
        kind: "RootSync",
        metadata: { name: "bench-floor", namespace: "config-management-system" },
        spec: {
          sourceType: "git",
          sourceFormat: "unstructured",
          git: { repo: dir, branch: "main", dir: ".", period: SYNC_PERIOD, auth: "none" },
        },
      }),
    });
    if (created.status !== 201)
      throw new Error(`cannot create the floor RootSync: ${created.status} ${await created.text()}`);
    const watch = await fetch(`${base}?watch=true&fieldSelector=metadata.name%3Dbench-floor`, {
      signal: controller.signal,
    });
    void (async () => {
      let buffered = "";
      const decoder = new TextDecoder();
      try {
        for await (const chunk of watch.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const { object } = JSON.parse(buffered.slice(0, nl)) as {
              object: {
                metadata: { generation?: number };
                status?: { lastSyncedCommit?: string; observedGeneration?: number };
              };
            };
            buffered = buffered.slice(nl + 1);
            const synced = object.status?.lastSyncedCommit;
            if (synced && object.status?.observedGeneration === object.metadata.generation) waiters.get(synced)?.();
          }
        }
      } catch {
        // Aborted at the end.
      }
    })();
    const roundTimes: number[] = [];
    const chainTimes: number[] = [];
    let n = 0;
    const start = performance.now();
    for (let c = 0; c < chains + 1; c++) {
      const t = performance.now();
      for (let r = 0; r < rounds; r++) {
        const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: round\n  namespace: bench-floor\ndata:\n  n: "${n++}"\n`;
        const t0 = performance.now();
        const { commit } = await repo.writeWave({
          intent: "bench-floor",
          revision: n,
          wave: 1,
          packages: new Map([["p", new Map([["bench-floor/p/cm.yaml", cm]])]]),
        });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`commit ${commit} not synced within 10 s`)), 10_000);
          waiters.set(commit, () => {
            clearTimeout(timer);
            waiters.delete(commit);
            resolve();
          });
        });
        // The first chain warms up.
        if (c > 0) roundTimes.push(performance.now() - t0);
      }
      if (c > 0) chainTimes.push(performance.now() - t);
    }
    const wall = performance.now() - start;
    return { round: summarise(roundTimes, wall), chain: summarise(chainTimes, wall) };
  } finally {
    controller.abort();
    await fetch(`${base}/bench-floor`, { method: "DELETE" }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** /proc/<pid>/status fields in kB. */
export function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The agent's journal counters from its /metrics (camino_journal_writes_total, camino_journal_fsyncs_total). */
export async function journalCounters(
  rig: Rig,
): Promise<{ writes: number; file: number; folder: number; fsyncs: number }> {
  const text = await (await fetch(`${rig.agent.httpUrl}/metrics`)).text();
  const read = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  const file = read(/^camino_journal_fsyncs_total\{target="file"[^}]*\} (\d+)/m);
  const folder = read(/^camino_journal_fsyncs_total\{target="folder"[^}]*\} (\d+)/m);
  return { writes: read(/^camino_journal_writes_total(?:\{[^}]*\})? (\d+)/m), file, folder, fsyncs: file + folder };
}

export async function runThroughput(
  seconds: number,
  rate: number,
  agentEnv: Record<string, string> = {},
): Promise<ThroughputFigures> {
  const total = Math.round(seconds * rate);
  // Capacity is never the limit: 10m and 16Mi per intent, pod slots for all of them on each edge.
  const nodeCount = Math.ceil(total / 1000) + 1;
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i + 1}`,
    cpu: "64",
    memory: "256Gi",
    pods: 1000,
  }));
  const rig = await startRig(nodes, agentEnv);
  const pid = rig.agent.child.pid as number;
  const drainBoundSeconds = Math.max(30, seconds);
  const runs: Promise<void>[] = [];
  try {
    const journal0 = await journalCounters(rig);
    const cpu0 = cpuSeconds(pid);
    const emulatorCpu = () => rig.edges.reduce((sum, e) => sum + cpuSeconds(e.pid), 0);
    const emu0 = emulatorCpu();
    const submitTimes: number[] = [];
    const failures: string[] = [];
    const toCommitted: number[] = [];
    const toReady: number[] = [];
    let lastCommitted = 0;
    let lastReady = 0;
    let failed = 0;
    const t0 = Date.now();
    let cut = false;
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `tp-${i}`;
      runs.push(
        (async () => {
          const at = Date.now();
          const s = performance.now();
          const res = await rig.client.submitIntent(
            { intent: intentOf(name, [{ name: "sink", cpu: "10m", memory: "16Mi" }]) },
            { headers: rig.headers },
          );
          submitTimes.push(performance.now() - s);
          const p = await follow(rig.client, rig.headers, res.deploymentId, at);
          if (cut) return;
          const c = p.committed.get("sink");
          if (c !== undefined) {
            toCommitted.push(c - at);
            lastCommitted = Math.max(lastCommitted, c);
          }
          if (p.state === DeploymentState.READY) {
            toReady.push((p.settledAt as number) - at);
            lastReady = Math.max(lastReady, p.settledAt as number);
          } else {
            failed++;
            if (failures.length < 5) failures.push(`${name} ${DeploymentState[p.state ?? 0]}: ${p.reason}`);
          }
        })().catch((err: unknown) => {
          if (cut) return;
          failed++;
          if (failures.length < 5) failures.push(`${name}: ${(err as Error).message}`);
        }),
      );
    }
    const submittedAt = Date.now();
    note(`throughput: ${total} submitted; ${toCommitted.length} committed, ${toReady.length} ready so far`);
    // An agent that cannot keep up is not waited for without end: what has not settled by then is unfinished.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(runs),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, drainBoundSeconds * 1000))),
    ]);
    clearTimeout(timer);
    cut = true;
    const drainSeconds = (Date.now() - submittedAt) / 1000;
    const status = procStatus(pid);
    const journal1 = await journalCounters(rig);
    const figures: ThroughputFigures = {
      seconds,
      offeredPerSecond: rate,
      submitted: total,
      committed: toCommitted.length,
      ready: toReady.length,
      failed,
      unfinished: total - toReady.length - failed,
      drainBoundSeconds,
      committedPerSecond: toCommitted.length / ((lastCommitted - t0) / 1000),
      readyPerSecond: toReady.length / ((lastReady - t0) / 1000),
      drainSeconds,
      submitRpc: summarise(submitTimes, submittedAt - t0 || 1),
      toCommitted: summarise(toCommitted, lastCommitted - t0 || 1),
      toReady: summarise(toReady, lastReady - t0 || 1),
      agentPeakRssMiB: (status["VmHWM"] ?? NaN) / 1024,
      agentCpuSeconds: cpuSeconds(pid) - cpu0,
      emulatorCpuSeconds: emulatorCpu() - emu0,
      journalWritesPerIntent: (journal1.writes - journal0.writes) / toCommitted.length,
      journalFsyncsPerIntent: (journal1.fsyncs - journal0.fsyncs) / toCommitted.length,
      failures,
    };
    return figures;
  } finally {
    await rig.stop();
    // The watches still open end with the agent.
    await Promise.allSettled(runs);
  }
}

export async function runLifecycleBenchmark(options: LifecycleOptions = {}): Promise<LifecycleFigures> {
  const runs = options.runs ?? (options.quick ? 10 : 20);
  const seconds = options.seconds ?? Number(process.env["BENCH_LIFECYCLE_SECONDS"] ?? (options.quick ? 10 : 60));
  const rate = options.rate ?? Number(process.env["BENCH_LIFECYCLE_RATE"] ?? 50);

  // Latency: 2 edges of 4 nodes; one intent at a time, terminated after its run.
  const rig = await startRig(
    Array.from({ length: 4 }, (_, i) => ({ name: `node-${i + 1}`, cpu: "16", memory: "64Gi" })),
  );
  let toCommitted: Summary;
  let agentMsP50: number;
  let edgeMsP50: number;
  let stepsP50: LifecycleFigures["stepsP50"];
  let toReady3Waves: Summary;
  let floor: { round: Summary; chain: Summary };
  try {
    const oneWave: Pkg[] = [
      { name: "a", edge: "edge-1" },
      { name: "b", edge: "edge-1" },
      { name: "c", edge: "edge-2" },
      { name: "d", edge: "edge-2" },
    ];
    const threeWaves: Pkg[] = [
      { name: "a", edge: "edge-1" },
      { name: "b", edge: "edge-2", after: ["a"] },
      { name: "c", edge: "edge-1", after: ["b"] },
      { name: "d", edge: "edge-2", after: ["b"] },
    ];
    const warmup = 3;
    const committed: number[] = [];
    const ready: number[] = [];
    const own: number[] = [];
    const onEdges: number[] = [];
    const perStep = new Map<string, { agent: number[]; edge: number[] }>();
    let start = performance.now();
    for (let i = 0; i < runs + warmup; i++) {
      const r = await deployOnce(rig, `one-wave-${i}`, oneWave);
      if (i >= warmup) {
        committed.push(r.committedMs);
        own.push(r.agentMs);
        onEdges.push(r.edgeMs);
        for (const s of r.steps) {
          const t = perStep.get(s.step) ?? { agent: [], edge: [] };
          t.agent.push(s.agentMs);
          t.edge.push(s.edgeMs);
          perStep.set(s.step, t);
        }
      }
    }
    toCommitted = summarise(committed, performance.now() - start);
    agentMsP50 = summarise(own, 1).p50Ms;
    edgeMsP50 = summarise(onEdges, 1).p50Ms;
    stepsP50 = [...perStep].map(([step, t]) => ({
      step,
      agentMs: summarise(t.agent, 1).p50Ms,
      edgeMs: summarise(t.edge, 1).p50Ms,
    }));
    note(`one wave: the agent's own time p50 ${agentMsP50.toFixed(1)} ms, on edges ${edgeMsP50.toFixed(1)} ms`);
    note(`one wave: SubmitIntent → COMMITTED p50 ${toCommitted.p50Ms.toFixed(1)} ms`);
    start = performance.now();
    for (let i = 0; i < runs + warmup; i++) {
      const r = await deployOnce(rig, `three-waves-${i}`, threeWaves);
      if (i >= warmup) ready.push(r.settledMs);
    }
    toReady3Waves = summarise(ready, performance.now() - start);
    note(`three waves: SubmitIntent → READY p50 ${toReady3Waves.p50Ms.toFixed(1)} ms`);
    floor = await measureSyncRounds(rig.edges[0] as EmulatorProcess, runs, 4);
  } finally {
    await rig.stop();
  }

  note(`floor: 4 sync rounds p50 ${floor.chain.p50Ms.toFixed(1)} ms; throughput run: ${rate}/s for ${seconds} s`);
  const throughput = await runThroughput(seconds, rate, options.agentEnv);
  return {
    syncPeriodMs: 100,
    pollMs: POLL_MS,
    toCommitted,
    agentMsP50,
    edgeMsP50,
    stepsP50,
    toReady3Waves,
    syncRound: floor.round,
    syncFloor: floor.chain,
    throughput,
  };
}

/** The figures as a table: one row per figure, with its target and the ratio to it (and to its peer). */
export function lifecycleTable(f: LifecycleFigures): string {
  const t = f.throughput;
  const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const rows: [string, string, string, string, string][] = [
    [
      "SubmitIntent → 4 packages COMMITTED (1 wave, 2 edges), p50",
      `${fmt(f.toCommitted.p50Ms)} ms`,
      `< ${TARGETS.toCommittedP50Ms} ms`,
      fmt(f.toCommitted.p50Ms / TARGETS.toCommittedP50Ms, 2),
      "-",
    ],
    ["  same, p99", `${fmt(f.toCommitted.p99Ms)} ms`, "-", "-", "-"],
    [
      "  its run to READY: the agent's own time, p50",
      `${fmt(f.agentMsP50)} ms`,
      "<= 20 ms",
      fmt(f.agentMsP50 / 20, 2),
      `waiting on edges ${fmt(f.edgeMsP50)} ms`,
    ],
    ...f.stepsP50.map((s): [string, string, string, string, string] => [
      `    step ${s.step}: own, p50`,
      `${fmt(s.agentMs)} ms`,
      "-",
      "-",
      `waiting on edges ${fmt(s.edgeMs)} ms`,
    ]),
    [
      "SubmitIntent → READY (4 packages, 3 waves), p50",
      `${fmt(f.toReady3Waves.p50Ms)} ms`,
      `< ${TARGETS.toReadyP50Ms} ms`,
      fmt(f.toReady3Waves.p50Ms / TARGETS.toReadyP50Ms, 2),
      `${fmt(f.toReady3Waves.p50Ms / f.syncFloor.p50Ms, 2)}x floor`,
    ],
    [
      "  same, p99",
      `${fmt(f.toReady3Waves.p99Ms)} ms`,
      "-",
      "-",
      `${fmt(f.toReady3Waves.p99Ms / f.syncFloor.p99Ms, 2)}x floor`,
    ],
    [
      "  peer: 4 back-to-back sync rounds (floor), p50",
      `${fmt(f.syncFloor.p50Ms)} ms`,
      "-",
      "-",
      `one round p50 ${fmt(f.syncRound.p50Ms)} ms`,
    ],
    [
      `Throughput offered ${t.offeredPerSecond}/s for ${t.seconds} s: COMMITTED per s`,
      `${fmt(t.committedPerSecond)} /s`,
      `>= ${TARGETS.committedPerSecond} /s`,
      fmt(t.committedPerSecond / TARGETS.committedPerSecond, 2),
      `${t.committed}/${t.submitted} committed`,
    ],
    [
      "  READY per s",
      `${fmt(t.readyPerSecond)} /s`,
      "-",
      "-",
      `${t.ready}/${t.submitted} ready, ${t.failed} failed, ${t.unfinished} unfinished`,
    ],
    [
      "  SubmitIntent → COMMITTED under load, p50 / p99",
      `${fmt(t.toCommitted.p50Ms, 0)} / ${fmt(t.toCommitted.p99Ms, 0)} ms`,
      "-",
      "-",
      "-",
    ],
    [
      "  SubmitIntent → READY under load, p50 / p99",
      `${fmt(t.toReady.p50Ms, 0)} / ${fmt(t.toReady.p99Ms, 0)} ms`,
      "-",
      "-",
      "-",
    ],
    [
      "  SubmitIntent RPC under load, p50 / p99",
      `${fmt(t.submitRpc.p50Ms, 1)} / ${fmt(t.submitRpc.p99Ms, 1)} ms`,
      "-",
      "-",
      "-",
    ],
    [
      "  drain after the last submission",
      `${fmt(t.drainSeconds)} s`,
      "-",
      "-",
      `the run is cut ${t.drainBoundSeconds} s after it`,
    ],
    ["  agent peak RSS (VmHWM)", `${fmt(t.agentPeakRssMiB)} MiB`, "-", "-", "-"],
    [
      "  agent CPU per intent committed",
      `${fmt((t.agentCpuSeconds * 1000) / t.committed)} ms`,
      "<= 25 ms",
      fmt((t.agentCpuSeconds * 1000) / t.committed / 25, 2),
      `emulators ${fmt((t.emulatorCpuSeconds * 1000) / t.committed)} ms (<= 25)`,
    ],
    [
      "  journal per intent: records written, fsyncs",
      `${fmt(t.journalWritesPerIntent)}, ${fmt(t.journalFsyncsPerIntent)}`,
      "-",
      "-",
      "-",
    ],
    [
      "  CPU time: agent / both emulators",
      `${fmt(t.agentCpuSeconds)} / ${fmt(t.emulatorCpuSeconds)} s`,
      "-",
      "-",
      `${fmt((t.agentCpuSeconds / (t.seconds + t.drainSeconds)) * 100, 0)}% / ${fmt((t.emulatorCpuSeconds / (t.seconds + t.drainSeconds)) * 100, 0)}% of a core`,
    ],
  ];
  const head = ["figure".padEnd(62), "value".padStart(18), "target".padStart(10), "ratio".padStart(6), "  peer"].join(
    "  ",
  );
  const lines = rows.map((r) =>
    [r[0].padEnd(62), r[1].padStart(18), r[2].padStart(10), r[3].padStart(6), `  ${r[4]}`].join("  "),
  );
  const failures = t.failures.length > 0 ? `\n  failures (first ${t.failures.length}): ${t.failures.join("; ")}` : "";
  return `Service lifecycle (agent and 2 emulator processes, ConfigSync period ${f.syncPeriodMs} ms, pod start 0 ms, workload poll ${f.pollMs} ms)\n${head}\n${lines.join("\n")}${failures}\n`;
}

// Run alone: node dist/bench/lifecycle.js [--quick]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  runLifecycleBenchmark({ quick })
    .then((f) => {
      console.log(lifecycleTable(f));
      const out = join(ROOT, "bench", "results");
      mkdirSync(out, { recursive: true });
      const file = join(out, `lifecycle-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, lifecycle: f }, null, 2)}\n`,
      );
      console.log(`wrote ${file}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
