/**
 * The Service Lifecycle Manager: takes a submitted intent to READY wave by wave, or rolls it back.
 *
 *   submit ─► (background) admit: place, hydrate, reserve, prerequisites ─► wave 0: the chain's namespace and
 *   shared objects committed to every edge's repository, synced ─► waves 1..n: server-side dry run of every
 *   package of the wave, one commit per repository (in parallel), synced, workloads available ─► READY.
 *
 * Every state change of every package is an event (PENDING → ADMITTED → COMMITTED → SYNCED → READY), kept
 * for watchers. `spec.timeout` bounds the whole run. Any failure before READY restores this intent's paths
 * in every repository it touched to what they were before (new commits; other intents' paths untouched),
 * waits (bounded) for the edges to sync that, releases the reservations and ends ROLLED_BACK with the cause.
 * The journal holds every record, written before any repository is touched, so a restarted agent rolls back
 * what was in flight.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { CaminoError, IntentError, type FieldIssue } from "../errors.js";
import { DeploymentRepository } from "../cad/deployment-repo.js";
import type { RegisteredRepository } from "../cad/repository-registry.js";
import type { EdgeClient } from "../edge/edge-client.js";
import type { Failpoints } from "../failpoints.js";
import type { Intent } from "../intent/model.js";
import type { Logger } from "../log/logger.js";
import { EdgeObserver } from "./edge-observer.js";
import { packageObjects } from "./package-objects.js";
import {
  planIntent,
  remotePlacementMessage,
  resolveIntent,
  type AdmissionReason,
  type IntentPlan,
  type PlannedPackage,
  type PlannerDeps,
} from "./planner.js";
import {
  type Journal,
  MAX_EVENTS_KEPT,
  SETTLED,
  type DeploymentRecord,
  type EventRecord,
  type PackageRecord,
  type StateName,
} from "./journal.js";

export interface DeploymentManagerDeps extends PlannerDeps {
  journal: Journal;
  logger: Logger;
  failpoints: Failpoints;
  /** When an intent gives no spec.timeout. */
  defaultTimeoutMs: number;
  /** How often workload availability is asked while waiting. Default 200 ms. */
  pollMs?: number;
  /** How long a rollback or removal waits for the edges to sync it. Default 60 s. */
  cleanupTimeoutMs?: number;
  /** Runs deploying at once; later submissions wait their turn (PENDING, first come first served). Default 32. */
  maxConcurrentRuns?: number;
}

/** Why a run stopped before READY. */
class RunFailure extends Error {
  constructor(
    message: string,
    readonly admission: AdmissionReason[] = [],
  ) {
    super(message);
  }
}

type Listener = (e: EventRecord) => void;

interface Live {
  record: DeploymentRecord;
  listeners: Set<Listener>;
  /** Aborts the run in flight. */
  controller?: AbortController;
  run?: Promise<void>;
  /** Set from the moment a termination is accepted until it ends. */
  terminating?: boolean;
  /** What the run is waiting for, for the timeout's message. */
  waiting?: string;
}

const now = () => new Date().toISOString();

/**
 * Runs tasks in parallel under one signal; the first failure aborts the others, and it is thrown only once
 * every task has stopped — so nothing of a failed wave is still committing while the rollback runs.
 */
async function allOrAbort<T>(
  items: readonly T[],
  parent: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const signal = AbortSignal.any([parent, controller.signal]);
  // Every call under way listens on it (a package's objects are dry-run in parallel): many listeners, no leak.
  setMaxListeners(0, signal);
  let first: unknown;
  const results = await Promise.allSettled(
    items.map((item) =>
      task(item, signal).catch((err: unknown) => {
        if (first === undefined) {
          first = err;
          controller.abort(err);
        }
        throw err;
      }),
    ),
  );
  if (first !== undefined) throw first;
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

export class DeploymentManager {
  readonly #deps: DeploymentManagerDeps;
  readonly #byIntent = new Map<string, Live>();
  #closed = false;
  readonly #observers = new Map<string, EdgeObserver>();
  /** Runs deploying now, and those waiting for a turn (first come, first served). */
  #running = 0;
  readonly #turns: (() => void)[] = [];
  /** Intents whose submission is being accepted right now. */
  readonly #claimed = new Set<string>();
  /** Ends every watch at shutdown. */
  readonly #closing = new AbortController();

  constructor(deps: DeploymentManagerDeps) {
    this.#deps = deps;
  }

  /** Loads the journal; a deployment that was in flight when the agent stopped is rolled back. */
  async init(): Promise<void> {
    const records = await this.#deps.journal.load((file, err) =>
      this.#deps.logger.error("unreadable deployment record", { file, error: String(err) }),
    );
    for (const record of records) this.#byIntent.set(record.intent, { record, listeners: new Set() });
    for (const live of this.#byIntent.values()) {
      const r = live.record;
      if (SETTLED.has(r.state)) continue;
      const was = r.state;
      this.#deps.logger.warn("rolling back a deployment left in flight", {
        intent: r.intent,
        revision: r.revision,
        state: was,
      });
      live.run = (async () => {
        if (was === "TERMINATING") await this.#terminateRun(live);
        else await this.#rollback(live, `the agent restarted while the intent was ${was}`);
      })();
    }
  }

  /** Aborts runs in flight (each rolls back as far as it gets) and waits for journal writes. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    for (const live of this.#byIntent.values())
      live.controller?.abort(new CaminoError("ERR_SHUTDOWN", "the agent is shutting down"));
    await Promise.allSettled([...this.#byIntent.values()].map((l) => l.run));
    await this.#deps.journal.flush();
  }

  /** Finds a deployment by intent name or deployment id (`<intent>.<revision>`). */
  #find(nameOrId: string, field = "name"): Live {
    if (!nameOrId) throw new IntentError([{ path: field, message: "give an intent name or a deployment id" }]);
    const intent = nameOrId.includes(".") ? nameOrId.slice(0, nameOrId.indexOf(".")) : nameOrId;
    const live = this.#byIntent.get(intent);
    if (!live || (nameOrId.includes(".") && live.record.id !== nameOrId)) {
      throw new CaminoError("ERR_DEPLOYMENT_NOT_FOUND", `${field}: no deployment ${JSON.stringify(nameOrId)}`, {
        data: { field },
      });
    }
    return live;
  }

  get(nameOrId: string): DeploymentRecord {
    return this.#find(nameOrId).record;
  }

  /** Deployments sorted by intent name; the page token is the last intent name of the previous page. */
  list(pageSize: number, pageToken: string): { records: DeploymentRecord[]; next: string } {
    if (pageSize > 1000) throw new IntentError([{ path: "page_size", message: `at most 1000 (is ${pageSize})` }]);
    const size = pageSize || 100;
    let after = "";
    if (pageToken) {
      try {
        after = Buffer.from(pageToken, "base64url").toString("utf8");
      } catch {
        after = "";
      }
      if (!/^[a-z0-9-]{1,63}$/.test(after))
        throw new IntentError([{ path: "page_token", message: "not a token this agent gave" }]);
    }
    const names = [...this.#byIntent.keys()].sort().filter((n) => n > after);
    const page = names.slice(0, size);
    return {
      records: page.map((n) => (this.#byIntent.get(n) as Live).record),
      next: names.length > size ? Buffer.from(page[page.length - 1] as string).toString("base64url") : "",
    };
  }

  /**
   * Events of a deployment: those after `since` (or a snapshot of the current state when absent), then
   * live ones until the deployment settles or `signal` aborts.
   */
  async *watch(
    nameOrId: string,
    since: Date | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<{ record: DeploymentRecord; event: EventRecord }> {
    const live = this.#find(nameOrId);
    const queue: EventRecord[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = (e) => {
      // "settled" only wakes the watcher: the run is over, the state event was sent before it.
      if (e.kind !== "settled") queue.push(e);
      wake?.();
    };
    live.listeners.add(listener);
    const onAbort = () => wake?.();
    signal = AbortSignal.any([signal, this.#closing.signal]);
    signal.addEventListener("abort", onAbort);
    try {
      const r = live.record;
      if (since) {
        // A copy: events emitted while these are sent arrive through the queue, once.
        for (const e of [...r.events]) if (new Date(e.time) > since) yield { record: r, event: e };
      } else {
        yield {
          record: r,
          event: { time: r.updatedAt, package: "", state: r.state, reason: r.reason, kind: "state", wave: 0 },
        };
        for (const p of r.packages)
          yield {
            record: r,
            event: {
              time: p.updatedAt,
              package: p.package,
              state: p.state,
              reason: p.reason,
              kind: "state",
              wave: p.wave,
            },
          };
      }
      const settledNow = () => SETTLED.has(live.record.state) && !live.controller;
      while (!signal.aborted) {
        while (queue.length > 0) {
          const e = queue.shift() as EventRecord;
          yield { record: live.record, event: e };
        }
        if (settledNow()) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      live.listeners.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Accepts an intent for deployment (or update): checks what can be checked at once, records it, and
   * starts the run. Re-submitting an unchanged intent that is READY is a no-op.
   * @throws IntentError (INVALID_ARGUMENT) naming the field; CaminoError precondition while a revision of
   *   the intent is still in flight, or for a package placed in a peer domain.
   */
  async submit(intent: Intent, intentJson: unknown): Promise<{ id: string; revision: number; noOp: boolean }> {
    if (this.#closed) throw new CaminoError("ERR_SHUTDOWN", "the agent is shutting down");
    const remote: FieldIssue[] = [];
    for (const p of intent.packages) {
      if (p.placement.kind === "domain" && p.placement.domain !== this.#deps.domainId)
        remote.push({
          path: `spec.packages[${p.index}].placement.domain`,
          message: remotePlacementMessage(p.placement.domain),
        });
    }
    if (remote.length > 0)
      throw new CaminoError("ERR_PLACEMENT_UNAVAILABLE", remote.map((i) => `${i.path}: ${i.message}`).join("; "), {
        data: { fields: remote.map((i) => i.path) },
      });
    let existing = this.#byIntent.get(intent.name);
    // A run that has reached its final state only writes its record before it ends: wait for that.
    if (existing?.controller && SETTLED.has(existing.record.state)) await existing.run?.catch(() => undefined);
    existing = this.#byIntent.get(intent.name);
    const busy = existing && (!SETTLED.has(existing.record.state) || existing.controller || existing.terminating);
    if (busy || this.#claimed.has(intent.name)) {
      const what =
        existing && busy
          ? `revision ${existing.record.revision} is ${existing.record.state}`
          : "is being submitted by another call";
      throw new CaminoError(
        "ERR_DEPLOYMENT_IN_PROGRESS",
        `intent ${intent.name} ${what}: wait for it to settle (camino intent watch ${intent.name})`,
      );
    }
    // Claimed until its run is installed, so two submissions of one intent never both start.
    this.#claimed.add(intent.name);
    try {
      return await this.#start(intent, intentJson, existing);
    } finally {
      this.#claimed.delete(intent.name);
    }
  }

  async #start(
    intent: Intent,
    intentJson: unknown,
    existing: Live | undefined,
  ): Promise<{ id: string; revision: number; noOp: boolean }> {
    // Resolution of blueprints and edges is checked now (an IntentError names the field); capacity later.
    const { digest } = await resolveIntent(intent, this.#deps);
    if (existing && existing.record.state === "READY" && existing.record.deploymentDigest === digest) {
      return { id: existing.record.id, revision: existing.record.revision, noOp: true };
    }
    const revision = (existing?.record.revision ?? 0) + 1;
    const at = now();
    const record: DeploymentRecord = {
      id: `${intent.name}.${revision}`,
      intent: intent.name,
      revision,
      state: "PENDING",
      reason: "submitted",
      digest: "",
      deploymentDigest: digest,
      intentJson,
      timeoutMs: intent.timeoutMs ?? this.#deps.defaultTimeoutMs,
      createdAt: at,
      updatedAt: at,
      packages: intent.order.map((name) => ({
        package: name,
        wave: intent.waves.findIndex((w) => w.includes(name)) + 1,
        edge: "",
        domain: this.#deps.domainId,
        repository: "",
        state: "PENDING",
        reason: "waiting for admission",
        blueprintCommit: "",
        commit: "",
        updatedAt: at,
      })),
      admission: [],
      touched: {},
      events: [],
    };
    // On disk first: a journal that cannot be written refuses the submission and leaves the intent as it was.
    await this.#deps.journal.save(record);
    const live: Live = existing ?? { record, listeners: new Set() };
    live.record = record;
    live.controller = new AbortController();
    this.#byIntent.set(intent.name, live);
    this.#event(live, "", "PENDING", "submitted", "state", 0);
    for (const p of record.packages) this.#event(live, p.package, "PENDING", p.reason);
    live.run = this.#run(live, intent).finally(() => {
      delete live.controller;
      // Wake watchers so they see the run is over.
      this.#emit(
        live,
        { time: now(), package: "", state: live.record.state, reason: live.record.reason, kind: "settled", wave: 0 },
        false,
      );
    });
    return { id: record.id, revision, noOp: false };
  }

  #emit(live: Live, e: EventRecord, keep = true): void {
    if (keep) {
      live.record.events.push(e);
      if (live.record.events.length > MAX_EVENTS_KEPT)
        live.record.events.splice(0, live.record.events.length - MAX_EVENTS_KEPT);
    }
    for (const l of live.listeners) l(e);
  }

  /** Records a state change of the intent (pkg "") or of a package, emits its event and journals it behind. */
  #event(live: Live, pkg: string, state: StateName, reason: string, kind = "state", wave = 0): void {
    const r = live.record;
    const time = now();
    r.updatedAt = time;
    if (pkg === "") {
      r.state = state;
      r.reason = reason;
    } else {
      const p = r.packages.find((x) => x.package === pkg);
      if (p) {
        p.state = state;
        p.reason = reason;
        p.updatedAt = time;
        wave = p.wave;
      }
    }
    this.#emit(live, { time, package: pkg, state, reason, kind, wave });
    this.#deps.journal.saveLater(r, (err) =>
      this.#deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) }),
    );
  }

  #repo(name: string): RegisteredRepository {
    const r = this.#deps.registry.get(name);
    if (!r) throw new RunFailure(`deployment repository ${name} is no longer registered`);
    return r;
  }

  #edge(name: string): EdgeClient {
    const e = this.#deps.edges.get(name);
    if (!e) throw new RunFailure(`edge ${name} is no longer configured`);
    return e;
  }

  /** Records a repository's baseline (durably) before this revision first writes to it. */
  async #touch(live: Live, repository: string): Promise<void> {
    if (repository in live.record.touched) return;
    live.record.touched[repository] = (await this.#repo(repository).git.head()) ?? "";
    await this.#deps.journal.save(live.record);
  }

  /** The observer of an edge (one per edge, shared by every deployment). */
  #observer(edge: EdgeClient): EdgeObserver {
    let o = this.#observers.get(edge.name);
    if (!o) {
      o = new EdgeObserver(edge, this.#deps.pollMs ?? 200);
      this.#observers.set(edge.name, o);
    }
    return o;
  }

  async #waitSynced(
    edge: EdgeClient,
    repository: string,
    commit: string,
    intent: string,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<void> {
    const git = this.#repo(repository).git;
    const state = await this.#observer(edge).waitSynced(
      commit,
      intent,
      (head, c) => git.isDescendant(head, c),
      timeoutMs,
      signal,
    );
    if (state.failed)
      throw new RunFailure(`edge ${edge.name} cannot sync commit ${commit.slice(0, 12)}: ${state.reason}`);
    if (!state.synced)
      throw new RunFailure(`edge ${edge.name} did not sync commit ${commit.slice(0, 12)}: ${state.reason}`);
  }

  async #waitAvailable(live: Live, edge: EdgeClient, intent: string, pkg: string, signal: AbortSignal): Promise<void> {
    await this.#observer(edge).waitAvailable(intent, pkg, signal, (why) => (live.waiting = why));
  }

  /**
   * Waits for a turn to deploy, so that under a burst the runs under way finish instead of all slowing down
   * together. Returns the function that gives the turn back.
   */
  async #turn(live: Live, signal: AbortSignal): Promise<() => void> {
    const max = this.#deps.maxConcurrentRuns ?? 32;
    if (this.#running >= max) {
      this.#event(
        live,
        "",
        "PENDING",
        `waiting for a turn: ${this.#running} deployments under way, ${this.#turns.length} waiting before it`,
        "progress",
      );
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#turns.indexOf(go);
          if (i >= 0) this.#turns.splice(i, 1);
          reject(signal.reason);
        };
        this.#turns.push(go);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    } else this.#running++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#turns.shift();
      // The turn passes straight to the next in line; the count stays.
      if (next) next();
      else this.#running--;
    };
  }

  async #run(live: Live, intent: Intent): Promise<void> {
    const r = live.record;
    const controller = live.controller as AbortController;
    const signal = controller.signal;
    setMaxListeners(0, signal);
    let stage = "admission";
    const timer = setTimeout(
      () =>
        controller.abort(
          new RunFailure(
            `spec.timeout ${Math.round(r.timeoutMs / 100) / 10}s passed during ${stage}${live.waiting ? ` (waiting for ${live.waiting})` : ""}`,
          ),
        ),
      r.timeoutMs,
    );
    let done: (() => void) | undefined;
    try {
      done = await this.#turn(live, signal);
      await this.#deps.failpoints.hit("deploy-admission", signal);
      let plan: IntentPlan;
      try {
        plan = await planIntent(intent, this.#deps, { revision: r.revision, reserve: true, signal });
      } catch (err) {
        if (err instanceof IntentError || (err instanceof CaminoError && err.kind === "precondition"))
          throw new RunFailure(`admission: ${err.message}`);
        throw err;
      }
      r.digest = plan.digest;
      for (const p of plan.packages) {
        const rec = r.packages.find((x) => x.package === p.package) as PackageRecord;
        rec.edge = p.edge ?? "";
        rec.repository = p.repository ?? "";
        rec.blueprintCommit = p.blueprintCommit ?? "";
      }
      if (!plan.admitted) {
        r.admission = plan.admission;
        for (const p of plan.packages)
          if (p.admission.length > 0)
            this.#event(live, p.package, "FAILED", p.admission.map((a) => `${a.check}: ${a.message}`).join("; "));
        throw new RunFailure(
          `admission refused ${plan.admission.length} reason(s): ${plan.admission.map((a) => `${a.package}${a.edge ? `@${a.edge}` : ""} [${a.check}] ${a.message}`).join("; ")}`,
          plan.admission,
        );
      }
      for (const p of plan.packages) this.#event(live, p.package, "ADMITTED", `${p.reason}; reserved on ${p.edge}`);
      this.#event(live, "", "ADMITTED", `every package admitted (${plan.packages.length})`);

      // Wave 0: the chain's namespace and shared objects on every edge used.
      stage = "wave 0";
      await Promise.all(plan.chains.map((c) => this.#touch(live, c.repository)));
      await this.#deps.failpoints.hit("deploy-before-commit", signal);
      await allOrAbort(plan.chains, signal, async (c, signal) => {
        const commit = await new DeploymentRepository(this.#repo(c.repository).git).writeWave({
          intent: intent.name,
          revision: r.revision,
          wave: 0,
          packages: new Map(),
          chain: c.files,
        });
        signal.throwIfAborted();
        await this.#waitSynced(this.#edge(c.edge), c.repository, commit.commit, intent.name, signal, r.timeoutMs);
      });
      this.#event(
        live,
        "",
        "COMMITTED",
        `wave 0: the chain's namespace synced on ${plan.chains.map((c) => c.edge).join(", ")}`,
        "progress",
      );

      for (let w = 1; w <= plan.waves.length; w++) {
        stage = `wave ${w}`;
        const wave = plan.packages.filter((p) => p.wave === w);
        await this.#deployWave(live, intent.name, w, wave, signal);
      }
      stage = "cleanup of packages the intent no longer has";
      await this.#removeDropped(live, plan, signal);
      this.#event(
        live,
        "",
        "READY",
        `every package READY (${plan.packages.length} on ${[...new Set(plan.packages.map((p) => p.edge))].join(", ")})`,
      );
      await this.#deps.journal.save(r);
    } catch (err) {
      const internal = !(err instanceof RunFailure) && !(err instanceof CaminoError) && !signal.aborted;
      const incident = internal ? createHash("sha256").update(`${r.id}\0${Date.now()}`).digest("hex").slice(0, 12) : "";
      // An unexpected error's text stays in the agent's log, under an incident id the reason gives.
      if (internal)
        this.#deps.logger.error("deployment failed unexpectedly", {
          intent: intent.name,
          incident,
          error: String((err as Error).stack ?? err),
        });
      const reason =
        signal.aborted && signal.reason instanceof Error
          ? signal.reason.message
          : internal
            ? `internal error (incident ${incident} in the agent's log)`
            : (err as Error).message;
      await this.#rollback(live, reason);
    } finally {
      clearTimeout(timer);
      done?.();
    }
  }

  async #deployWave(
    live: Live,
    intent: string,
    w: number,
    wave: readonly PlannedPackage[],
    signal: AbortSignal,
  ): Promise<void> {
    const r = live.record;
    // Server-side dry run of every package of the wave, on its edge, now that the namespace exists.
    const refused: AdmissionReason[] = [];
    await allOrAbort(wave, signal, async (p, signal) => {
      const results = await this.#edge(p.edge as string).dryRun(
        packageObjects(p.hydrated as NonNullable<PlannedPackage["hydrated"]>),
        signal,
      );
      for (const x of results) {
        if (x.ok) continue;
        const causes = x.causes.map((c) => `${c.field}: ${c.message}`).join("; ");
        refused.push({
          package: p.package,
          edge: p.edge as string,
          check: "dry-run",
          message: `${x.kind}/${x.name}: ${x.message ?? "refused"}${causes ? ` (${causes})` : ""}`,
        });
      }
    });
    if (refused.length > 0) {
      r.admission = refused;
      for (const p of wave) {
        const mine = refused.filter((x) => x.package === p.package);
        if (mine.length > 0)
          this.#event(live, p.package, "FAILED", `dry run refused: ${mine.map((x) => x.message).join("; ")}`);
      }
      throw new RunFailure(
        `wave ${w}: the edge refused the dry run: ${refused.map((x) => `${x.package}@${x.edge} ${x.message}`).join("; ")}`,
        refused,
      );
    }
    // One commit per repository, repositories in parallel; then each edge's sync, then each package's workloads.
    const byRepo = new Map<string, PlannedPackage[]>();
    for (const p of wave) byRepo.set(p.repository as string, [...(byRepo.get(p.repository as string) ?? []), p]);
    await Promise.all([...byRepo.keys()].map((repo) => this.#touch(live, repo)));
    await this.#deps.failpoints.hit("deploy-before-commit", signal);
    await allOrAbort([...byRepo], signal, async ([repo, pkgs], signal) => {
      const files = new Map(
        pkgs.map((p) => [p.package, (p.hydrated as NonNullable<PlannedPackage["hydrated"]>).files] as const),
      );
      const commit = await new DeploymentRepository(this.#repo(repo).git).writeWave({
        intent,
        revision: r.revision,
        wave: w,
        packages: files,
      });
      for (const p of pkgs) {
        (r.packages.find((x) => x.package === p.package) as PackageRecord).commit = commit.commit;
        this.#event(
          live,
          p.package,
          "COMMITTED",
          `${commit.changed ? "committed" : "unchanged at"} ${commit.commit.slice(0, 12)} in ${repo}`,
        );
      }
      signal.throwIfAborted();
      const edge = this.#edge(pkgs[0]?.edge as string);
      await this.#waitSynced(edge, repo, commit.commit, intent, signal, r.timeoutMs);
      for (const p of pkgs)
        this.#event(live, p.package, "SYNCED", `edge ${edge.name} synced ${commit.commit.slice(0, 12)}`);
      await allOrAbort(pkgs, signal, async (p, signal) => {
        await this.#waitAvailable(live, edge, intent, p.package, signal);
        // Its reservation goes when a capacity reading shows its pods (reservations.ts), not on this word alone.
        this.#event(live, p.package, "READY", `workloads available on ${edge.name}`);
      });
    });
  }

  /** After an update: packages the intent no longer has on a repository are removed from it. */
  async #removeDropped(live: Live, plan: IntentPlan, signal: AbortSignal): Promise<void> {
    const r = live.record;
    const want = new Map<string, Set<string>>();
    for (const c of plan.chains) want.set(c.repository, new Set(["_chain"]));
    for (const p of plan.packages) if (p.repository) want.get(p.repository)?.add(p.package);
    for (const repo of this.#deps.registry.list().filter((x) => x.record.role === "deployment")) {
      const present = new Set(
        [...(await repo.git.listFiles(undefined, r.intent)).keys()].map((p) => p.split("/")[1] as string),
      );
      const keep = want.get(repo.record.name) ?? new Set<string>();
      const drop = [...present].filter((p) => !keep.has(p));
      if (drop.length === 0) continue;
      await this.#touch(live, repo.record.name);
      const d = new DeploymentRepository(repo.git);
      const commit =
        keep.size === 0 ? await d.removeIntent(r.intent, r.revision) : await d.removeIntent(r.intent, r.revision, drop);
      this.#event(live, "", r.state, `removed ${drop.join(", ")} from ${repo.record.name}`, "progress");
      if (repo.record.edge && this.#deps.edges.get(repo.record.edge))
        await this.#waitSynced(
          this.#edge(repo.record.edge),
          repo.record.name,
          commit.commit,
          r.intent,
          signal,
          r.timeoutMs,
        );
    }
  }

  /** Restores the intent's paths in every repository this revision touched, waits for the edges, releases. */
  async #rollback(live: Live, cause: string): Promise<void> {
    const r = live.record;
    const touched = Object.entries(r.touched);
    const problems: string[] = [];
    const cleanup = AbortSignal.any([AbortSignal.timeout(this.#deps.cleanupTimeoutMs ?? 60_000), this.#closing.signal]);
    await Promise.all(
      touched.map(async ([repo, baseline]) => {
        try {
          const registered = this.#repo(repo);
          const commit = await new DeploymentRepository(registered.git).restoreIntent(
            r.intent,
            r.revision,
            baseline || undefined,
          );
          const edge = registered.record.edge ? this.#deps.edges.get(registered.record.edge) : undefined;
          // At shutdown the restore is committed but not waited for: the edges sync it on their own.
          if (edge && !this.#closed)
            await this.#waitSynced(
              edge,
              repo,
              commit.commit,
              r.intent,
              cleanup,
              this.#deps.cleanupTimeoutMs ?? 60_000,
            ).catch((err: unknown) => problems.push(`${repo}: restored, but ${(err as Error).message}`));
        } catch (err) {
          problems.push(`${repo}: ${(err as Error).message}`);
        }
      }),
    );
    // Released once the restore has synced: until then the failed wave's pods may still take the room.
    this.#deps.book.release(r.intent);
    for (const p of r.packages)
      if (p.state !== "FAILED" || touched.length > 0)
        this.#event(live, p.package, "ROLLED_BACK", p.state === "FAILED" ? p.reason : `rolled back: ${cause}`);
    const restored = problems.filter((p) => !p.includes("restored, but"));
    if (restored.length > 0) {
      this.#event(live, "", "FAILED", `${cause}; the rollback could not restore ${restored.join("; ")}`);
    } else {
      this.#event(live, "", "ROLLED_BACK", problems.length > 0 ? `${cause} (${problems.join("; ")})` : cause);
    }
    await this.#deps.journal
      .save(r)
      .catch((err: unknown) =>
        this.#deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) }),
      );
  }

  /**
   * Terminates an intent: a run in flight is stopped (it rolls back) first; then its packages are removed
   * wave by wave in reverse order, its chain last, each removal synced, and its reservations released.
   */
  async terminate(name: string): Promise<DeploymentRecord> {
    const live = this.#find(name);
    if (this.#claimed.has(live.record.intent))
      throw new CaminoError(
        "ERR_DEPLOYMENT_IN_PROGRESS",
        `intent ${live.record.intent} is being submitted: terminate it once it has started`,
      );
    if (live.record.state === "TERMINATED" && !live.terminating) return live.record;
    if (live.terminating || live.record.state === "TERMINATING")
      throw new CaminoError("ERR_DEPLOYMENT_IN_PROGRESS", `intent ${live.record.intent} is already terminating`);
    // Claimed before the first await, so a second call (a retry) cannot start another termination.
    live.terminating = true;
    live.controller?.abort(new RunFailure("terminated by request"));
    await live.run?.catch(() => undefined);
    live.controller = new AbortController();
    this.#event(live, "", "TERMINATING", "terminate requested");
    live.run = this.#terminateRun(live).finally(() => {
      delete live.controller;
      delete live.terminating;
      this.#emit(
        live,
        { time: now(), package: "", state: live.record.state, reason: live.record.reason, kind: "settled", wave: 0 },
        false,
      );
    });
    return live.record;
  }

  async #terminateRun(live: Live): Promise<void> {
    const r = live.record;
    const signal = AbortSignal.any([AbortSignal.timeout(this.#deps.cleanupTimeoutMs ?? 60_000), this.#closing.signal]);
    const problems: string[] = [];
    try {
      const repos = this.#deps.registry.list().filter((x) => x.record.role === "deployment");
      const waves = [...new Set(r.packages.map((p) => p.wave))].sort((a, b) => b - a);
      for (const w of [...waves, 0]) {
        await Promise.all(
          repos.map(async (repo) => {
            const present = new Set(
              [...(await repo.git.listFiles(undefined, r.intent)).keys()].map((p) => p.split("/")[1] as string),
            );
            const drop =
              w === 0
                ? [...present]
                : r.packages.filter((p) => p.wave === w && present.has(p.package)).map((p) => p.package);
            if (drop.length === 0) return;
            const d = new DeploymentRepository(repo.git);
            const commit =
              w === 0 ? await d.removeIntent(r.intent, r.revision) : await d.removeIntent(r.intent, r.revision, drop);
            for (const p of drop)
              if (p !== "_chain")
                this.#event(
                  live,
                  p,
                  "TERMINATING",
                  `removed from ${repo.record.name} at ${commit.commit.slice(0, 12)}`,
                );
            const edge = repo.record.edge ? this.#deps.edges.get(repo.record.edge) : undefined;
            if (edge)
              await this.#waitSynced(
                edge,
                repo.record.name,
                commit.commit,
                r.intent,
                signal,
                this.#deps.cleanupTimeoutMs ?? 60_000,
              ).catch((err: unknown) => problems.push((err as Error).message));
            for (const p of drop)
              if (p !== "_chain")
                this.#event(live, p, "TERMINATED", `removed from edge ${repo.record.edge ?? repo.record.name}`);
          }),
        );
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
    this.#deps.book.release(r.intent);
    this.#event(
      live,
      "",
      "TERMINATED",
      problems.length > 0
        ? `removed from every repository (${problems.join("; ")})`
        : "removed from every repository and edge",
    );
    await this.#deps.journal.save(r).catch(() => undefined);
  }
}
