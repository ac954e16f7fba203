/**
 * The emulator's object store: objects per resource type, one cluster-wide resourceVersion counter, and a
 * bounded history of changes from which watches resume; a watch from a version older than the history
 * answers 410 Gone, as etcd compaction makes the real server do.
 */
import { LabelIndex } from "./label-index.js";
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

/** The index key of an object's namespace (cluster-scoped objects have none). */
const nsKey = (ns: string | undefined) => (ns === undefined ? "\u0000" : ns);
const ALL = "\u0001";

export class ObjectStore {
  readonly #types = new Map<string, Map<string, KubeObject>>();
  /** Per type, per namespace, the keys of its objects: a namespace's objects listed without a scan of all. */
  readonly #byNamespace = new Map<string, Map<string, Set<string>>>();
  /** Per type and namespace (or all), its keys in list order; dropped when an object comes or goes. */
  readonly #sorted = new Map<string, string[]>();
  readonly #labels = new LabelIndex();
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

  /**
   * Objects of a type (in one namespace, or all), sorted by namespace and name as the server lists them. The
   * order is kept between calls until an object comes or goes, and a namespace is read from its own index, so
   * a controller asking per object about its namespace does not scan every object of the type each time.
   */
  list(typeKey: string, namespace?: string): KubeObject[] {
    const objects = this.#types.get(typeKey);
    if (!objects) return [];
    const cacheKey = `${typeKey}\u0000${namespace === undefined ? ALL : nsKey(namespace)}`;
    let keys = this.#sorted.get(cacheKey);
    if (!keys) {
      keys =
        namespace === undefined
          ? [...objects.keys()]
          : [...(this.#byNamespace.get(typeKey)?.get(nsKey(namespace)) ?? [])];
      keys.sort((a, b) => a.localeCompare(b));
      this.#sorted.set(cacheKey, keys);
    }
    return keys.map((k) => objects.get(k) as KubeObject);
  }

  /**
   * Objects of a type (in one namespace, or all) with label `key` set to one of `values`, in list order: read
   * from the label index, not from every object of the type.
   */
  listLabelled(typeKey: string, namespace: string | undefined, key: string, values: readonly string[]): KubeObject[] {
    const objects = this.#types.get(typeKey);
    if (!objects) return [];
    const found = [...this.#labels.keys(typeKey, key, values)].filter(
      (k) => namespace === undefined || nsOf(objects.get(k) as KubeObject) === namespace,
    );
    found.sort((a, b) => a.localeCompare(b));
    return found.map((k) => objects.get(k) as KubeObject);
  }

  /** Indexes a key that comes or goes, and drops the orders it changes. */
  #index(typeKey: string, ns: string | undefined, k: string, present: boolean): void {
    let byNs = this.#byNamespace.get(typeKey);
    if (!byNs) {
      byNs = new Map();
      this.#byNamespace.set(typeKey, byNs);
    }
    let keys = byNs.get(nsKey(ns));
    if (!keys) {
      keys = new Set();
      byNs.set(nsKey(ns), keys);
    }
    if (present) keys.add(k);
    else keys.delete(k);
    this.#sorted.delete(`${typeKey}\u0000${ALL}`);
    this.#sorted.delete(`${typeKey}\u0000${nsKey(ns)}`);
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
    const k = key(nsOf(object), String(object.metadata["name"]));
    this.#of(typeKey).set(k, object);
    if (!existed) this.#index(typeKey, nsOf(object), k, true);
    this.#labels.set(typeKey, k, object.metadata["labels"] as Record<string, unknown> | undefined);
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
    this.#index(typeKey, nsOf(object), k, false);
    this.#labels.set(typeKey, k, undefined);
    const rv = ++this.#rv;
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } } as KubeObject;
    this.#emit({ type: "DELETED", typeKey, object: deleted, rv });
    return deleted;
  }

  /**
   * The changes after a resourceVersion, oldest first (one per version), or undefined when the history no longer
   * reaches back to it: what moved since a reader last looked, without looking at every object.
   */
  changesSince(since: number): readonly StoreEvent[] | undefined {
    if (since >= this.#rv) return [];
    const oldest = this.#history[0];
    if (!oldest || oldest.rv > since + 1) return undefined;
    // Versions are consecutive in the history: the first change after `since` is at a known place.
    return this.#history.slice(since + 1 - oldest.rv);
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
