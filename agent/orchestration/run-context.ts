/**
 * What every lifecycle step list shares: the dependencies of the lifecycle, the context of one run over one
 * deployment, and the few operations steps are made of (record a state, find a repository or an edge, note a
 * repository's baseline, wait for an edge to sync, run tasks in parallel all-or-nothing).
 */
import type { PreparedCommit } from "../cad/git/repository.js";
import type { RegisteredRepository } from "../cad/repository-registry.js";
import type { EdgeClient } from "../edge/edge-client.js";
import type { Failpoints } from "../failpoints.js";
import type { Intent } from "../intent/model.js";
import type { Logger } from "../log/logger.js";
import { anySignal } from "../util/signals.js";
import { addWait, endWait, syncErrorObject, syncStatusLine, type Blocker } from "./blockers.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { EdgeObservers } from "./edge-observers.js";
import type { EventBus } from "./event-bus.js";
import type { SyncState } from "../edge/sync-predicate.js";
import type { DeploymentRecord, Journal, StateName } from "./journal.js";
import type { AdmissionReason, IntentPlan, PlannedPackage, PlannerDeps } from "./planner.js";
import type { StepContext } from "./steps.js";

/** The lifecycle's settings, every one filled in by the config parser (agent/config). */
export interface LifecycleOptions {
  /** An intent without spec.timeout gets this, in ms. */
  defaultTimeoutMs: number;
  /** How often an edge is asked while a deployment waits on it, in ms. */
  pollMs: number;
  /** How long a rollback or termination waits for the edges to sync it, in ms. */
  cleanupTimeoutMs: number;
  /** Deployments running at once; later submissions wait their turn. */
  maxConcurrentRuns: number;
}

/** What the lifecycle's steps are given. */
export interface LifecycleDeps extends PlannerDeps {
  journal: Journal;
  logger: Logger;
  failpoints: Failpoints;
  events: EventBus;
  observers: EdgeObservers;
  options: LifecycleOptions;
  /** Aborts when the agent shuts down. */
  shutdown: AbortSignal;
  /** The runs in flight and waiting for a turn (the run queue's counts), where the agent keeps a queue. */
  queue?: { readonly counts: { running: number; waiting: number } };
}

/** Why a run stopped before READY: the reason the deployment ends with. */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly admission: AdmissionReason[] = [],
  ) {
    super(message);
    this.name = "RunFailure";
  }
}

/** One deploy run over one deployment. */
export interface RunContext extends StepContext {
  readonly deps: LifecycleDeps;
  readonly live: LiveDeployment;
  readonly intent: Intent;
  /** The admitted plan: set by the admission step, read by every later step. */
  plan?: IntentPlan;
  /** The wave under way: set by the waves step for its wave's steps. */
  wave?: WaveState;
  /** Set by the ready step once the run's end (its time, its history entry) is in the record it wrote. */
  ended?: boolean;
}

/** One wave under way: its packages, grouped by repository, and the commit each repository got. */
export interface WaveState {
  readonly number: number;
  readonly packages: readonly PlannedPackage[];
  readonly byRepository: ReadonlyMap<string, readonly PlannedPackage[]>;
  readonly commits: Map<string, string>;
  /**
   * Per repository, the wave's commit made and written while its edge dry-runs the wave (undefined: not
   * prepared, or the preparation failed); the commit step lands it (DeploymentRepository.landWave).
   */
  prepared?: Map<string, Promise<PreparedCommit | undefined>>;
}

/** One rollback or termination over one deployment. */
export interface CleanupContext extends StepContext {
  readonly deps: LifecycleDeps;
  readonly live: LiveDeployment;
  /** Why the rollback runs (the run's failure). */
  readonly cause: string;
  /** Problems met on the way, reported in the final reason. */
  readonly problems: string[];
}

/** One state change: of the intent (no `package`) or of one of its packages. */
export interface StateChange {
  /** The package; absent for the intent itself. */
  package?: string;
  state: StateName;
  reason: string;
  /** "state" (the default) changes the state; "progress" only reports, keeping the state. */
  kind?: "state" | "progress";
}

/**
 * Records a state change, journals the record behind (coalesced; a step that needs it durable awaits
 * `journal.save`), and publishes its event on the bus, sent to watchers once that write has ended.
 */
export function setState(
  deps: Pick<LifecycleDeps, "events" | "journal" | "logger">,
  live: LiveDeployment,
  change: StateChange,
): void {
  const { state, reason } = change;
  const pkg = change.package ?? "";
  const r = live.record;
  const time = new Date().toISOString();
  let wave = 0;
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
  // The write reads the record when it starts, after this call: it holds the event. Watchers are sent the
  // event once that write is on disk, so nobody is told what a crash could take back.
  const durable = deps.journal.saveLater(r, (err) =>
    deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) }),
  );
  deps.events.publish(r, { time, package: pkg, state, reason, kind: change.kind ?? "state", wave }, true, durable);
}

/** A registered repository. @throws RunFailure when it is no longer registered */
export function repositoryOf(deps: Pick<LifecycleDeps, "registry">, name: string): RegisteredRepository {
  const r = deps.registry.get(name);
  if (!r) throw new RunFailure(`deployment repository ${name} is no longer registered`);
  return r;
}

/** A configured edge. @throws RunFailure when it is no longer configured */
export function edgeOf(deps: Pick<LifecycleDeps, "edges">, name: string): EdgeClient {
  const e = deps.edges.get(name);
  if (!e) throw new RunFailure(`edge ${name} is no longer configured`);
  return e;
}

/** Records a repository's head (durably) before this revision first writes to it: what a rollback restores. */
export async function touch(deps: LifecycleDeps, live: LiveDeployment, repository: string): Promise<void> {
  await (await recordBaselines(deps, live, [repository])).onDisk;
}

/**
 * {@link readBaselines} then {@link keepBaselines}: resolves once the baselines are in the record, with their
 * journal write ({@link baselinesOnDisk}), which a commit's branch waits for.
 */
export async function recordBaselines(
  deps: LifecycleDeps,
  live: LiveDeployment,
  repositories: readonly string[],
): Promise<{ onDisk: Promise<void> }> {
  keepBaselines(deps, live, await readBaselines(deps, live, repositories));
  return { onDisk: baselinesOnDisk(live, repositories) };
}

/** The journal writes of baselines still on their way to the disk, per record and repository. */
const baselinesInFlight = new WeakMap<DeploymentRecord, Map<string, Promise<void>>>();

/**
 * The heads of those of `repositories` whose baseline this revision has not recorded yet: what {@link keepBaselines}
 * records. Split from it so that the caller records them in the same synchronous block as a state change, and
 * one journal write holds both.
 */
export async function readBaselines(
  deps: LifecycleDeps,
  live: LiveDeployment,
  repositories: readonly string[],
): Promise<Map<string, string>> {
  const fresh = [...new Set(repositories)].filter((repo) => !(repo in live.record.touched));
  const heads = await Promise.all(fresh.map(async (repo) => (await repositoryOf(deps, repo).git.head()) ?? ""));
  return new Map(fresh.map((repo, i) => [repo, heads[i] as string]));
}

/**
 * Keeps the baselines read in the record and writes it (one journal write, the next group's). A commit to one of
 * these repositories may be made before the write is on disk, but its branch must not move before then
 * ({@link baselinesOnDisk}, ChangeSet.after): a crash must never leave a commit whose baseline the journal lacks.
 */
export function keepBaselines(deps: LifecycleDeps, live: LiveDeployment, heads: ReadonlyMap<string, string>): void {
  const r = live.record;
  const fresh = [...heads].filter(([repo]) => !(repo in r.touched));
  if (fresh.length === 0) return;
  for (const [repo, head] of fresh) r.touched[repo] = head;
  const durable = deps.journal.save(r);
  const inFlight = baselinesInFlight.get(r) ?? new Map<string, Promise<void>>();
  baselinesInFlight.set(r, inFlight);
  for (const [repo] of fresh) inFlight.set(repo, durable);
  const done = () => {
    for (const [repo] of fresh) if (inFlight.get(repo) === durable) inFlight.delete(repo);
    // A deployed intent's record is kept for as long as it is known: nothing of this is kept with it.
    if (inFlight.size === 0 && baselinesInFlight.get(r) === inFlight) baselinesInFlight.delete(r);
  };
  // Handled here (a journal failure is no unhandled rejection while a commit runs); {@link baselinesOnDisk} throws it.
  durable.then(done, done);
}

/**
 * Resolves once the baselines of `repositories` that this revision recorded are on disk (at once for those
 * written already); rejects with the journal's failure. Has a handler already: a commit may hold it a while.
 */
export function baselinesOnDisk(live: LiveDeployment, repositories: readonly string[]): Promise<void> {
  const inFlight = baselinesInFlight.get(live.record);
  const pending = [...new Set(repositories)].flatMap((repo) => {
    const p = inFlight?.get(repo);
    return p ? [p] : [];
  });
  const all = Promise.all(pending).then(() => undefined);
  all.catch(() => undefined);
  return all;
}

/**
 * Waits until `edge` has synced `commit` of `repository` for `intent` (the sync predicate of docs/configuration-as-data.md).
 * @param blocks the packages ("" for the intent) that wait on it: each gets a `sync` blocker until it is synced
 *   (kept when the wait fails, saying what the run still waited on)
 * @throws RunFailure when the edge reports errors naming the intent's objects, or `timeoutMs` passes
 */
export async function waitSynced(
  deps: LifecycleDeps,
  w: { edge: EdgeClient; repository: string; commit: string; intent: string; timeoutMs: number },
  signal: AbortSignal,
  blocks?: { live: LiveDeployment; packages: readonly string[] },
): Promise<void> {
  const git = repositoryOf(deps, w.repository).git;
  const short = w.commit.slice(0, 12);
  const blocker: Blocker = {
    kind: "sync",
    edge: w.edge.name,
    commit: w.commit,
    syncStatus: "not read yet",
    message: `edge ${w.edge.name} to sync commit ${short} of ${w.repository}`,
  };
  // While it waits, the blocker says what the edge's RootSync reports now: the observer's last read, each tick.
  const observer = deps.observers.of(w.edge);
  Object.defineProperties(blocker, {
    syncStatus: { enumerable: true, configurable: true, get: () => syncStatusLine(observer.lastSync()) },
    object: { enumerable: true, configurable: true, get: () => syncErrorObject(observer.lastSync(), w.intent) },
  });
  for (const p of blocks?.packages ?? []) addWait(blocks?.live as LiveDeployment, p, blocker);
  let state: SyncState;
  try {
    state = await observer.waitSynced(
      {
        commit: w.commit,
        intent: w.intent,
        isDescendant: (head, c) => git.isDescendant(head, c),
        timeoutMs: w.timeoutMs,
      },
      signal,
    );
  } finally {
    // Fixed from here on: a failed wait's blocker stays on the record, saying what the edge reported then.
    const last = observer.lastSync();
    const object = syncErrorObject(last, w.intent);
    Object.defineProperties(blocker, {
      syncStatus: { enumerable: true, writable: true, value: syncStatusLine(last) },
      object: { enumerable: true, writable: true, value: object },
    });
    if (object === undefined) delete blocker.object;
  }
  if (state.failed) throw new RunFailure(`edge ${w.edge.name} cannot sync commit ${short}: ${state.reason}`);
  if (!state.synced) throw new RunFailure(`edge ${w.edge.name} did not sync commit ${short}: ${state.reason}`);
  for (const p of blocks?.packages ?? []) endWait(blocks?.live as LiveDeployment, p, blocker);
}

/**
 * Runs tasks in parallel under one signal; the first failure aborts the others, and it is thrown only once
 * every task has stopped — so nothing of a failed wave is still committing while the rollback runs.
 */
export async function allOrAbort<T>(
  items: readonly T[],
  parent: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const signal = anySignal(parent, controller.signal);
  let first: unknown;
  let failed = false;
  await Promise.allSettled(
    items.map((item) =>
      task(item, signal).catch((err: unknown) => {
        if (!failed) {
          failed = true;
          first = err;
          controller.abort(err);
        }
        throw err;
      }),
    ),
  );
  if (failed) throw first;
}
