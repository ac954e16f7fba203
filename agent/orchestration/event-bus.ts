/**
 * The lifecycle's event bus: every state change of a deployment and of its packages, and every progress note,
 * is published here, kept in the deployment's record (bounded) and sent to its watchers. It is public inside
 * the agent: the run, rollback and termination publish to it, and so will alerts and peer segments, so that
 * `WatchDeployment` shows everything that happens to a deployment in one stream.
 */
import { MAX_EVENTS_KEPT, SETTLED, type DeploymentRecord, type EventRecord, type StateName } from "./journal.js";
import type { LiveDeployment } from "./deployment-store.js";

/** Told of each event of one intent. */
export type EventListener = (e: EventRecord) => void;

/** Told of every event of every intent, with the deployment's record (the agent's own metrics). */
export type EventTap = (record: DeploymentRecord, e: EventRecord) => void;

/** How a watch runs. */
export interface WatchOptions {
  /**
   * Keep the stream open after the run settles: what happens to the deployment later (alerts firing and
   * resolving, later runs) is sent until `signal` aborts.
   */
  follow?: boolean;
  /** The intent's deployment now (a later submission may replace the one the watch started with). */
  current?: () => LiveDeployment | undefined;
}

/** What a watcher is sent: the deployment's record as it is now, and the event. */
export interface WatchedEvent {
  record: DeploymentRecord;
  event: EventRecord;
}

export class EventBus {
  readonly #listeners = new Map<string, Set<EventListener>>();
  readonly #taps = new Set<EventTap>();
  /** Per intent, the last event still waiting to be sent (for its journal write, or for one before it). */
  readonly #delivering = new Map<string, Promise<void>>();

  /** Listens to one intent's events until the returned function is called. */
  subscribe(intent: string, listener: EventListener): () => void {
    let set = this.#listeners.get(intent);
    if (!set) {
      set = new Set();
      this.#listeners.set(intent, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(intent) === set) this.#listeners.delete(intent);
    };
  }

  /** Listens to every intent's events until the returned function is called. A tap must not throw. */
  tap(listener: EventTap): () => void {
    this.#taps.add(listener);
    return () => void this.#taps.delete(listener);
  }

  /**
   * Publishes an event of `record`'s deployment: kept in the record (the last {@link MAX_EVENTS_KEPT}) unless
   * `keep` is false, and sent to the intent's listeners.
   */
  publish(record: DeploymentRecord, e: EventRecord, keep = true, durable?: Promise<unknown>): void {
    if (keep) {
      record.events.push(e);
      if (record.events.length > MAX_EVENTS_KEPT) record.events.splice(0, record.events.length - MAX_EVENTS_KEPT);
    }
    for (const t of this.#taps) t(record, e);
    const intent = record.intent;
    const before = this.#delivering.get(intent);
    if (!before && !durable) {
      this.#deliver(intent, e);
      return;
    }
    // In order, and each once the journal write holding it has ended (`durable` never rejects).
    const next: Promise<void> = Promise.all([before, durable]).then(() => {
      // No longer pending before any listener hears it: a watch woken by the last one may end.
      if (this.#delivering.get(intent) === next) this.#delivering.delete(intent);
      this.#deliver(intent, e);
    });
    this.#delivering.set(intent, next);
  }

  #deliver(intent: string, e: EventRecord): void {
    for (const l of this.#listeners.get(intent) ?? []) l(e);
  }

  /** Wakes the intent's watchers to see that its run is over (an event not kept, not sent on). */
  settled(live: LiveDeployment): void {
    const r = live.record;
    this.publish(
      r,
      { time: new Date().toISOString(), package: "", state: r.state, reason: r.reason, kind: "settled", wave: 0 },
      false,
    );
  }

  /**
   * A deployment's events: those after `since` (or, when absent, a snapshot of the intent's and every package's
   * current state), then live ones until the deployment settles (with `follow`, until) `signal` aborts.
   */
  async *watch(
    live: LiveDeployment,
    since: Date | undefined,
    signal: AbortSignal,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchedEvent> {
    const now = () => options.current?.() ?? live;
    const queue: EventRecord[] = [];
    // Events kept in the record before they were sent (waiting on the journal): sent from the record, not again.
    const sent = new Set<EventRecord>();
    let wake: (() => void) | undefined;
    const unsubscribe = this.subscribe(live.record.intent, (e) => {
      // "settled" only wakes the watcher: the run is over, its state event was sent before it.
      if (e.kind !== "settled" && !sent.has(e)) queue.push(e);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      const r = live.record;
      if (since) {
        // A copy: events published while these are sent arrive through the queue, once.
        for (const e of [...r.events]) {
          if (new Date(e.time) <= since) continue;
          sent.add(e);
          yield { record: r, event: e };
        }
      } else {
        yield { record: r, event: snapshot(r.updatedAt, "", r.state, r.reason, 0) };
        for (const p of r.packages)
          yield { record: r, event: snapshot(p.updatedAt, p.package, p.state, p.reason, p.wave) };
      }
      while (!signal.aborted) {
        while (queue.length > 0) yield { record: now().record, event: queue.shift() as EventRecord };
        const current = now();
        const unsent = this.#delivering.has(current.record.intent);
        if (!options.follow && SETTLED.has(current.record.state) && !current.controller && !unsent) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function snapshot(time: string, pkg: string, state: StateName, reason: string, wave: number): EventRecord {
  return { time, package: pkg, state, reason, kind: "state", wave };
}
