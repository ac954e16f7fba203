/**
 * The service lifecycle end to end, through real processes: an agent whose deployment repositories are remote
 * (git over HTTP with Basic auth, served by git's own http-backend) and two emulated edges whose RootSyncs
 * reconcile from those repositories. Everything is judged from the outside — the bare repositories' histories
 * and trees, the emulators' objects, and the public API — never from the agent's log:
 * - an intent with `after` rolls out in order across edges: when the push that first adds a package reaches the
 *   git server, every package it comes after is already available on its edge (a pre-receive hook photographs
 *   both edges' Deployments at that moment);
 * - a failure at each stage (admission, dry run, sync, never available) rolls the intent back: its paths in every
 *   repository are what they were before, by new commits, its objects leave the edges, and an intent submitted
 *   at the same time on the same edges reaches READY untouched;
 * - bad input at every RPC is refused with the right code and a message naming the field, and writes nothing;
 * - WatchDeployment streams every package's states in order; a re-submission is a no-op; Get and List agree;
 *   TerminateIntent removes the intent from every repository and edge;
 * - an agent killed (SIGKILL) mid-deployment resumes the deployment when it starts again, committing nothing twice
 *   (when to resume and when to roll back: test/unit/recovery-choice.test.ts).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import { DeploymentState, type Deployment, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";
import { ROOT, startAgentProcess, type AgentProcess, type AgentProcessOptions } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";

type EdgeName = "edge-1" | "edge-2";
const EDGES: readonly EdgeName[] = ["edge-1", "edge-2"];
const REPO: Record<EdgeName, string> = { "edge-1": "edge-1-deploy", "edge-2": "edge-2-deploy" };
const REPOS = EDGES.map((e) => REPO[e]);
const S = DeploymentState;
/**
 * How long the edges' pods take to start. Not 0: with it a Deployment is available the moment it is synced,
 * and an agent that committed the next wave at SYNCED instead of at READY could not be told from a right one.
 */
const POD_START_DELAY_MS = 300;

let git: GitHttpServer;
const edges = {} as Record<EdgeName, EmulatorProcess>;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
/** The agent's data folder (kept across its restart), its credentials file, and the push snapshots. */
const work = mkdtempSync(join(tmpdir(), "camino-lifecycle-"));

function agentOptions(): AgentProcessOptions {
  const credentialsFile = join(work, "git-credentials");
  writeFileSync(credentialsFile, `${git.username}:${git.password}\n`);
  return {
    logLevel: "info",
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: join(ROOT, "blueprints") },
      ...EDGES.map((e) => ({
        name: REPO[e],
        role: "deployment",
        edge: e,
        url: `${git.url}/${REPO[e]}.git`,
        branch: "main",
        credentialsFile,
      })),
    ],
    extraConfig: {
      domain: { id: "domain-x", dataDir: join(work, "data") },
      edges: EDGES.map((e) => ({
        name: e,
        server: edges[e].url,
        repository: REPO[e],
        labels: { zone: e === "edge-1" ? "north" : "south" },
        timeoutMs: 5000,
        syncPeriod: "100ms",
      })),
      lifecycle: { pollMs: 50, defaultTimeoutSeconds: 60, cleanupTimeoutSeconds: 30, capacityMaxAgeMs: 100 },
    },
  };
}

async function connect(): Promise<void> {
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = { authorization: `Bearer ${await agent.token(["intents:write", "intents:read"])}` };
}

beforeAll(async () => {
  git = await startGitHttpServer();
  for (const r of REPOS) git.createRepo(r);
  const [one, two] = await Promise.all(EDGES.map((name) => startEdge(name)));
  edges["edge-1"] = one as EmulatorProcess;
  edges["edge-2"] = two as EmulatorProcess;
  agent = await startAgentProcess(agentOptions());
  await connect();
  // Both edges reconcile their repository (over HTTP, with the agent's credentials) before anything is deployed.
  for (const e of EDGES) {
    await until(
      `${e}'s RootSync at the repository's head`,
      () => kube(e, "/apis/configsync.gke.io/v1beta1/namespaces/config-management-system/rootsyncs"),
      (r) => {
        const items = (r.body as { items?: { status?: { source?: { commit?: string } } }[] }).items ?? [];
        return items.some((rs) => rs.status?.source?.commit === head(REPO[e]));
      },
    );
  }
});

afterAll(async () => {
  await agent?.stop();
  await Promise.all(EDGES.map((e) => edges[e]?.stop()));
  await git?.close();
  rmSync(work, { recursive: true, force: true });
});

afterEach(() => {
  for (const r of REPOS) expect(git.git(r, "fsck", "--strict", "--no-dangling")).toBe("");
});

// ---- helpers ------------------------------------------------------------------------------------------------

/** An emulated edge as its own process, with a pod start delay (so "synced" and "available" are apart in time). */
function startEdge(name: EdgeName): Promise<EmulatorProcess> {
  return startEmulatorProcess({
    name,
    podStartDelayMs: POD_START_DELAY_MS,
    nodes: [{ name: `${name}-node-1`, cpu: "8", memory: "16Gi" }],
  });
}

/** Polls `probe` until `check` holds, for at most `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  check: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (check(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms; last ${JSON.stringify(last, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))?.slice(0, 2000)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET on an emulator's API. */
async function kube(edge: EdgeName, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${edges[edge].url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface KubeDeployment {
  metadata: { name: string; namespace: string };
  spec: { replicas?: number };
  status?: { availableReplicas?: number };
}
const isAvailable = (d: KubeDeployment | undefined) =>
  d !== undefined && (d.status?.availableReplicas ?? 0) >= (d.spec.replicas ?? 1);

async function deploymentOn(edge: EdgeName, namespace: string, name: string): Promise<KubeDeployment | undefined> {
  const r = await kube(edge, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
  return r.status === 200 ? (r.body as unknown as KubeDeployment) : undefined;
}

const head = (repo: string) => git.git(repo, "rev-parse", "main").trim();
const heads = () => Object.fromEntries(REPOS.map((r) => [r, head(r)]));
/** `git ls-tree -r` of the intent's folder at the head: mode, blob and path of every file. */
const tree = (repo: string, intent: string, rev = "main") => git.git(repo, "ls-tree", "-r", rev, "--", `${intent}/`);
const trees = (intent: string) => Object.fromEntries(REPOS.map((r) => [r, tree(r, intent)]));
const isAncestor = (repo: string, a: string, b: string) =>
  spawnSync("git", ["merge-base", "--is-ancestor", a, b], { cwd: join(git.root, `${repo}.git`) }).status === 0;
const subjects = (repo: string, range: string, path?: string) =>
  git
    .git(repo, "log", "--format=%s", range, ...(path ? ["--", path] : []))
    .split("\n")
    .filter(Boolean);

interface Pkg {
  name: string;
  edge: EdgeName;
  after?: string[];
  config?: Record<string, string>;
  cpu?: string;
  /** Another blueprint than traffic-sink, given as is (no version or resources). */
  blueprint?: string;
}

/** A DeploymentIntent document (traffic-sink packages unless told). */
function intentDoc(name: string, packages: Pkg[], timeout = "60s"): JsonObject {
  return {
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: {
      timeout,
      packages: packages.map((p) => ({
        name: p.name,
        ...(p.blueprint
          ? { blueprint: p.blueprint }
          : {
              blueprint: "traffic-sink",
              version: "3.16.0",
              replicas: 1,
              resources: { cpu: p.cpu ?? "50m", memory: "32Mi" },
            }),
        ...(p.after ? { after: p.after } : {}),
        placement: { edge: p.edge },
        ...(p.config ? { config: p.config } : {}),
      })),
    },
  };
}

const submit = (doc: JsonObject) =>
  client.submitIntent({ intent: fromJson(DeploymentIntentSchema, doc) }, { headers, timeoutMs: 10_000 });
const getDeployment = async (name: string) =>
  (await client.getDeployment({ name }, { headers, timeoutMs: 5000 })).deployment as Deployment;

/** Follows the deployment until its run is over (the watch ends then), and returns it. */
async function settle(name: string, timeoutMs = 45_000): Promise<Deployment> {
  const events: DeploymentEvent[] = [];
  try {
    for await (const { event } of client.watchDeployment({ name }, { headers, signal: AbortSignal.timeout(timeoutMs) }))
      if (event) events.push(event);
  } catch (err) {
    throw new Error(
      `${name} did not settle within ${timeoutMs} ms (last: ${events
        .slice(-3)
        .map((e) => `${e.package || "intent"} ${S[e.state]} ${e.reason}`)
        .join(" | ")})`,
      { cause: err },
    );
  }
  return getDeployment(name);
}

/** The error a call ends with (a streaming call is drained). */
async function failure(call: Promise<unknown> | AsyncIterable<unknown>): Promise<ConnectError> {
  try {
    if (Symbol.asyncIterator in call) for await (const _ of call);
    else await call;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

async function expectRefused(
  call: Promise<unknown> | AsyncIterable<unknown>,
  code: Code,
  ...mentions: string[]
): Promise<void> {
  const err = await failure(call);
  expect(Code[err.code], err.rawMessage).toBe(Code[code]);
  for (const m of mentions) expect(err.rawMessage).toContain(m);
}

/** What the repositories hold of an intent before it is (re)submitted. */
function snapshot(intent: string) {
  return { heads: heads(), trees: trees(intent) };
}

/** The intent's paths are back to `before` in every repository, by new commits on top of the old history. */
function expectRestored(intent: string, before: ReturnType<typeof snapshot>): void {
  for (const r of REPOS) {
    expect(tree(r, intent), `${r}: ${intent}/ after the rollback`).toBe(before.trees[r]);
    expect(isAncestor(r, before.heads[r] as string, head(r)), `${r}: the old head is an ancestor of the new one`).toBe(
      true,
    );
  }
}

/** A READY intent: every package READY, its files in its edge's repository, its Deployment available there. */
async function expectReady(intent: string, packages: Pkg[]): Promise<void> {
  const d = await getDeployment(intent);
  expect(S[d.state], d.reason).toBe("READY");
  for (const p of packages) {
    expect(S[d.packages.find((x) => x.package === p.name)?.state ?? 0]).toBe("READY");
    expect(tree(REPO[p.edge], `${intent}/${p.name}`)).toContain(`${intent}/${p.name}/deployment.yaml`);
    expect(isAvailable(await deploymentOn(p.edge, intent, p.name)), `${intent}/${p.name} available on ${p.edge}`).toBe(
      true,
    );
  }
  for (const e of new Set(packages.map((p) => p.edge))) expect(tree(REPO[e], `${intent}/_chain`)).not.toBe("");
}

/** Waits until the intent's namespace is gone from an edge (a rolled-back or terminated new intent). */
async function namespaceGone(edge: EdgeName, intent: string): Promise<void> {
  await until(
    `namespace ${intent} gone from ${edge}`,
    () => kube(edge, `/api/v1/namespaces/${intent}`),
    (r) => r.status === 404,
  );
}

/** The packages of a concurrent intent: one on each edge, the second after the first. */
const calm = (): Pkg[] => [
  { name: "c1", edge: "edge-1" },
  { name: "c2", edge: "edge-2", after: ["c1"] },
];

// ---- 1. ordered rollout -------------------------------------------------------------------------------------

/**
 * A pre-receive hook on every deployment repository that, when a push arrives (before the ref moves, so
 * before any edge can sync it), saves both edges' Deployments as the API serves them then, per pushed commit.
 */
function recordPushes(): {
  at(repo: string, commit: string): Record<EdgeName, KubeDeployment[]> | undefined;
  stop(): void;
} {
  const dir = mkdtempSync(join(work, "pushes-"));
  const hooks = REPOS.map((r) => join(git.root, `${r}.git`, "hooks", "pre-receive"));
  REPOS.forEach((r, i) => {
    const curls = EDGES.map(
      (e) => `curl -sf '${edges[e].url}/apis/apps/v1/deployments' > '${dir}/${r}-'"$new"'-${e}.json'`,
    ).join("\n  ");
    writeFileSync(hooks[i] as string, `#!/bin/sh\nwhile read old new ref; do\n  ${curls}\ndone\nexit 0\n`);
    chmodSync(hooks[i] as string, 0o755);
  });
  return {
    at(repo, commit) {
      const files = EDGES.map((e) => join(dir, `${repo}-${commit}-${e}.json`));
      if (!files.every(existsSync)) return undefined;
      const [a, b] = files.map((f) => (JSON.parse(readFileSync(f, "utf8")) as { items: KubeDeployment[] }).items);
      return { "edge-1": a as KubeDeployment[], "edge-2": b as KubeDeployment[] };
    },
    stop: () => {
      hooks.forEach((h) => {
        unlinkSync(h);
      });
    },
  };
}

describe("ordered rollout", () => {
  it("commits no package before every package it comes after is available on its edge, across edges", async () => {
    const pushes = recordPushes();
    const pkgs: Pkg[] = [
      { name: "a", edge: "edge-1" },
      { name: "b", edge: "edge-2", after: ["a"] },
      { name: "c", edge: "edge-2", after: ["b"] },
      { name: "d", edge: "edge-1", after: ["b"] },
    ];
    const wave: Record<string, number> = { a: 1, b: 2, c: 3, d: 3 };
    const before = heads();
    try {
      const submitted = Date.now();
      expect(await submit(intentDoc("ordered", pkgs))).toMatchObject({ deploymentId: "ordered.1", noOp: false });
      const d = await settle("ordered");
      const seen = Date.now();
      expect(S[d.state]).toBe("READY");
      // Its run's time, split: four waves of syncs and rollouts on the edges, and the agent's own work between.
      const t = d.timing;
      expect(t?.edgeMs).toBeGreaterThan(0);
      expect(t?.agentMs).toBeGreaterThan(0);
      // The parts never add up to more than the run lasted, as the client saw it: from the submission to READY
      // seen (the split ends after READY is written, so the record's own updatedAt is too early a bound).
      expect((t?.agentMs ?? 0) + (t?.edgeMs ?? 0) + (t?.queueMs ?? 0)).toBeLessThanOrEqual(seen - submitted);
      expect((t?.agentMs ?? 0) + (t?.edgeMs ?? 0)).toBeGreaterThan(
        timestampDate(d.updatedAt!).getTime() - timestampDate(d.createdAt!).getTime() - (t?.queueMs ?? 0) - 50,
      );
      // The same split per step, each wave's steps by name; together they make the whole.
      const steps = t?.steps ?? [];
      expect(steps.map((s) => s.step)).toEqual(
        expect.arrayContaining([
          "admission",
          "wave 0",
          "wave 1: commit",
          "wave 2: synced",
          "wave 3: available",
          "ready",
        ]),
      );
      expect(steps.find((s) => s.step === "wave 2: synced")?.edgeMs).toBeGreaterThan(0);
      expect(steps.find((s) => s.step === "admission")?.agentMs).toBeGreaterThan(0);
      const sum = (f: (s: (typeof steps)[number]) => number) => steps.reduce((n, s) => n + f(s), 0);
      expect(sum((s) => s.edgeMs)).toBeCloseTo(t?.edgeMs ?? 0, 0);
      expect(Math.abs(sum((s) => s.agentMs) - (t?.agentMs ?? 0))).toBeLessThan(5);
    } finally {
      pushes.stop();
    }

    // Wave 0 (the chain's namespace) reaches each repository before any package does.
    for (const e of EDGES) {
      const log = subjects(REPO[e], `${before[REPO[e]]}..main`).reverse();
      expect(log[0]).toBe("camino: ordered revision 1 wave 0");
    }
    /** The snapshot taken when the push carrying `commit` arrived: its own, or that of the first later pushed tip. */
    const arrival = (repo: string, commit: string) => {
      const later = git.git(repo, "rev-list", "--reverse", "--ancestry-path", `${commit}^..main`).trim().split("\n");
      for (const c of later) {
        const shot = pushes.at(repo, c);
        if (shot) return shot;
      }
      throw new Error(`no push of ${repo} carried ${commit}`);
    };
    for (const p of pkgs) {
      const repo = REPO[p.edge];
      const [added] = git
        .git(repo, "log", "--reverse", "--diff-filter=A", "--format=%H", "main", "--", `ordered/${p.name}/`)
        .trim()
        .split("\n");
      expect(added, `the commit that adds ordered/${p.name}/`).toMatch(/^[0-9a-f]{40}$/);
      expect(git.git(repo, "log", "-1", "--format=%s", added as string).trim()).toBe(
        `camino: ordered revision 1 wave ${wave[p.name]}`,
      );
      const shot = arrival(repo, added as string);
      // The photograph is from before the edge could sync the push: the package itself is not there yet …
      expect(
        shot[p.edge].some((d) => d.metadata.namespace === "ordered" && d.metadata.name === p.name),
        `${p.name} on ${p.edge} when its push arrived`,
      ).toBe(false);
      // … and every package it comes after already was, and available.
      for (const q of p.after ?? []) {
        const qEdge = (pkgs.find((x) => x.name === q) as Pkg).edge;
        const dq = shot[qEdge].find((d) => d.metadata.namespace === "ordered" && d.metadata.name === q);
        expect(
          isAvailable(dq),
          `${q} available on ${qEdge} when the push adding ${p.name} reached ${repo}: ${JSON.stringify(dq?.status)}`,
        ).toBe(true);
      }
    }
    await expectReady("ordered", pkgs);
  });
});

// ---- 2. rollback at every stage -----------------------------------------------------------------------------

describe("rollback at each stage, with an intent submitted alongside on the same edges", () => {
  it("admission: refused for resources no edge has and a missing prerequisite; nothing of it is ever written", async () => {
    const before = snapshot("refused");
    const failing = intentDoc("refused", [
      { name: "big", edge: "edge-1", cpu: "64" },
      {
        name: "rule",
        edge: "edge-2",
        blueprint: "ingress-rule",
        config: { host: "chain.example.com", backend: "big" },
      },
    ]);
    await Promise.all([submit(failing), submit(intentDoc("calm-admission", calm()))]);
    const [d] = await Promise.all([settle("refused"), settle("calm-admission")]);
    expect(S[d.state]).toBe("ROLLED_BACK");
    expect(d.reason).toMatch(/^admission refused/);
    expect(d.admission.map((a) => [a.package, a.edge, a.check])).toEqual(
      expect.arrayContaining([
        ["big", "edge-1", "resources"],
        ["rule", "edge-2", "prerequisite"],
      ]),
    );
    expect(d.admission.find((a) => a.check === "prerequisite")?.message).toContain("IngressClass/nginx");
    expectRestored("refused", before);
    for (const r of REPOS)
      expect(subjects(r, `${before.heads[r]}..main`, "refused/"), `${r}: no commit touches refused/`).toEqual([]);
    for (const e of EDGES) expect((await kube(e, "/api/v1/namespaces/refused")).status).toBe(404);
    await expectReady("calm-admission", calm());
  });

  it("dry run: a later wave the edge refuses rolls back the waves already deployed", async () => {
    const before = snapshot("dryrun");
    // replicas -1 passes the schemas but not the API server's rules: only the edge's dry run can tell.
    const pkgs: Pkg[] = [
      { name: "p1", edge: "edge-1" },
      { name: "p2", edge: "edge-2", after: ["p1"], config: { replicas: "-1" } },
    ];
    await Promise.all([submit(intentDoc("dryrun", pkgs)), submit(intentDoc("calm-dryrun", calm()))]);
    const [d] = await Promise.all([settle("dryrun"), settle("calm-dryrun")]);
    expect(S[d.state]).toBe("ROLLED_BACK");
    expect(d.reason).toMatch(/^wave 2: the edge refused the dry run: p2@edge-2 Deployment\/p2: .*spec\.replicas/);
    expect(d.admission).toEqual([expect.objectContaining({ package: "p2", edge: "edge-2", check: "dry-run" })]);
    expect(d.packages.map((p) => [p.package, S[p.state]])).toEqual([
      ["p1", "ROLLED_BACK"],
      ["p2", "ROLLED_BACK"],
    ]);
    // p1 had been committed (wave 1) and the chain on both edges (wave 0): all of it is gone again.
    expect(subjects(REPO["edge-1"], `${before.heads[REPO["edge-1"]]}..main`, "dryrun/p1/")).toEqual([
      "camino: roll back dryrun revision 1",
      "camino: dryrun revision 1 wave 1",
    ]);
    expect(
      git.git(REPO["edge-2"], "log", "--all", "--format=%H", "--", "dryrun/p2/").trim(),
      "p2 was never committed",
    ).toBe("");
    expectRestored("dryrun", before);
    await Promise.all(EDGES.map((e) => namespaceGone(e, "dryrun")));
    await expectReady("calm-dryrun", calm());
  });

  it("sync error: an update whose new object the edge cannot apply goes back to the previous revision's files", async () => {
    const v1: Pkg[] = [
      { name: "web", edge: "edge-1" },
      { name: "sink", edge: "edge-2" },
    ];
    await submit(intentDoc("upd", v1));
    expect(S[(await settle("upd")).state]).toBe("READY");
    const before = snapshot("upd");
    expect(before.trees[REPO["edge-2"]]).toContain("upd/sink/deployment.yaml");
    await edges["edge-2"].faults({ syncErrors: ["Deployment/upd/extra"] });
    try {
      const v2 = intentDoc("upd", [...v1, { name: "extra", edge: "edge-2", after: ["web"] }]);
      const [sub] = await Promise.all([submit(v2), submit(intentDoc("calm-sync", calm()))]);
      expect(sub).toMatchObject({ deploymentId: "upd.2", revision: 2n, noOp: false });
      const [d] = await Promise.all([settle("upd"), settle("calm-sync")]);
      expect(S[d.state]).toBe("ROLLED_BACK");
      expect(d.reason).toMatch(/edge edge-2 cannot sync commit [0-9a-f]{12}/);
      expect(d.reason).toContain("Deployment/upd/extra");
      // extra was committed, then rolled back; web and sink are as revision 1 left them, and still run.
      expect(subjects(REPO["edge-2"], `${before.heads[REPO["edge-2"]]}..main`, "upd/extra/")).toEqual([
        "camino: roll back upd revision 2",
        "camino: upd revision 2 wave 2",
      ]);
      expectRestored("upd", before);
      expect(await deploymentOn("edge-2", "upd", "extra")).toBeUndefined();
      expect(isAvailable(await deploymentOn("edge-1", "upd", "web"))).toBe(true);
      expect(isAvailable(await deploymentOn("edge-2", "upd", "sink"))).toBe(true);
      await expectReady("calm-sync", calm());
    } finally {
      await edges["edge-2"].faults({ syncErrors: [] });
    }
  });

  it("never available: spec.timeout rolls back a package whose workload never becomes available; what comes after it is never committed", async () => {
    const before = snapshot("stuck");
    await edges["edge-1"].faults({ unavailable: ["stuck/s1"] });
    try {
      const pkgs: Pkg[] = [
        { name: "s1", edge: "edge-1" },
        { name: "s2", edge: "edge-2", after: ["s1"] },
      ];
      await Promise.all([submit(intentDoc("stuck", pkgs, "15s")), submit(intentDoc("calm-stuck", calm()))]);
      const [d] = await Promise.all([settle("stuck"), settle("calm-stuck")]);
      expect(S[d.state]).toBe("ROLLED_BACK");
      expect(d.reason).toMatch(
        /^spec\.timeout 15s passed during wave 1: available \(waiting for s1 on edge-1: Deployment\/s1 0\/1 available\)/,
      );
      expect(d.packages.map((p) => [p.package, S[p.state]])).toEqual([
        ["s1", "ROLLED_BACK"],
        ["s2", "ROLLED_BACK"],
      ]);
      expect(
        git.git(REPO["edge-2"], "log", "--all", "--format=%H", "--", "stuck/s2/").trim(),
        "s2 was never committed",
      ).toBe("");
      expectRestored("stuck", before);
      await Promise.all(EDGES.map((e) => namespaceGone(e, "stuck")));
      await expectReady("calm-stuck", calm());
    } finally {
      await edges["edge-1"].faults({ unavailable: [] });
    }
  });
});

// ---- 3. bad input -------------------------------------------------------------------------------------------

describe("bad input at every RPC", () => {
  it("is refused with the right code and a message naming the field, and writes nothing", async () => {
    const good = (name: string, over: Partial<Pkg> = {}) => intentDoc(name, [{ name: "p", edge: "edge-1", ...over }]);
    const withSpec = (doc: JsonObject, f: (pkgs: JsonObject[]) => void) => {
      f((doc["spec"] as JsonObject)["packages"] as JsonObject[]);
      return doc;
    };
    const cases: [string, () => Promise<unknown> | AsyncIterable<unknown>, Code, string[]][] = [
      ["no intent", () => client.submitIntent({}, { headers }), Code.InvalidArgument, ["intent: is required"]],
      ["bad name", () => submit(good("Bad_Name")), Code.InvalidArgument, ["metadata.name"]],
      [
        "unknown blueprint",
        () => submit(withSpec(good("bad-blueprint"), (p) => ((p[0] as JsonObject)["blueprint"] = "no-such-blueprint"))),
        Code.InvalidArgument,
        ["spec.packages[0].blueprint", "no-such-blueprint"],
      ],
      [
        "unknown edge",
        () => submit(withSpec(good("bad-edge"), (p) => ((p[0] as JsonObject)["placement"] = { edge: "edge-9" }))),
        Code.InvalidArgument,
        ["spec.packages[0].placement.edge", "edge-9"],
      ],
      [
        "cycle",
        () =>
          submit(
            intentDoc("cyclic", [
              { name: "x", edge: "edge-1", after: ["y"] },
              { name: "y", edge: "edge-1", after: ["x"] },
            ]),
          ),
        Code.InvalidArgument,
        ["spec.packages", "cycle"],
      ],
      [
        "peer domain",
        () => submit(withSpec(good("remote"), (p) => ((p[0] as JsonObject)["placement"] = { domain: "domain-y" }))),
        Code.FailedPrecondition,
        ["spec.packages[0].placement.domain", "domain-y"],
      ],
      ["get: empty name", () => client.getDeployment({ name: "" }, { headers }), Code.InvalidArgument, ["name"]],
      ["get: unknown", () => client.getDeployment({ name: "nobody" }, { headers }), Code.NotFound, ["name", "nobody"]],
      [
        "get: unknown revision",
        () => client.getDeployment({ name: "ordered.9" }, { headers }),
        Code.NotFound,
        ["name", "ordered.9"],
      ],
      ["watch: empty name", () => client.watchDeployment({ name: "" }, { headers }), Code.InvalidArgument, ["name"]],
      [
        "watch: unknown",
        () => client.watchDeployment({ name: "nobody" }, { headers }),
        Code.NotFound,
        ["name", "nobody"],
      ],
      [
        "terminate: empty name",
        () => client.terminateIntent({ name: "" }, { headers }),
        Code.InvalidArgument,
        ["name"],
      ],
      [
        "terminate: unknown",
        () => client.terminateIntent({ name: "nobody" }, { headers }),
        Code.NotFound,
        ["name", "nobody"],
      ],
      [
        "list: page_size",
        () => client.listDeployments({ pageSize: 1001 }, { headers }),
        Code.InvalidArgument,
        ["page_size"],
      ],
      [
        "list: page_token",
        () => client.listDeployments({ pageToken: "not a token!" }, { headers }),
        Code.InvalidArgument,
        ["page_token"],
      ],
    ];
    const listed = (await client.listDeployments({ pageSize: 1000 }, { headers })).deployments.map((d) => d.id);
    for (const [what, call, code, mentions] of cases) {
      const was = heads();
      await expectRefused(call(), code, ...mentions).catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`);
      });
      expect(heads(), `${what}: the repositories are unchanged`).toEqual(was);
    }
    // No record was made for any rejected intent.
    expect((await client.listDeployments({ pageSize: 1000 }, { headers })).deployments.map((d) => d.id)).toEqual(
      listed,
    );
    for (const name of ["bad-blueprint", "bad-edge", "cyclic", "remote"])
      await expectRefused(client.getDeployment({ name }, { headers }), Code.NotFound, name);
  });

  it("refuses a second submission while a revision is in flight, leaving the first to run; terminate then stops it", async () => {
    await edges["edge-1"].faults({ unavailable: ["inflight/i1"] });
    try {
      const doc = intentDoc("inflight", [{ name: "i1", edge: "edge-1" }]);
      expect(await submit(doc)).toMatchObject({ deploymentId: "inflight.1", noOp: false });
      await until(
        "i1 synced and waiting to be available",
        () => getDeployment("inflight"),
        (d) => S[d.packages[0]?.state ?? 0] === "SYNCED",
      );
      const was = heads();
      await expectRefused(submit(doc), Code.FailedPrecondition, "intent inflight revision 1 is");
      await expectRefused(
        submit(intentDoc("inflight", [{ name: "i1", edge: "edge-1", cpu: "60m" }])),
        Code.FailedPrecondition,
        "inflight",
      );
      expect(heads()).toEqual(was);
      const d = await getDeployment("inflight");
      expect([d.id, d.revision, S[d.state]]).toEqual(["inflight.1", 1n, "COMMITTED"]);
      expect(S[(await client.terminateIntent({ name: "inflight" }, { headers })).deployment?.state ?? 0]).toMatch(
        /^(TERMINATING|TERMINATED)$/,
      );
      expect(S[(await settle("inflight")).state]).toBe("TERMINATED");
      for (const r of REPOS) expect(tree(r, "inflight")).toBe("");
      await namespaceGone("edge-1", "inflight");
    } finally {
      await edges["edge-1"].faults({ unavailable: [] });
    }
  });
});

// ---- 4. watch, no-op, get/list, terminate -------------------------------------------------------------------

describe("watching, re-submitting, reading and terminating a deployment", () => {
  const pkgs: Pkg[] = [
    { name: "x", edge: "edge-1" },
    { name: "y", edge: "edge-2", after: ["x"] },
  ];

  it("streams every package through PENDING → ADMITTED → COMMITTED → SYNCED → READY and ends when settled", async () => {
    const since = new Date(Date.now() - 1);
    const { deploymentId } = await submit(intentDoc("watched", pkgs));
    expect(deploymentId).toBe("watched.1");
    const events: DeploymentEvent[] = [];
    for await (const { event } of client.watchDeployment(
      { name: deploymentId, since: timestampFromDate(since) },
      { headers, signal: AbortSignal.timeout(45_000) },
    ))
      if (event) events.push(event);
    for (const e of events) expect([e.deploymentId, e.intent, e.revision]).toEqual(["watched.1", "watched", 1n]);
    const states = (pkg: string) =>
      events.filter((e) => e.package === pkg && e.kind === "state").map((e) => S[e.state]);
    for (const p of pkgs)
      expect(states(p.name), `${p.name}'s events`).toEqual(["PENDING", "ADMITTED", "COMMITTED", "SYNCED", "READY"]);
    // y (wave 2) is committed only once x (wave 1) is READY; the stream ends with the intent READY.
    const at = (pkg: string, state: string) => events.findIndex((e) => e.package === pkg && S[e.state] === state);
    expect(at("y", "COMMITTED")).toBeGreaterThan(at("x", "READY"));
    expect(events.filter((e) => e.package === "").map((e) => S[e.state])[0]).toBe("PENDING");
    expect(events.at(-1)).toMatchObject({ package: "", state: S.READY });
    await expectReady("watched", pkgs);
  });

  it("treats an unchanged re-submission as a no-op; Get and List agree", async () => {
    const was = heads();
    expect(await submit(intentDoc("watched", pkgs))).toMatchObject({
      deploymentId: "watched.1",
      revision: 1n,
      noOp: true,
    });
    expect(heads()).toEqual(was);
    const byName = await getDeployment("watched");
    expect(await getDeployment("watched.1")).toEqual(byName);
    expect(byName).toMatchObject({ id: "watched.1", intent: "watched", revision: 1n, state: S.READY });
    // Paged two at a time, the listing holds every deployment once, sorted by intent, this one as Get shows it.
    const all: Deployment[] = [];
    let pageToken = "";
    do {
      const page = await client.listDeployments({ pageSize: 2, pageToken }, { headers });
      expect(page.deployments.length).toBeLessThanOrEqual(2);
      all.push(...page.deployments);
      pageToken = page.nextPageToken;
    } while (pageToken);
    const names = all.map((d) => d.intent);
    expect(names).toEqual([...new Set(names)].sort());
    // ListDeployments leaves out the revision history (GetDeployment's alone): otherwise the same.
    expect(all.find((d) => d.intent === "watched")).toEqual({ ...byName, history: [] });
    expect(byName.history.map((h) => h.revision)).toEqual([1n]);
  });

  it("accepts an update submitted the moment the previous revision is reported READY", async () => {
    const doc = (cpu: string) => intentDoc("eager", [{ name: "e", edge: "edge-1", cpu }]);
    expect(await submit(doc("50m"))).toMatchObject({ deploymentId: "eager.1" });
    for (const [revision, cpu] of [
      [2n, "60m"],
      [3n, "70m"],
      [4n, "80m"],
    ] as const) {
      // As a client acting on the watch does: the intent's READY event is its cue.
      let seen = "";
      for await (const { event } of client.watchDeployment(
        { name: "eager" },
        { headers, signal: AbortSignal.timeout(45_000) },
      )) {
        if (event?.package !== "") continue;
        seen = `${S[event.state]}: ${event.reason}`;
        if (event.state === S.READY) break;
      }
      expect(seen).toMatch(/^READY/);
      const res = await submit(doc(cpu)).catch((err: unknown) => err);
      expect(res instanceof ConnectError ? `refused: ${res.rawMessage}` : res).toMatchObject({
        deploymentId: `eager.${revision}`,
        revision,
        noOp: false,
      });
    }
    expect(S[(await settle("eager")).state]).toBe("READY");
  });

  it("terminates: the intent's paths leave every repository by new commits, its objects leave the edges", async () => {
    const before = heads();
    const res = await client.terminateIntent({ name: "watched" }, { headers });
    expect(res.deployment?.intent).toBe("watched");
    const d = await settle("watched");
    expect(S[d.state], d.reason).toBe("TERMINATED");
    for (const p of d.packages) expect(S[p.state]).toBe("TERMINATED");
    for (const r of REPOS) {
      expect(tree(r, "watched")).toBe("");
      expect(head(r)).not.toBe(before[r]);
      expect(isAncestor(r, before[r] as string, head(r))).toBe(true);
      expect(subjects(r, `${before[r]}..main`).every((s) => s === "camino: remove watched revision 1")).toBe(true);
    }
    // y (the later wave) leaves first.
    expect(git.git(REPO["edge-2"], "log", "-1", "--format=%s", "main", "--", "watched/y/").trim()).toBe(
      "camino: remove watched revision 1",
    );
    await Promise.all(EDGES.map((e) => namespaceGone(e, "watched")));
    expect(await deploymentOn("edge-1", "watched", "x")).toBeUndefined();
    expect(await deploymentOn("edge-2", "watched", "y")).toBeUndefined();
  });
});

// ---- 5. restart ---------------------------------------------------------------------------------------------

describe("an agent killed mid-deployment", () => {
  it("resumes a deployment whose edges and blueprints are unchanged when it starts again: nothing committed twice, READY once its workload is", async () => {
    // r2 never becomes available, so the agent is mid-deployment for as long as needed.
    await edges["edge-2"].faults({ unavailable: ["crash/r2"] });
    try {
      const pkgs: Pkg[] = [
        { name: "r1", edge: "edge-1" },
        { name: "r2", edge: "edge-2", after: ["r1"] },
      ];
      const steady: Pkg[] = [{ name: "st", edge: "edge-2" }];
      await Promise.all([submit(intentDoc("crash", pkgs, "120s")), submit(intentDoc("steady", steady))]);
      expect(S[(await settle("steady")).state]).toBe("READY");
      await until(
        "r2 synced on edge-2",
        () => getDeployment("crash"),
        (d) => S[d.packages.find((p) => p.package === "r2")?.state ?? 0] === "SYNCED",
      );
      expect(tree(REPO["edge-2"], "crash/r2")).toContain("crash/r2/deployment.yaml");
      expect(await deploymentOn("edge-2", "crash", "r2")).toBeDefined();
      const commitsBefore = REPOS.map((r) => subjects(r, "main", "crash/"));
      expect((await agent.stop("SIGKILL")).signal).toBe("SIGKILL");

      agent = await startAgentProcess(agentOptions());
      await connect();

      // crash: resumed where it was; nothing committed twice; READY once r2's workload is available.
      await edges["edge-2"].faults({ unavailable: [] });
      const d = await settle("crash");
      expect(S[d.state], d.reason).toBe("READY");
      expect(REPOS.map((r) => subjects(r, "main", "crash/"))).toEqual(commitsBefore);
      const events: string[] = [];
      for await (const { event } of client.watchDeployment(
        { name: "crash", since: timestampFromMs(1) },
        { headers, signal: AbortSignal.timeout(10_000) },
      ))
        events.push(`${event?.package ?? ""} ${event?.reason ?? ""}`);
      // The events from before the crash are still answered, then the choice and why, then the waves' commits
      // found again by their trailers (not made again).
      const resumed = events.findIndex((x) =>
        /^ recovery: resume: the agent restarted while the intent was \w+; its baselines in 2 repositories are kept for a rollback, and a wave it committed is found/.test(
          x,
        ),
      );
      expect(resumed).toBeGreaterThan(0);
      expect(events.slice(0, resumed).some((x) => x.startsWith("r1 committed "))).toBe(true);
      const r1 = events
        .slice(0, resumed)
        .find((x) => x.startsWith("r1 committed "))
        ?.split(" ")[2];
      const found = `r1 already committed (its trailers) as ${r1} in `;
      expect(events.slice(resumed).some((x) => x.startsWith(found))).toBe(true);
      await expectReady("crash", pkgs);
      // A deployment that had settled before the crash is as it was.
      await expectReady("steady", steady);
    } finally {
      await edges["edge-2"].faults({ unavailable: [] });
    }
  }, 120_000);
});
