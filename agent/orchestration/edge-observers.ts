/**
 * One {@link EdgeObserver} per edge, shared by every deployment (its runs' waits and, once settled, its health
 * watch), made on first use and closed at shutdown.
 */
import type { EdgeClient } from "../edge/edge-client.js";
import { EdgeObserver } from "./edge-observer.js";

export class EdgeObservers {
  readonly #pollMs: number;
  readonly #observers = new Map<string, EdgeObserver>();

  /** @param pollMs how often an observer asks its edge while anyone waits or watches */
  constructor(pollMs: number) {
    this.#pollMs = pollMs;
  }

  /** The observer of `edge`. */
  of(edge: EdgeClient): EdgeObserver {
    let o = this.#observers.get(edge.name);
    if (!o) {
      o = new EdgeObserver(edge, this.#pollMs);
      this.#observers.set(edge.name, o);
    }
    return o;
  }

  /** How many observers there are: one per edge asked about so far, whatever the number of intents. */
  get size(): number {
    return this.#observers.size;
  }

  /** Stops every observer: calls under way are aborted, waiters are rejected. */
  close(): void {
    for (const o of this.#observers.values()) o.close();
    this.#observers.clear();
  }
}
