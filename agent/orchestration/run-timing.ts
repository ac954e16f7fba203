/**
 * Where a deploy run's time goes: waiting for a turn, waiting on edges and peers (their syncs, dry runs,
 * rollouts, capacity readings, segment answers), and the rest — the agent's own work (planning, hydration,
 * commits, journal writes). Waits that overlap (two edges synced in parallel) count once: edge time is the time
 * during which at least one wait was under way. Kept in the deployment's record (`timing`) and served by
 * GetDeployment, so that a slow deployment says whether the agent or its edges were slow.
 */
import type { LiveDeployment } from "./deployment-store.js";

/** A run's time split, in milliseconds. */
export interface RunTimes {
  queueMs: number;
  agentMs: number;
  edgeMs: number;
}

export class RunTiming {
  readonly #start = performance.now();
  #queueMs = 0;
  #edgeMs = 0;
  #inFlight = 0;
  #since = 0;

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

  /** The split so far. */
  times(): RunTimes {
    const now = performance.now();
    const edgeMs = this.#edgeMs + (this.#inFlight > 0 ? now - this.#since : 0);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      queueMs: round(this.#queueMs),
      edgeMs: round(edgeMs),
      agentMs: round(Math.max(0, now - this.#start - this.#queueMs - edgeMs)),
    };
  }
}

/** Runs `fn` as a wait on an edge or a peer of `live`'s run (timed when the run is). */
export function onEdge<T>(live: LiveDeployment, fn: () => Promise<T>): Promise<T> {
  return live.timing ? live.timing.onEdge(fn) : fn();
}
