/**
 * Turns to deploy: at most `maxConcurrent` runs deploy at once, later ones wait first come, first served, so
 * under a burst the runs under way finish instead of all slowing down together.
 */
import { abortReason } from "../util/signals.js";

export interface RunQueueOptions {
  /** Runs deploying at once. */
  maxConcurrent: number;
}

export class RunQueue {
  readonly #max: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: RunQueueOptions) {
    this.#max = options.maxConcurrent;
  }

  /** Runs under way, and runs waiting for a turn. */
  get counts(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /**
   * Waits for a turn; resolves with the function that gives it back (idempotent).
   * @param onWait told once when the caller has to wait, with the counts at that moment
   * @throws the signal's reason when it aborts while waiting
   */
  async take(
    signal: AbortSignal,
    onWait?: (counts: { running: number; waiting: number }) => void,
  ): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#running >= this.#max) {
      onWait?.(this.counts);
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(go);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(abortReason(signal));
        };
        this.#waiting.push(go);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    } else this.#running++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#waiting.shift();
      // The turn passes straight to the next in line; the count stays.
      if (next) next();
      else this.#running--;
    };
  }
}
