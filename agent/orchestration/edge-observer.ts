/**
 * One observer per edge for every deployment waiting on it. However many intents are in flight, the edge is
 * asked once per tick: one read of its RootSync while anyone waits for a commit to sync, and one listing of
 * the waiting intents' workloads (a label selector over all namespaces, three calls per 100 intents) while
 * anyone waits for a package to be available. Each
 * waiter judges the shared answer for itself (DESIGN.md section 5's sync predicate; every workload of the
 * package available). The loop runs only while someone waits.
 */
import { judgeSync, type EdgeClient, type SyncState, type WorkloadStatus } from "../edge/edge-client.js";

interface SyncWaiter {
  kind: "sync";
  commit: string;
  intent: string;
  isDescendant: (head: string, commit: string) => Promise<boolean>;
  deadline: number;
  last: SyncState;
  done: (s: SyncState) => void;
}

interface WorkloadWaiter {
  kind: "workloads";
  intent: string;
  pkg: string;
  /** Told why not yet, on every tick. */
  waiting: (why: string) => void;
  done: () => void;
}

type Waiter = SyncWaiter | WorkloadWaiter;

export class EdgeObserver {
  readonly #edge: EdgeClient;
  readonly #pollMs: number;
  readonly #waiters = new Set<Waiter>();
  #running = false;

  constructor(edge: EdgeClient, pollMs: number) {
    this.#edge = edge;
    this.#pollMs = pollMs;
  }

  /**
   * Resolves with the sync state once `commit` is synced for `intent`, the edge reports errors naming the
   * intent's objects (`failed`), or `timeoutMs` passes (not synced, with the last reason).
   * @throws the signal's reason when it aborts
   */
  waitSynced(
    commit: string,
    intent: string,
    isDescendant: SyncWaiter["isDescendant"],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<SyncState> {
    return new Promise<SyncState>((resolve, reject) => {
      signal.throwIfAborted();
      const w: SyncWaiter = {
        kind: "sync",
        commit,
        intent,
        isDescendant,
        deadline: Date.now() + timeoutMs,
        last: { synced: false, errors: [], reason: "not checked yet" },
        done: (s) => {
          this.#waiters.delete(w);
          signal.removeEventListener("abort", onAbort);
          resolve(s);
        },
      };
      const onAbort = () => {
        this.#waiters.delete(w);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#add(w);
    });
  }

  /**
   * Resolves once every Deployment, StatefulSet and DaemonSet of the package is available.
   * @param onWaiting told why not yet, on every tick
   * @throws the signal's reason when it aborts
   */
  waitAvailable(intent: string, pkg: string, signal: AbortSignal, onWaiting: (why: string) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      signal.throwIfAborted();
      const w: WorkloadWaiter = {
        kind: "workloads",
        intent,
        pkg,
        waiting: onWaiting,
        done: () => {
          this.#waiters.delete(w);
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#waiters.delete(w);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#add(w);
    });
  }

  #add(w: Waiter): void {
    this.#waiters.add(w);
    if (!this.#running) {
      this.#running = true;
      void this.#loop();
    }
  }

  async #loop(): Promise<void> {
    try {
      while (this.#waiters.size > 0) {
        const started = Date.now();
        await this.#tick();
        const rest = this.#pollMs - (Date.now() - started);
        if (this.#waiters.size > 0 && rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
    } finally {
      this.#running = false;
      // A waiter added while the loop was ending starts it again.
      if (this.#waiters.size > 0 && !this.#running) {
        this.#running = true;
        void this.#loop();
      }
    }
  }

  async #tick(): Promise<void> {
    const waiters = [...this.#waiters];
    const syncs = waiters.filter((w): w is SyncWaiter => w.kind === "sync");
    const loads = waiters.filter((w): w is WorkloadWaiter => w.kind === "workloads");
    await Promise.all([this.#tickSync(syncs), this.#tickWorkloads(loads)]);
  }

  async #tickSync(waiters: SyncWaiter[]): Promise<void> {
    if (waiters.length === 0) return;
    let rs: Record<string, unknown> | undefined;
    let failure: string | undefined;
    try {
      rs = await this.#edge.rootSync();
      if (!rs) failure = "no RootSync on the edge";
    } catch (err) {
      failure = (err as Error).message;
    }
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

  async #tickWorkloads(waiters: WorkloadWaiter[]): Promise<void> {
    if (waiters.length === 0) return;
    let all: WorkloadStatus[];
    try {
      all = await this.#edge.workloadsOf([...new Set(waiters.map((w) => w.intent))].sort());
    } catch (err) {
      for (const w of waiters) w.waiting(`${w.pkg} on ${this.#edge.name}: ${(err as Error).message}`);
      return;
    }
    const byPackage = new Map<string, WorkloadStatus[]>();
    for (const x of all) {
      const key = `${x.intent}/${x.package}`;
      byPackage.set(key, [...(byPackage.get(key) ?? []), x]);
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
  }
}
