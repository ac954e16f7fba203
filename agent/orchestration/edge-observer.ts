/**
 * One observer per edge for every deployment waiting on it. However many intents are in flight, the edge is
 * asked once per tick: one read of its RootSync while anyone waits for a commit to sync or watches, and one
 * listing of the waiting intents' workloads (a label selector over all namespaces, three calls per 100 intents)
 * while a run waits for a package to be available; when a listed workload is short of replicas, one listing of
 * the pods of the intents that have one (none otherwise), whose reasons go on the workload. Intents only watched
 * (settled) are read from the edge's watched copy of its workloads and pods (EdgeClient.watchedWorkloadsOf), which
 * costs no request: a tick of a domain at rest is one RootSync read per edge, however many intents it runs. Which
 * watches a tick tells follows what changed on the edge, not how many are watched (workload-watches.ts).
 *
 * The edge facts others read ("why is it not READY", the sync-error health check), at no extra request:
 * - {@link EdgeObserver.lastSync}: the RootSync as last read (`RootSyncStatus` of agent/edge/root-sync.ts: the
 *   commit the edge is at, `lastSyncedCommit`, `syncing`, and every error with its code and the objects it names);
 * - `WorkloadStatus.pods` (agent/edge/readiness.ts) on a workload short of replicas: per pod not ready, its phase
 *   and reasons (containers' `state.waiting.reason` such as ImagePullBackOff, a Pending pod's Unschedulable
 *   reason and message), given to a waiter's `onWaiting` (its second argument: the package's workloads short of
 *   replicas) and in every watch's report;
 * - a watch's report carries the tick's `sync` too. Each waiter judges the shared answer for itself (the sync
 * predicate of docs/configuration-as-data.md; every workload of the package available). Settled deployments are
 * watched on the same ticks (health-watch.ts): a standing {@link EdgeObserver.watchWorkloads} is told each tick
 * what the edge runs for its intent, or that the edge did not answer (its RootSync read failed).
 * The loop runs only while someone waits or watches. Every edge call and every pause between ticks carries the
 * observer's signal: {@link EdgeObserver.close} (or the parent signal given at construction) aborts the call under
 * way, rejects every waiter and ends every watch.
 */
import type { EdgeClient } from "../edge/edge-client.js";
import { givePodReasons, type PodObject, type WorkloadStatus } from "../edge/readiness.js";
import { rootSyncStatusOf, type RootSyncStatus } from "../edge/root-sync.js";
import { judgeSync, type SyncState } from "../edge/sync-predicate.js";
import { CaminoError } from "../errors.js";
import { abortReason, linkedController, wakeableWait } from "../util/signals.js";
import { RecentChanges } from "./recent-changes.js";
import { RESCAN_MS, WorkloadWatches, type WorkloadWatch } from "./workload-watches.js";

interface Settle<T> {
  done: (value: T) => void;
  fail: (reason: Error) => void;
}

/** What a sync waiter waits for. */
export interface SyncWait {
  /** The commit that must be synced (or a descendant of it). */
  commit: string;
  /** Sync errors count against the wait only when they name this intent's objects. */
  intent: string;
  /** Whether `head` is `commit` or a descendant of it (from the repository's history). */
  isDescendant: (head: string, commit: string) => Promise<boolean>;
  /** After this long the wait resolves, not synced, with the last reason. */
  timeoutMs: number;
}

interface SyncWaiter extends Settle<SyncState> {
  kind: "sync";
  commit: string;
  intent: string;
  isDescendant: (head: string, commit: string) => Promise<boolean>;
  deadline: number;
  last: SyncState;
}

interface WorkloadWaiter extends Settle<void> {
  kind: "workloads";
  intent: string;
  pkg: string;
  /** Told why not yet, on every tick (with the package's workloads short of replicas, when the edge answered). */
  waiting: (why: string, short?: WorkloadStatus[]) => void;
}

type Waiter = SyncWaiter | WorkloadWaiter;

/**
 * What a standing watch is told on each tick: the intent's workloads on the edge (a workload short of replicas
 * with its pods' reasons, `WorkloadStatus.pods`) and the edge's RootSync as read on the same tick (`sync`), or why
 * the edge gave no workloads.
 */
export type WorkloadReport = { workloads: WorkloadStatus[]; sync?: RootSyncStatus } | { error: string };

/** A tick's read of the RootSync: parsed, as the edge gave it (for the sync predicate), or why the edge did not answer. */
interface SyncRead {
  status: RootSyncStatus;
  raw?: Record<string, unknown>;
  /** The call failed (the edge did not answer): why. A missing RootSync is not that. */
  unanswered?: string;
}

/** A tick's workload listing, or why the edge gave none. */
type Listing = { workloads: WorkloadStatus[] } | { error: string };

/** The least time between the starts of two ticks when the watched copy's changes bring them forward. */
const CHANGE_GAP_MS = 10;

/**
 * How recent a change of an intent brings a new wait for its workloads to the next tick. Longer than a poll period:
 * the change (ConfigSync applying the wave) comes before the edge reports the sync, which a tick then reads, and
 * with a window of one period the wait for a 4-package intent's workloads took a period again in some runs.
 */
const HEARD_MS = 1_000;

export class EdgeObserver {
  readonly #edge: EdgeClient;
  readonly #pollMs: number;
  readonly #watchMs: number;
  readonly #waiters = new Set<Waiter>();
  readonly #watches: WorkloadWatches;
  readonly #controller: AbortController;
  /** Aborts on close() or with the parent; given to every edge call and every pause of the loop. */
  readonly #signal: AbortSignal;
  #running = false;
  /** The RootSync as last read ({@link lastSync}). */
  #lastSync: RootSyncStatus | undefined;
  /** When the watches were last told. */
  #watchedAt = 0;
  /** Ends the loop's pause early (a waiter came); set while it pauses. */
  #wake: (() => void) | undefined;
  /** The watched copy changed an intent a run waits for the workloads of: the next tick comes at once. */
  #changed = false;
  /**
   * The intents whose workloads or pods the watched copy heard a change of in the last {@link HEARD_MS}: a run that
   * starts to wait for one (its workloads became available while its sync was being judged) is looked at the next
   * tick, not a period later.
   */
  readonly #heard = new RecentChanges(HEARD_MS);

  /**
   * @param pollMs how often the edge is asked while a run waits on it
   * @param parent closes the observer when it aborts (e.g. the agent's shutdown signal)
   * @param watchMs how often it is asked while only settled deployments are watched: `pollMs`, but no more
   *   often than every 250 ms (a domain at rest should not list its edges twenty times a second)
   * @param rescanMs how often every watch is looked at (workload-watches.ts)
   */
  constructor(
    edge: EdgeClient,
    pollMs: number,
    parent?: AbortSignal,
    watchMs = Math.max(pollMs, 250),
    rescanMs = RESCAN_MS,
  ) {
    this.#edge = edge;
    this.#pollMs = pollMs;
    this.#watchMs = watchMs;
    this.#watches = new WorkloadWatches(edge, rescanMs);
    const { controller, signal } = linkedController(parent);
    this.#controller = controller;
    this.#signal = signal;
    // A change the edge's watched copy sees for an intent a run waits on ends the pause: the run's listing is made
    // then, not up to a period later (at 10,000 intents a workload that became available a few ms after the sync
    // missed the first tick, and READY came a period late).
    const stopListening = edge.onIntentChange((intent) => {
      this.#heard.hear(intent);
      for (const w of this.#waiters)
        if (w.kind === "workloads" && w.intent === intent) {
          this.#changed = true;
          this.#wake?.();
          return;
        }
    });
    signal.addEventListener(
      "abort",
      () => {
        stopListening();
        const reason = abortReason(signal);
        for (const w of [...this.#waiters]) w.fail(reason);
        this.#watches.clear();
      },
      { once: true },
    );
  }

  /**
   * Stops observing: the edge call under way is aborted, every waiter is rejected (`ERR_SHUTDOWN`), and every
   * watch ends.
   */
  close(): void {
    if (!this.#controller.signal.aborted)
      this.#controller.abort(new CaminoError("ERR_SHUTDOWN", `the observer of edge ${this.#edge.name} was closed`));
  }

  /**
   * Resolves with the sync state once `commit` is synced for `intent`, the edge reports errors naming the
   * intent's objects (`failed`), or `timeoutMs` passes (not synced, with the last reason).
   * @throws the signal's reason when it aborts; the observer's when it is closed
   */
  waitSynced(wait: SyncWait, signal: AbortSignal): Promise<SyncState> {
    const { commit, intent, isDescendant, timeoutMs } = wait;
    return this.#enqueue<SyncState>(signal, (settle) => ({
      kind: "sync",
      commit,
      intent,
      isDescendant,
      deadline: Date.now() + timeoutMs,
      last: { synced: false, errors: [], reason: "not checked yet" },
      ...settle,
    }));
  }

  /**
   * Resolves once every Deployment, StatefulSet and DaemonSet of the package is available.
   * @param onWaiting told why not yet, on every tick: a reason, and the package's workloads short of replicas (each
   *   with its pods' reasons, `WorkloadStatus.pods`) when the edge answered
   * @throws the signal's reason when it aborts; the observer's when it is closed
   */
  waitAvailable(
    intent: string,
    pkg: string,
    signal: AbortSignal,
    onWaiting: (why: string, short?: WorkloadStatus[]) => void,
  ): Promise<void> {
    return this.#enqueue<void>(signal, (settle) => ({ kind: "workloads", intent, pkg, waiting: onWaiting, ...settle }));
  }

  /**
   * Watches `intent`'s workloads on this edge until the returned function is called: at every watch period, `seen`
   * is told the intent's workloads (from the edge's watched copy, shared by every watch), or the error that kept
   * the edge from answering. A closed observer tells nothing more.
   */
  watchWorkloads(
    intent: string,
    seen: (report: WorkloadReport) => void,
    restless: () => boolean = () => false,
  ): () => void {
    if (this.#signal.aborted) return () => {};
    const stop = this.#watches.add({ intent, seen, restless });
    this.#kick();
    return stop;
  }

  /** Adds a waiter that leaves the set when it settles, and fails when the caller's signal aborts. */
  #enqueue<T>(signal: AbortSignal, make: (settle: Settle<T>) => Waiter): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(abortReason(signal));
      if (this.#signal.aborted) return reject(abortReason(this.#signal));
      const leave = () => {
        this.#waiters.delete(w);
        signal.removeEventListener("abort", onAbort);
      };
      const w = make({
        done: (value) => {
          leave();
          resolve(value);
        },
        fail: (reason) => {
          leave();
          reject(reason);
        },
      });
      const onAbort = () => w.fail(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      this.#add(w);
    });
  }

  #add(w: Waiter): void {
    this.#waiters.add(w);
    // Its workloads changed a moment ago: the edge likely has what it waits for already. Without this, a domain
    // whose settled deployments keep the loop running made each wave wait out the rest of a poll period (at 1,000
    // settled intents READY came 45 ms later than on an idle loop, which ticks at once for a new waiter).
    if (w.kind === "workloads" && this.#heard.recent(w.intent)) this.#changed = true;
    this.#kick();
    this.#wake?.();
  }

  /** Pauses the loop for `ms`: false once they have passed, true when a waiter came first ({@link #add}). */
  async #pause(ms: number): Promise<boolean> {
    const pause = wakeableWait(ms, this.#signal);
    this.#wake = pause.wake;
    try {
      return await pause.done;
    } finally {
      this.#wake = undefined;
    }
  }

  /** Whether anyone waits or watches: the loop runs while so. */
  #wanted(): boolean {
    return this.#waiters.size > 0 || this.#watches.size > 0;
  }

  #kick(): void {
    if (!this.#running) {
      this.#running = true;
      void this.#loop();
    }
  }

  async #loop(): Promise<void> {
    try {
      while (this.#wanted() && !this.#signal.aborted) {
        const started = Date.now();
        await this.#tick();
        // The pause is the waiters' period while anyone waits, the watches' otherwise; a waiter that comes during
        // a watch period's pause shortens it to its own (the pause is measured again), so a run never waits for
        // the watches' slower beat; a change of an intent a run waits on shortens it to CHANGE_GAP_MS.
        for (;;) {
          const period = this.#changed
            ? Math.min(CHANGE_GAP_MS, this.#pollMs)
            : this.#waiters.size > 0
              ? this.#pollMs
              : this.#watchMs;
          const rest = period - (Date.now() - started);
          if (!this.#wanted() || rest <= 0 || !(await this.#pause(rest))) break;
        }
      }
    } catch (err) {
      // Closed during the pause between ticks: the waiters have been rejected already.
      if (!this.#signal.aborted) throw err;
    } finally {
      this.#running = false;
      // A waiter added while the loop was ending starts it again.
      if (this.#wanted() && !this.#running && !this.#signal.aborted) {
        this.#running = true;
        void this.#loop();
      }
    }
  }

  async #tick(): Promise<void> {
    this.#changed = false;
    const waiters = [...this.#waiters];
    const syncs = waiters.filter((w): w is SyncWaiter => w.kind === "sync");
    const loads = waiters.filter((w): w is WorkloadWaiter => w.kind === "workloads");
    // Watches are told at their own period, however fast a run's waiters make the ticks.
    const due = this.#watches.size > 0 && Date.now() - this.#watchedAt >= this.#watchMs;
    // The RootSync is read once per tick while anyone waits for a sync (who judges it) or watches are due (who are
    // told it: sync errors; and its read is their proof the edge answers), in parallel with the listing of what
    // waiters wait on; lastSync() keeps the last read.
    const [read, listed] = await Promise.all([
      syncs.length > 0 || due ? this.#readSync() : undefined,
      this.#listWorkloads(loads, false),
    ]);
    if (this.#signal.aborted) return;
    this.#tellWaiters(loads, listed);
    await Promise.all([read ? this.#tickSync(syncs, read) : undefined, due ? this.#tickWatches(read) : undefined]);
  }

  /**
   * Tells the watches what the edge runs for their intents, read from the edge's watched copy. An edge that did not
   * answer the RootSync read gave no workloads either: the watched copy answers even then (an open stream says
   * nothing of a partition).
   */
  async #tickWatches(read: SyncRead | undefined): Promise<void> {
    const now = Date.now();
    this.#watchedAt = now;
    if (read?.unanswered) return this.#tellWatches(this.#watches.untold(), { error: read.unanswered }, read.status);
    const sync = read ? syncFacts(read.status) : "";
    const { due, marks } = this.#watches.due(sync, now);
    if (due.length === 0) return;
    const listing = await this.#listWorkloads(due, true);
    if (this.#signal.aborted) return;
    this.#tellWatches(due, listing, read?.status);
    this.#watches.told(due, marks, sync, now, !!listing && !("error" in listing));
  }

  /**
   * The edge's RootSync as last read (on each tick while anyone waits for a sync or watches a settled deployment): the commit it is at, its
   * errors (each with the objects it names), whether it is syncing; `error` when the edge did not answer or has no
   * RootSync. Undefined before the first read. Costs nothing: it is the tick's shared answer. For "why is it not
   * READY" (the edge's sync) and the sync-error health check.
   * @example const s = observer.lastSync(); if (s && !s.error) console.log(s.commit, s.errors.map((e) => e.message));
   */
  lastSync(): RootSyncStatus | undefined {
    return this.#lastSync;
  }

  /** The tick's read of the RootSync: parsed, and as the edge gave it (for the sync predicate). */
  async #readSync(): Promise<SyncRead> {
    let read: SyncRead;
    try {
      const rs = await this.#edge.rootSync(this.#signal);
      read = rs
        ? { status: rootSyncStatusOf(rs, Date.now()), raw: rs }
        : { status: { readAt: Date.now(), error: "no RootSync on the edge", syncing: false, errors: [] } };
    } catch (err) {
      const error = (err as Error).message;
      read = { status: { readAt: Date.now(), error, syncing: false, errors: [] }, unanswered: error };
    }
    if (!this.#signal.aborted) this.#lastSync = read.status;
    return read;
  }

  /**
   * The workloads of `intents` (and, for workloads short of replicas, their pods' reasons): listed for the intents
   * a run waits on (it must see what it just committed), or read from the edge's watched copy for the intents only
   * watched (`watched`; EdgeClient.watchedWorkloadsOf: no request while the copy is live, so a tick costs the same
   * however many settled intents the edge runs).
   */
  async #listWorkloads(of: readonly { intent: string }[], watched: boolean): Promise<Listing | undefined> {
    const intents = [...new Set(of.map((w) => w.intent))].sort();
    if (intents.length === 0) return undefined;
    try {
      const workloads = watched
        ? await this.#edge.watchedWorkloadsOf(intents, this.#signal)
        : await this.#edge.workloadsOf(intents, this.#signal);
      await this.#addPodReasons(workloads, watched);
      return { workloads };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /**
   * Gives each workload short of replicas its pods' reasons: the pods of the intents that have one, listed (or,
   * for intents only watched, read from the watched copy); nothing is asked when every workload is available. A
   * failed pod listing leaves the reasons absent.
   */
  async #addPodReasons(all: WorkloadStatus[], watched: boolean): Promise<void> {
    const short = all.filter((x) => x.available < x.desired);
    if (short.length === 0) return;
    const intents = [...new Set(short.map((x) => x.intent))].sort();
    let pods: PodObject[];
    try {
      pods = watched
        ? await this.#edge.watchedPodsOf(intents, this.#signal)
        : await this.#edge.podsOf(intents, this.#signal);
    } catch (err) {
      if (this.#signal.aborted) throw err;
      return;
    }
    givePodReasons(short, pods);
  }

  async #tickSync(waiters: SyncWaiter[], read: SyncRead): Promise<void> {
    if (waiters.length === 0) return;
    const rs = read.raw;
    const failure = read.status.error;
    const now = Date.now();
    await Promise.all(
      waiters.map(async (w) => {
        if (rs) {
          try {
            w.last = await judgeSync(rs, w.commit, w.intent, w.isDescendant);
          } catch (err) {
            w.last = { synced: false, errors: [], reason: (err as Error).message };
          }
        } else w.last = { synced: false, errors: [], reason: failure ?? "unknown" };
        if (w.last.synced || w.last.failed) w.done(w.last);
        else if (now >= w.deadline) w.done(w.last);
      }),
    );
  }

  /** Tells each waiter its package's workloads: done when all are available, else why not yet. */
  #tellWaiters(waiters: WorkloadWaiter[], listing: Listing | undefined): void {
    if (!listing) return;
    if ("error" in listing) {
      for (const w of waiters) w.waiting(`${w.pkg} on ${this.#edge.name}: ${listing.error}`);
      return;
    }
    const byPackage = groupBy(listing.workloads, (x) => `${x.intent}/${x.package}`);
    for (const w of waiters) {
      const short = (byPackage.get(`${w.intent}/${w.pkg}`) ?? []).filter((x) => x.available < x.desired);
      if (short.length === 0) w.done();
      else
        w.waiting(
          `${w.pkg} on ${this.#edge.name}: ${short.map((x) => `${x.kind}/${x.name} ${x.available}/${x.desired} available`).join(", ")}`,
          short,
        );
    }
  }

  /** Tells each watch still standing its intent's workloads and the tick's RootSync, or why the edge gave none. */
  #tellWatches(watches: WorkloadWatch[], listing: Listing | undefined, sync: RootSyncStatus | undefined): void {
    if (!listing) return;
    const byIntent = "error" in listing ? undefined : groupBy(listing.workloads, (x) => x.intent);
    for (const w of watches) {
      // A watch ended meanwhile is told nothing more.
      if (!this.#watches.has(w)) continue;
      if (!byIntent) w.seen({ error: (listing as { error: string }).error });
      else w.seen({ workloads: byIntent.get(w.intent) ?? [], ...(sync ? { sync } : {}) });
    }
  }
}

/** The RootSync's facts a watch judges (its errors, or why it was not read), without when it was read. */
function syncFacts(status: RootSyncStatus): string {
  return JSON.stringify([status.error ?? "", status.errors]);
}

/** The items grouped by key, each group in the items' order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const k = key(x);
    const group = out.get(k);
    if (group) group.push(x);
    else out.set(k, [x]);
  }
  return out;
}
