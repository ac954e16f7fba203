/**
 * The deployment pipeline's steps (agent/orchestration: plan-steps with admission and reservations, deploy-steps,
 * rollback, termination, the run queue, shutdown), in one process and in seconds: the real DeploymentManager over real local git repositories
 * and embedded edge emulators (test/helpers/in-process-domain.ts). Each test drives the manager's API, as the
 * RPC handlers do, and judges by independent witnesses: the git CLI on the repositories, and the emulators'
 * object stores (what their Kubernetes API serves). lifecycle*.test.ts check the same through processes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Failpoints } from "../../agent/failpoints.js";
import type { Intent } from "../../agent/intent/model.js";
import { validateIntent } from "../../agent/intent/validate.js";
import type { DeploymentRecord, EventRecord, StateName } from "../../agent/orchestration/journal.js";
import { emptyNetworkPlan, type NetworkManager } from "../../agent/network/network-manager.js";
import { planIntent } from "../../agent/orchestration/planner.js";
import type { Emulator } from "../../emulator/emulator.js";
import type { KubeObject } from "../../emulator/store.js";
import { trackHandles } from "../helpers/handle-tracker.js";
import { gitIn, startInProcessDomain, waitFor, type InProcessDomain } from "../helpers/in-process-domain.js";

const EDGES = ["edge-1", "edge-2"] as const;
type EdgeName = (typeof EDGES)[number];

/** The failpoint hit before each wave's commit (deploy-steps.ts), where the test photographs the edges. */
const BEFORE_COMMIT = "deploy-before-commit";

/** Failpoints that call the test back, synchronously, when the lifecycle is about to commit a wave. */
class CommitWitness implements Failpoints {
  onBeforeCommit: (() => void) | undefined;
  async hit(name: string): Promise<void> {
    if (name === BEFORE_COMMIT) this.onBeforeCommit?.();
  }
}

const witness = new CommitWitness();
let domain: InProcessDomain;

// ---- helpers --------------------------------------------------------------------------------------------------------

const git = (edge: EdgeName, ...args: string[]) => gitIn(domain.repositoryDir(edge), ...args);
const head = (edge: EdgeName) => git(edge, "rev-parse", "main").trim();
const lines = (text: string) => text.split("\n").filter(Boolean);
/** Subjects of the commits after `from` up to main, oldest first. */
const subjectsSince = (edge: EdgeName, from: string) =>
  lines(git(edge, "log", "--reverse", "--format=%s", `${from}..main`));
/** Commit ids after `from` up to main, oldest first. */
const commitsSince = (edge: EdgeName, from: string) =>
  lines(git(edge, "log", "--reverse", "--format=%H", `${from}..main`));
/** The paths a commit changes. */
const changed = (edge: EdgeName, commit: string) =>
  lines(git(edge, "diff-tree", "--no-commit-id", "--name-only", "-r", commit));
/** The files of `intent/` at the head of main (git ls-tree). */
const treeOf = (edge: EdgeName, intent: string) =>
  lines(git(edge, "ls-tree", "-r", "--name-only", "main", "--", `${intent}/`));

/** The package folders (second path segment) a list of paths touches. */
const folders = (paths: readonly string[]) => [...new Set(paths.map((p) => p.split("/")[1]))].sort();

interface Pkg {
  name: string;
  edge?: EdgeName;
  selector?: Record<string, string>;
  domain?: string;
  after?: string[];
  cpu?: string;
  replicas?: number;
  /** Another blueprint than traffic-sink (no resources given). */
  blueprint?: string;
  config?: Record<string, string>;
}

/** A validated intent of traffic-sink packages (unless told), as SubmitIntent would hand it to the manager. */
function intentOf(name: string, packages: Pkg[], timeout = "20s"): Intent {
  return validateIntent({
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
              replicas: p.replicas ?? 1,
              resources: { cpu: p.cpu ?? "50m", memory: "32Mi" },
            }),
        ...(p.after ? { after: p.after } : {}),
        ...(p.edge ? { placement: { edge: p.edge } } : {}),
        ...(p.selector ? { placement: { edgeSelector: p.selector } } : {}),
        ...(p.domain ? { placement: { domain: p.domain } } : {}),
        ...(p.config ? { config: p.config } : {}),
      })),
    },
  });
}

/** Every event of an intent's runs from now on, in order, as the event bus publishes them. */
function record(intent: string, onEvent?: (e: EventRecord) => void): { events: EventRecord[]; stop: () => void } {
  const events: EventRecord[] = [];
  const stop = domain.manager.events.subscribe(intent, (e) => {
    if (e.kind === "settled") return;
    events.push(e);
    onEvent?.(e);
  });
  return { events, stop };
}

/** Follows the deployment through the manager's watch until its run is over; returns its record then. */
async function settle(name: string, d: InProcessDomain = domain, timeoutMs = 15_000): Promise<DeploymentRecord> {
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const _ of d.manager.watch(name, undefined, signal));
  if (signal.aborted) throw new Error(`${name} did not settle within ${timeoutMs} ms: ${d.manager.get(name).reason}`);
  return d.manager.get(name);
}

/** The states a package (or the intent, "") went through, state events only. */
const statesOf = (events: readonly EventRecord[], pkg: string): StateName[] =>
  events.filter((e) => e.kind === "state" && e.package === pkg).map((e) => e.state);

/** A Deployment as an emulator's store holds it (what its Kubernetes API serves). */
const deploymentOn = (edge: EdgeName, intent: string, name: string) =>
  domain.emulators.get(edge)?.store.get("apps/deployments", intent, name);
const isAvailable = (d: KubeObject | undefined) => {
  const spec = d?.["spec"] as { replicas?: number } | undefined;
  const status = d?.["status"] as { availableReplicas?: number } | undefined;
  return d !== undefined && (status?.availableReplicas ?? 0) >= (spec?.replicas ?? 1);
};
const namespaceOn = (edge: EdgeName, name: string) =>
  domain.emulators.get(edge)?.store.get("/namespaces", undefined, name);

describe("on one domain of two edges", () => {
  beforeAll(async () => {
    // One run at a time: the run-queue test needs it, and the others run one intent at a time anyway.
    domain = await startInProcessDomain({ lifecycle: { maxConcurrentRuns: 1 }, failpoints: witness });
  }, 30_000);

  afterAll(async () => {
    await domain?.close();
  });

  afterEach(() => {
    witness.onBeforeCommit = undefined;
    for (const e of EDGES)
      expect(git(e, "fsck", "--strict", "--no-dangling"), `git fsck of ${e}'s repository`).toBe("");
    expect(domain.logged.filter((l) => l.level === "error")).toEqual([]);
  });

  // ---- 1. planning --------------------------------------------------------------------------------------------------

  describe("planIntent", () => {
    it("plans a chain across two edges: order, waves, placement by node room, and the files of each repository", async () => {
      const intent = intentOf("atlas", [
        { name: "gate", edge: "edge-1", cpu: "100m" },
        { name: "relay", selector: { zone: "south" }, after: ["gate"] },
        // 1200m fits edge-2's total free CPU (the less loaded by totals) but none of its nodes: only edge-1's big node.
        { name: "heavy", cpu: "1200m", after: ["relay"] },
        { name: "tap", edge: "edge-2", after: ["gate"] },
      ]);
      const before = Object.fromEntries(EDGES.map((e) => [e, head(e)]));
      const plan = await planIntent(intent, domain.planner);

      expect(plan.admitted, JSON.stringify(plan.admission)).toBe(true);
      expect(plan.order).toEqual(["gate", "relay", "tap", "heavy"]);
      expect(plan.waves).toEqual([["gate"], ["relay", "tap"], ["heavy"]]);
      expect(plan.packages.map((p) => [p.package, p.wave, p.edge, p.repository])).toEqual([
        ["gate", 1, "edge-1", "edge-1-deploy"],
        ["relay", 2, "edge-2", "edge-2-deploy"],
        ["tap", 2, "edge-2", "edge-2-deploy"],
        ["heavy", 3, "edge-1", "edge-1-deploy"],
      ]);
      expect(plan.packages.find((p) => p.package === "gate")?.reason).toBe("placement.edge");
      expect(plan.packages.find((p) => p.package === "heavy")?.reason).toMatch(/fitting edge/);
      // Wave 0 on both edges; every package's files in its edge's repository, nowhere else.
      expect(plan.chains.map((c) => [c.edge, c.repository])).toEqual([
        ["edge-1", "edge-1-deploy"],
        ["edge-2", "edge-2-deploy"],
      ]);
      const byRepo = (repo: string) => folders(plan.files.filter((f) => f.repository === repo).map((f) => f.path));
      expect(byRepo("edge-1-deploy")).toEqual(["_chain", "gate", "heavy"]);
      expect(byRepo("edge-2-deploy")).toEqual(["_chain", "relay", "tap"]);
      for (const f of plan.files) expect(f.path.startsWith("atlas/"), f.path).toBe(true);
      const paths = (repo: string) => plan.files.filter((f) => f.repository === repo).map((f) => f.path);
      for (const repo of ["edge-1-deploy", "edge-2-deploy"])
        expect(paths(repo)).toContain("atlas/_chain/namespace.yaml");
      expect(paths("edge-1-deploy")).toContain("atlas/heavy/deployment.yaml");
      // A plan only looks: nothing reserved, nothing written.
      expect(plan.reservations).toEqual([]);
      expect(domain.book.held("atlas")).toEqual([]);
      for (const e of EDGES) expect(head(e)).toBe(before[e]);
    });

    it("collects every package's admission reasons at once; a peer-domain placement is the same verdict submit refuses with", async () => {
      const intent = intentOf("overreach", [
        { name: "big", edge: "edge-1", cpu: "64" },
        {
          name: "rule",
          edge: "edge-2",
          blueprint: "ingress-rule",
          config: { host: "chain.example.com", backend: "big" },
        },
        { name: "fine", edge: "edge-2" },
        { name: "far", domain: "domain-b" },
      ]);
      const before = Object.fromEntries(EDGES.map((e) => [e, head(e)]));
      const plan = await planIntent(intent, domain.planner);

      expect(plan.admitted).toBe(false);
      expect(plan.admission.map((a) => [a.package, a.edge, a.check])).toEqual([
        ["big", "edge-1", "resources"],
        ["rule", "edge-2", "prerequisite"],
        ["far", "", "placement"],
      ]);
      expect(plan.admission.find((a) => a.package === "rule")?.message).toContain("IngressClass/nginx");
      expect(plan.packages.find((p) => p.package === "fine")?.admission).toEqual([]);
      const far = plan.admission.find((a) => a.package === "far");
      expect(far?.message).toMatch(/^spec\.packages\[3\]\.placement\.domain: .*"domain-b"/);

      const refused = await domain.manager.submit(intent, {}).then(
        () => undefined,
        (err: unknown) => err as { code?: string; message: string; data?: unknown },
      );
      expect(refused?.code).toBe("ERR_PLACEMENT_UNAVAILABLE");
      expect(refused?.message).toBe(far?.message);
      expect(refused?.data).toEqual({ fields: ["spec.packages[3].placement.domain"] });
      // Refused before anything was recorded or written.
      expect(() => domain.manager.get("overreach")).toThrow(/no deployment/);
      expect(() => readFileSync(join(domain.dataDir, "deployments", "overreach.json"))).toThrow(/ENOENT/);
      for (const e of EDGES) expect(head(e)).toBe(before[e]);
      expect(domain.book.held("overreach")).toEqual([]);
    });

    it("admits two intents planned at once against the same room only once", async () => {
      // A Network Manager that answers once both plans have asked (as a real one reading network blueprints would
      // answer later): both have then been placed on the same free room, and neither has reserved yet.
      const asked: (() => void)[] = [];
      const network: NetworkManager = {
        ...domain.planner.network,
        planLinks: (_input, signal) =>
          new Promise((resolve, reject) => {
            signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
            asked.push(() => resolve(emptyNetworkPlan()));
            if (asked.length === 2) for (const go of asked) go();
          }),
      };
      const deps = { ...domain.planner, network };
      // 3 pods of 700m each: one intent fits edge-2 (3.75 CPU free), two do not.
      const twin = (name: string) => intentOf(name, [{ name: "w", edge: "edge-2", cpu: "700m", replicas: 3 }]);
      const plans = await Promise.all(
        ["twin-a", "twin-b"].map((n) =>
          planIntent(twin(n), deps, { reserve: true, signal: AbortSignal.timeout(10_000) }),
        ),
      );
      try {
        expect(plans.map((p) => p.admitted).sort()).toEqual([false, true]);
        const [won, lost] = plans[0]?.admitted ? plans : [...plans].reverse();
        expect(lost?.admission).toEqual([
          expect.objectContaining({ package: "w", edge: "edge-2", check: "resources" }),
        ]);
        expect(domain.book.held(won?.intent as string).map((h) => [h.package, h.amount.cpuMillis])).toEqual([
          ["w", 2100],
        ]);
        expect(domain.book.held(lost?.intent as string)).toEqual([]);
      } finally {
        for (const p of plans) domain.book.release(p.intent);
      }
    });
  });

  // ---- 2. deployment ------------------------------------------------------------------------------------------------

  describe("deployment", () => {
    it("reaches READY wave by wave: each package PENDING → ADMITTED → COMMITTED → SYNCED → READY, a wave committed only once the previous one is available", async () => {
      const pkgs: Pkg[] = [
        { name: "a1", edge: "edge-1" },
        { name: "a2", edge: "edge-2" },
        { name: "b1", edge: "edge-1", after: ["a1", "a2"] },
        { name: "b2", edge: "edge-1", after: ["a2"] },
      ];
      const base = Object.fromEntries(EDGES.map((e) => [e, head(e)])) as Record<EdgeName, string>;
      // Before each commit: edge-1's head (what the commit will follow) and whether each wave-1 workload is available.
      const photos: { edge1Head: string; a1: boolean; a2: boolean; b1Present: boolean }[] = [];
      witness.onBeforeCommit = () =>
        photos.push({
          edge1Head: head("edge-1"),
          a1: isAvailable(deploymentOn("edge-1", "relay", "a1")),
          a2: isAvailable(deploymentOn("edge-2", "relay", "a2")),
          b1Present: deploymentOn("edge-1", "relay", "b1") !== undefined,
        });
      // a1's pods run but fail readiness until a2 is READY: an agent that took SYNCED (or anything else) for
      // available would report a1 READY, or commit wave 2, while the edge shows a1 unavailable.
      const edge1 = domain.emulators.get("edge-1") as Emulator;
      await edge1.setFaults({ unavailable: ["relay/a1"] });
      const edgeOf = (pkg: string) => (pkgs.find((p) => p.name === pkg) as Pkg).edge as EdgeName;
      /** At each package's READY event: its Deployment as the edge shows it at that moment. */
      const atReady: [string, boolean][] = [];
      const { events, stop } = record("relay", (e) => {
        if (e.kind !== "state" || e.state !== "READY" || e.package === "") return;
        atReady.push([e.package, isAvailable(deploymentOn(edgeOf(e.package), "relay", e.package))]);
        if (e.package === "a2") void edge1.setFaults({ unavailable: [] });
      });
      try {
        expect(await domain.manager.submit(intentOf("relay", pkgs), {})).toEqual({
          id: "relay.1",
          revision: 1,
          noOp: false,
        });
        const r = await settle("relay");
        expect(r.state, r.reason).toBe("READY");
      } finally {
        stop();
        await edge1.setFaults({ unavailable: [] });
      }
      // Each READY when the edge showed the package available; a1 only after its readiness gate was lifted.
      expect(atReady.slice(0, 2)).toEqual([
        ["a2", true],
        ["a1", true],
      ]);
      expect(atReady.slice(2).sort()).toEqual([
        ["b1", true],
        ["b2", true],
      ]);

      for (const p of pkgs)
        expect(statesOf(events, p.name), p.name).toEqual(["PENDING", "ADMITTED", "COMMITTED", "SYNCED", "READY"]);
      expect(statesOf(events, "")).toEqual(["PENDING", "ADMITTED", "READY"]);
      const at = (pkg: string, state: StateName) => events.findIndex((e) => e.package === pkg && e.state === state);
      for (const later of ["b1", "b2"])
        for (const earlier of ["a1", "a2"])
          expect(at(later, "COMMITTED"), `${later} committed after ${earlier} READY`).toBeGreaterThan(
            at(earlier, "READY"),
          );

      // One commit per repository per wave, in wave order, each holding only its wave's packages.
      expect(subjectsSince("edge-1", base["edge-1"])).toEqual([
        "camino: relay revision 1 wave 0",
        "camino: relay revision 1 wave 1",
        "camino: relay revision 1 wave 2",
      ]);
      expect(subjectsSince("edge-2", base["edge-2"])).toEqual([
        "camino: relay revision 1 wave 0",
        "camino: relay revision 1 wave 1",
      ]);
      const [w0, w1, w2] = commitsSince("edge-1", base["edge-1"]) as [string, string, string];
      expect(folders(changed("edge-1", w0))).toEqual(["_chain"]);
      expect(folders(changed("edge-1", w1))).toEqual(["a1"]);
      expect(folders(changed("edge-1", w2))).toEqual(["b1", "b2"]);
      expect(folders(changed("edge-2", commitsSince("edge-2", base["edge-2"])[1] as string))).toEqual(["a2"]);

      // The edges, photographed just before the wave-2 commit (edge-1's head then was wave 1's commit): every
      // wave-1 workload was available already, and nothing of wave 2 was there yet.
      const beforeWave2 = photos.filter((p) => p.edge1Head === w1);
      expect(beforeWave2, JSON.stringify(photos)).toEqual([{ edge1Head: w1, a1: true, a2: true, b1Present: false }]);
      for (const [edge, name] of [
        ["edge-1", "a1"],
        ["edge-2", "a2"],
        ["edge-1", "b1"],
        ["edge-1", "b2"],
      ] as const)
        expect(isAvailable(deploymentOn(edge, "relay", name)), `${name} available on ${edge}`).toBe(true);
    });
  });

  // ---- 3. rollback --------------------------------------------------------------------------------------------------

  describe("rollback", () => {
    it("a dry run refused in wave 2 restores wave 1's paths, releases the reservations and ends ROLLED_BACK naming the cause", async () => {
      // replicas -1 passes the schemas but not the API server's validation: only the edge's dry run refuses it.
      const pkgs: Pkg[] = [
        { name: "p1", edge: "edge-1" },
        { name: "p2", edge: "edge-2", after: ["p1"], config: { replicas: "-1" } },
      ];
      const base = Object.fromEntries(EDGES.map((e) => [e, head(e)])) as Record<EdgeName, string>;
      let heldAtAdmission: readonly { package: string }[] = [];
      const { events, stop } = record("shaky", (e) => {
        if (e.package === "" && e.state === "ADMITTED") heldAtAdmission = [...domain.book.held("shaky")];
      });
      try {
        await domain.manager.submit(intentOf("shaky", pkgs), {});
        const r = await settle("shaky");
        expect(r.state).toBe("ROLLED_BACK");
        expect(r.reason).toMatch(/^wave 2: the edge refused the dry run: p2@edge-2 Deployment\/p2: .*spec\.replicas/);
        expect(r.admission).toEqual([expect.objectContaining({ package: "p2", edge: "edge-2", check: "dry-run" })]);
        expect(r.packages.map((p) => [p.package, p.state])).toEqual([
          ["p1", "ROLLED_BACK"],
          ["p2", "ROLLED_BACK"],
        ]);
      } finally {
        stop();
      }
      expect(statesOf(events, "p1")).toEqual(["PENDING", "ADMITTED", "COMMITTED", "SYNCED", "READY", "ROLLED_BACK"]);
      expect(statesOf(events, "p2")).toEqual(["PENDING", "ADMITTED", "FAILED", "ROLLED_BACK"]);

      // Wave 1 (and both chains) had been committed; new commits take them out again, p2 never was committed.
      expect(subjectsSince("edge-1", base["edge-1"])).toEqual([
        "camino: shaky revision 1 wave 0",
        "camino: shaky revision 1 wave 1",
        "camino: roll back shaky revision 1",
      ]);
      expect(subjectsSince("edge-2", base["edge-2"])).toEqual([
        "camino: shaky revision 1 wave 0",
        "camino: roll back shaky revision 1",
      ]);
      expect(git("edge-2", "log", "--all", "--format=%H", "--", "shaky/p2/")).toBe("");
      for (const e of EDGES) {
        expect(treeOf(e, "shaky"), `shaky/ at ${e}'s head`).toEqual([]);
        expect(git(e, "ls-tree", "-r", "--name-only", "main")).toBe(git(e, "ls-tree", "-r", "--name-only", base[e]));
      }
      // The reservations held p2's room from admission on; the rollback gave it back.
      expect(heldAtAdmission.map((h) => h.package)).toContain("p2");
      expect(domain.book.held("shaky")).toEqual([]);
      // The edges synced the restore: the chain's namespace and p1 are gone from them.
      await waitFor("shaky gone from the edges", () =>
        EDGES.every((e) => namespaceOn(e, "shaky") === undefined && deploymentOn(e, "shaky", "p1") === undefined),
      );
    });
  });

  // ---- 4. termination -----------------------------------------------------------------------------------------------

  describe("termination", () => {
    it("removes the packages in reverse wave order and the chain last, from the repositories and the edges", async () => {
      const pkgs: Pkg[] = [
        { name: "t1", edge: "edge-1" },
        { name: "t2", edge: "edge-2", after: ["t1"] },
        { name: "t3", edge: "edge-1", after: ["t2"] },
      ];
      await domain.manager.submit(intentOf("tidy", pkgs), {});
      expect((await settle("tidy")).state).toBe("READY");
      const base = Object.fromEntries(EDGES.map((e) => [e, head(e)])) as Record<EdgeName, string>;

      // What leaves the edges, in the order it leaves, across both edges (one process, one clock). A namespace
      // leaves when it turns Terminating (its content goes a moment later, then it does).
      const gone: string[] = [];
      const leaves = (what: string) => {
        if (!gone.includes(what)) gone.push(what);
      };
      const unwatch = EDGES.flatMap((e) => [
        domain.emulators.get(e)?.store.watch({
          typeKey: "apps/deployments",
          namespace: "tidy",
          filter: () => true,
          send: (ev) => {
            if (ev.type === "DELETED") leaves(`${e} ${String(ev.object.metadata["name"])}`);
          },
        }),
        domain.emulators.get(e)?.store.watch({
          typeKey: "/namespaces",
          filter: (o) => o.metadata["name"] === "tidy",
          send: (ev) => {
            if (ev.type === "DELETED" || ev.object.metadata["deletionTimestamp"]) leaves(`${e} namespace`);
          },
        }),
      ]);
      const { events, stop } = record("tidy");
      try {
        expect((await domain.manager.terminate("tidy")).state).toBe("TERMINATING");
        const r = await settle("tidy");
        expect(r.state).toBe("TERMINATED");
        expect(r.reason).toBe("removed from every repository and edge");
      } finally {
        stop();
        for (const u of unwatch) u?.();
      }

      // Per repository, one removal commit per wave, the last wave first and the chain last.
      expect(subjectsSince("edge-1", base["edge-1"])).toEqual(Array(3).fill("camino: remove tidy revision 1"));
      expect(commitsSince("edge-1", base["edge-1"]).map((c) => folders(changed("edge-1", c)))).toEqual([
        ["t3"],
        ["t1"],
        ["_chain"],
      ]);
      expect(subjectsSince("edge-2", base["edge-2"])).toEqual(Array(2).fill("camino: remove tidy revision 1"));
      expect(commitsSince("edge-2", base["edge-2"]).map((c) => folders(changed("edge-2", c)))).toEqual([
        ["t2"],
        ["_chain"],
      ]);
      for (const e of EDGES) expect(treeOf(e, "tidy")).toEqual([]);
      // Across the edges: t3, then t2, then t1, then both namespaces (each removal synced before the next).
      expect(gone.slice(0, 3)).toEqual(["edge-1 t3", "edge-2 t2", "edge-1 t1"]);
      expect(gone.slice(3).sort()).toEqual(["edge-1 namespace", "edge-2 namespace"]);
      expect(
        events.filter((e) => e.state === "TERMINATING" && e.package !== "").map((e) => e.package),
        "packages removed in reverse wave order",
      ).toEqual(["t3", "t2", "t1"]);
      expect(domain.book.held("tidy")).toEqual([]);
    });
  });

  // ---- 5. run queue -------------------------------------------------------------------------------------------------

  describe("run queue", () => {
    it("with maxConcurrentRuns 1, a second intent waits for a turn (PENDING 'waiting for a turn'), then deploys", async () => {
      const base = head("edge-2");
      // Both intents' events in one sequence, to see the order across them.
      const seq: string[] = [];
      const first = record("queue-a", (e) => seq.push(`a ${e.package} ${e.state}`));
      const second = record("queue-b", (e) => seq.push(`b ${e.package} ${e.state}`));
      try {
        await domain.manager.submit(intentOf("queue-a", [{ name: "qa", edge: "edge-2" }]), {});
        await domain.manager.submit(intentOf("queue-b", [{ name: "qb", edge: "edge-2" }]), {});
        const [a, b] = await Promise.all([settle("queue-a"), settle("queue-b")]);
        expect([a.state, b.state]).toEqual(["READY", "READY"]);
      } finally {
        first.stop();
        second.stop();
      }
      const waiting = second.events.filter((e) => e.kind === "progress" && e.state === "PENDING");
      expect(waiting.map((e) => e.reason)).toEqual([
        "waiting for a turn: 1 deployments under way, 0 waiting before it",
      ]);
      expect(first.events.some((e) => e.reason.startsWith("waiting for a turn"))).toBe(false);
      // queue-b is admitted only once queue-a is READY, and commits nothing before queue-a's last commit.
      expect(seq.indexOf("b  ADMITTED")).toBeGreaterThan(seq.indexOf("a  READY"));
      expect(subjectsSince("edge-2", base)).toEqual([
        "camino: queue-a revision 1 wave 0",
        "camino: queue-a revision 1 wave 1",
        "camino: queue-b revision 1 wave 0",
        "camino: queue-b revision 1 wave 1",
      ]);
    });
  });
});

// ---- 6. shutdown ----------------------------------------------------------------------------------------------------

describe("shutdown", () => {
  it("close() ends a run in flight (rolled back, 'shutting down'), and leaves no timer, socket or process behind", async () => {
    // Every timer, socket, server, pipe and process made from here on, until it is destroyed.
    const handles = trackHandles();
    const own = await startInProcessDomain();
    let closed = false;
    try {
      // s1's pods run but never become Ready: the run waits in wave 1's "available" until it is stopped.
      await own.emulators.get("edge-1")?.setFaults({ unavailable: ["stall/s1"] });
      const dir = own.repositoryDir("edge-1");
      const base = gitIn(dir, "rev-parse", "main").trim();
      await own.manager.submit(intentOf("stall", [{ name: "s1", edge: "edge-1" }], "60s"), {});
      await waitFor("s1 SYNCED", () => own.manager.get("stall").packages[0]?.state === "SYNCED");

      await own.manager.close();
      const r = own.manager.get("stall");
      expect(["ROLLED_BACK", "FAILED"]).toContain(r.state);
      expect(r.reason).toContain("shutting down");
      // Written durably before close() returned, and the repository restored by a new commit.
      const onDisk = JSON.parse(
        readFileSync(join(own.dataDir, "deployments", "stall.json"), "utf8"),
      ) as DeploymentRecord;
      expect([onDisk.state, onDisk.reason]).toEqual([r.state, r.reason]);
      expect(lines(gitIn(dir, "log", "--reverse", "--format=%s", `${base}..main`))).toEqual([
        "camino: stall revision 1 wave 0",
        "camino: stall revision 1 wave 1",
        "camino: roll back stall revision 1",
      ]);
      expect(lines(gitIn(dir, "ls-tree", "-r", "--name-only", "main", "--", "stall/"))).toEqual([]);
      expect(gitIn(dir, "fsck", "--strict", "--no-dangling")).toBe("");
      await expect(own.manager.submit(intentOf("late", [{ name: "l1", edge: "edge-1" }]), {})).rejects.toMatchObject({
        code: "ERR_SHUTDOWN",
      });
      await own.close();
      closed = true;
    } finally {
      if (!closed) await own.close();
    }
    // Nothing of the domain keeps the process alive (what is still closing gets a moment to finish).
    try {
      await waitFor("every handle of the domain closed", () => handles.alive().length === 0, 3000).catch(() => {
        const left = handles.alive().map((h) => `${h.type} made at\n${h.stack}`);
        throw new Error(`handles left behind after close():\n${left.join("\n\n")}`);
      });
    } finally {
      handles.stop();
    }
  }, 20_000);
});
