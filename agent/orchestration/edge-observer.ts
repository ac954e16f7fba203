/**
 * One observer per edge for every deployment waiting on it. However many intents are in flight, the edge is
 * asked once per tick: one read of its RootSync while anyone waits for a commit to sync, and one listing of
 * the waiting intents' workloads (a label selector over all namespaces, three calls per 100 intents) while
 * anyone waits for a package to be available. Each waiter judges the shared answer for itself (the sync
 * predicate of docs/configuration-as-data.md; every workload of the package available). Settled deployments are
 * watched through the same listing (health-watch.ts): a standing {@link EdgeObserver.watchWorkloads} adds its
 * intent to the one selector and is told each tick what the edge runs for it, or that the edge did not answer.
 * The loop runs only while someone waits or watches. Every edge call and every pause between ticks carries the
 * observer's signal: {@link EdgeObserver.close} (or the parent signal given at construction) aborts the call under
 * way, rejects every waiter and ends every watch.
 */
import type { EdgeClient } from "../edge/edge-client.js";
import type { WorkloadStatus } from "../edge/readiness.js";
import { judgeSync, type SyncState } from "../edge/sync-predicate.js";
import { CaminoError } from "../errors.js";
import { abortReason, linkedController, wait } from "../util/signals.js";

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
  /** Told why not yet, on every tick. */
  waiting: (why: string) => void;
}

type Waiter = SyncWaiter | WorkloadWaiter;

/** What a standing watch is told on each tick: the intent's workloads on the edge, or why the edge gave none. */
export type WorkloadReport = { workloads: WorkloadStatus[] } | { error: string };

interface WorkloadWatch {
  intent: string;
  seen: (report: WorkloadReport) => void;
}

export class EdgeObserver {
  readonly #edge: EdgeClient;
  readonly #pollMs: number;
  readonly #watchMs: number;
  readonly #waiters = new Set<Waiter>();
  readonly #watches = new Set<WorkloadWatch>();
  readonly #controller: AbortController;
  /** Aborts on close() or with the parent; given to every edge call and every pause of the loop. */
  readonly #signal: AbortSignal;
  #running = false;

  /**
   * @param pollMs how often the edge is asked while a run waits on it
   * @param parent closes the observer when it aborts (e.g. the agent's shutdown signal)
   * @param watchMs how often it is asked while only settled deployments are watched: `pollMs`, but no more
   *   often than every 250 ms (a domain at rest should not list its edges twenty times a second)
   */
  constructor(edge: EdgeClient, pollMs: number, parent?: AbortSignal, watchMs = Math.max(pollMs, 250)) {
    this.#edge = edge;
    this.#pollMs = pollMs;
    this.#watchMs = watchMs;
    const { controller, signal } = linkedController(parent);
    this.#controller = controller;
    this.#signal = signal;
    signal.addEventListener(
      "abort",
      () => {
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
   * @param onWaiting told why not yet, on every tick
   * @throws the signal's reason when it aborts; the observer's when it is closed
   */
  waitAvailable(intent: string, pkg: string, signal: AbortSignal, onWaiting: (why: string) => void): Promise<void> {
    return this.#enqueue<void>(signal, (settle) => ({ kind: "workloads", intent, pkg, waiting: onWaiting, ...settle }));
  }

  /**
   * Watches `intent`'s workloads on this edge until the returned function is called: on every tick, `seen` is told
   * the intent's workloads (from the listing shared with every waiter and watch), or the error that kept the edge
   * from answering. A closed observer tells nothing more.
   */
  watchWorkloads(intent: string, seen: (report: WorkloadReport) => void): () => void {
    const w: WorkloadWatch = { intent, seen };
    if (this.#signal.aborted) return () => {};
    this.#watches.add(w);
    this.#kick();
    return () => void this.#watches.delete(w);
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
    this.#kick();
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
        const period = this.#waiters.size > 0 ? this.#pollMs : this.#watchMs;
        const rest = period - (Date.now() - started);
        if (this.#wanted() && rest > 0) await wait(rest, this.#signal);
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
    const waiters = [...this.#waiters];
    const syncs = waiters.filter((w): w is SyncWaiter => w.kind === "sync");
    const loads = waiters.filter((w): w is WorkloadWaiter => w.kind === "workloads");
    await Promise.all([this.#tickSync(syncs), this.#tickWorkloads(loads, [...this.#watches])]);
  }

  async #tickSync(waiters: SyncWaiter[]): Promise<void> {
    if (waiters.length === 0) return;
    let rs: Record<string, unknown> | undefined;
    let failure: string | undefined;
    try {
      rs = await this.#edge.rootSync(this.#signal);
      if (!rs) failure = "no RootSync on the edge";
    } catch (err) {
      failure = (err as Error).message;
    }
    if (this.#signal.aborted) return;
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

  async #tickWorkloads(waiters: WorkloadWaiter[], watches: WorkloadWatch[]): Promise<void> {
    if (waiters.length === 0 && watches.length === 0) return;
    const intents = [...new Set([...waiters, ...watches].map((w) => w.intent))].sort();
    let all: WorkloadStatus[];
    try {
      all = await this.#edge.workloadsOf(intents, this.#signal);
    } catch (err) {
      if (this.#signal.aborted) return;
      const message = (err as Error).message;
      for (const w of waiters) w.waiting(`${w.pkg} on ${this.#edge.name}: ${message}`);
      for (const w of watches) if (this.#watches.has(w)) w.seen({ error: message });
      return;
    }
    if (this.#signal.aborted) return;
    const byPackage = new Map<string, WorkloadStatus[]>();
    const byIntent = new Map<string, WorkloadStatus[]>();
    for (const x of all) {
      const key = `${x.intent}/${x.package}`;
      byPackage.set(key, [...(byPackage.get(key) ?? []), x]);
      byIntent.set(x.intent, [...(byIntent.get(x.intent) ?? []), x]);
    }
    for (const w of waiters) {
      const mine = byPackage.get(`${w.intent}/${w.pkg}`) ?? [];
      const short = mine.filter((x) => x.available < x.desired);
      if (short.length === 0) w.done();
      else
        w.waiting(
          `${w.pkg} on ${this.#edge.name}: ${short.map((x) => `${x.kind}/${x.name} ${x.available}/${x.desired} available`).join(", ")}`,
        );
    }
    // A watch ended while the edge answered is told nothing more.
    for (const w of watches) if (this.#watches.has(w)) w.seen({ workloads: byIntent.get(w.intent) ?? [] });
  }
}
