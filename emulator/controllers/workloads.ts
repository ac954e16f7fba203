/**
 * What a real cluster's control plane and kubelets do to workloads, emulated over the object store: the
 * Deployment, ReplicaSet, StatefulSet and DaemonSet controllers, the garbage collector (cascading deletion by
 * ownerReferences), the node IPAM and node lifecycle controllers (pod CIDRs; eviction from nodes that are not
 * Ready), the scheduler (./scheduler.ts) and the kubelets that start bound pods, one file each; this class
 * runs them. Level-triggered: every pass reads the store (the namespaces that changed since the last pass)
 * and writes only what differs, and passes repeat until one writes nothing, so a pass never loops on its own
 * writes.
 *
 * Simplifications, each documented where it happens: Deployments roll out Recreate-style whatever their
 * strategy (old ReplicaSets scaled to 0, the new one scaled up once their pods are gone, old ones deleted
 * once empty: no revision history kept); minReadySeconds is ignored (ready = available); deletions are
 * immediate (no graceful termination); containers never fail or restart; no ControllerRevisions or PVCs.
 * Readiness probes are not run: containers are ready once started, unless their workload is named by the
 * `unavailable` fault (then they never are).
 */
import type { ObjectStore } from "../store.js";
import { NODES, PODS, WATCHED } from "./common.js";
import { ControllerContext } from "./context.js";
import { daemonSetStatuses, syncDaemonSets } from "./daemonsets.js";
import { deploymentStatuses, syncDeployments } from "./deployments.js";
import { schedulePending } from "./binding.js";
import { Kubelets } from "./kubelet.js";
import { assignPodCidrs, collectGarbage, evictPods, withReadiness } from "./nodes.js";
import { replicaSetStatuses, syncReplicaSets } from "./replicasets.js";
import { statefulSetStatuses, syncStatefulSets } from "./statefulsets.js";
import { ChangeTracker } from "./tracker.js";

export { templateHash } from "./common.js";

/** How the controllers are wired: the store they reconcile, their clock, and how fast kubelets start pods. */
export interface ControllerOptions {
  store: ObjectStore;
  /** The clock for timestamps. */
  now?: () => Date;
  /** How long a bound pod's containers take to start, in ms. 0 (the default): on the same pass. */
  podStartDelayMs?: number;
  /** Where errors of watch- and timer-triggered reconciliation go. Default: console.error. */
  onError?: (err: unknown) => void;
  /** Workloads ("namespace/name") whose pods run but never become Ready (a fault). Default none. */
  unavailable?: () => ReadonlySet<string>;
}

/** The most a node ever had requested by the pods bound to it, per dimension. */
export interface HighWaterMark {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

const MAX_PASSES = 10_000;

/**
 * The workload controllers, scheduler and kubelets of an emulated cluster. Scheduling picks, among the nodes
 * that fit, the least requested one (ties: first by name); see ./scheduler.ts.
 *
 * A pass reconciles the namespaces whose workloads or pods changed since the last one (all of them at first
 * and after a node changed); what is cluster-wide (per node usage and pod IPs, the pods waiting to be
 * scheduled or admitted) is kept up to date from the store's events (./tracker.ts). Changes are tracked from
 * construction on, so `reconcileAll` without `start` also sees them.
 */
export class WorkloadControllers {
  readonly #ctx: ControllerContext;
  readonly #tracker = new ChangeTracker();
  readonly #kubelets: Kubelets;
  readonly #onError: (err: unknown) => void;
  readonly #unavailable: () => ReadonlySet<string>;
  /** The `unavailable` workloads the last reconcile saw. */
  #lastUnavailable: ReadonlySet<string> = new Set();
  #running = false;
  #queued = false;
  #reconciling = false;
  readonly #marks = new Map<string, HighWaterMark>();

  constructor(options: ControllerOptions) {
    this.#ctx = new ControllerContext(options.store, options.now ?? (() => new Date()));
    this.#onError = options.onError ?? ((err: unknown) => console.error("emulator controllers:", err));
    this.#unavailable = options.unavailable ?? (() => new Set());
    this.#kubelets = new Kubelets({
      ctx: this.#ctx,
      tracker: this.#tracker,
      delayMs: Math.max(0, options.podStartDelayMs ?? 0),
      unavailable: this.#unavailable,
      onStartable: (namespace) => {
        this.#tracker.markNamespace(namespace);
        this.#safeReconcile();
      },
    });
    this.#ctx.onPodRemoved = (uid) => {
      this.#kubelets.forget(uid);
      this.#ctx.order.delete(uid);
    };
    for (const pod of options.store.list(PODS))
      this.#tracker.observe({ type: "ADDED", typeKey: PODS, object: pod, rv: options.store.resourceVersion });
    for (const typeKey of WATCHED)
      options.store.watch({
        typeKey,
        filter: () => true,
        send: (e) => {
          this.#tracker.observe(e);
          this.#kick();
        },
      });
  }

  /** Reconciles (on a microtask, coalesced) after every change to workloads, pods and nodes. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#kick();
  }

  /** Stops reconciling on changes and clears pending pod-start timers (changes are still tracked). */
  stop(): void {
    this.#running = false;
    this.#kubelets.stop();
  }

  /** Reconciles until nothing changes (synchronously). @throws Error if that never happens. */
  reconcileAll(): void {
    if (this.#reconciling) return;
    this.#reconciling = true;
    try {
      this.#noteUnavailable();
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const before = this.#ctx.writes;
        this.#pass();
        if (this.#ctx.writes === before) return;
      }
      throw new Error(`emulator controllers did not settle after ${MAX_PASSES} passes`);
    } finally {
      this.#reconciling = false;
    }
  }

  /**
   * What the node lifecycle controller records when a kubelet stops (or resumes) posting status: the Ready
   * condition (False, NodeStatusUnknown) and the not-ready NoSchedule and NoExecute taints. The node's pods
   * are evicted on the next reconcile. @throws Error for an unknown node.
   */
  setNodeReady(name: string, ready: boolean): void {
    const live = this.#ctx.store.get(NODES, undefined, name);
    if (!live) throw new Error(`node "${name}" not found`);
    this.#ctx.put(NODES, withReadiness(live, ready, this.#ctx.stamp()));
  }

  /** Per node, the highest requests of the pods bound to it (and admitted) ever seen, per dimension. */
  highWaterMarks(): Map<string, HighWaterMark> {
    return new Map([...this.#marks].map(([k, v]) => [k, { ...v }]));
  }

  #kick(): void {
    if (!this.#running || this.#queued || this.#reconciling) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (this.#running) this.#safeReconcile();
    });
  }

  #safeReconcile(): void {
    try {
      this.reconcileAll();
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Has the namespaces of workloads that joined or left the `unavailable` fault reconciled. */
  #noteUnavailable(): void {
    const now = this.#unavailable();
    const was = this.#lastUnavailable;
    for (const w of [...now].filter((x) => !was.has(x)).concat([...was].filter((x) => !now.has(x)))) {
      const slash = w.indexOf("/");
      if (slash < 0) this.#tracker.markEverything();
      else this.#tracker.markNamespace(w.slice(0, slash));
    }
    this.#lastUnavailable = new Set(now);
  }

  #pass(): void {
    const ctx = this.#ctx;
    ctx.scope = this.#tracker.takeScope();
    this.#recordMarks();
    if (ctx.scope.all) assignPodCidrs(ctx);
    evictPods(ctx);
    collectGarbage(ctx);
    syncDeployments(ctx);
    syncReplicaSets(ctx);
    syncStatefulSets(ctx);
    syncDaemonSets(ctx);
    schedulePending(ctx, this.#tracker);
    this.#kubelets.run();
    replicaSetStatuses(ctx);
    deploymentStatuses(ctx);
    statefulSetStatuses(ctx);
    daemonSetStatuses(ctx);
    this.#recordMarks();
  }

  /** Records, for the nodes whose usage changed, the highest requests of the pods admitted to them. */
  #recordMarks(): void {
    for (const node of this.#tracker.takeChangedNodes()) {
      const u = this.#tracker.usage.get(node);
      if (!u) continue;
      const m = this.#marks.get(node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      this.#marks.set(node, {
        cpuMillis: Math.max(m.cpuMillis, Number(u.requested.get("cpu") ?? 0n)),
        memoryBytes: Math.max(m.memoryBytes, Number((u.requested.get("memory") ?? 0n) / 1000n)),
        pods: Math.max(m.pods, u.pods),
      });
    }
  }
}
