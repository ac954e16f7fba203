/**
 * The parts of a running agent. Each component is built by agent.ts from its own config section with one
 * options object, started in order with the agent's lifetime signal, and closed in reverse order, so a part
 * is closed only after everything that uses it.
 */

/** A part of the agent with a lifetime. */
export interface Component {
  /** Shown in logs ("lifecycle", "edges"). */
  readonly name: string;
  /**
   * Starts the component. Work that goes on in the background (a registration, a watch) stops when `signal`
   * aborts. Throws when the component cannot start; the agent then closes what has started and exits.
   */
  start(signal: AbortSignal): Promise<void>;
  /** Stops the component and waits for its background work to end. Never throws. */
  close(): Promise<void>;
}

/** Components started in order and closed in reverse. */
export class ComponentSet {
  readonly #started: Component[] = [];
  readonly #stop = new AbortController();

  /** Aborts when the set closes: the signal each component was started with. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Starts `c`; when it throws, everything started before is closed and the error rethrown. */
  async start<C extends Component>(c: C): Promise<C> {
    try {
      await c.start(this.#stop.signal);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#started.push(c);
    return c;
  }

  /** Aborts the components' background work, then closes them in reverse order of starting. */
  async close(onError?: (name: string, err: unknown) => void): Promise<void> {
    this.#stop.abort();
    while (this.#started.length > 0) {
      const c = this.#started.pop() as Component;
      await c.close().catch((err: unknown) => onError?.(c.name, err));
    }
  }
}
