/**
 * The kubelets: admit pods bound to their (Ready) node — those bound by their creator only if they fit — and
 * start them: at once, or after `podStartDelayMs` (ContainerCreating meanwhile). Readiness probes are not
 * run: containers are ready once started, unless their workload is named by the `unavailable` fault.
 */
import type { KubeObject } from "../store.js";
import {
  NODES,
  PODS,
  REPLICASETS,
  clone,
  isPodReady,
  isRunningReady,
  keyOf,
  nameOf,
  nodeNameOf,
  nsOf,
  specOf,
  statusOf,
  uidOf,
} from "./common.js";
import type { ControllerContext } from "./context.js";
import { creatingStatus, runningStatus, unreadyStatus } from "./pod-status.js";
import {
  type NodeUsage,
  addUsage,
  admissionFailure,
  arr,
  isNodeReady,
  isTerminated,
  occupiesNode,
} from "./scheduler.js";
import { type ChangeTracker, type PodRef, copyUsage } from "./tracker.js";

/** How the kubelets are wired. */
export interface KubeletOptions {
  ctx: ControllerContext;
  tracker: ChangeTracker;
  /** How long a bound pod's containers take to start, in ms (0: on the same pass). */
  delayMs: number;
  /** Workloads ("namespace/name") whose pods run but never become Ready. */
  unavailable: () => ReadonlySet<string>;
  /** Called when a pod's start delay has passed (with its namespace). */
  onStartable: (namespace: string | undefined) => void;
}

/** The kubelets of every node, with the pod-start timers and per-node IP allocation they keep. */
export class Kubelets {
  readonly #o: KubeletOptions;
  /** Pod uid → the timer after which its containers start. */
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Pod uids whose start delay has passed. */
  readonly #startable = new Set<string>();
  /** Pod uid (timed or startable) → its pod. */
  readonly #refs = new Map<string, PodRef>();
  /** Per node, the next host number to try for a pod IP. */
  readonly #nextIp = new Map<string, number>();

  constructor(options: KubeletOptions) {
    this.#o = options;
  }

  /** Admits and starts the pods of the pass's scope, and those waiting for room if room changed. */
  run(): void {
    const { ctx, tracker } = this.#o;
    const nodes = new Map(ctx.store.list(NODES).map((n) => [nameOf(n), n]));
    const usage = new UsageView(tracker);
    const ips = new Map<string, Set<string>>();
    const unavailable = this.#o.unavailable();
    for (const pod of this.#pods()) {
      const uid = uidOf(pod);
      const nodeName = nodeNameOf(pod);
      const node = nodeName === undefined ? undefined : nodes.get(nodeName);
      if (nodeName === undefined || !node || isTerminated(pod) || !isNodeReady(node)) continue;
      if (!occupiesNode(pod)) {
        const failure = admissionFailure(pod, node, usage.of(nodeName));
        if (failure) {
          ctx.put(PODS, {
            ...clone(pod),
            status: { ...statusOf(pod), phase: "Pending", reason: failure.reason, message: failure.message },
          });
          continue;
        }
        usage.add(nodeName, pod);
      }
      const neverReady = unavailable.size > 0 && unavailable.has(this.#workloadOf(pod) ?? "");
      if (neverReady && statusOf(pod)["phase"] === "Running") {
        if (isPodReady(pod)) ctx.put(PODS, { ...clone(pod), status: unreadyStatus(pod, () => ctx.stamp()) });
        continue;
      }
      if (isRunningReady(pod)) continue;
      if (this.#o.delayMs === 0 || this.#startable.has(uid)) {
        const used = ips.get(nodeName) ?? tracker.ipsOn(nodeName);
        ips.set(nodeName, used);
        const status = runningStatus(
          pod,
          node,
          () => ctx.stamp(),
          () => this.#allocateIp(node, used),
        );
        const running: KubeObject = { ...clone(pod), status };
        ctx.put(PODS, neverReady ? { ...running, status: unreadyStatus(running, () => ctx.stamp()) } : running);
      } else {
        ctx.put(PODS, { ...clone(pod), status: creatingStatus(pod, node, () => ctx.stamp()) });
        this.#armTimer(pod);
      }
    }
    this.#forgetGone();
  }

  /** Forgets a pod's start timer. */
  forget(uid: string): void {
    const t = this.#timers.get(uid);
    if (t) clearTimeout(t);
    this.#timers.delete(uid);
    this.#startable.delete(uid);
    this.#refs.delete(uid);
  }

  /** Clears every pending start timer. */
  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /**
   * The pods to look at, in the store's order: the scope's, and, when some node's usage changed, the bound
   * pods not admitted yet wherever they are (room may have come for them).
   */
  #pods(): KubeObject[] {
    const { ctx, tracker } = this.#o;
    const pods = ctx.list(PODS);
    if (!tracker.takeUsageChange("kubelets") || ctx.scope.all) return pods;
    const extra = tracker
      .unadmittedPods()
      .filter((r) => !ctx.inScope(r.namespace))
      .map((r) => ctx.store.get(PODS, r.namespace, r.name))
      .filter((p): p is KubeObject => p !== undefined);
    if (extra.length === 0) return pods;
    const keyed = [...pods, ...extra].map((o) => ({ o, k: keyOf(o) }));
    keyed.sort((a, b) => a.k.localeCompare(b.k));
    return keyed.map((x) => x.o);
  }

  /** Forgets the timers of pods (of the scope) that are gone. */
  #forgetGone(): void {
    const { ctx } = this.#o;
    for (const uid of [...this.#timers.keys(), ...this.#startable]) {
      const ref = this.#refs.get(uid);
      if (ref && !ctx.inScope(ref.namespace)) continue;
      const pod = ref ? ctx.store.get(PODS, ref.namespace, ref.name) : undefined;
      if (!pod || uidOf(pod) !== uid) {
        this.forget(uid);
        ctx.order.delete(uid);
      }
    }
  }

  /** The "namespace/name" of the workload a pod belongs to (a ReplicaSet's pods: its Deployment's). */
  #workloadOf(pod: KubeObject): string | undefined {
    const ref = arr(pod.metadata["ownerReferences"]).find((r) => r["controller"] === true);
    if (!ref) return undefined;
    const ns = nsOf(pod) ?? "";
    if (ref["kind"] !== "ReplicaSet") return `${ns}/${String(ref["name"])}`;
    const rs = this.#o.ctx.store.get(REPLICASETS, ns, String(ref["name"]));
    const owner = rs
      ? arr(rs.metadata["ownerReferences"]).find((r) => r["controller"] === true && r["kind"] === "Deployment")
      : undefined;
    return `${ns}/${String(owner?.["name"] ?? ref["name"])}`;
  }

  #armTimer(pod: KubeObject): void {
    const uid = uidOf(pod);
    if (this.#timers.has(uid) || this.#startable.has(uid)) return;
    this.#refs.set(uid, { namespace: nsOf(pod), name: nameOf(pod) });
    const timer = setTimeout(() => {
      this.#timers.delete(uid);
      this.#startable.add(uid);
      this.#o.onStartable(nsOf(pod));
    }, this.#o.delayMs);
    timer.unref?.();
    this.#timers.set(uid, timer);
  }

  /** The next free pod IP in the node's pod CIDR (host numbers 2..254, round robin as host-local IPAM). */
  #allocateIp(node: KubeObject, used: Set<string>): string | undefined {
    const m = /^(\d+\.\d+\.\d+)\.\d+\/\d+$/.exec(String(specOf(node)["podCIDR"] ?? ""));
    const prefix = m ? `${m[1]}.` : "10.244.0.";
    const name = nameOf(node);
    let n = this.#nextIp.get(name) ?? 2;
    for (let tries = 0; tries < 253; tries++) {
      const candidate = `${prefix}${n}`;
      n = n >= 254 ? 2 : n + 1;
      if (!used.has(candidate)) {
        this.#nextIp.set(name, n);
        used.add(candidate);
        return candidate;
      }
    }
    return undefined;
  }
}

/**
 * Per node, the usage as it was when the kubelets' round began plus the pods they admitted in it: a node's
 * sums are copied from the index the first time they are read (admitting a pod changes the index only when
 * its status is written, after the admission was counted here).
 */
class UsageView {
  readonly #tracker: ChangeTracker;
  readonly #usage = new Map<string, NodeUsage>();
  readonly #read = new Set<string>();

  constructor(tracker: ChangeTracker) {
    this.#tracker = tracker;
  }

  of(node: string): NodeUsage | undefined {
    if (!this.#read.has(node)) {
      this.#read.add(node);
      const live = this.#tracker.usage.get(node);
      if (live) this.#usage.set(node, copyUsage(live));
    }
    return this.#usage.get(node);
  }

  add(node: string, pod: KubeObject): void {
    this.of(node);
    addUsage(this.#usage, node, pod);
  }
}
