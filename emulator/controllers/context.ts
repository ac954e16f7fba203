/**
 * What every workload controller works through: the store, the clock, the writes of a reconcile (counted, so
 * passes repeat until one writes nothing), the namespaces a pass reconciles, the order in which pods came to
 * be, and the creation of owned objects with the metadata the API server would give them.
 */
import { randomUUID } from "node:crypto";
import type { KubeObject, ObjectStore } from "../store.js";
import {
  type Obj,
  PODS,
  clone,
  controllerUid,
  keyOf,
  nameOf,
  nameSuffix,
  nsOf,
  ownerRef,
  qosClass,
  sameObject,
  sameValue,
  uidOf,
} from "./common.js";
import { rec, strMap } from "./scheduler.js";

/** What a pass reconciles: every namespace, or only some (those changed since the last pass). */
export interface Scope {
  all: boolean;
  namespaces: ReadonlySet<string>;
}

/** A pass over everything. */
export const EVERYTHING: Scope = { all: true, namespaces: new Set() };

/** The shared state and writing helpers of the controllers. */
export class ControllerContext {
  readonly store: ObjectStore;
  readonly #now: () => Date;
  /** Objects written (stored or removed) so far. */
  writes = 0;
  /** What the current pass reconciles. */
  scope: Scope = EVERYTHING;
  /** Pod uid → the order in which pods came to be (scheduling queue order). */
  readonly order = new Map<string, number>();
  #sequence = 0;
  /** Per owner, how many names were generated (for the next suffix). */
  readonly #nameCounters = new Map<string, number>();
  /** Called when the controllers remove a pod (its uid). */
  onPodRemoved: (uid: string) => void = () => {};

  constructor(store: ObjectStore, now: () => Date) {
    this.store = store;
    this.#now = now;
  }

  /** The current time as the API server writes it (seconds). */
  stamp(): string {
    return this.#now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  /** Gives a pod the next place in the scheduling queue. */
  enqueue(uid: string): void {
    this.order.set(uid, this.#sequence++);
  }

  /**
   * The objects of a type in the pass's scope, in the store's order (by namespace and name): all of them, or
   * those of the namespaces the pass reconciles.
   */
  list(typeKey: string): KubeObject[] {
    const { all, namespaces } = this.scope;
    if (all) return this.store.list(typeKey);
    const out: KubeObject[] = [];
    for (const ns of namespaces) for (const o of this.store.list(typeKey, ns)) out.push(o);
    if (namespaces.size < 2) return out;
    const keyed = out.map((o) => ({ o, k: keyOf(o) }));
    keyed.sort((a, b) => a.k.localeCompare(b.k));
    return keyed.map((x) => x.o);
  }

  /** Whether the pass reconciles a namespace. */
  inScope(namespace: string | undefined): boolean {
    return this.scope.all || (namespace !== undefined && this.scope.namespaces.has(namespace));
  }

  /** Stores an object unless it is unchanged. */
  put(typeKey: string, o: KubeObject): void {
    const live = this.store.get(typeKey, nsOf(o), nameOf(o));
    if (live && (live === o || sameObject(live, o))) return;
    this.writes++;
    this.store.put(typeKey, o);
  }

  /** Stores an object with a new status, unless the status is the one it has (then nothing is copied). */
  putStatus(typeKey: string, o: KubeObject, status: Obj): void {
    if (sameValue(o["status"], status)) return;
    this.put(typeKey, { ...clone(o), status });
  }

  /** Removes an object (and forgets a pod's timers and place in the queue). */
  remove(typeKey: string, o: KubeObject): void {
    if (!this.store.remove(typeKey, nsOf(o), nameOf(o))) return;
    this.writes++;
    if (typeKey === PODS) this.onPodRemoved(uidOf(o));
  }

  /** Objects of a type in the owner's namespace whose controller is the owner. */
  owned(typeKey: string, owner: KubeObject): KubeObject[] {
    const uid = uidOf(owner);
    return this.store.list(typeKey, nsOf(owner)).filter((o) => controllerUid(o) === uid);
  }

  /** Metadata of a new object, as the API server completes it. */
  metadata(
    name: string,
    namespace: string | undefined,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    owner: Obj,
  ): Obj {
    const m: Obj = { name };
    if (namespace !== undefined) m["namespace"] = namespace;
    Object.assign(m, { uid: randomUUID(), creationTimestamp: this.stamp(), generation: 1 });
    if (Object.keys(labels).length > 0) m["labels"] = labels;
    if (Object.keys(annotations).length > 0) m["annotations"] = annotations;
    m["ownerReferences"] = [owner];
    return m;
  }

  /** An unused `<base>-<5 chars>` pod name. */
  generatedName(namespace: string | undefined, base: string): string {
    const key = `${namespace ?? ""}/${base}`;
    for (;;) {
      const n = this.#nameCounters.get(key) ?? 0;
      this.#nameCounters.set(key, n + 1);
      const name = `${base}-${nameSuffix(`${key}/${n}`)}`;
      if (!this.store.get(PODS, namespace, name)) return name;
    }
  }

  /** Creates a pod from a template, owned by a workload. */
  createPod(
    owner: KubeObject,
    kind: string,
    name: string,
    template: Obj,
    labels: Record<string, string>,
    extraSpec: Obj,
    generateName: boolean,
  ): void {
    if (this.store.get(PODS, nsOf(owner), name)) return;
    const tmeta = rec(template["metadata"]);
    const metadata = this.metadata(name, nsOf(owner), labels, strMap(tmeta["annotations"]), ownerRef(kind, owner));
    if (generateName) metadata["generateName"] = `${nameOf(owner)}-`;
    const spec: Obj = { ...clone(rec(template["spec"])), ...extraSpec };
    const pod: KubeObject = { metadata, spec, status: { phase: "Pending", qosClass: qosClass(spec) } };
    this.enqueue(uidOf(pod));
    this.put(PODS, pod);
  }
}
