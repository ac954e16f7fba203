/**
 * What changed since the controllers last looked, read from the store's watch events: the namespaces whose
 * workloads or pods changed (or "everything", after a node changed or at first), and, kept up to date event
 * by event, what is cluster-wide: per node the requests of the pods occupying it and the pod IPs in use, the
 * pods waiting for the scheduler, and the bound pods their kubelet has not admitted. So a reconcile reads
 * what changed, not everything that exists.
 */
import type { KubeObject, StoreEvent } from "../store.js";
import { NODES, PODS, keyOf, nameOf, nodeNameOf, nsOf, specOf, statusOf } from "./common.js";
import type { Scope } from "./context.js";
import { DEFAULT_SCHEDULER, type NodeUsage, addUsage, isTerminated, occupiesNode } from "./scheduler.js";

/** What the index holds of one pod. */
interface PodEntry {
  namespace: string | undefined;
  name: string;
  /** The node it occupies and what it requests there. */
  occupies?: { node: string; usage: NodeUsage };
  /** Unbound, not terminated, for the default scheduler. */
  pending: boolean;
  /** Bound, not terminated, not (yet) admitted by its node's kubelet. */
  unadmitted: boolean;
  /** Its node and pod IP, when it has both. */
  ip?: { node: string; address: string };
}

/** A pod's name, as the index gives it for a store lookup. */
export interface PodRef {
  namespace: string | undefined;
  name: string;
}

function entryOf(pod: KubeObject): PodEntry {
  const node = nodeNameOf(pod);
  const entry: PodEntry = {
    namespace: nsOf(pod),
    name: nameOf(pod),
    pending:
      node === undefined &&
      !isTerminated(pod) &&
      (specOf(pod)["schedulerName"] ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER,
    unadmitted: node !== undefined && !isTerminated(pod) && !occupiesNode(pod),
  };
  if (node !== undefined && occupiesNode(pod)) {
    const one = new Map<string, NodeUsage>();
    addUsage(one, node, pod);
    entry.occupies = { node, usage: one.get(node) as NodeUsage };
  }
  const ip = statusOf(pod)["podIP"];
  if (typeof ip === "string" && node !== undefined) entry.ip = { node, address: ip };
  return entry;
}

function sameUsage(a: PodEntry["occupies"], b: PodEntry["occupies"]): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.node !== b.node || a.usage.pods !== b.usage.pods) return false;
  if (a.usage.nonZero.cpu !== b.usage.nonZero.cpu || a.usage.nonZero.memory !== b.usage.nonZero.memory) return false;
  const x = a.usage.requested;
  const y = b.usage.requested;
  return x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
}

/** A copy of a node's usage, to add to without changing the index. */
export function copyUsage(u: NodeUsage): NodeUsage {
  return { requested: new Map(u.requested), nonZero: { ...u.nonZero }, pods: u.pods };
}

/** The namespaces (or everything) to reconcile, and the cluster-wide sums, kept from store events. */
export class ChangeTracker {
  #everything = true;
  #dirty = new Set<string>();
  readonly #pods = new Map<string, PodEntry>();
  /** Per node, what the pods occupying it request together (absent: no pod occupies it). */
  readonly usage = new Map<string, NodeUsage>();
  /** Nodes whose usage changed since `takeChangedNodes`. */
  readonly #changedNodes = new Set<string>();
  /** Whether any node's usage changed since the scheduler (kubelets) last asked. */
  readonly #usageChanged = { scheduler: true, kubelets: true };
  readonly #pending = new Set<string>();
  readonly #unadmitted = new Set<string>();
  /** Per node, pod IP → how many pods have it. */
  readonly #ips = new Map<string, Map<string, number>>();

  /** Takes in a change of a watched type. */
  observe(e: StoreEvent): void {
    if (e.typeKey === NODES) {
      this.#everything = true;
      return;
    }
    this.markNamespace(nsOf(e.object));
    if (e.typeKey === PODS) this.#indexPod(e.object, e.type === "DELETED");
  }

  /** Has the next pass reconcile a namespace (everything, for an object without one). */
  markNamespace(namespace: string | undefined): void {
    if (namespace === undefined) this.#everything = true;
    else this.#dirty.add(namespace);
  }

  /** Has the next pass reconcile everything. */
  markEverything(): void {
    this.#everything = true;
  }

  /** What the next pass reconciles; what changes from now on is for the pass after it. */
  takeScope(): Scope {
    const scope: Scope = { all: this.#everything, namespaces: this.#dirty };
    this.#everything = false;
    this.#dirty = new Set();
    return scope;
  }

  /** Whether some node's usage changed since this asker last asked. */
  takeUsageChange(asker: "scheduler" | "kubelets"): boolean {
    const changed = this.#usageChanged[asker];
    this.#usageChanged[asker] = false;
    return changed;
  }

  /** The nodes whose usage changed since the last call. */
  takeChangedNodes(): string[] {
    const nodes = [...this.#changedNodes];
    this.#changedNodes.clear();
    return nodes;
  }

  /** The pods waiting for the scheduler. */
  pendingPods(): PodRef[] {
    return [...this.#pending].map((k) => this.#pods.get(k) as PodEntry);
  }

  /** The bound pods not admitted by their node's kubelet. */
  unadmittedPods(): PodRef[] {
    return [...this.#unadmitted].map((k) => this.#pods.get(k) as PodEntry);
  }

  /** The pod IPs in use on a node (a copy). */
  ipsOn(node: string): Set<string> {
    return new Set(this.#ips.get(node)?.keys());
  }

  #indexPod(pod: KubeObject, deleted: boolean): void {
    const key = keyOf(pod);
    const old = this.#pods.get(key);
    const next = deleted ? undefined : entryOf(pod);
    if (next) this.#pods.set(key, next);
    else this.#pods.delete(key);
    if (!sameUsage(old?.occupies, next?.occupies)) {
      if (old?.occupies) this.#addUsage(old.occupies.node, old.occupies.usage, -1);
      if (next?.occupies) this.#addUsage(next.occupies.node, next.occupies.usage, 1);
    }
    if (old?.ip) this.#countIp(old.ip.node, old.ip.address, -1);
    if (next?.ip) this.#countIp(next.ip.node, next.ip.address, 1);
    if (next?.pending) this.#pending.add(key);
    else this.#pending.delete(key);
    if (next?.unadmitted) this.#unadmitted.add(key);
    else this.#unadmitted.delete(key);
  }

  #addUsage(node: string, part: NodeUsage, sign: 1 | -1): void {
    this.#changedNodes.add(node);
    this.#usageChanged.scheduler = true;
    this.#usageChanged.kubelets = true;
    let u = this.usage.get(node);
    if (!u) {
      u = { requested: new Map(), nonZero: { cpu: 0n, memory: 0n }, pods: 0 };
      this.usage.set(node, u);
    }
    const s = BigInt(sign);
    for (const [k, v] of part.requested) u.requested.set(k, (u.requested.get(k) ?? 0n) + s * v);
    u.nonZero.cpu += s * part.nonZero.cpu;
    u.nonZero.memory += s * part.nonZero.memory;
    u.pods += sign * part.pods;
    if (u.pods <= 0) this.usage.delete(node);
  }

  #countIp(node: string, address: string, delta: 1 | -1): void {
    let ips = this.#ips.get(node);
    if (!ips) {
      ips = new Map();
      this.#ips.set(node, ips);
    }
    const n = (ips.get(address) ?? 0) + delta;
    if (n > 0) ips.set(address, n);
    else ips.delete(address);
    if (ips.size === 0) this.#ips.delete(node);
  }
}
