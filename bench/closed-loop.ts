/**
 * The closed loop (issue 16), through a real agent process and emulated edges (processes, HTTP):
 *  - observer cost: 10 edges, 50 intents × 20 packages (1,000 READY packages, 100 per edge, every intent on every
 *    edge), default `lifecycle.pollMs` (200 ms: a watch-only tick every 250 ms), ConfigSync period 1 s. Over a
 *    window of steady state: the agent's CPU time (/proc/<pid>/stat) per observer tick, beside its peer in the same
 *    run: the same agent and edges with no intent yet (its idle CPU per second, subtracted, so the figure is the
 *    watching's own cost); and the requests each edge received per tick, counted by a proxy in front of each edge
 *    (test/helpers/request-counter.ts, an independent witness), beside the naive figure: one listing per intent
 *    per tick (three list calls each: Deployments, StatefulSets, DaemonSets). A tick is counted as one listing of
 *    Deployments across namespaces (what the observer sends once per tick).
 *  - pod loss → DEGRADED on a following WatchDeployment, in the same run (1,000 packages watched): a package's
 *    Deployment deleted through the edge's Kubernetes API (as `kubectl delete` does), timed from the DELETE to the
 *    DEGRADED event's arrival; then created again through the API (its manifest as it was read, as an operator
 *    restoring it would; ConfigSync's own re-apply comes only every 20 quiet rounds) and timed to READY. And the
 *    same with the emulator fault `unavailable` (its pods stop passing readiness), set and cleared.
 *  - an update of one package of a 20-package intent on 2 edges (a separate agent and 2 edges, ConfigSync period
 *    100 ms, pollMs 50, as bench/lifecycle.ts): SubmitIntent with one package's replicas changed (2, then 1, …) →
 *    that package COMMITTED, p50; and the size of the update's commits in the deployment repositories (read with
 *    the git CLI: files changed, bytes of the files as written, bytes of the unified diff), beside its peer: the
 *    first deployment's commits of the same 20 packages.
 *
 * Run alone: `npm run build && node --expose-gc dist/bench/closed-loop.js [--quick]` (writes
 * bench/results/closed-loop-<time>.json); `npm run bench` runs it with the others. BENCH_CLOSED_LOOP_PROFILE=DIR
 * profiles the observer's agent into DIR (test/helpers/cpu-profile.ts: Node refuses --cpu-prof in NODE_OPTIONS) and
 * stops it right after the watched window (no pod loss), so
 * the profile's last seconds are that window (the profile is written when the agent stops).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { intentToMessage } from "../agent/intent/load.js";
import { validateIntent } from "../agent/intent/validate.js";
import { ROOT, startAgentProcess, type AgentProcess } from "../test/helpers/agent-process.js";
import { cpuProfileEnv } from "../test/helpers/cpu-profile.js";
import { startEmulatorProcess, type EmulatorProcess } from "../test/helpers/emulator-process.js";
import { startRequestCounter, type RequestCounter } from "../test/helpers/request-counter.js";
import { summarise, type Summary } from "./stats.js";

export interface ClosedLoopOptions {
  /** 5 edges, 5 intents (100 packages), 3 s windows, 2 repetitions and 2 updates: about a minute. */
  quick?: boolean;
  /** Extra environment of the observer's agent (NODE_OPTIONS for a profiler, say). */
  agentEnv?: Record<string, string>;
}

export interface ObserverFigures {
  edges: number;
  intents: number;
  packages: number;
  pollMs: number;
  syncPeriod: string;
  /** Seconds from the first SubmitIntent to the last intent READY. */
  seedSeconds: number;
  /** The agent's CPU time over the seeding, seconds. */
  seedAgentCpuSeconds: number;
  /** Length of each measuring window, seconds. */
  windowSeconds: number;
  /** Agent CPU per second with no intent (the peer), ms. */
  idleCpuMsPerSecond: number;
  /** Agent CPU per second with every intent READY and watched, ms. */
  watchedCpuMsPerSecond: number;
  /** Observer ticks per edge in the watched window (listings of Deployments across namespaces), mean over edges. */
  ticks: number;
  /** The window divided by the ticks, ms. */
  tickMs: number;
  /** (watched − idle) agent CPU per tick, all edges together, ms. */
  cpuPerTickMs: number;
  /** The same per edge and tick, ms. */
  cpuPerEdgeTickMs: number;
  /** Requests one edge received per tick, by "METHOD /path", mean over edges. */
  requestsPerEdgePerTick: Record<string, number>;
  /** TCP connections the agent opened to one edge per tick (as many as requests: no keep-alive). */
  connectionsPerEdgePerTick: number;
  /** Workload-listing requests (Deployments, StatefulSets, DaemonSets) per edge per tick. */
  listingRequestsPerEdgePerTick: number;
  /** Intents with packages on each edge. */
  intentsPerEdge: number;
  /** One listing per intent per tick: intentsPerEdge × 3 kinds. */
  naiveListingRequestsPerEdgePerTick: number;
  /** Requests per edge per second with no intent (the peer), by "METHOD /path". */
  idleRequestsPerEdgePerSecond: Record<string, number>;
  /** All 10 emulators' CPU per second, idle and watched, ms. */
  emulatorCpuMsPerSecond: { idle: number; watched: number };
  /** The agent's resident set at the end of the watched window, MiB. */
  agentRssMiB: number;
}

export interface PodLossFigures {
  repetitions: number;
  /** Deployment deleted → DEGRADED event received. */
  deletedToDegraded: Summary;
  /** Deployment created again → READY event received. */
  restoredToReady: Summary;
  /** `unavailable` fault set → DEGRADED event received. */
  unavailableToDegraded: Summary;
  /** `unavailable` fault cleared → READY event received. */
  clearedToReady: Summary;
  /** A DEGRADED reason as the watch showed it. */
  reasonSample: string;
}

export interface CommitSize {
  commits: number;
  files: number;
  /** Bytes of the files as the commits wrote them (added or changed). */
  bytes: number;
  /** Bytes of `git diff-tree -p` of the commits. */
  diffBytes: number;
  /** The files, as "STATUS path" (git's A, M, D), over the commits. */
  paths: string[];
  /** Files whose every changed line names the revision (nothing else about them changed). */
  revisionOnly: number;
  /** The first file's diff (at most 600 characters), to show what changed. */
  diffSample?: string;
}

export interface UpdateFigures {
  packages: number;
  updates: number;
  /** SubmitIntent → the changed package COMMITTED. */
  toCommitted: Summary;
  /** SubmitIntent → READY. */
  toReady: Summary;
  /** The update's commits (mean over the updates; `paths` of the last update). */
  update: CommitSize;
  /** Peer: the first deployment's commits of the same 20 packages (chain wave 0 included). */
  first: CommitSize;
  /** The first deployment's package wave alone (wave 1: all 20 packages' files). */
  firstPackages: CommitSize;
}

export interface ClosedLoopFigures {
  observer: ObserverFigures;
  podLoss: PodLossFigures;
  update: UpdateFigures;
}

/** Progress on stderr: seeding a thousand packages takes a while. */
const began = performance.now();
const note = (text: string) =>
  process.stderr.write(`closed-loop bench (${((performance.now() - began) / 1000).toFixed(0)} s): ${text}\n`);

const WORKLOAD_LISTINGS = [
  "GET /apis/apps/v1/deployments",
  "GET /apis/apps/v1/statefulsets",
  "GET /apis/apps/v1/daemonsets",
] as const;
const TICK_KEY = WORKLOAD_LISTINGS[0];

type Pkg = { name: string; edge: string; replicas?: number };

function intentOf(name: string, packages: Pkg[]) {
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
          replicas: p.replicas ?? 1,
          resources: { cpu: "10m", memory: "16Mi" },
          placement: { edge: p.edge },
        })),
      },
    }),
  );
}

/** `count` packages p0.. spread round-robin over `edges`. */
const packagesOver = (count: number, edges: string[]): Pkg[] =>
  Array.from({ length: count }, (_, i) => ({ name: `p${i}`, edge: edges[i % edges.length] as string }));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN) / 1024;
}

const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rig {
  agent: AgentProcess;
  edges: EmulatorProcess[];
  /** One per edge, in front of its API (observer rig only). */
  counters: RequestCounter[];
  client: Client<typeof DomainManager>;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

interface RigOptions {
  edges: number;
  nodes: { name: string; cpu: string; memory: string; pods: number }[];
  syncPeriod: string;
  /** The agent's lifecycle.pollMs; absent: the default. */
  pollMs?: number;
  /** Put a counting proxy in front of each edge. */
  counted: boolean;
  env?: Record<string, string>;
}

async function startRig(o: RigOptions): Promise<Rig> {
  // The agent's and emulators' folders go under .camino/, not /tmp: creating files in /tmp costs much more on
  // these machines (bench/lifecycle.ts).
  const scratch = join(ROOT, ".camino", "bench-tmp");
  mkdirSync(scratch, { recursive: true });
  process.env["TMPDIR"] = scratch;
  const names = Array.from({ length: o.edges }, (_, i) => `edge-${i + 1}`);
  const edges: EmulatorProcess[] = [];
  const counters: RequestCounter[] = [];
  let agent: AgentProcess | undefined;
  const stop = async () => {
    await agent?.stop();
    await Promise.all(counters.map((c) => c.close()));
    await Promise.all(edges.map((e) => e.stop()));
  };
  try {
    const started = await Promise.allSettled(
      names.map((name) => startEmulatorProcess({ name, nodes: o.nodes, podStartDelayMs: 0 })),
    );
    for (const s of started) if (s.status === "fulfilled") edges.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    if (o.counted) counters.push(...(await Promise.all(edges.map((e) => startRequestCounter({ target: e.url })))));
    agent = await startAgentProcess({
      logLevel: "info",
      env: o.env ?? {},
      repositories: [
        { name: "catalogue", role: "blueprint", seedFrom: join(ROOT, "blueprints") },
        ...names.map((name) => ({ name: `${name}-deploy`, role: "deployment", edge: name })),
      ],
      extraConfig: {
        edges: names.map((name, i) => ({
          name,
          server: o.counted ? (counters[i] as RequestCounter).url : (edges[i] as EmulatorProcess).url,
          labels: {},
          repository: `${name}-deploy`,
          timeoutMs: 30_000,
          syncPeriod: o.syncPeriod,
        })),
        lifecycle: {
          defaultTimeoutSeconds: 300,
          cleanupTimeoutSeconds: 60,
          ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
        },
      },
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Logs are not kept (a thousand packages log a lot), but the last ones are, for a failure's message.
  const a = agent;
  a.child.stderr?.on("data", () => {
    if (a.logs.length > 400) a.logs.splice(0, a.logs.length - 100);
  });
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: a.grpcUrl }));
  const headers = {
    authorization: `Bearer ${await a.token(["intents:write", "intents:read", "catalogue:read"], 7200)}`,
  };
  // Until every edge answers with its capacity and its RootSync was registered.
  try {
    for (let i = 0; ; i++) {
      const { edges: listed } = await client.listEdges({}, { headers });
      if (listed.length === o.edges && listed.every((e) => e.healthy && e.rootSync?.commit)) break;
      if (i > 600)
        throw new Error(`edges not ready: ${JSON.stringify(listed.map((e) => [e.name, e.healthy, e.message]))}`);
      await until(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { agent: a, edges, counters, client, headers, stop };
}

interface Settled {
  committed: Map<string, number>;
  settledAt?: number;
  state?: DeploymentState;
  reason?: string;
  revision: bigint;
}

const SETTLED = new Set([
  DeploymentState.READY,
  DeploymentState.ROLLED_BACK,
  DeploymentState.FAILED,
  DeploymentState.TERMINATED,
]);

/** Follows a run from `sinceMs` (replayed, then live) until it settles: each package's COMMITTED time, the end. */
async function settle(rig: Rig, id: string, sinceMs: number): Promise<Settled> {
  const out: Settled = { committed: new Map(), revision: 0n };
  for await (const { event } of rig.client.watchDeployment(
    { name: id, since: timestampFromMs(sinceMs - 1) },
    { headers: rig.headers, timeoutMs: 600_000 },
  )) {
    if (!event) continue;
    const at = event.time ? timestampDate(event.time).getTime() : Date.now();
    if (event.revision > out.revision) out.revision = event.revision;
    if (event.package && event.state === DeploymentState.COMMITTED && !out.committed.has(event.package))
      out.committed.set(event.package, at);
    if (!event.package && event.kind === "state" && SETTLED.has(event.state)) {
      out.settledAt = at;
      out.state = event.state;
      out.reason = event.reason;
    }
  }
  return out;
}

/** Submits and waits for READY; throws with the reason otherwise. */
async function deploy(rig: Rig, name: string, packages: Pkg[]): Promise<Settled & { t0: number }> {
  const t0 = Date.now();
  const res = await rig.client.submitIntent({ intent: intentOf(name, packages) }, { headers: rig.headers });
  const s = await settle(rig, res.deploymentId, t0);
  if (s.state !== DeploymentState.READY) {
    const logs = rig.agent.logs.filter((l) => l["level"] === "error" || l["level"] === "warn").slice(-5);
    throw new Error(
      `${name} ended ${DeploymentState[s.state ?? 0]}: ${s.reason}; last warnings ${JSON.stringify(logs)}`,
    );
  }
  return { ...s, t0 };
}

/** Requests per edge by key, summed over the counters. */
function totals(counters: RequestCounter[]): Map<string, number>[] {
  return counters.map((c) => c.counts());
}

/** A window: the agent's and the emulators' CPU and the edges' requests over `seconds`. */
async function window(
  rig: Rig,
  seconds: number,
): Promise<{
  agentCpu: number;
  emulatorCpu: number;
  counts: Map<string, number>[];
  connections: number;
  wall: number;
}> {
  const pid = rig.agent.child.pid as number;
  const emu = () => rig.edges.reduce((sum, e) => sum + cpuSeconds(e.pid), 0);
  for (const c of rig.counters) c.reset();
  const a0 = cpuSeconds(pid);
  const e0 = emu();
  const t0 = performance.now();
  await until(seconds * 1000);
  const counts = totals(rig.counters);
  return {
    agentCpu: cpuSeconds(pid) - a0,
    emulatorCpu: emu() - e0,
    counts,
    connections: rig.counters.reduce((sum, c) => sum + c.connections(), 0),
    wall: (performance.now() - t0) / 1000,
  };
}

/** A following WatchDeployment: resolves waits for events that arrive after the wait was set. */
class EventTap {
  readonly #pending = new Set<{ match: (e: TapEvent) => boolean; resolve: (e: TapEvent) => void }>();
  readonly #controller = new AbortController();
  readonly #done: Promise<void>;

  constructor(rig: Rig, name: string) {
    this.#done = (async () => {
      try {
        for await (const { event } of rig.client.watchDeployment(
          { name, follow: true },
          { headers: rig.headers, signal: this.#controller.signal },
        )) {
          if (!event) continue;
          const e: TapEvent = { pkg: event.package, state: event.state, reason: event.reason, at: performance.now() };
          for (const p of [...this.#pending])
            if (p.match(e)) {
              this.#pending.delete(p);
              p.resolve(e);
            }
        }
      } catch (err) {
        if (!this.#controller.signal.aborted) throw err;
      }
    })();
  }

  /** The next event matching, arriving after this call; fails after `timeoutMs`. */
  next(what: string, match: (e: TapEvent) => boolean, timeoutMs = 30_000): Promise<TapEvent> {
    return new Promise<TapEvent>((resolve, reject) => {
      const entry = {
        match,
        resolve: (e: TapEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#pending.delete(entry);
        reject(new Error(`no ${what} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.add(entry);
    });
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await this.#done;
  }
}

interface TapEvent {
  pkg: string;
  state: DeploymentState;
  reason: string;
  /** performance.now() at arrival. */
  at: number;
}

/** The observer rig's figures: seeding, the idle and watched windows, then pod loss on the watched intents. */
export async function runObserverBenchmark(
  quick: boolean,
  agentEnv: Record<string, string>,
): Promise<{ observer: ObserverFigures; podLoss: PodLossFigures }> {
  const edgeCount = quick ? 5 : 10;
  const intents = quick ? 5 : 50;
  const perIntent = 20;
  const windowSeconds = quick ? 3 : 15;
  const repetitions = quick ? 2 : 10;
  const syncPeriod = "1s";
  // Two nodes of uneven room per edge; each edge runs 2 packages of each intent.
  const nodes = [
    { name: "node-1", cpu: "8", memory: "32Gi", pods: 200 },
    { name: "node-2", cpu: "4", memory: "16Gi", pods: 110 },
  ];
  const profile = process.env["BENCH_CLOSED_LOOP_PROFILE"];
  const env = {
    ...agentEnv,
    ...(profile ? cpuProfileEnv(join(profile, `agent-observer-${Date.now()}.cpuprofile`)) : {}),
  };
  note(`observer: starting ${edgeCount} edges and the agent`);
  const rig = await startRig({ edges: edgeCount, nodes, syncPeriod, counted: true, env });
  try {
    const edgeNames = rig.edges.map((_, i) => `edge-${i + 1}`);
    // The peer: the same agent and edges, nothing deployed, nothing watched. A moment first for the start's
    // background work (RootSync registration, first capacity reads) to end.
    await until(1000);
    const idle = await window(rig, windowSeconds);
    note(`idle: agent ${((idle.agentCpu / idle.wall) * 1000).toFixed(1)} ms CPU per s`);

    // Seeding: every intent's 20 packages over the 10 edges, submitted concurrently (bounded).
    const t0 = Date.now();
    const seedCpu0 = cpuSeconds(rig.agent.child.pid as number);
    let next = 0;
    let ready = 0;
    // Runs mostly wait (sync rounds, rollouts): more at once seed faster, up to lifecycle.maxConcurrentRuns (32).
    const concurrency = 32;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < intents) {
          const i = next++;
          await deploy(rig, `cl-${i}`, packagesOver(perIntent, edgeNames));
          ready++;
          if (ready % 5 === 0 || ready === intents)
            note(
              `seeding: ${ready}/${intents} intents READY (${ready * perIntent} packages), ${((Date.now() - t0) / 1000).toFixed(0)} s`,
            );
        }
      }),
    );
    const seedSeconds = (Date.now() - t0) / 1000;
    const seedAgentCpuSeconds = cpuSeconds(rig.agent.child.pid as number) - seedCpu0;

    // Steady state: every intent watched once its run left it READY; the window starts once each edge's listing
    // has come round four times (about a second: what the seeding left behind, the journal's writes, is done).
    for (const c of rig.counters) c.reset();
    for (let i = 0; rig.counters.some((c) => (c.counts().get(TICK_KEY) ?? 0) < 4); i++) {
      if (i > 300) throw new Error("the edges were not listed four times within 15 s of the last READY");
      await until(50);
    }
    const watched = await window(rig, windowSeconds);
    const agentRss = rssMiB(rig.agent.child.pid as number);
    const ticksPerEdge = watched.counts.map((m) => m.get(TICK_KEY) ?? 0);
    const ticks = ticksPerEdge.reduce((a, b) => a + b, 0) / edgeCount;
    const allTicks = ticksPerEdge.reduce((a, b) => a + b, 0);
    const perTick: Record<string, number> = {};
    for (const m of watched.counts) for (const [k, v] of m) perTick[k] = (perTick[k] ?? 0) + v / allTicks;
    const idleRate: Record<string, number> = {};
    for (const m of idle.counts) for (const [k, v] of m) idleRate[k] = (idleRate[k] ?? 0) + v / edgeCount / idle.wall;
    const idleCpuPerSecond = idle.agentCpu / idle.wall;
    const observerCpu = watched.agentCpu - idleCpuPerSecond * watched.wall;
    const listing = WORKLOAD_LISTINGS.reduce((sum, k) => sum + (perTick[k] ?? 0), 0);
    const observer: ObserverFigures = {
      edges: edgeCount,
      intents,
      packages: intents * perIntent,
      pollMs: 200,
      syncPeriod,
      seedSeconds,
      seedAgentCpuSeconds,
      windowSeconds,
      idleCpuMsPerSecond: idleCpuPerSecond * 1000,
      watchedCpuMsPerSecond: (watched.agentCpu / watched.wall) * 1000,
      ticks,
      tickMs: (watched.wall * 1000) / ticks,
      cpuPerTickMs: (observerCpu / ticks) * 1000,
      cpuPerEdgeTickMs: (observerCpu / allTicks) * 1000,
      requestsPerEdgePerTick: perTick,
      listingRequestsPerEdgePerTick: listing,
      connectionsPerEdgePerTick: watched.connections / allTicks,
      intentsPerEdge: intents,
      naiveListingRequestsPerEdgePerTick: intents * WORKLOAD_LISTINGS.length,
      idleRequestsPerEdgePerSecond: idleRate,
      emulatorCpuMsPerSecond: {
        idle: (idle.emulatorCpu / idle.wall) * 1000,
        watched: (watched.emulatorCpu / watched.wall) * 1000,
      },
      agentRssMiB: agentRss,
    };
    note(
      `watched: ${observer.watchedCpuMsPerSecond.toFixed(1)} ms CPU per s, ${observer.cpuPerTickMs.toFixed(2)} ms per tick, ${listing.toFixed(2)} listing requests per edge per tick`,
    );

    // Profiling: the profile's last seconds are the watched window, so the agent stops right after it.
    if (profile) return { observer, podLoss: EMPTY_POD_LOSS };
    const podLoss = await runPodLoss(rig, repetitions);
    return { observer, podLoss };
  } finally {
    await rig.stop();
  }
}

const NO_RUNS = summarise([], 1);
const EMPTY_POD_LOSS: PodLossFigures = {
  repetitions: 0,
  deletedToDegraded: NO_RUNS,
  restoredToReady: NO_RUNS,
  unavailableToDegraded: NO_RUNS,
  clearedToReady: NO_RUNS,
  reasonSample: "(not measured while profiling)",
};

/** Deployment deleted and restored, and the `unavailable` fault set and cleared, on one watched intent. */
async function runPodLoss(rig: Rig, repetitions: number): Promise<PodLossFigures> {
  const edge = rig.edges[0] as EmulatorProcess;
  const intent = "cl-0";
  const pkg = "p0";
  const list = await fetch(
    `${edge.url}/apis/apps/v1/deployments?labelSelector=${encodeURIComponent(`camino.io/intent=${intent},camino.io/package=${pkg}`)}`,
  );
  const { items } = (await list.json()) as { items: KubeObject[] };
  const original = items[0];
  if (items.length !== 1 || !original)
    throw new Error(`expected one Deployment of ${intent}/${pkg} on edge-1, found ${items.length}`);
  const { name, namespace } = original.metadata;
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
  // As it was read, less what the server owns: what an operator's `kubectl apply` of the saved manifest sends.
  const manifest = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      labels: original.metadata.labels ?? {},
      annotations: original.metadata.annotations ?? {},
    },
    spec: original.spec,
  };
  const tap = new EventTap(rig, intent);
  const mine = (state: DeploymentState) => (e: TapEvent) => e.pkg === pkg && e.state === state;
  const deleted: number[] = [];
  const restored: number[] = [];
  const unavailable: number[] = [];
  const cleared: number[] = [];
  let reasonSample = "";
  const start = performance.now();
  try {
    for (let i = 0; i < repetitions; i++) {
      let degraded = tap.next("DEGRADED", mine(DeploymentState.DEGRADED));
      let t = performance.now();
      const del = await fetch(`${edge.url}${path}`, {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ propagationPolicy: "Background" }),
      });
      if (del.status !== 200) throw new Error(`DELETE ${path}: ${del.status} ${await del.text()}`);
      let e = await degraded;
      deleted.push(e.at - t);
      reasonSample ||= e.reason;
      let back = tap.next("READY", mine(DeploymentState.READY));
      t = performance.now();
      const put = await fetch(`${edge.url}/apis/apps/v1/namespaces/${namespace}/deployments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(manifest),
      });
      if (put.status !== 201) throw new Error(`POST ${name}: ${put.status} ${await put.text()}`);
      restored.push((await back).at - t);

      degraded = tap.next("DEGRADED", mine(DeploymentState.DEGRADED));
      t = performance.now();
      await edge.faults({ unavailable: [`${namespace}/${name}`] });
      e = await degraded;
      unavailable.push(e.at - t);
      back = tap.next("READY", mine(DeploymentState.READY));
      t = performance.now();
      await edge.faults({ unavailable: [] });
      cleared.push((await back).at - t);
    }
  } finally {
    await tap.close();
  }
  const wall = performance.now() - start;
  note(`pod loss: deleted → DEGRADED p50 ${summarise(deleted, wall).p50Ms.toFixed(0)} ms over ${repetitions}`);
  return {
    repetitions,
    deletedToDegraded: summarise(deleted, wall),
    restoredToReady: summarise(restored, wall),
    unavailableToDegraded: summarise(unavailable, wall),
    clearedToReady: summarise(cleared, wall),
    reasonSample,
  };
}

interface KubeObject {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
}

/** The folder of each edge's deployment repository, as its RootSync names it (what ConfigSync reads). */
async function repositoryFolders(edges: EmulatorProcess[]): Promise<string[]> {
  return Promise.all(
    edges.map(async (e) => {
      const res = await fetch(`${e.url}/apis/configsync.gke.io/v1beta1/rootsyncs`);
      const { items } = (await res.json()) as { items: { spec: { git: { repo: string } } }[] };
      const repo = items[0]?.spec.git.repo;
      if (!repo || repo.includes("://")) throw new Error(`edge ${e.url}: no local repository folder in its RootSync`);
      return repo;
    }),
  );
}

const git = (dir: string, args: string[], input?: string) =>
  execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 64 << 20, ...(input ? { input } : {}) });

/** The commits of `intent`'s `revision` in a repository (by their Camino-* trailers), with their wave. */
function commitsOf(dir: string, intent: string, revision: bigint): { commit: string; wave?: number }[] {
  const out: { commit: string; wave?: number }[] = [];
  for (const entry of git(dir, ["log", "--format=%H%x1f%B%x1e", "HEAD"]).split("\x1e")) {
    const [commit, body] = entry.trim().split("\x1f");
    if (!commit || !body) continue;
    const trailer = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, "m").exec(body)?.[1]?.trim();
    if (trailer("Camino-Intent") !== intent || trailer("Camino-Revision") !== String(revision)) continue;
    const wave = trailer("Camino-Wave");
    out.push(wave === undefined ? { commit } : { commit, wave: Number(wave) });
  }
  return out;
}

/** Files, bytes as written and diff bytes of `commits` in `dir` (git CLI). */
function sizeOf(dir: string, commits: string[]): CommitSize {
  const size: CommitSize = {
    commits: commits.length,
    files: 0,
    bytes: 0,
    diffBytes: 0,
    paths: [],
    revisionOnly: 0,
  };
  for (const c of commits) {
    const raw = git(dir, ["diff-tree", "-r", "--root", "--no-commit-id", "--raw", "--no-abbrev", c])
      .split("\n")
      .filter((l) => l.startsWith(":"));
    size.files += raw.length;
    size.paths.push(...raw.map((l) => `${l.split(" ")[4]?.replace("\t", " ")}`));
    // ":old-mode new-mode old-oid new-oid status\tpath": the new blob's size (none for a deletion).
    const blobs = raw.map((l) => l.split(" ")[3] as string).filter((oid) => !/^0+$/.test(oid));
    if (blobs.length > 0)
      for (const line of git(dir, ["cat-file", "--batch-check=%(objectsize)"], `${blobs.join("\n")}\n`)
        .trim()
        .split("\n"))
        size.bytes += Number(line);
    const patch = git(dir, ["diff-tree", "-p", "--root", "--no-commit-id", c]);
    size.diffBytes += Buffer.byteLength(patch);
    // Per file, the changed lines: a file whose every changed line names the revision changed for it alone.
    for (const file of patch.split(/^diff --git /m).slice(1)) {
      const changed = file
        .split("\n")
        .filter((l) => /^[-+](?![-+]{2} )/.test(l))
        .map((l) => l.slice(1));
      if (changed.length > 0 && changed.every((l) => /\brevision\b/i.test(l))) size.revisionOnly++;
      if (size.diffSample === undefined && changed.length > 0) size.diffSample = file.slice(0, 600);
    }
  }
  return size;
}

const add = (a: CommitSize, b: CommitSize): CommitSize => ({
  commits: a.commits + b.commits,
  files: a.files + b.files,
  bytes: a.bytes + b.bytes,
  diffBytes: a.diffBytes + b.diffBytes,
  paths: [...a.paths, ...b.paths],
  revisionOnly: a.revisionOnly + b.revisionOnly,
  ...(a.diffSample !== undefined || b.diffSample !== undefined ? { diffSample: a.diffSample ?? b.diffSample } : {}),
});
const ZERO: CommitSize = { commits: 0, files: 0, bytes: 0, diffBytes: 0, paths: [], revisionOnly: 0 };

/** A 20-package intent on 2 edges; one package's replicas changed per update. */
export async function runUpdateBenchmark(quick: boolean): Promise<UpdateFigures> {
  const updates = quick ? 2 : 10;
  const warmup = quick ? 1 : 2;
  const perIntent = 20;
  note("update: starting 2 edges and the agent");
  const rig = await startRig({
    edges: 2,
    nodes: [
      { name: "node-1", cpu: "16", memory: "64Gi", pods: 200 },
      { name: "node-2", cpu: "8", memory: "32Gi", pods: 110 },
    ],
    syncPeriod: "100ms",
    pollMs: 50,
    counted: false,
  });
  try {
    const folders = await repositoryFolders(rig.edges);
    const sizeOfRevision = (revision: bigint, onlyWave?: (w?: number) => boolean) =>
      folders.reduce(
        (sum, dir) =>
          add(
            sum,
            sizeOf(
              dir,
              commitsOf(dir, "upd", revision)
                .filter((c) => !onlyWave || onlyWave(c.wave))
                .map((c) => c.commit),
            ),
          ),
        ZERO,
      );
    const packages = packagesOver(perIntent, ["edge-1", "edge-2"]);
    const first = await deploy(rig, "upd", packages);
    const firstSize = sizeOfRevision(first.revision);
    const firstPackages = sizeOfRevision(first.revision, (w) => (w ?? 0) >= 1);
    const changed = "p3";
    const committed: number[] = [];
    const ready: number[] = [];
    let size = ZERO;
    let lastPaths: string[] = [];
    const start = performance.now();
    for (let i = 0; i < updates + warmup; i++) {
      const replicas = i % 2 === 0 ? 2 : 1;
      const s = await deploy(
        rig,
        "upd",
        packages.map((p) => (p.name === changed ? { ...p, replicas } : p)),
      );
      const at = s.committed.get(changed);
      if (at === undefined) throw new Error(`update ${i}: ${changed} was never COMMITTED`);
      if (i < warmup) continue;
      committed.push(at - s.t0);
      ready.push((s.settledAt as number) - s.t0);
      const one = sizeOfRevision(s.revision);
      size = add(size, one);
      lastPaths = one.paths;
    }
    const wall = performance.now() - start;
    const mean = (n: number) => n / updates;
    const update: CommitSize = {
      commits: mean(size.commits),
      files: mean(size.files),
      bytes: mean(size.bytes),
      diffBytes: mean(size.diffBytes),
      revisionOnly: mean(size.revisionOnly),
      // The last update's files (each update changes the same ones).
      paths: lastPaths,
      ...(size.diffSample !== undefined ? { diffSample: size.diffSample } : {}),
    };
    for (const dir of folders) git(dir, ["fsck", "--strict", "--no-progress"]);
    note(`update: SubmitIntent → COMMITTED p50 ${summarise(committed, wall).p50Ms.toFixed(0)} ms`);
    return {
      packages: perIntent,
      updates,
      toCommitted: summarise(committed, wall),
      toReady: summarise(ready, wall),
      update,
      first: firstSize,
      firstPackages,
    };
  } finally {
    await rig.stop();
  }
}

export async function runClosedLoopBenchmark(options: ClosedLoopOptions = {}): Promise<ClosedLoopFigures> {
  const quick = options.quick ?? false;
  const { observer, podLoss } = await runObserverBenchmark(quick, options.agentEnv ?? {});
  const update = await runUpdateBenchmark(quick);
  return { observer, podLoss, update };
}

/** The figures as a table: one row per figure, with its peer. */
export function closedLoopTable(f: ClosedLoopFigures): string {
  const o = f.observer;
  const p = f.podLoss;
  const u = f.update;
  const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const kib = (n: number) => `${fmt(n / 1024, 1)} KiB`;
  const size = (s: CommitSize) =>
    `${fmt(s.commits, 0)} commits, ${fmt(s.files, 0)} files (${fmt(s.revisionOnly, 0)} only for the revision number), ${kib(s.bytes)} (diff ${kib(s.diffBytes)})`;
  const rows: [string, string, string][] = [
    [
      `agent CPU per observer tick (${o.packages} packages watched)`,
      `${fmt(o.cpuPerTickMs, 2)} ms`,
      `${fmt(o.cpuPerEdgeTickMs, 3)} ms per edge and tick; tick every ${fmt(o.tickMs, 0)} ms`,
    ],
    [
      "  agent CPU per second: watched / idle peer (0 intents)",
      `${fmt(o.watchedCpuMsPerSecond)} / ${fmt(o.idleCpuMsPerSecond)} ms`,
      `observing: ${fmt(((o.watchedCpuMsPerSecond - o.idleCpuMsPerSecond) / 1000) * 100, 2)}% of a core`,
    ],
    [
      "  workload-listing requests per edge per tick",
      fmt(o.listingRequestsPerEdgePerTick, 2),
      `naive (one listing per intent): ${o.intentsPerEdge} intents × 3 = ${o.naiveListingRequestsPerEdgePerTick} (${fmt(o.naiveListingRequestsPerEdgePerTick / o.listingRequestsPerEdgePerTick, 0)}x)`,
    ],
    [
      "  all requests per edge per tick",
      fmt(
        Object.values(o.requestsPerEdgePerTick).reduce((a, b) => a + b, 0),
        2,
      ),
      Object.entries(o.requestsPerEdgePerTick)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k.replace(/^GET /, "")} ${fmt(v, 2)}`)
        .join(", "),
    ],
    [
      "  TCP connections opened per edge per tick",
      fmt(o.connectionsPerEdgePerTick, 2),
      "counted by the proxy in front of each edge",
    ],
    [
      `  emulators' CPU per second (${o.edges} edges): watched / idle`,
      `${fmt(o.emulatorCpuMsPerSecond.watched)} / ${fmt(o.emulatorCpuMsPerSecond.idle)} ms`,
      `agent RSS ${fmt(o.agentRssMiB)} MiB; seeding took ${fmt(o.seedSeconds)} s (agent CPU ${fmt(o.seedAgentCpuSeconds)} s)`,
    ],
    [
      "Deployment deleted → DEGRADED on WatchDeployment, p50 / p99",
      `${fmt(p.deletedToDegraded.p50Ms, 0)} / ${fmt(p.deletedToDegraded.p99Ms, 0)} ms`,
      `${p.repetitions} runs; the tick is ${fmt(o.tickMs, 0)} ms`,
    ],
    [
      "  created again → READY, p50 / p99",
      `${fmt(p.restoredToReady.p50Ms, 0)} / ${fmt(p.restoredToReady.p99Ms, 0)} ms`,
      "-",
    ],
    [
      "  fault `unavailable` set → DEGRADED, p50 / p99",
      `${fmt(p.unavailableToDegraded.p50Ms, 0)} / ${fmt(p.unavailableToDegraded.p99Ms, 0)} ms`,
      "-",
    ],
    [
      "  fault cleared → READY, p50 / p99",
      `${fmt(p.clearedToReady.p50Ms, 0)} / ${fmt(p.clearedToReady.p99Ms, 0)} ms`,
      "-",
    ],
    [
      `Update of 1 package in ${u.packages}: SubmitIntent → COMMITTED, p50 / p99`,
      `${fmt(u.toCommitted.p50Ms, 0)} / ${fmt(u.toCommitted.p99Ms, 0)} ms`,
      `→ READY p50 ${fmt(u.toReady.p50Ms, 0)} ms; ${u.updates} updates`,
    ],
    ["  the update's commits (mean)", size(u.update), `peer, first deployment: ${size(u.first)}`],
    ["  first deployment's package wave alone", size(u.firstPackages), "-"],
  ];
  const head = ["figure".padEnd(60), "value".padStart(18), "  peer / detail"].join("  ");
  const lines = rows.map((r) => [r[0].padEnd(60), r[1].padStart(18), `  ${r[2]}`].join("  "));
  return `Closed loop (agent and ${o.edges} emulator processes; ${o.intents} intents × ${o.packages / o.intents} packages, ConfigSync period ${o.syncPeriod}, pollMs ${o.pollMs}; update: 2 edges, period 100 ms, pollMs 50)\n${head}\n${lines.join("\n")}\n  DEGRADED reason, as watched: ${p.reasonSample}\n  files of an update: ${u.update.paths.slice(0, 40).join(", ")}\n`;
}

// Run alone: node --expose-gc dist/bench/closed-loop.js [--quick]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  runClosedLoopBenchmark({ quick })
    .then((f) => {
      console.log(closedLoopTable(f));
      const out = join(ROOT, "bench", "results");
      mkdirSync(out, { recursive: true });
      const file = join(out, `closed-loop-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, closedLoop: f }, null, 2)}\n`,
      );
      console.log(`wrote ${file}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
