/**
 * One edge (a Kubernetes cluster), reached only through @kubernetes/client-node: server-side-apply dry runs
 * (admission), capacity from nodes and pods, prerequisite checks, the RootSync, the sync predicate of
 * docs/configuration-as-data.md, RootSync registration, and workload readiness. A thin facade: every call goes through the edge's transport
 * (a deadline joined with the caller's signal, both of which abort the HTTP request; health kept; failures
 * explained), and the judging is done by the pure modules next to it.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { ConfiguredEdge } from "../config/config.js";
import { CaminoError } from "../errors.js";
import { PodRequests, capacityFrom, capacityOf, type EdgeCapacity } from "./capacity.js";
import { EdgeError, apiStatusOf, httpCodeOf } from "./edge-errors.js";
import {
  applyServerSide,
  createEdgeTransport,
  type EdgeApis,
  type EdgeHealth,
  type EdgeTransport,
} from "./edge-transport.js";
import { kubeConfigFor } from "./kubeconfig.js";
import { readEdgeMesh, type EdgeMesh } from "./mesh-install.js";
import {
  WORKLOAD_KINDS,
  allAvailable,
  workloadStatusOf,
  type PodObject,
  type WorkloadKind,
  type WorkloadObject,
  type WorkloadStatus,
} from "./readiness.js";
import { readRootSync, writeRootSync, type RootSyncSource } from "./root-sync.js";
import { slimPod, slimWorkload } from "./slim.js";
import { judgeSync, type SyncState } from "./sync-predicate.js";
import { IntentIndex } from "./intent-index.js";
import { WatchedList } from "./watched-list.js";

export type { EdgeCapacity, NodeCapacity, Resources } from "./capacity.js";
export { EdgeError } from "./edge-errors.js";
export type { EdgeHealth } from "./edge-transport.js";
export type { WorkloadStatus } from "./readiness.js";
export type { SyncState } from "./sync-predicate.js";

/** One object's server-side-apply dry run. */
export interface DryRunResult {
  kind: string;
  name: string;
  namespace?: string;
  ok: boolean;
  /** The server's message when refused. */
  message?: string;
  causes: { field: string; message: string }[];
}

/** What a watched edge keeps: its pods (with their requests summed) and CAMINO's workloads, per kind. */
interface WatchedCopies {
  pods: WatchedList<V1Pod>;
  requests: PodRequests;
  workloads: WatchedList<WorkloadObject>[];
  /** The pods and workloads of the copies by intent, with a change mark per intent. */
  byIntent: IntentIndex<V1Pod | WorkloadObject>;
}

/** CAMINO's workloads: those labelled with their intent and package. */
const CAMINO_WORKLOADS = "camino.io/intent,camino.io/package";

/** The kinds a prerequisite may name, and where the API serves them. */
const PREREQUISITE_KINDS: Record<string, { apiVersion: string; kind: string }> = {
  IngressClass: { apiVersion: "networking.k8s.io/v1", kind: "IngressClass" },
  CustomResourceDefinition: { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" },
  Namespace: { apiVersion: "v1", kind: "Namespace" },
};

export class EdgeClient {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly repository: string | undefined;
  readonly timeoutMs: number;
  /** The RootSync's polling period, when configured. */
  readonly syncPeriod: string | undefined;
  readonly kubeConfig: KubeConfig;
  readonly #transport: EdgeTransport;
  /** Kept by watches (see {@link watchEdge}); absent until then, and for a client that only makes calls. */
  #watched: WatchedCopies | undefined;
  #watching = false;
  readonly #intentListeners = new Set<(intent: string) => void>();

  constructor(edge: ConfiguredEdge, kubeConfig: KubeConfig) {
    this.name = edge.name;
    this.labels = edge.labels;
    this.repository = edge.repository;
    this.timeoutMs = edge.timeoutMs;
    this.syncPeriod = edge.syncPeriod;
    this.kubeConfig = kubeConfig;
    this.#transport = createEdgeTransport({ edge: edge.name, kubeConfig, timeoutMs: edge.timeoutMs });
  }

  /** Builds the client from the domain config: a kubeconfig context, or inline server, CA and token files. */
  static async fromConfig(edge: ConfiguredEdge): Promise<EdgeClient> {
    return new EdgeClient(edge, await kubeConfigFor(edge));
  }

  /**
   * From now on, keeps the edge's pods and CAMINO's workloads in memory by list-and-watch (watched-list.ts),
   * started on first use: {@link capacity} then lists the nodes only, and {@link watchedWorkloadsOf} and
   * {@link watchedPodsOf} ask no request at all. Whatever is not live yet is listed as before.
   * {@link close} stops the watches.
   */
  watchEdge(): this {
    this.#watching = true;
    return this;
  }

  /**
   * Tells `listener` the intent of every change the watched copies hear of its workloads or pods (as
   * {@link changesOf} moves), until the returned function is called.
   */
  onIntentChange(listener: (intent: string) => void): () => void {
    this.#intentListeners.add(listener);
    return () => void this.#intentListeners.delete(listener);
  }

  /** Whether the watched copies are all live (readings need no listing now); false for an edge not watched. */
  get watchedLive(): boolean {
    const w = this.#watched;
    return !!w && w.pods.live && w.workloads.every((x) => x.live);
  }

  /** Stops the watches of {@link watchEdge}, and closes the kept-alive connections to the edge. */
  close(): void {
    this.#transport.close();
    this.#watching = false;
    this.#watched?.pods.stop();
    for (const w of this.#watched?.workloads ?? []) w.stop();
    this.#watched = undefined;
  }

  #copies(): WatchedCopies | undefined {
    if (!this.#watching) return undefined;
    if (!this.#watched) {
      const requests = new PodRequests();
      const byIntent = new IntentIndex<V1Pod | WorkloadObject>((intent) => {
        for (const listener of this.#intentListeners) listener(intent);
      });
      const pods = new WatchedList<V1Pod>({
        kubeConfig: this.kubeConfig,
        path: "/api/v1/pods",
        slim: slimPod,
        list: () => this.#transport.call("list pods", (api) => api.core.listPodForAllNamespaces()),
        onChange: (change, pod) => {
          requests.apply(pod, change === "delete");
          byIntent.apply("Pod", pod, change === "delete");
        },
      });
      const workloads = WORKLOAD_KINDS.map(
        (kind) =>
          new WatchedList<WorkloadObject>({
            kubeConfig: this.kubeConfig,
            path: `/apis/apps/v1/${kind.toLowerCase()}s`,
            labelSelector: CAMINO_WORKLOADS,
            slim: slimWorkload,
            list: () => this.#listKind(kind, undefined, CAMINO_WORKLOADS),
            onChange: (change, o) => byIntent.apply(kind, o, change === "delete"),
          }),
      );
      this.#watched = { pods, requests, workloads, byIntent };
      pods.start();
      for (const w of workloads) w.start();
    }
    return this.#watched;
  }

  /** The health as last seen. */
  get health(): EdgeHealth {
    return this.#transport.health;
  }

  /** Checks the API answers (a cheap read); updates health. */
  async check(signal?: AbortSignal): Promise<EdgeHealth> {
    try {
      await this.#transport.call("health check", (api) => api.core.readNamespace({ name: "default" }), signal);
    } catch (err) {
      // A failure is recorded in the health; a caller's abort is the caller's.
      if (signal?.aborted) throw err;
    }
    return this.health;
  }

  /**
   * Server-side apply with dryRun=All of each object: ok, or the server's message and causes. The objects are
   * asked about in parallel: a dry run persists nothing, so no object's answer depends on another's.
   */
  async dryRun(objects: readonly KubernetesObject[], signal?: AbortSignal): Promise<DryRunResult[]> {
    return Promise.all(objects.map((o) => this.#dryRunOne(o, signal)));
  }

  async #dryRunOne(o: KubernetesObject, signal?: AbortSignal): Promise<DryRunResult> {
    const r: DryRunResult = { kind: o.kind ?? "", name: o.metadata?.name ?? "", ok: true, causes: [] };
    if (o.metadata?.namespace) r.namespace = o.metadata.namespace;
    const what = `dry run of ${r.kind}/${r.name}`;
    try {
      await this.#transport.call(
        what,
        async (api) => {
          await this.#served(api, what, o);
          return applyServerSide(api, o, "All");
        },
        signal,
      );
    } catch (err) {
      if (!(err instanceof EdgeError) || err.code !== "ERR_EDGE_API") throw err;
      const status = apiStatusOf(err);
      r.ok = false;
      r.message = status?.message ?? err.message;
      r.causes = (status?.details?.causes ?? []).map((c) => ({ field: c.field ?? "", message: c.message ?? "" }));
    }
    return r;
  }

  /** The edge's mesh network, east-west gateway and multi-root trust settings, as its Istio install reports them. */
  async mesh(signal?: AbortSignal): Promise<EdgeMesh> {
    return readEdgeMesh(this.name, this.#transport, signal);
  }

  /** Allocatable, requested (by non-terminated pods) and free CPU, memory and pods, per node and in total. */
  async capacity(signal?: AbortSignal): Promise<EdgeCapacity> {
    // The nodes are read on every reading: their Ready condition, and proof that the edge answers now. The pods
    // come from the watched copy when it is live.
    const copies = this.#copies();
    const kept = copies?.pods.live ? copies.requests : undefined;
    const [nodes, pods] = await Promise.all([
      this.#transport.call("list nodes", (api) => api.core.listNode(), signal),
      kept ? undefined : this.#transport.call("list pods", (api) => api.core.listPodForAllNamespaces(), signal),
    ]);
    return kept ? capacityFrom(nodes.items, kept) : capacityOf(nodes.items, pods?.items ?? []);
  }

  /** Whether each prerequisite (an IngressClass, a CRD, a Namespace) is present on the edge. */
  async prerequisites(
    list: readonly { kind: string; name: string }[],
    signal?: AbortSignal,
  ): Promise<{ kind: string; name: string; present: boolean }[]> {
    const out = [];
    for (const p of list) {
      const ref = PREREQUISITE_KINDS[p.kind];
      if (!ref)
        throw new CaminoError(
          "ERR_PREREQUISITE_KIND",
          `prerequisite kind ${p.kind} is not one CAMINO checks (${Object.keys(PREREQUISITE_KINDS).join(", ")})`,
        );
      const what = `read ${p.kind}/${p.name}`;
      const object = { ...ref, metadata: { name: p.name } };
      let present = true;
      try {
        await this.#transport.call(
          what,
          async (api) => {
            await this.#served(api, what, object);
            return api.objects.read(object);
          },
          signal,
        );
      } catch (err) {
        if (err instanceof EdgeError && httpCodeOf(err) === 404) present = false;
        else throw err;
      }
      out.push({ ...p, present });
    }
    return out;
  }

  /**
   * Creates or updates the edge's RootSync for its deployment repository (and the token secret it needs), by
   * server-side apply: idempotent, and a changed repository re-registers.
   * @throws EdgeError when the edge cannot be reached or refuses
   */
  async registerRootSync(repo: RootSyncSource, signal?: AbortSignal): Promise<void> {
    await writeRootSync(this.#transport, repo, signal);
  }

  /** The RootSync as the edge reports it (undefined when there is none). */
  async rootSync(signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    return readRootSync(this.#transport, signal);
  }

  /**
   * Whether the edge has synced `commit` for `intent` (docs/configuration-as-data.md, RootSync registration; see {@link judgeSync}).
   * @param isDescendant whether `head` is `commit` or a descendant of it (from the repository's history)
   */
  async syncState(
    commit: string,
    intent: string,
    isDescendant: (head: string, commit: string) => Promise<boolean>,
    signal?: AbortSignal,
  ): Promise<SyncState> {
    const rs = await this.rootSync(signal);
    if (!rs) return { synced: false, errors: [], reason: "no RootSync on the edge" };
    return judgeSync(rs, commit, intent, isDescendant);
  }

  /** Whether every Deployment, StatefulSet and DaemonSet of an intent (one package, or all) is available. */
  async workloads(
    intent: string,
    pkg: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ available: boolean; workloads: WorkloadStatus[] }> {
    const selector = `camino.io/intent=${intent}${pkg ? `,camino.io/package=${pkg}` : ""}`;
    const out = await this.#listWorkloads(intent, selector, signal);
    return { available: allAvailable(out), workloads: out };
  }

  /** The workloads of the named intents, in every namespace: three list calls per 100 intents. */
  async workloadsOf(intents: readonly string[], signal?: AbortSignal): Promise<WorkloadStatus[]> {
    const out: WorkloadStatus[] = [];
    for (let i = 0; i < intents.length; i += 100) {
      const selector = `camino.io/intent in (${intents.slice(i, i + 100).join(",")}),camino.io/package`;
      out.push(...(await this.#listWorkloads(undefined, selector, signal)));
    }
    return out;
  }

  /**
   * {@link workloadsOf} from the watched copy (no request) when the edge is watched and the copy is live; listed
   * otherwise. The copy may trail the edge by the time an event takes to arrive: for standing watches of settled
   * deployments, not for a run that must see what it just committed.
   */
  async watchedWorkloadsOf(intents: readonly string[], signal?: AbortSignal): Promise<WorkloadStatus[]> {
    const copies = this.#copies();
    if (!copies?.workloads.every((w) => w.live)) return this.workloadsOf(intents, signal);
    const out: WorkloadStatus[] = [];
    for (const intent of intents)
      for (const { kind, object } of copies.byIntent.of(intent))
        if (kind !== "Pod") out.push(workloadStatusOf(kind as WorkloadKind, object as WorkloadObject));
    return out;
  }

  /**
   * A mark of what the watched copies hold of `intent`: it moves whenever one of its workloads or pods changes
   * (intent-index.ts). Undefined while the copies are not all live: nothing can be told from it then.
   */
  changesOf(intent: string): number | undefined {
    return this.watchedLive ? this.#watched?.byIntent.changes(intent) : undefined;
  }

  /** {@link podsOf} from the watched copy when the edge is watched and the copy is live; listed otherwise. */
  async watchedPodsOf(intents: readonly string[], signal?: AbortSignal): Promise<PodObject[]> {
    const copies = this.#copies();
    if (!copies?.pods.live) return this.podsOf(intents, signal);
    const out: PodObject[] = [];
    for (const intent of intents)
      for (const { kind, object } of copies.byIntent.of(intent))
        if (kind === "Pod" && object.metadata?.labels?.["camino.io/package"] !== undefined)
          out.push(object as PodObject);
    return out;
  }

  /** The pods of the named intents' packages, in every namespace: one list call per 100 intents. */
  async podsOf(intents: readonly string[], signal?: AbortSignal): Promise<PodObject[]> {
    const out: PodObject[] = [];
    for (let i = 0; i < intents.length; i += 100) {
      const selector = `camino.io/intent in (${intents.slice(i, i + 100).join(",")}),camino.io/package`;
      const list = await this.#transport.call(
        "list pods",
        (api) => api.core.listPodForAllNamespaces({ labelSelector: selector }),
        signal,
      );
      out.push(...(list.items as PodObject[]));
    }
    return out;
  }

  /**
   * One call to the edge through its transport (the edge's deadline joined with `signal`, health kept, failures
   * explained as EdgeError), for readers of the edge outside this class (drift.ts).
   * @example const live = await edge.call("read Deployment/x", (api) => api.objects.read(ref), signal);
   */
  call<T>(what: string, fn: (api: EdgeApis) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#transport.call(what, fn, signal);
  }

  async #listWorkloads(
    namespace: string | undefined,
    selector: string,
    signal?: AbortSignal,
  ): Promise<WorkloadStatus[]> {
    const out: WorkloadStatus[] = [];
    for (const kind of WORKLOAD_KINDS) {
      const list = await this.#listKind(kind, namespace, selector, signal);
      for (const o of list.items) out.push(workloadStatusOf(kind, o));
    }
    return out;
  }

  /** The workloads of one kind (in a namespace, or all) that `selector` picks. */
  #listKind(
    kind: WorkloadKind,
    namespace: string | undefined,
    selector: string,
    signal?: AbortSignal,
  ): Promise<KubernetesListObject<WorkloadObject>> {
    return this.#transport.call(
      `list ${kind}s`,
      (api) => api.objects.list("apps/v1", kind, namespace, undefined, undefined, undefined, undefined, selector),
      signal,
    ) as Promise<KubernetesListObject<WorkloadObject>>;
  }

  /**
   * Asks the edge's discovery whether it serves the object's kind (cached per API version by the client), so
   * that a kind it does not serve is a refusal by the edge (`ERR_EDGE_API`), not an unexplained error.
   */
  async #served(api: EdgeApis, what: string, o: KubernetesObject): Promise<void> {
    if (!o.apiVersion || !o.kind || (await api.objects.serves(o.apiVersion, o.kind))) return;
    throw new EdgeError("ERR_EDGE_API", this.name, `${what}: the edge does not serve ${o.kind} in ${o.apiVersion}`);
  }
}
