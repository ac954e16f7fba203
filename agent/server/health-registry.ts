/**
 * Serving status per health service name ("" = the whole agent, "camino.v1.DomainManager", and one name per
 * dependency), with watchers. A degraded dependency turns only its own name NOT_SERVING, never the agent's.
 * On shutdown every name turns NOT_SERVING and watchers are told, then released.
 */
import { EventEmitter, on } from "node:events";
import { linkSignals } from "../util/signals.js";

export type ServingStatus = "SERVING" | "NOT_SERVING";

export class HealthRegistry {
  readonly #status = new Map<string, ServingStatus>();
  readonly #events = new EventEmitter();
  readonly #closed = new AbortController();

  constructor(initial: Readonly<Record<string, ServingStatus>> = {}) {
    this.#events.setMaxListeners(0);
    for (const [name, status] of Object.entries(initial)) this.#status.set(name, status);
  }

  /** The status of a service name, or undefined when the name is unknown. */
  get(service: string): ServingStatus | undefined {
    return this.#status.get(service);
  }

  /** Every known name and its status. */
  all(): Map<string, ServingStatus> {
    return new Map(this.#status);
  }

  set(service: string, status: ServingStatus): void {
    if (this.#status.get(service) === status) return;
    this.#status.set(service, status);
    this.#events.emit("change", service);
  }

  /** Whether {@link shutdown} was called. */
  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /**
   * Yields the status of `service` now and on every change (undefined while the name is unknown), until the
   * registry shuts down (after yielding NOT_SERVING) or `signal` aborts.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus | undefined> {
    // Linked, not AbortSignal.any: the registry's signal lives as long as the agent (see agent/util/signals.ts).
    const link = linkSignals(signal, this.#closed.signal);
    const changes = on(this.#events, "change", { signal: link.signal });
    let last: ServingStatus | undefined | null = null;
    const current = this.#status.get(service);
    yield current;
    last = current;
    try {
      for await (const [name] of changes) {
        if (name !== service) continue;
        const now = this.#status.get(service);
        if (now !== last) {
          last = now;
          yield now;
        }
      }
    } catch (err) {
      if (!link.signal.aborted) throw err;
    } finally {
      link.dispose();
    }
    if (this.#closed.signal.aborted && last !== "NOT_SERVING" && !signal.aborted) yield "NOT_SERVING";
  }

  /** Turns every name NOT_SERVING and ends every watch. */
  shutdown(): void {
    if (this.#closed.signal.aborted) return;
    for (const name of this.#status.keys()) this.#status.set(name, "NOT_SERVING");
    this.#closed.abort();
  }
}
