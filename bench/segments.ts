/**
 * Cross-domain segments (npm run bench):
 *  - the paper's chain across two domains, each a real agent process with its own emulated edges (three
 *    emulator processes, ConfigSync period 100 ms, pods ready at once, workload poll 50 ms): SubmitIntent → READY
 *    on the origin (domain-x places cnf3 in domain-y as a segment), p50 and p99 over N runs (distinct intent
 *    names, each terminated, untimed, before the next), beside its peer in the same run: the same-shaped chain
 *    kept in domain-x (scenarios/chain-one-domain.yaml) on the same agent and edges, runs interleaved. The share
 *    of the cross-domain time spent in federation calls is read from the origin's
 *    camino_peer_call_duration_seconds _sum (ProposeSegment, CommitSegment, RenewSegment) before submission and
 *    at READY; WatchSegment is a stream that lasts until the segment settles, so it is reported apart (read
 *    after termination). Anchor: Karmada distributes a change to its member clusters within p99 2 s; goal
 *    p50 ≤ 1.5 s, p99 ≤ 2 s.
 *  - `npm start` → READY, the compiled launcher (node dist/scripts/start.js, build excluded) in a copy of the
 *    project's dist/, deploy/, blueprints/ and scenarios/ with a fresh data dir (.camino/ of the copy): the wall
 *    time from the start of the two domain processes (their start times from /proc) to the intent's READY line,
 *    and the resident memory of the launcher and all its descendants (VmRSS) at that moment. Goal: within 10 s,
 *    under 500 MB. npm start listens on fixed ports: it runs in a network namespace of its own (unshare -n) where
 *    it can, else it is skipped when one of its ports is taken (another npm start).
 *
 * Run alone: `npm run build && node dist/bench/segments.js [--quick]` (writes bench/results/segments-<time>.json).
 */
import { execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { parse } from "yaml";
import { DomainManager } from "../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState } from "../gen/camino/v1/types_pb.js";
import { intentToMessage } from "../agent/intent/load.js";
import { validateIntent } from "../agent/intent/validate.js";
import { ROOT, startAgentProcess, type AgentProcess } from "../test/helpers/agent-process.js";
import { domainAgentOptions, peerUp } from "../test/helpers/federated-domains.js";
import { startEmulatorProcess, type EmulatorProcess } from "../test/helpers/emulator-process.js";
import { summarise, type Summary } from "./stats.js";

const SYNC_PERIOD = "100ms";
const POLL_MS = 50;
const GOALS = { p50Ms: 1500, p99Ms: 2000, startMs: 10_000, startMB: 500 };
/** The federation calls counted in the share; WatchSegment is reported apart. */
const SHARE_METHODS = ["ProposeSegment", "CommitSegment", "RenewSegment"] as const;
const START_PORTS = [50051, 8080, 50052, 50061, 8090, 50062];

export interface PeerCallFigures {
  /** Seconds summed over the timed runs, by method. */
  seconds: Record<string, number>;
  calls: Record<string, number>;
}

export interface StartRun {
  /** From the start of the first of the two domain processes to the intent's READY line, ms. */
  fromDomainsMs: number;
  /** From spawning the launcher to the READY line, ms (includes making keys and certificates). */
  fromLauncherMs: number;
  /** From the start of the domain processes to the launcher's "submitted" line (both listening, peers up), ms. */
  toSubmittedMs: number;
  /** Submit → READY as the launcher printed it, ms. */
  printedSubmitToReadyMs: number;
  /** VmRSS at READY, MiB: all processes, and each. */
  totalRssMiB: number;
  processes: { pid: number; command: string; rssMiB: number }[];
  /** The launcher, and each domain process with its descendants (git helpers), MiB. */
  groups: { name: string; processes: number; rssMiB: number }[];
  /** SIGINT → the launcher and its domains gone, ms. */
  shutdownMs: number;
}

export interface SegmentsFigures {
  runs: number;
  syncPeriodMs: number;
  pollMs: number;
  /** SubmitIntent → READY, the paper's chain across two domains, ms. */
  crossDomain: Summary;
  /** The same-shaped chain kept in domain-x, same run, ms. */
  oneDomain: Summary;
  ratioP50: number;
  ratioP99: number;
  /** Origin's peer calls between submission and READY, over all timed cross-domain runs. */
  peerCalls: PeerCallFigures;
  /** Σ(ProposeSegment + CommitSegment + RenewSegment seconds) / Σ(SubmitIntent → READY). */
  federationShare: number;
  /** WatchSegment streams from submission until the intent was terminated, over the timed runs. */
  watchSegment: { seconds: number; calls: number };
  /** Every peer call of the origin from submission until the intent was terminated, over the timed runs. */
  allPeerCalls: PeerCallFigures;
  start:
    | {
        runs: StartRun[];
        fromDomains: Summary;
        totalRssMiB: number;
        /** Run in a network namespace of its own (unshare -n), so its fixed ports were its own. */
        isolated: boolean;
      }
    | { skipped: string };
}

/** Progress on stderr: these runs take minutes. */
const note = (text: string) => process.stderr.write(`segments bench: ${text}\n`);

const SCOPES = ["intents:write", "intents:read", "catalogue:read"];

interface Api {
  client: Client<typeof DomainManager>;
  headers: Record<string, string>;
}

async function apiOf(agent: AgentProcess): Promise<Api> {
  return {
    client: createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl })),
    headers: { authorization: `Bearer ${await agent.token(SCOPES, 7200)}` },
  };
}

/** Polls `check` until it returns a value, bounded. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SETTLED = new Set([
  DeploymentState.READY,
  DeploymentState.ROLLED_BACK,
  DeploymentState.FAILED,
  DeploymentState.TERMINATED,
]);

/** Follows a deployment from `sinceMs` until it settles: the agent's time of settling, and how. */
async function follow(
  api: Api,
  id: string,
  sinceMs: number,
): Promise<{ at: number; state?: DeploymentState; reason?: string }> {
  let out: { at: number; state?: DeploymentState; reason?: string } = { at: NaN };
  for await (const { event } of api.client.watchDeployment(
    { name: id, since: timestampFromMs(sinceMs - 1) },
    { headers: api.headers, timeoutMs: 120_000 },
  )) {
    if (!event || event.package || event.kind !== "state" || !SETTLED.has(event.state)) continue;
    out = {
      at: event.time ? timestampDate(event.time).getTime() : Date.now(),
      state: event.state,
      reason: event.reason,
    };
  }
  return out;
}

/** The origin's camino_peer_call_duration_seconds _sum and _count by method, summed over peers and codes. */
async function peerCalls(agent: AgentProcess): Promise<PeerCallFigures> {
  const text = await (await fetch(`${agent.httpUrl}/metrics`)).text();
  const out: PeerCallFigures = { seconds: {}, calls: {} };
  for (const line of text.split("\n")) {
    const m = /^camino_peer_call_duration_seconds_(sum|count)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const method = /method="([^"]*)"/.exec(m[2] as string)?.[1] ?? "?";
    const into = m[1] === "sum" ? out.seconds : out.calls;
    into[method] = (into[method] ?? 0) + Number(m[3]);
  }
  return out;
}

function addDiff(into: PeerCallFigures, after: PeerCallFigures, before: PeerCallFigures, only?: string[]): void {
  for (const key of ["seconds", "calls"] as const)
    for (const [method, v] of Object.entries(after[key])) {
      if (only && !only.includes(method)) continue;
      const d = v - (before[key][method] ?? 0);
      if (d !== 0) into[key][method] = (into[key][method] ?? 0) + d;
    }
}

/** A scenario file as an intent under another name. */
function scenario(file: string): (name: string) => ReturnType<typeof intentToMessage> {
  const doc = parse(readFileSync(join(ROOT, "scenarios", file), "utf8")) as { metadata: { name: string } };
  return (name) => intentToMessage(validateIntent({ ...doc, metadata: { ...doc.metadata, name } }));
}

interface Rig {
  x: AgentProcess;
  y: AgentProcess;
  xApi: Api;
  stop(): Promise<void>;
}

async function startRig(): Promise<Rig> {
  // Agents' and emulators' folders under .camino/ as the lifecycle bench does: files in /tmp are slow here.
  const scratch = join(ROOT, ".camino", "bench-tmp");
  mkdirSync(scratch, { recursive: true });
  process.env["TMPDIR"] = scratch;
  const specs = [
    { name: "edge-1", eastWestAddress: "192.0.2.11", nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }] },
    { name: "edge-2", eastWestAddress: "192.0.2.12", nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }] },
    { name: "edge-3", eastWestAddress: "192.0.2.13", nodes: [{ name: "n1", cpu: "16", memory: "32Gi" }] },
  ];
  const started = await Promise.allSettled(specs.map((s) => startEmulatorProcess({ ...s, podStartDelayMs: 0 })));
  const edges = new Map<string, EmulatorProcess>();
  for (const [i, s] of started.entries()) if (s.status === "fulfilled") edges.set(specs[i]?.name as string, s.value);
  const stopEdges = () => Promise.all([...edges.values()].map((e) => e.stop()));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await stopEdges();
    throw failed.reason;
  }
  // edge-2 is the southern edge, where chain-one-domain.yaml's edgeSelector puts cnf3.
  const zone: Record<string, string> = { "edge-1": "north", "edge-2": "south", "edge-3": "north" };
  const on = (...names: string[]) =>
    names.map((name) => ({ name, url: edges.get(name)?.url as string, labels: { zone: zone[name] as string } }));
  const federation = { segmentLeaseSeconds: 10, segmentReconcileSeconds: 1 };
  const common = { federation, pollMs: POLL_MS, syncPeriod: SYNC_PERIOD, edgeTimeoutMs: 5000 };
  const agents = await Promise.allSettled([
    startAgentProcess(domainAgentOptions({ domainId: "domain-x", edges: on("edge-1", "edge-2"), ...common })),
    startAgentProcess(domainAgentOptions({ domainId: "domain-y", edges: on("edge-3"), ...common })),
  ]);
  const up = agents.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
  const stop = async () => {
    await Promise.all(up.map((a) => a.stop()));
    await stopEdges();
  };
  const agentFailed = agents.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (agentFailed) {
    await stop();
    throw agentFailed.reason;
  }
  const [x, y] = up as [AgentProcess, AgentProcess];
  try {
    await Promise.all([x.setPeers([y]), y.setPeers([x])]);
    // Logs are not needed from here: keep the last few (the runs would otherwise keep every line).
    for (const a of up) a.child.stderr?.on("data", () => a.logs.splice(0, Math.max(0, a.logs.length - 50)));
    await Promise.all([peerUp(x, y), peerUp(y, x)]);
    for (const [a, n] of [
      [x, 2],
      [y, 1],
    ] as const) {
      const api = await apiOf(a);
      await eventually(async () => {
        const { edges: listed } = await api.client.listEdges({}, { headers: api.headers });
        return listed.length === n && listed.every((e) => e.healthy && e.rootSync?.commit) ? true : undefined;
      }, `${a.domainId}'s edges to be ready`);
    }
    return { x, y, xApi: await apiOf(x), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Submits `intent` (named `name`) to domain-x, waits until READY, checks that it made `segments` segments (cnf3
 * in domain-y, or kept in domain-x), and terminates it (untimed).
 */
async function deployOnce(
  rig: Rig,
  name: string,
  intent: ReturnType<typeof intentToMessage>,
  segments: number,
  onReady?: () => Promise<void>,
): Promise<number> {
  const api = rig.xApi;
  const t0 = Date.now();
  const res = await api.client.submitIntent({ intent }, { headers: api.headers });
  const ready = await follow(api, res.deploymentId, t0);
  if (ready.state !== DeploymentState.READY)
    throw new Error(`${name} ended ${DeploymentState[ready.state ?? 0]}: ${ready.reason}`);
  await onReady?.();
  const { deployment } = await api.client.getDeployment({ name }, { headers: api.headers });
  if (deployment?.segments.length !== segments)
    throw new Error(`${name}: ${deployment?.segments.length} segments, not ${segments}`);
  const t1 = Date.now();
  await api.client.terminateIntent({ name }, { headers: api.headers });
  const end = await follow(api, res.deploymentId, t1);
  if (end.state !== DeploymentState.TERMINATED)
    throw new Error(`${name} did not terminate: ${DeploymentState[end.state ?? 0]}: ${end.reason}`);
  return ready.at - t0;
}

async function runChains(runs: number): Promise<Omit<SegmentsFigures, "start">> {
  const cross = scenario("paper-chain.yaml");
  const one = scenario("chain-one-domain.yaml");
  note("starting 3 emulators and 2 agents");
  const rig = await startRig();
  try {
    // One untimed run of each: the first hydration, connections and JIT.
    await deployOnce(rig, "warm-cross", cross("warm-cross"), 1);
    await deployOnce(rig, "warm-one", one("warm-one"), 0);
    const crossMs: number[] = [];
    const oneMs: number[] = [];
    const inShare: PeerCallFigures = { seconds: {}, calls: {} };
    const all: PeerCallFigures = { seconds: {}, calls: {} };
    for (let i = 0; i < runs; i++) {
      const before = await peerCalls(rig.x);
      crossMs.push(
        await deployOnce(rig, `paper-chain-${i}`, cross(`paper-chain-${i}`), 1, async () =>
          addDiff(inShare, await peerCalls(rig.x), before, [...SHARE_METHODS]),
        ),
      );
      addDiff(all, await peerCalls(rig.x), before);
      oneMs.push(await deployOnce(rig, `chain-one-${i}`, one(`chain-one-${i}`), 0));
      if ((i + 1) % 5 === 0) note(`${i + 1}/${runs} runs of each chain`);
    }
    const crossDomain = summarise(
      crossMs,
      crossMs.reduce((a, b) => a + b, 0),
    );
    const oneDomain = summarise(
      oneMs,
      oneMs.reduce((a, b) => a + b, 0),
    );
    const fedSeconds = SHARE_METHODS.reduce((s, m) => s + (inShare.seconds[m] ?? 0), 0);
    return {
      runs,
      syncPeriodMs: 100,
      pollMs: POLL_MS,
      crossDomain,
      oneDomain,
      ratioP50: crossDomain.p50Ms / oneDomain.p50Ms,
      ratioP99: crossDomain.p99Ms / oneDomain.p99Ms,
      peerCalls: inShare,
      federationShare: (fedSeconds * 1000) / crossMs.reduce((a, b) => a + b, 0),
      watchSegment: { seconds: all.seconds["WatchSegment"] ?? 0, calls: all.calls["WatchSegment"] ?? 0 },
      allPeerCalls: all,
    };
  } finally {
    await rig.stop();
  }
}

/** A port that no one listens on (127.0.0.1). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process's start time in clock ticks after boot (/proc/<pid>/stat, field 22). */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** `pid`'s children (of all its threads). */
function childrenOf(pid: number): number[] {
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** `pid`'s descendants, depth first. */
function descendants(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendants(c)]);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((a) => a.replace(/^.*\//, ""))
      .join(" ");
  } catch {
    return "?";
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether processes can run in a network namespace of their own (`unshare -n`, loopback up): then npm start's
 * fixed ports meet no other npm start on this machine.
 */
const ISOLATED = (() => {
  try {
    execFileSync("unshare", ["-n", "sh", "-c", "ip link set lo up"], { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
})();

/** One `npm start` (build excluded) in a fresh copy of the project: READY time, memory, shutdown. */
async function startOnce(): Promise<StartRun> {
  const scratch = join(ROOT, ".camino", "bench-tmp");
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, "npm-start-"));
  try {
    for (const part of ["dist", "deploy", "blueprints", "scenarios", "package.json"])
      cpSync(join(ROOT, part), join(dir, part), {
        recursive: true,
        filter: (src) => !src.startsWith(join(ROOT, "dist", "test")) && !src.startsWith(join(ROOT, "dist", "bench")),
      });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    if (existsSync(join(dir, ".camino"))) throw new Error("the copy has a data dir already");

    const t0 = performance.now();
    const launcher = [process.execPath, join(dir, "dist", "scripts", "start.js")];
    // In its own network namespace when possible; `exec` keeps one process id from unshare to node.
    const [command, ...args] = ISOLATED
      ? ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', ...launcher]
      : launcher;
    const child = spawn(command as string, args, {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: scratch },
    });
    const pid = child.pid as number;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    let output = "";
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
      if (output.length > 100_000) output = output.slice(-50_000);
    });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      let submittedAt = NaN;
      let onReady: (v: { printedMs: number }) => void = () => {};
      let onFail: (e: Error) => void = () => {};
      let onDone: () => void = () => {};
      const ready = new Promise<{ printedMs: number }>((resolve, reject) => {
        onReady = resolve;
        onFail = reject;
      });
      const done = new Promise<void>((r) => (onDone = r));
      lines.on("line", (line) => {
        output += `${line}\n`;
        if (line.startsWith("submitted ") && Number.isNaN(submittedAt)) submittedAt = performance.now();
        // The launcher prints each state change as "  <seconds>s  intent  [wave n]  <STATE> <reason>", then
        // "Deployed <scenario> in <domain> (intent <name>): <STATE>: <reason>", then where everything listens.
        const event = /^\s*([\d.]+)s\s+intent\s+(?:wave \d+\s+)?([A-Z_]+)\b/.exec(line);
        if (event?.[2] === "READY") onReady({ printedMs: Number(event[1]) * 1000 });
        else if (event && ["FAILED", "ROLLED_BACK", "TERMINATED"].includes(event[2] as string))
          onFail(new Error(`npm start: the intent ended ${event[2]}: ${line}`));
        const deployed = /^Deployed .*\): ([A-Z_]+)/.exec(line);
        if (deployed?.[1] === "READY") onReady({ printedMs: NaN });
        else if (deployed) onFail(new Error(`npm start: ${line}`));
        if (line.includes("Ctrl-C stops both domains")) onDone();
      });
      void exited.then(() => onFail(new Error(`npm start exited (${child.exitCode}) before READY:\n${output}`)));
      const timer = setTimeout(() => onFail(new Error(`npm start: no READY within 60 s:\n${output}`)), 60_000);
      const { printedMs } = await ready.finally(() => clearTimeout(timer));
      const tReady = performance.now();
      const pids = [pid, ...descendants(pid)];
      const processes = pids.map((p) => ({ pid: p, command: commandOf(p), rssMiB: rssMiB(p) }));
      const rssOf = new Map(processes.map((p) => [p.pid, p.rssMiB]));
      const domains = childrenOf(pid);
      const groups = [
        { name: "launcher (start.js)", processes: 1, rssMiB: rssOf.get(pid) ?? 0 },
        ...domains.map((d) => {
          const tree = [d, ...descendants(d)];
          const name = /domain-[^ /]*?(?=\.yaml)/.exec(commandOf(d))?.[0] ?? commandOf(d);
          return { name, processes: tree.length, rssMiB: tree.reduce((n, p) => n + (rssOf.get(p) ?? 0), 0) };
        }),
      ];
      const launcherTicks = startTicks(pid);
      const domainTicks = Math.min(...domains.map(startTicks));
      const offsetMs = ((domainTicks - launcherTicks) * 1000) / CLK_TCK;
      // Let it print its summary, then stop it as Ctrl-C would.
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      const tStop = performance.now();
      process.kill(pid, "SIGINT");
      const gone = await Promise.race([
        exited.then(async () => {
          for (let i = 0; i < 200 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
          return !groupAlive(pid);
        }),
        new Promise<boolean>((r) => setTimeout(() => r(false), 20_000)),
      ]);
      const shutdownMs = performance.now() - tStop;
      if (!gone) throw new Error(`npm start did not stop within 20 s of SIGINT:\n${output.slice(-4000)}`);
      return {
        fromDomainsMs: tReady - t0 - offsetMs,
        fromLauncherMs: tReady - t0,
        toSubmittedMs: submittedAt - t0 - offsetMs,
        printedSubmitToReadyMs: printedMs,
        totalRssMiB: processes.reduce((s, p) => s + p.rssMiB, 0),
        processes,
        groups,
        shutdownMs,
      };
    } finally {
      if (groupAlive(pid)) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runStart(runs: number): Promise<SegmentsFigures["start"]> {
  const taken: number[] = [];
  if (!ISOLATED) for (const p of START_PORTS) if (!(await portFree(p))) taken.push(p);
  if (taken.length > 0) return { skipped: `port ${taken.join(", ")} taken (another npm start?)` };
  const out: StartRun[] = [];
  for (let i = 0; i < runs; i++) {
    note(`npm start ${i + 1}/${runs}`);
    out.push(await startOnce());
  }
  const fromDomains = out.map((r) => r.fromDomainsMs);
  return {
    runs: out,
    fromDomains: summarise(
      fromDomains,
      fromDomains.reduce((a, b) => a + b, 0),
    ),
    totalRssMiB: Math.max(...out.map((r) => r.totalRssMiB)),
    isolated: ISOLATED,
  };
}

export async function runSegmentsBenchmark(quick: boolean): Promise<SegmentsFigures> {
  const chains = await runChains(quick ? 5 : 20);
  const start = await runStart(quick ? 1 : 3);
  return { ...chains, start };
}

/** The figures as a table. */
export function segmentsTable(f: SegmentsFigures): string {
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const row = (name: string, s: Summary, peer?: Summary) =>
    [
      name.padEnd(52),
      String(s.calls).padStart(6),
      fmt(s.p50Ms).padStart(8),
      fmt(s.p99Ms).padStart(8),
      (peer ? `${fmt(s.p50Ms / peer.p50Ms, 2)}x` : "-").padStart(12),
      (peer ? `${fmt(s.p99Ms / peer.p99Ms, 2)}x` : "-").padStart(12),
    ].join("  ");
  const perRun = (ms: number) => `${fmt(ms / f.runs)} ms`;
  const calls = SHARE_METHODS.map(
    (m) =>
      `${m} ${perRun((f.peerCalls.seconds[m] ?? 0) * 1000)} (${fmt((f.peerCalls.calls[m] ?? 0) / f.runs, 1)} calls)`,
  ).join(", ");
  const met = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines = [
    `Cross-domain segments (2 agent processes, 3 emulator processes, ConfigSync ${f.syncPeriodMs} ms, pod start 0 ms, workload poll ${f.pollMs} ms)`,
    [
      "benchmark: SubmitIntent → READY".padEnd(52),
      "runs".padStart(6),
      "p50 ms".padStart(8),
      "p99 ms".padStart(8),
      "p50 vs peer".padStart(12),
      "p99 vs peer".padStart(12),
    ].join("  "),
    row("paper chain kept in domain-x (peer)", f.oneDomain),
    row("paper chain across domain-x and domain-y", f.crossDomain, f.oneDomain),
    `  federation calls per run: ${calls}; ${fmt(f.federationShare * 100)}% of SubmitIntent → READY`,
    `  WatchSegment (stream until the segment settles, not in the share): ${perRun(f.watchSegment.seconds * 1000)} per run (${fmt(f.watchSegment.calls / f.runs, 1)} streams)`,
    `  anchor: Karmada p99 ≤ 2 s to distribute a change to member clusters; goal p50 ≤ 1.5 s (${met(f.crossDomain.p50Ms <= GOALS.p50Ms)}), p99 ≤ 2 s (${met(f.crossDomain.p99Ms <= GOALS.p99Ms)})`,
  ];
  if ("skipped" in f.start) lines.push(`npm start → READY: skipped, ${f.start.skipped}`);
  else {
    const s = f.start;
    const last = s.runs[s.runs.length - 1] as StartRun;
    const each = last.groups.map(
      (g) => `${g.name} ${fmt(g.rssMiB)}${g.processes > 1 ? ` (${g.processes} processes)` : ""}`,
    );
    const mb = (s.totalRssMiB * 2 ** 20) / 1e6;
    lines.push(
      `npm start → READY (node dist/scripts/start.js, fresh data dir${s.isolated ? ", own network namespace" : ""}, ${s.runs.length} run${s.runs.length > 1 ? "s" : ""}): from the domain processes' start p50 ${fmt(s.fromDomains.p50Ms / 1000, 2)} s, max ${fmt(Math.max(...s.runs.map((r) => r.fromDomainsMs)) / 1000, 2)} s (goal ≤ 10 s: ${met(Math.max(...s.runs.map((r) => r.fromDomainsMs)) <= GOALS.startMs)}); to "submitted" (listening, peers up) ${s.runs.map((r) => fmt(r.toSubmittedMs / 1000, 2)).join(", ")} s; from the launcher's start ${s.runs.map((r) => fmt(r.fromLauncherMs / 1000, 2)).join(", ")} s; submit → READY as printed ${s.runs.map((r) => fmt(r.printedSubmitToReadyMs / 1000, 2)).join(", ")} s`,
      `  total RSS at READY (${last.processes.length} processes): ${fmt(s.totalRssMiB)} MiB = ${fmt(mb, 0)} MB, the largest of the runs (goal < 500 MB: ${met(mb < GOALS.startMB)}); last run, MiB: ${each.join(", ")}; SIGINT → all stopped ${s.runs.map((r) => fmt(r.shutdownMs / 1000, 2)).join(", ")} s`,
    );
  }
  return lines.join("\n");
}

// Run alone: node dist/bench/segments.js [--quick]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  runSegmentsBenchmark(quick)
    .then((f) => {
      console.log(segmentsTable(f));
      const out = join(ROOT, "bench", "results");
      mkdirSync(out, { recursive: true });
      const file = join(out, `segments-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, segments: f }, null, 2)}\n`,
      );
      console.log(`wrote ${file}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
