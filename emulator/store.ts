/**
 * The emulator's object store: objects per resource type, one cluster-wide resourceVersion counter, and a
 * bounded history of changes from which watches resume; a watch from a version older than the history
 * answers 410 Gone, as etcd compaction makes the real server do.
 */
import { gone } from "./status.js";

export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };
export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: EventType;
  typeKey: string;
  object: KubeObject;
  rv: number;
}

export interface Watcher {
  typeKey: string;
  namespace?: string;
  filter: (o: KubeObject) => boolean;
  send: (e: StoreEvent) => void;
}

export interface StoreOptions {
  /** Changes kept for watch resumption. Default 10,000. */
  historySize?: number;
}

const key = (ns: string | undefined, name: string) => `${ns ?? ""}/${name}`;
const nsOf = (o: KubeObject) => o.metadata["namespace"] as string | undefined;

export class ObjectStore {
  readonly #types = new Map<string, Map<string, KubeObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #historySize: number;
  readonly #watchers = new Set<Watcher>();
  #rv = 1;

  constructor(options: StoreOptions = {}) {
    this.#historySize = options.historySize ?? 10_000;
  }

  /** The latest resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  #of(typeKey: string): Map<string, KubeObject> {
    let m = this.#types.get(typeKey);
    if (!m) {
      m = new Map();
      this.#types.set(typeKey, m);
    }
    return m;
  }

  get(typeKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#types.get(typeKey)?.get(key(namespace, name));
  }

  /** Objects of a type (in one namespace, or all), sorted by namespace and name as the server lists them. */
  list(typeKey: string, namespace?: string): KubeObject[] {
    const all = [...(this.#types.get(typeKey)?.values() ?? [])].filter(
      (o) => namespace === undefined || nsOf(o) === namespace,
    );
    return all.sort((a, b) =>
      key(nsOf(a), String(a.metadata["name"])).localeCompare(key(nsOf(b), String(b.metadata["name"]))),
    );
  }

  /** Number of objects stored. */
  get size(): number {
    let n = 0;
    for (const m of this.#types.values()) n += m.size;
    return n;
  }

  #emit(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.#historySize) this.#history.shift();
    for (const w of this.#watchers) {
      if (w.typeKey !== event.typeKey) continue;
      if (w.namespace !== undefined && nsOf(event.object) !== w.namespace) continue;
      if (!w.filter(event.object)) continue;
      w.send(event);
    }
  }

  /** Stores an object (new or changed); sets and returns its new resourceVersion. */
  put(typeKey: string, object: KubeObject): KubeObject {
    const existed = this.get(typeKey, nsOf(object), String(object.metadata["name"])) !== undefined;
    const rv = ++this.#rv;
    object.metadata["resourceVersion"] = String(rv);
    this.#of(typeKey).set(key(nsOf(object), String(object.metadata["name"])), object);
    this.#emit({ type: existed ? "MODIFIED" : "ADDED", typeKey, object, rv });
    return object;
  }

  /** Removes an object; the DELETED event carries it with a new resourceVersion. */
  remove(typeKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const m = this.#types.get(typeKey);
    const k = key(namespace, name);
    const object = m?.get(k);
    if (!object || !m) return undefined;
    m.delete(k);
    const rv = ++this.#rv;
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } } as KubeObject;
    this.#emit({ type: "DELETED", typeKey, object: deleted, rv });
    return deleted;
  }

  /**
   * Watches a type from a resourceVersion: past events after it are replayed, then live ones follow.
   * Without a version, only live events. @throws ApiError 410 when the version is older than the history.
   */
  watch(w: Watcher, since?: number): () => void {
    if (since !== undefined && since < this.#rv) {
      const oldest = this.#history[0];
      if (!oldest || oldest.rv > since + 1)
        throw gone(`too old resource version: ${since} (${oldest ? oldest.rv - 1 : this.#rv})`);
      for (const e of this.#history) {
        if (e.rv <= since || e.typeKey !== w.typeKey) continue;
        if (w.namespace !== undefined && nsOf(e.object) !== w.namespace) continue;
        if (w.filter(e.object)) w.send(e);
      }
    }
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }
}
