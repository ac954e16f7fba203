/**
 * Crash recovery at every step boundary, through real processes: one agent (restarted, never rebuilt) over two
 * emulated edges that stay up across every case. For each failpoint of deploy, update, rollback and terminate
 * (README's table), the agent is started with `<failpoint>=exit(137)` — a crash exactly there — made to reach it,
 * and started again without; then, as a user would find it:
 * - each intent ends READY, ROLLED_BACK or TERMINATED, as the recovery's recorded choice says (`recovery: …`);
 * - its paths in every repository match that state, and no wave was committed twice (the commits' trailers);
 * - each edge runs exactly what its repository says for the intent;
 * - no reservation is left for an intent that is not READY (the agent's `camino_reserved` gauge);
 * - `git fsck --strict` passes on every repository.
 * Deploy-step cases crash with two intents in flight (a new one and an update of another); one case crashes
 * again during the recovery itself; rollback-step cases crash in the rollback of a new intent and in that of an
 * update (whose previous revision must be left running as it was).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { startAgentProcess, ROOT, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

const S = DeploymentState;
const EDGES = ["edge-1", "edge-2"] as const;
let agent: AgentProcess;
const edges = new Map<string, EmulatorProcess>();
let dm: Client<typeof DomainManager>;
let headers: Record<string, string>;

beforeAll(async () => {
  for (const name of EDGES) {
    edges.set(
      name,
      await startEmulatorProcess({
        name,
        podStartDelayMs: 20,
        nodes: [{ name: `${name}-node`, cpu: "8", memory: "16Gi" }],
      }),
    );
  }
  agent = await startAgentProcess({
    logLevel: "info",
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: `${ROOT}/blueprints` },
      ...EDGES.map((e) => ({ name: `${e}-deploy`, role: "deployment", edge: e })),
    ],
    extraConfig: {
      edges: EDGES.map((e) => ({
        name: e,
        server: edges.get(e)?.url,
        repository: `${e}-deploy`,
        timeoutMs: 2000,
        syncPeriod: "50ms",
      })),
      lifecycle: { pollMs: 25, defaultTimeoutSeconds: 60, cleanupTimeoutSeconds: 20, capacityMaxAgeMs: 0 },
    },
  });
  dm = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = { authorization: `Bearer ${await agent.token(["intents:write", "intents:read"], 3600)}` };
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  for (const e of edges.values()) await e.stop();
});

/** A two-wave intent across both edges: `a` on edge-1, `b` on edge-2 after it. */
function intentOf(name: string, replicas = 1) {
  return intentToMessage(
    validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name },
      spec: {
        timeout: "60s",
        packages: [
          {
            name: "a",
            blueprint: "traffic-sink",
            replicas,
            resources: { cpu: "10m", memory: "16Mi" },
            placement: { edge: "edge-1" },
          },
          {
            name: "b",
            blueprint: "traffic-sink",
            after: ["a"],
            resources: { cpu: "10m", memory: "16Mi" },
            placement: { edge: "edge-2" },
          },
        ],
      },
    }),
  );
}

const submit = (name: string, replicas = 1) =>
  dm.submitIntent({ intent: intentOf(name, replicas) }, { headers, timeoutMs: 10_000 });
const get = async (name: string) =>
  (await dm.getDeployment({ name }, { headers, timeoutMs: 5000 })).deployment as Deployment;

/** Whether the agent knows the intent. */
const exists = (name: string) =>
  get(name).then(
    () => true,
    (err: unknown) => {
      if (ConnectError.from(err).code === Code.NotFound) return false;
      throw err;
    },
  );

/** Follows the intent's run until it settles (retrying while the agent restarts); returns it then. */
async function settle(name: string, timeoutMs = 60_000): Promise<Deployment> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      for await (const _ of dm.watchDeployment({ name }, { headers, signal: AbortSignal.timeout(end - Date.now()) }));
      const d = await get(name);
      if ([S.READY, S.ROLLED_BACK, S.TERMINATED, S.FAILED, S.DEGRADED].includes(d.state)) return d;
    } catch (err) {
      if (Date.now() > end) throw new Error(`${name} did not settle: ${(err as Error).message}`);
    }
  }
}

/** Restarts the agent with `failpoints` set (none: a plain restart). */
async function restart(failpoints = ""): Promise<void> {
  await agent.restart(undefined, { env: failpoints ? { CAMINO_FAILPOINTS: failpoints } : {} });
}

/** Waits for the agent to crash at its failpoint (exit 137), then starts it again without failpoints. */
async function crashedThenRestarted(): Promise<void> {
  const exit = await Promise.race([
    agent.exited(),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000)),
  ]);
  expect(exit?.code, "the agent exited at its failpoint").toBe(137);
  await restart();
}

const repoDir = (edge: string) => join(agent.dir, "data", "repos", `${edge}-deploy`);
const git = (edge: string, ...args: string[]) =>
  execFileSync("git", ["-C", repoDir(edge), ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HOME: agent.dir },
  });

/** The intent's packages in an edge's repository at its head (folders holding a deployment.yaml). */
function packagesInRepo(edge: string, intent: string): string[] {
  return git(edge, "ls-tree", "-r", "--name-only", "main", "--", `${intent}/`)
    .split("\n")
    .filter((p) => /^[^/]+\/[^_/][^/]*\/deployment\.yaml$/.test(p))
    .map((p) => p.split("/")[1] as string)
    .sort();
}

/** The intent's Deployments on an edge (its namespace), as its Kubernetes API lists them. */
async function deploymentsOnEdge(edge: string, intent: string): Promise<string[]> {
  const res = await fetch(`${edges.get(edge)?.url}/apis/apps/v1/namespaces/${intent}/deployments`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { items?: { metadata: { name: string } }[] };
  return (body.items ?? []).map((x) => x.metadata.name).sort();
}

/** The (intent, revision, wave) of every deploy commit in a repository, from its trailers. */
function deployCommits(edge: string): string[] {
  return git(edge, "log", "--format=%B%x00", "main")
    .split("\0")
    .map((m) => Object.fromEntries([...m.matchAll(/^(Camino-[A-Za-z]+): (.+)$/gm)].map((x) => [x[1], x[2]])))
    .filter((t) => t["Camino-Action"] === "deploy")
    .map((t) => `${t["Camino-Intent"]} revision ${t["Camino-Revision"]} wave ${t["Camino-Wave"]}`);
}

/** The reservations the agent holds per intent (its /metrics, `camino_reserved{resource="pods"}`). */
async function reservedPods(): Promise<Map<string, number>> {
  const text = await (await fetch(`${agent.httpUrl}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^camino_reserved\{intent="([^"]+)",edge="[^"]+",resource="pods"\} (\d+)/gm))
    out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + Number(m[2]));
  return out;
}

/** What the recovery chose for the intent, from its events (undefined: it had settled before the crash). */
async function recoveryChoice(name: string): Promise<string | undefined> {
  const reasons: string[] = [];
  for await (const { event } of dm.watchDeployment(
    { name, since: timestampFromMs(1000) },
    { headers, signal: AbortSignal.timeout(10_000) },
  ))
    reasons.push(event?.reason ?? "");
  const r = reasons.filter((x) => x.startsWith("recovery: ")).at(-1);
  return r?.slice("recovery: ".length).split(":")[0];
}

const EXPECTED: Record<string, DeploymentState> = {
  resume: S.READY,
  "roll back": S.ROLLED_BACK,
  "finish the rollback": S.ROLLED_BACK,
  "finish the termination": S.TERMINATED,
};

/** Every check of one intent after the restart: its end state as chosen, repositories, edges, reservations. */
async function expectConsistent(name: string, settled: DeploymentState, chosen: string | undefined): Promise<void> {
  const d = await settle(name);
  expect(d.state, `${name}: ${d.reason}`).toBe(chosen ? EXPECTED[chosen] : settled);
  const want = d.state === S.READY ? { "edge-1": ["a"], "edge-2": ["b"] } : { "edge-1": [], "edge-2": [] };
  for (const e of EDGES) {
    expect(packagesInRepo(e, name), `${name} in ${e}'s repository`).toEqual(want[e]);
    const end = Date.now() + 15_000;
    let running = await deploymentsOnEdge(e, name);
    while (JSON.stringify(running) !== JSON.stringify(want[e]) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      running = await deploymentsOnEdge(e, name);
    }
    expect(running, `${name} on ${e}`).toEqual(want[e]);
  }
  // A READY intent may hold its reservation until a capacity reading shows its pods; any other holds none.
  if (d.state !== S.READY) expect((await reservedPods()).get(name), `${name}'s reservation`).toBeUndefined();
}

function expectRepositoriesSound(): void {
  for (const e of EDGES) {
    execFileSync("git", ["-C", repoDir(e), "fsck", "--strict", "--no-progress"], { stdio: "pipe" });
    const commits = deployCommits(e);
    expect(
      commits.filter((c, i) => commits.indexOf(c) !== i),
      `duplicate commits in ${e}'s repository`,
    ).toEqual([]);
  }
}

const DEPLOY_POINTS = [
  "deploy-after-admission",
  "deploy-after-wave-0",
  "deploy-after-dry-run",
  "deploy-after-commit",
  "deploy-after-sync",
  "deploy-after-available",
  "deploy-after-waves",
  "deploy-after-cleanup",
  "deploy-after-segments",
  "deploy-after-ready",
];
const ROLLBACK_POINTS = [
  "rollback-after-segments",
  "rollback-after-restore",
  "rollback-after-release",
  "rollback-after-record",
];
const TERMINATE_POINTS = ["terminate-after-waves", "terminate-after-release", "terminate-after-record"];

describe("a crash at every step boundary", () => {
  let replicas = 1;

  it("the intent updated across the cases is READY first", async () => {
    await submit("upd");
    expect((await settle("upd")).state).toBe(S.READY);
  });

  it.each(DEPLOY_POINTS.map((p, i) => [p, i] as const))(
    "%s, with a new intent and an update in flight",
    async (point, i) => {
      await restart(`${point}=exit(137)`);
      replicas = replicas === 1 ? 2 : 1;
      const name = `new-${i}`;
      const answers = await Promise.allSettled([submit(name), submit("upd", replicas)]);
      await crashedThenRestarted();
      for (const [n, answer] of [
        [name, answers[0]],
        ["upd", answers[1]],
      ] as const) {
        if (answer.status === "rejected") {
          // The crash cut the answer short: the submission was journalled before it, or never accepted. The client
          // says so as the connection died: refused (Unavailable), cancelled, or reset under the call (connect-node
          // gives ECONNRESET and a destroyed stream Aborted; seen once in a full run).
          expect([Code.Canceled, Code.Unavailable, Code.Aborted]).toContain(ConnectError.from(answer.reason).code);
          if (n === name && !(await exists(n))) {
            for (const e of EDGES) expect(packagesInRepo(e, n)).toEqual([]);
            continue;
          }
        }
        await expectConsistent(n, S.READY, await recoveryChoice(n));
      }
      expectRepositoriesSound();
    },
    120_000,
  );

  it("a crash during the recovery itself (the resumed run crashes again), then READY", async () => {
    await restart("deploy-after-commit=exit(137)");
    await submit("twice");
    await crashedThenRestarted();
    // Not yet: the first restart crashes again in the resumed run, at its sync.
    await agent.restart(undefined, { signal: "SIGKILL", env: { CAMINO_FAILPOINTS: "deploy-after-sync=exit(137)" } });
    await crashedThenRestarted();
    await expectConsistent("twice", S.READY, await recoveryChoice("twice"));
    expectRepositoriesSound();
  }, 120_000);

  it.each(ROLLBACK_POINTS.map((p, i) => [p, i] as const))(
    "%s, during a rollback",
    async (point, i) => {
      // The first wave committed, then a failure: the run rolls back, and the agent crashes in the rollback.
      await restart(`deploy-after-commit=error(injected failure);${point}=exit(137)`);
      const name = `rb-${i}`;
      await submit(name);
      await crashedThenRestarted();
      await expectConsistent(name, S.ROLLED_BACK, await recoveryChoice(name));
      expectRepositoriesSound();
    },
    120_000,
  );

  it.each(ROLLBACK_POINTS)(
    "%s, during the rollback of an update: the revision before it runs on, as it was",
    async (point) => {
      // READY, or ROLLED_BACK by the case before (its previous revision running on).
      expect([S.READY, S.ROLLED_BACK]).toContain((await settle("upd")).state);
      const before = Object.fromEntries(EDGES.map((e) => [e, git(e, "ls-tree", "-r", "main", "--", "upd/")]));
      await restart(`deploy-after-commit=error(injected failure);${point}=exit(137)`);
      replicas = replicas === 1 ? 2 : 1;
      await submit("upd", replicas);
      await crashedThenRestarted();
      const d = await settle("upd");
      expect(d.state, d.reason).toBe(S.ROLLED_BACK);
      // Crashed once ROLLED_BACK was journalled, the run had settled: nothing was left to recover.
      expect(await recoveryChoice("upd")).toBe(point === "rollback-after-record" ? undefined : "finish the rollback");
      for (const e of EDGES) {
        // Every file of the intent as it was before the update, blob for blob.
        expect(git(e, "ls-tree", "-r", "main", "--", "upd/"), `upd in ${e}'s repository`).toBe(before[e]);
      }
      expect(await deploymentsOnEdge("edge-1", "upd")).toEqual(["a"]);
      expect(await deploymentsOnEdge("edge-2", "upd")).toEqual(["b"]);
      expectRepositoriesSound();
    },
    120_000,
  );

  it.each(TERMINATE_POINTS.map((p, i) => [p, i] as const))(
    "%s, during a termination",
    async (point, i) => {
      const name = `term-${i}`;
      await submit(name);
      expect((await settle(name)).state).toBe(S.READY);
      await restart(`${point}=exit(137)`);
      await dm.terminateIntent({ name }, { headers, timeoutMs: 10_000 });
      await crashedThenRestarted();
      await expectConsistent(name, S.TERMINATED, await recoveryChoice(name));
      expectRepositoriesSound();
    },
    120_000,
  );
});
