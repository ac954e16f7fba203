/**
 * Where a deploy run's time goes: waiting for a turn, waiting on edges and peers (their syncs, dry runs,
 * rollouts, capacity readings, segment answers), and the rest — the agent's own work (planning, hydration,
 * commits, journal writes). Waits that overlap (two edges synced in parallel) count once: edge time is the time
 * during which at least one wait was under way. The same split is kept per step (each step's name as the step
 * list runs it: "commit", "wave 1: synced"; a step run twice adds up). Kept in the deployment's record (`timing`)
 * and served by GetDeployment, so that a slow deployment says whether the agent or its edges were slow, and where.
 */
import type { LiveDeployment } from "./deployment-store.js";
import { endRevision } from "./revision-history.js";

/** One step's time split, in milliseconds. */
export interface StepTimes {
  step: string;
  agentMs: number;
  edgeMs: number;
}

/** A run's time split, in milliseconds, in all and per step (in the order the steps first ran). */
export interface RunTimes {
  queueMs: number;
  agentMs: number;
  edgeMs: number;
  steps?: StepTimes[];
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * One string per step name, shared by every run's times: a name is built each time a step starts ("wave 1: " +
 * "synced"), and the times of every deployment are kept in its record for as long as it is known. The names are
 * few (the step lists, times the waves of an intent); past {@link MAX_NAMES} they are no longer shared.
 */
const names = new Map<string, string>();
const MAX_NAMES = 1000;

function shared(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  if (names.size < MAX_NAMES) names.set(name, name);
  return name;
}

export class RunTiming {
  readonly #start = performance.now();
  #queueMs = 0;
  #edgeMs = 0;
  #inFlight = 0;
  #since = 0;
  /** Per step name, its time so far; the step under way is added up to now. */
  readonly #steps = new Map<string, { wall: number; edge: number }>();
  #step: { name: string; at: number; edgeAt: number } | undefined;

  /** Counts the time spent waiting for a turn. */
  queued(ms: number): void {
    this.#queueMs += ms;
  }

  /** Runs `fn` as a wait on an edge or a peer. */
  async onEdge<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inFlight++ === 0) this.#since = performance.now();
    try {
      return await fn();
    } finally {
      if (--this.#inFlight === 0) this.#edgeMs += performance.now() - this.#since;
    }
  }

  /** Marks the start of the step `name` (the one before ends here). */
  step(name: string): void {
    const now = performance.now();
    this.#closeStep(now);
    this.#step = { name: shared(name), at: now, edgeAt: this.#edgeSoFar(now) };
  }

  /** The split so far. */
  times(): RunTimes {
    const now = performance.now();
    const edgeMs = this.#edgeSoFar(now);
    const steps = new Map([...this.#steps].map(([name, t]) => [name, { ...t }]));
    if (this.#step) {
      const t = steps.get(this.#step.name) ?? { wall: 0, edge: 0 };
      t.wall += now - this.#step.at;
      t.edge += edgeMs - this.#step.edgeAt;
      steps.set(this.#step.name, t);
    }
    return {
      queueMs: round(this.#queueMs),
      edgeMs: round(edgeMs),
      agentMs: round(Math.max(0, now - this.#start - this.#queueMs - edgeMs)),
      steps: [...steps].map(([step, t]) => ({
        step,
        agentMs: round(Math.max(0, t.wall - t.edge)),
        edgeMs: round(t.edge),
      })),
    };
  }

  #edgeSoFar(now: number): number {
    return this.#edgeMs + (this.#inFlight > 0 ? now - this.#since : 0);
  }

  #closeStep(now: number): void {
    if (!this.#step) return;
    const t = this.#steps.get(this.#step.name) ?? { wall: 0, edge: 0 };
    t.wall += now - this.#step.at;
    t.edge += this.#edgeSoFar(now) - this.#step.edgeAt;
    this.#steps.set(this.#step.name, t);
  }
}

/** Runs `fn` as a wait on an edge or a peer of `live`'s run (timed when the run is). */
export function onEdge<T>(live: LiveDeployment, fn: () => Promise<T>): Promise<T> {
  return live.timing ? live.timing.onEdge(fn) : fn();
}

/**
 * Ends `live`'s run in its record: the run's time split so far and its revision's history entry. The ready step
 * calls it before writing READY, so that one write holds all of it; the run's `finally` then brings the time split
 * up to date in memory (the write itself included), or, for a run that ends otherwise, ends it and writes it.
 */
export function endRun(live: LiveDeployment): void {
  if (live.timing) live.record.timing = live.timing.times();
  endRevision(live.record);
}
