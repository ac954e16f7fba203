/**
 * The Service Lifecycle Manager: the lifecycle component of the agent. It accepts intents (submit), answers
 * for deployments (get, list, watch) and terminates them; the work itself is step lists in deploy-steps.ts,
 * rollback.ts and termination.ts, run by deployment-run.ts, over the store (deployment-store.ts), the event
 * bus (event-bus.ts) and the run queue (run-queue.ts). At start it recovers what was in flight (recovery.ts).
 * A deployment a run leaves READY is watched on its edges (health-watch.ts) until a new run or a termination
 * starts on it: its packages become DEGRADED and READY again as their workloads are lost and recovered. With
 * `spec.heal: replace`, packages whose edge stays lost are moved by a revision of their own (heal.ts).
 */
import { CaminoError, type FieldIssue } from "../errors.js";
import type { Failpoints } from "../failpoints.js";
import type { Intent } from "../intent/model.js";
import type { Logger } from "../log/logger.js";
import { linkSignals } from "../util/signals.js";
import { startDeployRun } from "./deployment-run.js";
import { DeploymentStore, type LiveDeployment } from "./deployment-store.js";
import { DependantGuard } from "./dependants.js";
import { EdgeObservers } from "./edge-observers.js";
import { EventBus, type WatchedEvent } from "./event-bus.js";
import { Healer, type HealOptions } from "./heal.js";
import { HealthWatch } from "./health-watch.js";
import { syncErrorCheck } from "./sync-error-check.js";
import { SETTLED, type DeploymentRecord, type Journal } from "./journal.js";
import { givenOf } from "./deploy-steps.js";
import type { HostedSegmentRecord } from "./journal.js";
import { planIntent, remotePlacementIssues, resolveIntent, type IntentPlan, type PlannerDeps } from "./planner.js";
import { recoverDeployments } from "./recovery.js";
import { openRevision } from "./revision-history.js";
import { RunFailure, setState, type LifecycleDeps, type LifecycleOptions } from "./run-context.js";
import { RunQueue } from "./run-queue.js";
import { terminate } from "./termination.js";

/** What the lifecycle is built from. */
export interface DeploymentManagerOptions extends PlannerDeps {
  /** The durable record of deployments. */
  journal: Journal;
  logger: Logger;
  failpoints: Failpoints;
  /** The lifecycle's settings (agent config `lifecycle:`), every one filled in. */
  lifecycle: LifecycleOptions;
  /** The event bus; default a new one. Alerts and segments publish to the same bus. */
  events?: EventBus;
  /** Healing (`spec.heal: replace`); default a grace period of 60 s. */
  heal?: HealOptions;
}

/** The answer to a submission. */
export interface Submitted {
  id: string;
  revision: number;
  /** The intent was READY with the same spec and blueprint commits: nothing was done. */
  noOp: boolean;
}

export class DeploymentManager {
  readonly #deps: LifecycleDeps & { queue: RunQueue };
  readonly #store = new DeploymentStore();
  readonly #shutdown = new AbortController();
  /** The WatchDeployment streams open: each ended at shutdown. */
  readonly #watching = new Set<AbortController>();
  /** Intents whose submission is being accepted right now. */
  readonly #claimed = new Set<string>();
  /** Settled deployments' packages, watched on their edges. */
  readonly #health: HealthWatch;
  /** Who relies on an intent being terminated (dependants.ts). */
  readonly #dependants: DependantGuard;
  #closed = false;

  constructor(options: DeploymentManagerOptions) {
    const { journal, logger, failpoints, lifecycle, events, heal, ...planner } = options;
    this.#deps = {
      ...planner,
      journal,
      logger,
      failpoints,
      events: events ?? new EventBus(),
      observers: new EdgeObservers(lifecycle.pollMs),
      options: lifecycle,
      shutdown: this.#shutdown.signal,
      queue: new RunQueue({ maxConcurrent: lifecycle.maxConcurrentRuns }),
    };
    const healer = new Healer(this.#deps, heal ?? { graceMs: 60_000 }, (live, intent, from, reason) =>
      this.#heal(live, intent, from, reason),
    );
    this.#dependants = new DependantGuard({
      deps: this.#deps,
      deployments: () => this.#store.values(),
      recheckMs: Math.max(lifecycle.pollMs, 1000),
    });
    this.#health = new HealthWatch(this.#deps, [this.#dependants.check, syncErrorCheck], healer, (intent) =>
      this.#dependants.concerns(intent),
    );
  }

  /**
   * Starts a revision that moves the packages of `live` away from the lost edge `from`, planned as `intent` (the
   * recorded spec with every other package pinned where it runs). False when the intent is busy or changed since
   * (a run, a termination or a submission started meanwhile): nothing is done then.
   */
  async #heal(live: LiveDeployment, intent: Intent, from: string, reason: string): Promise<boolean> {
    const name = live.record.intent;
    if (this.#closed || this.#store.byIntent(name) !== live || live.controller || live.terminating) return false;
    if (this.#claimed.has(name) || (live.record.state !== "DEGRADED" && live.record.state !== "READY")) return false;
    this.#claimed.add(name);
    try {
      await this.#start(intent, live.record.intentJson, live, live.record.segment, { from: [from], reason });
      return true;
    } finally {
      this.#claimed.delete(name);
    }
  }

  /** How many deployments are watched on their edges (health-watch.ts). */
  get watched(): number {
    return this.#health.size;
  }

  /**
   * Watches `live` on its edges once what is in flight on it is over, if it is then READY (or DEGRADED, as the
   * journal left it) with no run or termination started meanwhile, and it is still the intent's revision `record`.
   */
  #watchWhenSettled(live: LiveDeployment, record: DeploymentRecord): void {
    const check = () => {
      if (this.#closed || live.record !== record || live.controller || live.terminating || live.run !== run) return;
      if (record.state === "READY" || record.state === "DEGRADED") this.#health.watch(live);
    };
    const run = live.run;
    if (run) void run.then(check, check);
    else check();
  }

  /** The lifecycle's event bus (public inside the agent: alerts and segments publish to it). */
  get events(): EventBus {
    return this.#deps.events;
  }

  /**
   * Loads the journal and recovers what was in flight when the agent stopped. When `signal` aborts (the agent
   * is shutting down), runs in flight stop and watch streams end, before the listeners drain.
   */
  async start(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener("abort", () => this.#abortAll(), { once: true });
    await recoverDeployments(this.#deps, this.#store);
    for (const live of this.#store.values()) this.#watchWhenSettled(live, live.record);
  }

  /** Aborts runs in flight (each rolls back as far as it gets), stops the observers, writes and folds the journal. */
  async close(): Promise<void> {
    this.#abortAll();
    this.#health.close();
    await Promise.allSettled([...this.#store.values()].map((l) => l.run));
    this.#deps.observers.close();
    await this.#deps.journal.close();
  }

  #abortAll(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = new CaminoError("ERR_SHUTDOWN", "the agent is shutting down");
    this.#shutdown.abort(reason);
    for (const w of this.#watching) w.abort(reason);
    this.#health.close();
    for (const l of this.#store.values()) l.controller?.abort(reason);
  }

  /**
   * Plans a segment a peer proposes, as a deployment of this domain would be planned, and reserves it under
   * the segment's namespace (segment-host.ts holds the reservation under a lease until the commit).
   */
  planSegment(intent: Intent, hosted: HostedSegmentRecord, signal: AbortSignal): Promise<IntentPlan> {
    return planIntent(intent, this.#deps, {
      reserve: true,
      revision: hosted.generation,
      given: givenOf(hosted),
      signal,
    });
  }

  /** Releases the reservations held under `name` (a segment's lapsed or aborted reservation). */
  release(name: string): void {
    if (this.#store.byIntent(name)?.controller) return;
    this.#deps.book.release(name);
  }

  /**
   * The name of the link `from` → `to` in `intent`'s spec (`<from>-<to>-<port>`, the Network Manager's), for
   * monitoring, whose mesh metrics carry no port; undefined when the intent has no such link or several.
   */
  linkName(intent: string, from: string, to: string): string | undefined {
    const spec = (this.#store.byIntent(intent)?.record.intentJson as { spec?: { links?: unknown[] } } | undefined)
      ?.spec;
    const links = (spec?.links ?? []) as { from?: string; to?: string; port?: number }[];
    const found = links.filter((l) => l.from === from && l.to === to);
    return found.length === 1 ? `${from}-${to}-${found[0]?.port}` : undefined;
  }

  /** Every deployment, unordered (the segment reconciler and ListSegments read them). */
  records(): DeploymentRecord[] {
    return [...this.#store.values()].map((l) => l.record);
  }

  /** The live deployment of an intent, for the segment reconciler (segment-reconciler.ts). */
  live(intent: string): LiveDeployment | undefined {
    return this.#store.byIntent(intent);
  }

  /** The lifecycle's dependencies, for the segment reconciler. */
  get deps(): LifecycleDeps {
    return this.#deps;
  }

  /** A deployment by intent name or deployment id (`<intent>.<revision>`). */
  get(nameOrId: string): DeploymentRecord {
    return this.#store.find(nameOrId).record;
  }

  /**
   * Publishes an event that changes no state (an alert firing or resolving) as an event of `intent`, of its
   * package `pkg` when it has one by that name: kept in the deployment's record, written to the journal soon,
   * and sent to its watchers, so WatchDeployment shows it. It carries the package's (or intent's) current state.
   * Returns false when the intent has no deployment here.
   */
  note(intent: string, pkg: string, kind: string, reason: string): boolean {
    const live = this.#store.byIntent(intent);
    if (!live) return false;
    const r = live.record;
    const p = pkg === "" ? undefined : r.packages.find((x) => x.package === pkg);
    const time = new Date().toISOString();
    const durable = this.#deps.journal.saveLater(r, (err) =>
      this.#deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) }),
    );
    const event = { time, package: p ? pkg : "", state: p?.state ?? r.state, reason, kind, wave: p?.wave ?? 0 };
    this.#deps.events.publish(r, event, true, durable);
    return true;
  }

  /** The intents with a package placed on `edge` that is not terminated. */
  intentsOn(edge: string): string[] {
    const out: string[] = [];
    for (const l of this.#store.values())
      if (l.record.packages.some((p) => p.edge === edge && p.state !== "TERMINATED")) out.push(l.record.intent);
    return out.sort();
  }

  /** One page of deployments sorted by intent name. */
  list(pageSize: number, pageToken: string): { records: DeploymentRecord[]; next: string } {
    return this.#store.list(pageSize, pageToken);
  }

  /**
   * A deployment's events from `since` (or its current state), then live ones until it settles or `signal`
   * aborts; with `follow`, after it settles too (alerts, later runs) until `signal` aborts or the agent stops.
   */
  async *watch(
    nameOrId: string,
    since: Date | undefined,
    signal: AbortSignal,
    options: { follow?: boolean } = {},
  ): AsyncGenerator<WatchedEvent> {
    const live = this.#store.find(nameOrId);
    // Ended at shutdown through a set of its own, not a listener on the shared shutdown signal: adding a listener
    // to an AbortSignal walks the ones it has, and a busy agent has thousands of watches open.
    const stop = new AbortController();
    if (this.#shutdown.signal.aborted) stop.abort(this.#shutdown.signal.reason);
    this.#watching.add(stop);
    const link = linkSignals(signal, stop.signal);
    try {
      yield* this.#deps.events.watch(live, since, link.signal, {
        follow: options.follow === true,
        current: () => this.#store.byIntent(live.record.intent) ?? live,
      });
    } finally {
      link.dispose();
      this.#watching.delete(stop);
    }
  }

  /**
   * Accepts an intent for deployment (or update): checks what can be checked at once, records it, and starts
   * the run. Re-submitting an unchanged intent that is READY is a no-op.
   * @throws IntentError (INVALID_ARGUMENT) naming the field; CaminoError precondition while a revision of the
   *   intent is still in flight, or for a package placed in a peer domain this agent cannot reach
   */
  async submit(intent: Intent, intentJson: unknown, hosted?: HostedSegmentRecord): Promise<Submitted> {
    if (this.#closed) throw new CaminoError("ERR_SHUTDOWN", "the agent is shutting down");
    refuseIssues(remotePlacementIssues(intent, this.#deps, hosted ? givenOf(hosted) : undefined));
    let existing = this.#store.byIntent(intent.name);
    const owner = existing?.record.segment;
    if (owner && existing?.record.state !== "TERMINATED" && (!hosted || hosted.id !== owner.id)) {
      throw new CaminoError(
        "ERR_SEGMENT_CONFLICT",
        `intent ${intent.name} is segment ${owner.id}, run here for ${owner.origin}: only its origin changes it`,
      );
    }
    // A run that has reached its final state only writes its record before it ends: wait for that.
    if (existing?.controller && SETTLED.has(existing.record.state)) await existing.run?.catch(() => undefined);
    existing = this.#store.byIntent(intent.name);
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
      return await this.#start(intent, intentJson, existing, hosted);
    } finally {
      this.#claimed.delete(intent.name);
    }
  }

  async #start(
    intent: Intent,
    intentJson: unknown,
    existing: LiveDeployment | undefined,
    hosted: HostedSegmentRecord | undefined,
    heal?: { from: string[]; reason: string },
  ): Promise<Submitted> {
    // Resolution of blueprints and edges is checked now (an IntentError names the field); capacity later.
    const given = hosted ? givenOf(hosted) : undefined;
    const { digest } = await resolveIntent(intent, this.#deps, given);
    if (!heal && existing && existing.record.state === "READY" && existing.record.deploymentDigest === digest) {
      if (hosted) {
        // A new generation of a segment with the same packages: nothing to deploy, the generation is recorded.
        existing.record.segment = hosted;
        await this.#deps.journal.save(existing.record);
      }
      return { id: existing.record.id, revision: existing.record.revision, noOp: true };
    }
    // No await between the check above and here: the watch stops before anything of the new revision happens.
    if (existing) this.#health.unwatch(existing.record.intent);
    const revision = (existing?.record.revision ?? 0) + 1;
    const at = new Date().toISOString();
    const record: DeploymentRecord = {
      id: `${intent.name}.${revision}`,
      intent: intent.name,
      revision,
      state: "PENDING",
      reason: heal?.reason ?? "submitted",
      digest: "",
      deploymentDigest: digest,
      intentJson,
      timeoutMs: intent.timeoutMs ?? this.#deps.options.defaultTimeoutMs,
      createdAt: at,
      updatedAt: at,
      // A segment's record holds its own packages: the origin's are only the other ends of its links.
      packages: intent.order
        .filter((name) => !hosted || isLocal(intent, name, this.#deps.domainId))
        .map((name) => ({
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
      // Segments an earlier revision committed stay on record until this revision ends or keeps them.
      ...(existing?.record.segments
        ? { segments: existing.record.segments.filter((x) => x.phase === "committed" || x.pendingEnd) }
        : {}),
      ...(hosted ? { segment: hosted } : {}),
      ...(heal ? { healedFrom: heal.from } : {}),
    };
    // The intent's revisions so far, and this one's, open (revision-history.ts).
    openRevision(record, existing?.record);
    // On disk first: a journal that cannot be written refuses the submission and leaves the intent as it was.
    try {
      await this.#deps.journal.save(record);
    } catch (err) {
      // The submission is refused and the intent left as it was: watched again.
      if (existing) this.#watchWhenSettled(existing, existing.record);
      throw err;
    }
    const live: LiveDeployment = existing ?? { record };
    live.record = record;
    live.controller = new AbortController();
    this.#store.set(live);
    setState(this.#deps, live, { state: "PENDING", reason: record.reason });
    for (const p of record.packages)
      setState(this.#deps, live, { package: p.package, state: "PENDING", reason: p.reason });
    live.run = startDeployRun(this.#deps, live, intent);
    this.#watchWhenSettled(live, record);
    return { id: record.id, revision, noOp: false };
  }

  /**
   * Terminates an intent: a run in flight is stopped (it rolls back) first; then its packages are removed wave by
   * wave in reverse order, its chain last, each removal synced, and its reservations released (termination.ts).
   */
  async terminate(name: string, asHost = false, force = false): Promise<DeploymentRecord> {
    const live = this.#store.find(name);
    const intent = live.record.intent;
    const owner = live.record.segment;
    if (owner && !asHost && live.record.state !== "TERMINATED") {
      throw new CaminoError(
        "ERR_SEGMENT_CONFLICT",
        `intent ${intent} is segment ${owner.id}, run here for ${owner.origin}: its origin terminates it, or an operator with camino segment rm ${owner.id} --force`,
      );
    }
    if (this.#claimed.has(intent)) {
      throw new CaminoError(
        "ERR_DEPLOYMENT_IN_PROGRESS",
        `intent ${intent} is being submitted: terminate it once it has started`,
      );
    }
    if (live.record.state === "TERMINATED" && !live.terminating) return live.record;
    if (live.terminating || live.record.state === "TERMINATING") {
      throw new CaminoError("ERR_DEPLOYMENT_IN_PROGRESS", `intent ${intent} is already terminating`);
    }
    // Claimed before the first await, so a second call (a retry) cannot start another termination.
    live.terminating = true;
    // Refused while other live intents rely on it, unless forced (dependants.ts); a segment's origin decides alone.
    if (!asHost) {
      try {
        await this.#dependants.beforeTermination(live, force, this.#shutdown.signal);
      } catch (err) {
        live.terminating = undefined;
        throw err;
      }
    }
    this.#health.unwatch(intent);
    live.controller?.abort(new RunFailure("terminated by request"));
    await live.run?.catch(() => undefined);
    live.controller = new AbortController();
    setState(this.#deps, live, { state: "TERMINATING", reason: "terminate requested" });
    live.run = terminate(this.#deps, live).finally(() => {
      live.controller = undefined;
      live.terminating = undefined;
      this.#deps.events.settled(live);
    });
    return live.record;
  }
}

/** Whether a package of `intent` runs in this domain (not placed in another). */
function isLocal(intent: Intent, name: string, domainId: string): boolean {
  const p = intent.packages.find((x) => x.name === name)?.placement;
  return !(p?.kind === "domain" && p.domain !== domainId);
}

/** Refuses a submission with FAILED_PRECONDITION naming every field in `issues`. */
function refuseIssues(issues: readonly FieldIssue[]): void {
  if (issues.length === 0) return;
  throw new CaminoError("ERR_PLACEMENT_UNAVAILABLE", issues.map((i) => `${i.path}: ${i.message}`).join("; "), {
    data: { fields: issues.map((i) => i.path) },
  });
}
