/**
 * Which keys changed lately, and when: a key heard of within the window is "recent". Kept small: past a few dozen
 * keys, those heard of longer ago than the window are forgotten, oldest first, as new ones come. For the edge
 * observer (edge-observer.ts): a wait that begins just after its intent's workloads changed is looked at the next
 * tick.
 */

/** Below this many, keys are kept however old (pruning a small map costs more than it saves). */
const KEPT = 64;

export class RecentChanges {
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Key → when it was last heard of, oldest first. */
  readonly #heard = new Map<string, number>();

  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Notes a change of `key` now. */
  hear(key: string): void {
    const now = this.#now();
    this.#heard.delete(key);
    this.#heard.set(key, now);
    if (this.#heard.size <= KEPT) return;
    for (const [k, at] of this.#heard) {
      if (now - at <= this.#windowMs) break;
      this.#heard.delete(k);
    }
  }

  /** Whether `key` was heard of within the window. */
  recent(key: string): boolean {
    const at = this.#heard.get(key);
    return at !== undefined && this.#now() - at <= this.#windowMs;
  }

  /** Keys kept (recent or not yet pruned). */
  get size(): number {
    return this.#heard.size;
  }
}
