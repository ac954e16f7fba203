/**
 * An edge's capacity from its nodes and pods, as the scheduler counts it: a node's allocatable resources less
 * the requests of the pods bound to it that have not terminated. Pure arithmetic on API objects.
 */
import type { V1Container, V1Node, V1Pod } from "@kubernetes/client-node";
import { millisOf, unitsOf } from "../../common/quantity.js";

/** CPU, memory and pod slots. */
export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

/** One node's resources. `free` may be negative when pods were bound beyond what the node allows. */
export interface NodeCapacity {
  name: string;
  ready: boolean;
  allocatable: Resources;
  requested: Resources;
  free: Resources;
}

/** Per node, and in total over the Ready nodes. */
export interface EdgeCapacity {
  nodes: NodeCapacity[];
  allocatable: Resources;
  requested: Resources;
  free: Resources;
  /** Requests of scheduled pods per CAMINO package, keyed `<intent>/<package>` (from the pods' camino.io labels). */
  byPackage: PackageRequests;
}

/** Requests per CAMINO package (`<intent>/<package>`), as a reading saw them. */
export interface PackageRequests {
  get(key: string): Resources | undefined;
  entries(): Iterable<[string, Resources]>;
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

const add = (a: Resources, b: Resources): Resources => ({
  cpuMillis: a.cpuMillis + b.cpuMillis,
  memoryBytes: a.memoryBytes + b.memoryBytes,
  pods: a.pods + b.pods,
});

const sub = (a: Resources, b: Resources): Resources => ({
  cpuMillis: a.cpuMillis - b.cpuMillis,
  memoryBytes: a.memoryBytes - b.memoryBytes,
  pods: a.pods - b.pods,
});

/** A container's requests; a container with limits and no requests requests its limits, as the API defaults it. */
function requestsOf(c: V1Container): Resources {
  const r = c.resources?.requests ?? c.resources?.limits ?? {};
  return { cpuMillis: millisOf(r["cpu"]), memoryBytes: unitsOf(r["memory"]), pods: 0 };
}

/**
 * What one pod takes from its node: one pod slot, and the larger of its containers' sum and its largest init
 * container (init containers run one at a time, before the others).
 */
export function podRequests(pod: V1Pod): Resources {
  let r: Resources = (pod.spec?.containers ?? []).reduce((acc, c) => add(acc, requestsOf(c)), { ...ZERO, pods: 1 });
  for (const c of pod.spec?.initContainers ?? []) {
    const init = requestsOf(c);
    r = {
      cpuMillis: Math.max(r.cpuMillis, init.cpuMillis),
      memoryBytes: Math.max(r.memoryBytes, init.memoryBytes),
      pods: 1,
    };
  }
  return r;
}

/** Whether a pod holds resources: bound to a node, and not Succeeded or Failed. */
const holdsResources = (p: V1Pod): boolean =>
  Boolean(p.spec?.nodeName) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

/** What one pod holds: its node, its requests, and its CAMINO package (`<intent>/<package>`), if any. */
interface Holding {
  node: string;
  requests: Resources;
  pkg: string | undefined;
}

function holdingOf(p: V1Pod): Holding | undefined {
  if (!holdsResources(p)) return undefined;
  const labels = p.metadata?.labels ?? {};
  const intent = labels["camino.io/intent"];
  const pkg = labels["camino.io/package"];
  return {
    node: p.spec?.nodeName as string,
    requests: podRequests(p),
    pkg: intent && pkg ? `${intent}/${pkg}` : undefined,
  };
}

/**
 * Requests per package as they were when a reading was taken: the packages changed since keep, here, the value
 * they had then (absent: none), filled in by {@link PodRequests} as it changes them.
 */
class PackageView implements PackageRequests {
  readonly before = new Map<string, Resources | undefined>();
  readonly #now: ReadonlyMap<string, Resources>;

  constructor(now: ReadonlyMap<string, Resources>) {
    this.#now = now;
  }

  get(key: string): Resources | undefined {
    return this.before.has(key) ? this.before.get(key) : this.#now.get(key);
  }

  *entries(): IterableIterator<[string, Resources]> {
    for (const [key, now] of this.#now) {
      const r = this.before.has(key) ? this.before.get(key) : now;
      if (r) yield [key, r];
    }
    for (const [key, r] of this.before) if (r && !this.#now.has(key)) yield [key, r];
  }
}

/**
 * The requests of an edge's pods, per node and per CAMINO package, kept as pods come, change and go: a reading
 * costs the number of nodes and packages, not of pods (the edge's pods are kept by a watch, edge-client.ts).
 */
export class PodRequests {
  readonly #byPod = new Map<string, Holding>();
  readonly #byNode = new Map<string, Resources>();
  readonly #byPackage = new Map<string, Resources>();
  /**
   * The readings' views of `#byPackage` that may still be read: a change first gives each the value it replaces.
   * Held weakly: a view no one holds any more needs nothing (a copy of the map per reading, as before, cost 3 ms
   * of CPU per deployment at 10,000 intents).
   */
  #views: WeakRef<PackageView>[] = [];

  /** A pod as it is now (added or changed), or gone (`deleted`). */
  apply(pod: V1Pod, deleted = false): void {
    const key = `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
    const before = this.#byPod.get(key);
    const after = deleted ? undefined : holdingOf(pod);
    if (before) this.#move(before, sub);
    if (after) {
      this.#byPod.set(key, after);
      this.#move(after, add);
    } else this.#byPod.delete(key);
  }

  #move(h: Holding, op: (a: Resources, b: Resources) => Resources): void {
    const node = op(this.#byNode.get(h.node) ?? ZERO, h.requests);
    if (node.pods === 0) this.#byNode.delete(h.node);
    else this.#byNode.set(h.node, node);
    if (!h.pkg) return;
    const was = this.#byPackage.get(h.pkg);
    if (this.#views.length > 0) this.#keepFor(h.pkg, was);
    const pkg = op(was ?? ZERO, h.requests);
    if (pkg.pods === 0) this.#byPackage.delete(h.pkg);
    else this.#byPackage.set(h.pkg, pkg);
  }

  /** Gives each view still held the value `key` had when it was taken (the first change since decides). */
  #keepFor(key: string, was: Resources | undefined): void {
    let held = 0;
    for (const ref of this.#views) {
      const view = ref.deref();
      if (!view) continue;
      if (!view.before.has(key)) view.before.set(key, was);
      this.#views[held++] = ref;
    }
    this.#views.length = held;
  }

  /** Requests per node. */
  byNode(): ReadonlyMap<string, Resources> {
    return this.#byNode;
  }

  /** Requests per package, as they are now: the reading's own view, never changed by what comes after. */
  byPackage(): PackageRequests {
    const view = new PackageView(this.#byPackage);
    // Views let go are dropped at the next change, or here when readings come with no change between.
    if (this.#views.length >= 64) this.#views = this.#views.filter((ref) => ref.deref() !== undefined);
    this.#views.push(new WeakRef(view));
    return view;
  }
}

/**
 * Allocatable, requested (by pods that have not terminated) and free CPU, memory and pods, per node and in
 * total. The totals count Ready nodes only: nothing new is scheduled on a node that is not Ready.
 * @example const c = capacityOf((await core.listNode()).items, (await core.listPodForAllNamespaces()).items);
 */
export function capacityOf(nodes: readonly V1Node[], pods: readonly V1Pod[]): EdgeCapacity {
  const sums = new PodRequests();
  for (const p of pods) sums.apply(p);
  return capacityFrom(nodes, sums);
}

/** {@link capacityOf} with the pods' requests already summed. */
export function capacityFrom(nodes: readonly V1Node[], pods: PodRequests): EdgeCapacity {
  const requested = pods.byNode();
  const perNode = nodes.map((n): NodeCapacity => {
    const a = n.status?.allocatable ?? {};
    const allocatable = {
      cpuMillis: millisOf(a["cpu"]),
      memoryBytes: unitsOf(a["memory"]),
      pods: Number(a["pods"] ?? 0),
    };
    const used = requested.get(n.metadata?.name ?? "") ?? ZERO;
    const ready = (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    return { name: n.metadata?.name ?? "", ready, allocatable, requested: used, free: sub(allocatable, used) };
  });
  const ready = perNode.filter((n) => n.ready);
  const total = (f: (n: NodeCapacity) => Resources) => ready.reduce((acc, n) => add(acc, f(n)), ZERO);
  return {
    nodes: perNode,
    allocatable: total((n) => n.allocatable),
    requested: total((n) => n.requested),
    free: total((n) => n.free),
    byPackage: pods.byPackage(),
  };
}
