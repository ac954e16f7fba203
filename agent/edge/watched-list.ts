/**
 * A kind of object of one edge kept in memory by list-and-watch (the client's ListWatch: one list, then one watch
 * stream from its resourceVersion), so that readers ask memory instead of listing every object of the edge each
 * time. What a reading costs then stays flat however full the edge is; the edge pays one stream per kind.
 *
 * {@link WatchedList.live} says whether the copy may be used: the list has been read and the stream is open. A
 * failed list or stream makes it not live until a later attempt succeeds (retried with a growing pause, from the
 * last resourceVersion, so nothing is missed; a version the edge no longer keeps is listed again). Readers fall
 * back to a listing while it is not live. A stream that stays open while the edge stops answering (a partition)
 * is not noticed here: readers pair the copy with a request of their own (the nodes, the RootSync), whose failure
 * says the edge is unreachable.
 */
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";

/** What a change did: the object as it is now (as it was, for a delete). */
export type Change<T> = (kind: "add" | "update" | "delete", object: T) => void;

export interface WatchedListOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's path, e.g. `/api/v1/pods` (every namespace). */
  path: string;
  /** The list call (through the edge's transport: deadline, health, errors explained). */
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /**
   * What of each object is kept (the fields readers use): the rest is dropped as it arrives, so the copy's memory
   * is what readers need, not the full objects (managedFields alone are most of a pod). Default: everything.
   */
  slim?: (object: T) => T;
  /** Told every change, in order, after the copy has it. */
  onChange?: Change<T>;
  /** The first pause before a retry, doubled up to `maxRetryMs`. Default 250 ms, up to 5 s. */
  retryMs?: number;
  maxRetryMs?: number;
}

export class WatchedList<T extends KubernetesObject> {
  readonly #o: WatchedListOptions<T>;
  #lw: ListWatch<T> | undefined;
  #live = false;
  #stopped = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #pause: number;
  #lastError = "";

  constructor(options: WatchedListOptions<T>) {
    this.#o = options;
    this.#pause = options.retryMs ?? 250;
  }

  /** Whether the copy may be read: listed, and its stream open since. */
  get live(): boolean {
    return this.#live;
  }

  /** Why it is not live, when the last attempt failed. */
  get lastError(): string {
    return this.#lastError;
  }

  /** Starts keeping the copy (once; later calls do nothing). */
  start(): void {
    if (this.#lw || this.#stopped) return;
    const slim = this.#o.slim;
    const watch = new Watch(this.#o.kubeConfig);
    const list = this.#o.list;
    const lw = new ListWatch<T>(
      this.#o.path,
      slim ? slimmed(watch, slim) : watch,
      slim
        ? async () => {
            const l = await list();
            return { ...l, items: l.items.map(slim) };
          }
        : list,
      false,
      this.#o.labelSelector,
    );
    this.#lw = lw;
    const told = this.#o.onChange;
    if (told) {
      lw.on("add", (o) => told("add", o));
      lw.on("update", (o) => told("update", o));
      lw.on("delete", (o) => told("delete", o));
    }
    lw.on("error", (err: unknown) => {
      this.#failures++;
      this.#live = false;
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#again();
    });
    void this.#attempt();
  }

  /** The objects as last heard (only meaningful while {@link live}). */
  items(): readonly T[] {
    return this.#lw?.list() ?? [];
  }

  /** Stops the stream and any retry; the copy is no longer live. */
  stop(): void {
    this.#stopped = true;
    this.#live = false;
    if (this.#retry) clearTimeout(this.#retry);
    void this.#lw?.stop();
  }

  async #attempt(): Promise<void> {
    const before = this.#failures;
    try {
      await this.#lw?.start();
    } catch (err) {
      // ListWatch reports through "error"; a throw here is one it did not catch.
      this.#failures++;
      this.#lastError = (err as Error).message;
      return this.#again();
    }
    if (this.#failures === before && !this.#stopped) {
      this.#live = true;
      this.#pause = this.#o.retryMs ?? 250;
    }
  }

  #again(): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#stopped) void this.#attempt();
    }, this.#pause);
    this.#retry.unref();
    this.#pause = Math.min(this.#pause * 2, this.#o.maxRetryMs ?? 5000);
  }
}

/** A Watch whose events carry `slim(object)` instead of the object (status and bookmark events as they are). */
function slimmed<T>(watch: Watch, slim: (object: T) => T): Watch {
  const wrapped = Object.create(watch) as Watch;
  wrapped.watch = (path, query, callback, done) =>
    watch.watch(
      path,
      query,
      (phase, object, event) =>
        callback(phase, phase === "ERROR" || phase === "BOOKMARK" ? object : slim(object as T), event),
      done,
    );
  return wrapped;
}
