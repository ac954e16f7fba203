/**
 * One edge (a Kubernetes cluster), reached only through @kubernetes/client-node: server-side-apply dry runs
 * (admission), capacity from nodes and pods, prerequisite checks, RootSync registration, the sync predicate of
 * DESIGN.md section 5, and workload readiness. Every call has a deadline and an AbortSignal; an unreachable,
 * slow or erroring edge is reported with a reason, never a crash or a hang, and the edge's health is kept.
 */
import { readFile } from "node:fs/promises";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { CaminoError } from "../errors.js";
import type { ConfiguredEdge } from "../config/config.js";
import { millisOf, unitsOf } from "../intent/quantity.js";

export const FIELD_MANAGER = "camino";
export const ROOTSYNC_NAMESPACE = "config-management-system";
export const ROOTSYNC_NAME = "root-sync";

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

export interface NodeCapacity {
  name: string;
  ready: boolean;
  allocatable: Resources;
  requested: Resources;
  free: Resources;
}

export interface EdgeCapacity {
  nodes: NodeCapacity[];
  allocatable: Resources;
  requested: Resources;
  free: Resources;
  /** Requests of scheduled pods per CAMINO package, keyed `<intent>/<package>` (from the pods' camino.io labels). */
  byPackage: Map<string, Resources>;
}

export interface DryRunResult {
  kind: string;
  name: string;
  namespace?: string;
  ok: boolean;
  /** The server's message when refused. */
  message?: string;
  causes: { field: string; message: string }[];
}

export interface WorkloadStatus {
  kind: string;
  name: string;
  /** From the camino.io/intent and camino.io/package labels. */
  intent: string;
  package: string;
  desired: number;
  available: number;
}

export interface EdgeHealth {
  healthy: boolean;
  reason: string;
  checkedAt: Date;
}

export interface SyncState {
  /** Synced by the predicate of section 5. */
  synced: boolean;
  /** The commit the RootSync reports. */
  commit?: string;
  /** Sync errors that name objects of the intent. */
  errors: string[];
  /** Why not synced (yet). */
  reason: string;
  /** The edge is at the commit (or later) and reports errors naming objects of the intent: it will not sync as is. */
  failed?: boolean;
}

/** An edge that could not be reached or answered badly (`ERR_EDGE_UNREACHABLE`, `ERR_EDGE_TIMEOUT`, `ERR_EDGE_API`). */
export class EdgeError extends CaminoError {
  constructor(
    code: "ERR_EDGE_UNREACHABLE" | "ERR_EDGE_TIMEOUT" | "ERR_EDGE_API",
    edge: string,
    reason: string,
    cause?: unknown,
  ) {
    super(code, `edge ${edge}: ${reason}`, {
      cause,
      data: { edge, reason },
    });
  }
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

/** The status body of an API error, if the error carries one. */
function statusOf(
  err: unknown,
): { code?: number; message?: string; causes?: { field?: string; message?: string }[] } | undefined {
  const body = (err as { body?: unknown }).body;
  if (typeof body !== "string") return undefined;
  try {
    const s = JSON.parse(body) as {
      code?: number;
      message?: string;
      details?: { causes?: { field?: string; message?: string }[] };
    };
    return {
      ...(s.code !== undefined ? { code: s.code } : {}),
      ...(s.message ? { message: s.message } : {}),
      ...(s.details?.causes ? { causes: s.details.causes } : {}),
    };
  } catch {
    return undefined;
  }
}

export class EdgeClient {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly repository: string | undefined;
  readonly timeoutMs: number;
  /** The RootSync's polling period, when configured. */
  readonly syncPeriod: string | undefined;
  readonly kubeConfig: KubeConfig;
  #health: EdgeHealth = { healthy: false, reason: "not checked yet", checkedAt: new Date(0) };
  readonly #core: CoreV1Api;
  readonly #objects: KubernetesObjectApi;
  readonly #custom: CustomObjectsApi;

  constructor(edge: ConfiguredEdge, kubeConfig: KubeConfig) {
    this.name = edge.name;
    this.labels = edge.labels;
    this.repository = edge.repository;
    this.timeoutMs = edge.timeoutMs;
    this.syncPeriod = edge.syncPeriod;
    this.kubeConfig = kubeConfig;
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Builds the client from the domain config: a kubeconfig context, or inline server, CA and token files. */
  static async fromConfig(edge: ConfiguredEdge): Promise<EdgeClient> {
    const kc = new KubeConfig();
    if (edge.kubeconfig) {
      try {
        kc.loadFromFile(edge.kubeconfig.file);
      } catch (err) {
        // The parser's message may quote lines of the file (tokens included): only the file and line are said.
        const line = /line (\d+)/.exec(String((err as Error).message))?.[1];
        throw new CaminoError(
          "ERR_CONFIG_INVALID",
          `edges: kubeconfig ${edge.kubeconfig.file} of ${edge.name} cannot be read${line ? ` (line ${line})` : ""}`,
        );
      }
      const context = edge.kubeconfig.context ?? kc.getCurrentContext();
      if (!kc.getContextObject(context) || !kc.getCurrentCluster()) {
        throw new CaminoError(
          "ERR_CONFIG_INVALID",
          `edges: kubeconfig ${edge.kubeconfig.file} of ${edge.name} has no context ${JSON.stringify(context)} with a cluster`,
        );
      }
      kc.setCurrentContext(context);
    } else {
      const read = async (f: string | undefined, what: string) => {
        if (!f) return undefined;
        try {
          return (await readFile(f, "utf8")).trim();
        } catch (err) {
          throw new CaminoError(
            "ERR_CONFIG_INVALID",
            `edges: ${what} of ${edge.name} cannot be read (${(err as NodeJS.ErrnoException).code})`,
            { cause: err },
          );
        }
      };
      const ca = await read(edge.caFile, "caFile");
      const token = await read(edge.tokenFile, "tokenFile");
      kc.loadFromOptions({
        clusters: [
          {
            name: edge.name,
            server: edge.server as string,
            ...(ca ? { caData: Buffer.from(ca).toString("base64") } : {}),
            skipTLSVerify: (edge.server as string).startsWith("http://"),
          },
        ],
        users: [{ name: edge.name, ...(token ? { token } : {}) }],
        contexts: [{ name: edge.name, cluster: edge.name, user: edge.name }],
        currentContext: edge.name,
      });
    }
    return new EdgeClient(edge, kc);
  }

  /** The health as last seen. */
  get health(): EdgeHealth {
    return { ...this.#health };
  }

  /** Runs one API call with the edge's deadline and the caller's signal; records health; turns failures into reasons. */
  async #call<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new EdgeError("ERR_EDGE_TIMEOUT", this.name, `${what} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    const aborted = signal
      ? new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
          signal.addEventListener("abort", onAbort, { once: true });
        })
      : undefined;
    try {
      const result = await Promise.race([fn(), deadline, ...(aborted ? [aborted] : [])]);
      this.#health = { healthy: true, reason: "ok", checkedAt: new Date() };
      return result;
    } catch (err) {
      // The caller gave up: that says nothing about the edge.
      if (signal?.aborted) throw err;
      const e = this.#explain(what, err);
      if (e.code !== "ERR_EDGE_API")
        this.#health = { healthy: false, reason: (e.data["reason"] as string) ?? e.message, checkedAt: new Date() };
      else this.#health = { healthy: true, reason: "ok", checkedAt: new Date() };
      throw e;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  #explain(what: string, err: unknown): EdgeError {
    if (err instanceof EdgeError) return err;
    const status = statusOf(err);
    const code = (err as { code?: unknown }).code;
    if (typeof code === "number" && code >= 400 && code < 600) {
      // 401, or a 403 that names no resource, is about who we are; a 403 about a resource (a terminating
      // namespace, a forbidden kind) is the server refusing this request.
      const aboutResource = code === 403 && /forbidden: |is forbidden|being terminated/.test(status?.message ?? "");
      if (code === 401 || (code === 403 && !aboutResource))
        return new EdgeError(
          "ERR_EDGE_UNREACHABLE",
          this.name,
          `${what}: the edge refused the credentials (HTTP ${code})`,
          err,
        );
      return new EdgeError("ERR_EDGE_API", this.name, `${what}: ${status?.message ?? `HTTP ${code}`}`, err);
    }
    const text = `${String(code ?? "")} ${(err as Error).message ?? ""}`;
    if (/Unrecognized API version and kind/.test(text))
      return new EdgeError("ERR_EDGE_API", this.name, `${what}: the edge does not serve this kind`, err);
    if (/ECONNREFUSED/.test(text))
      return new EdgeError("ERR_EDGE_UNREACHABLE", this.name, `${what}: connection refused`, err);
    if (/ETIMEDOUT|ECONNRESET|socket hang up|EHOSTUNREACH|ENOTFOUND/.test(text))
      return new EdgeError("ERR_EDGE_UNREACHABLE", this.name, `${what}: ${text.trim()}`, err);
    if (/certificate|self.signed|CERT_/i.test(text))
      return new EdgeError(
        "ERR_EDGE_UNREACHABLE",
        this.name,
        `${what}: TLS verification failed (${(err as Error).message})`,
        err,
      );
    return new EdgeError("ERR_EDGE_UNREACHABLE", this.name, `${what}: ${(err as Error).message ?? String(err)}`, err);
  }

  /** Checks the API answers (a cheap read); updates health. */
  async check(signal?: AbortSignal): Promise<EdgeHealth> {
    try {
      await this.#call("health check", () => this.#core.readNamespace({ name: "default" }), signal);
    } catch {
      // Recorded in health.
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
    try {
      await this.#call(
        `dry run of ${r.kind}/${r.name}`,
        () => this.#objects.patch(o, undefined, "All", FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
        signal,
      );
    } catch (err) {
      if (!(err instanceof EdgeError) || err.code !== "ERR_EDGE_API") throw err;
      const status = statusOf(err.cause);
      r.ok = false;
      r.message = status?.message ?? err.message;
      r.causes = (status?.causes ?? []).map((c) => ({ field: c.field ?? "", message: c.message ?? "" }));
    }
    return r;
  }

  /** Allocatable, requested (by non-terminated pods) and free CPU, memory and pods, per node and in total. */
  async capacity(signal?: AbortSignal): Promise<EdgeCapacity> {
    const [nodes, pods] = await Promise.all([
      this.#call("list nodes", () => this.#core.listNode(), signal),
      this.#call("list pods", () => this.#core.listPodForAllNamespaces(), signal),
    ]);
    const requested = new Map<string, Resources>();
    const byPackage = new Map<string, Resources>();
    for (const p of pods.items) {
      const node = p.spec?.nodeName;
      if (!node || p.status?.phase === "Succeeded" || p.status?.phase === "Failed") continue;
      let r = { cpuMillis: 0, memoryBytes: 0, pods: 1 };
      for (const c of p.spec?.containers ?? []) {
        const req = c.resources?.requests ?? c.resources?.limits ?? {};
        r = add(r, { cpuMillis: millisOf(req["cpu"]), memoryBytes: unitsOf(req["memory"]), pods: 0 });
      }
      // The scheduler counts the larger of the containers' sum and the largest init container.
      for (const c of p.spec?.initContainers ?? []) {
        const req = c.resources?.requests ?? c.resources?.limits ?? {};
        r = {
          cpuMillis: Math.max(r.cpuMillis, millisOf(req["cpu"])),
          memoryBytes: Math.max(r.memoryBytes, unitsOf(req["memory"])),
          pods: 1,
        };
      }
      requested.set(node, add(requested.get(node) ?? ZERO, r));
      const labels = p.metadata?.labels ?? {};
      const intent = labels["camino.io/intent"];
      const pkg = labels["camino.io/package"];
      if (intent && pkg) byPackage.set(`${intent}/${pkg}`, add(byPackage.get(`${intent}/${pkg}`) ?? ZERO, r));
    }
    const perNode = nodes.items.map((n): NodeCapacity => {
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
      byPackage,
    };
  }

  /** Whether each prerequisite (an IngressClass, a CRD, a Namespace) is present on the edge. */
  async prerequisites(
    list: readonly { kind: string; name: string }[],
    signal?: AbortSignal,
  ): Promise<{ kind: string; name: string; present: boolean }[]> {
    const refs: Record<string, { apiVersion: string; kind: string }> = {
      IngressClass: { apiVersion: "networking.k8s.io/v1", kind: "IngressClass" },
      CustomResourceDefinition: { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" },
      Namespace: { apiVersion: "v1", kind: "Namespace" },
    };
    const out = [];
    for (const p of list) {
      const ref = refs[p.kind];
      if (!ref)
        throw new CaminoError(
          "ERR_PREREQUISITE_KIND",
          `prerequisite kind ${p.kind} is not one CAMINO checks (${Object.keys(refs).join(", ")})`,
        );
      let present = true;
      try {
        await this.#call(
          `read ${p.kind}/${p.name}`,
          () => this.#objects.read({ ...ref, metadata: { name: p.name } }),
          signal,
        );
      } catch (err) {
        if (err instanceof EdgeError && err.code === "ERR_EDGE_API" && statusOf(err.cause)?.code === 404)
          present = false;
        else throw err;
      }
      out.push({ ...p, present });
    }
    return out;
  }

  /**
   * Creates or updates the edge's RootSync for its deployment repository (and the token secret it needs), by
   * server-side apply: idempotent, and a changed repository re-registers.
   */
  async registerRootSync(
    repo: {
      url: string;
      branch: string;
      dir?: string;
      period?: string;
      credentials?: { username: string; password: string };
    },
    signal?: AbortSignal,
  ): Promise<void> {
    const secretName = "camino-git-creds";
    if (repo.credentials) {
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: secretName, namespace: ROOTSYNC_NAMESPACE },
        type: "Opaque",
        data: {
          username: Buffer.from(repo.credentials.username).toString("base64"),
          token: Buffer.from(repo.credentials.password).toString("base64"),
        },
      };
      await this.#call(
        "apply the RootSync secret",
        () =>
          this.#objects.patch(
            secret as KubernetesObject,
            undefined,
            undefined,
            FIELD_MANAGER,
            true,
            PatchStrategy.ServerSideApply,
          ),
        signal,
      );
    }
    const git: Record<string, unknown> = {
      repo: repo.url,
      branch: repo.branch,
      dir: repo.dir ?? ".",
      period: repo.period ?? "15s",
      auth: repo.credentials ? "token" : "none",
    };
    if (repo.credentials) git["secretRef"] = { name: secretName };
    const rootSync = {
      apiVersion: "configsync.gke.io/v1beta1",
      kind: "RootSync",
      metadata: { name: ROOTSYNC_NAME, namespace: ROOTSYNC_NAMESPACE },
      spec: { sourceType: "git", sourceFormat: "unstructured", git },
    };
    await this.#call(
      "apply the RootSync",
      () =>
        this.#objects.patch(
          rootSync as KubernetesObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        ),
      signal,
    );
  }

  /** The RootSync as the edge reports it (undefined when there is none). */
  async rootSync(signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.#call(
        "read the RootSync",
        () =>
          this.#custom.getNamespacedCustomObject({
            group: "configsync.gke.io",
            version: "v1beta1",
            namespace: ROOTSYNC_NAMESPACE,
            plural: "rootsyncs",
            name: ROOTSYNC_NAME,
          }),
        signal,
      )) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof EdgeError && err.code === "ERR_EDGE_API" && statusOf(err.cause)?.code === 404)
        return undefined;
      throw err;
    }
  }

  /**
   * Whether the edge has synced `commit` for `intent` (DESIGN.md section 5): the RootSync's sync commit is the
   * commit or a descendant of it, its observedGeneration is its generation, Syncing is False, and no sync
   * error names an object of the intent.
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

  /**
   * Waits until the edge has synced `commit` for `intent`, or reports why not when `timeoutMs` passes or the
   * signal aborts. Watches the RootSync (resuming from the last resourceVersion seen when the stream ends);
   * when watching fails it falls back to a bounded poll every `pollMs`.
   */
  async waitForSync(
    commit: string,
    intent: string,
    isDescendant: (head: string, commit: string) => Promise<boolean>,
    options: { timeoutMs: number; signal?: AbortSignal; pollMs?: number },
  ): Promise<SyncState> {
    const deadline = Date.now() + options.timeoutMs;
    const pollMs = options.pollMs ?? 500;
    let last: SyncState = { synced: false, errors: [], reason: "not checked yet" };
    let resourceVersion: string | undefined;
    const path = `/apis/configsync.gke.io/v1beta1/namespaces/${ROOTSYNC_NAMESPACE}/rootsyncs`;
    while (Date.now() < deadline) {
      options.signal?.throwIfAborted();
      // The current state first: it may already be synced, and it gives the version to watch from.
      try {
        const rs = await this.rootSync(options.signal);
        if (rs) {
          last = await judgeSync(rs, commit, intent, isDescendant);
          resourceVersion = (rs["metadata"] as { resourceVersion?: string }).resourceVersion;
        }
        if (last.synced || last.failed) return last;
      } catch (err) {
        last = { synced: false, errors: [], reason: (err as Error).message };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const outcome = await new Promise<"synced" | "ended" | "failed">((resolve) => {
        let settled = false;
        let controller: AbortController | undefined;
        const finish = (how: "synced" | "ended" | "failed") => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          controller?.abort();
          resolve(how);
        };
        const onAbort = () => finish("ended");
        const timer = setTimeout(() => finish("ended"), remaining);
        options.signal?.addEventListener("abort", onAbort, { once: true });
        new Watch(this.kubeConfig)
          .watch(
            path,
            { fieldSelector: `metadata.name=${ROOTSYNC_NAME}`, ...(resourceVersion ? { resourceVersion } : {}) },
            (type: string, obj: Record<string, unknown>) => {
              if (type === "ERROR") return finish("failed");
              resourceVersion =
                (obj["metadata"] as { resourceVersion?: string } | undefined)?.resourceVersion ?? resourceVersion;
              judgeSync(obj, commit, intent, isDescendant).then(
                (state) => {
                  last = state;
                  if (state.synced || state.failed) finish("synced");
                },
                () => finish("failed"),
              );
            },
            (err: unknown) => finish(err ? "failed" : "ended"),
          )
          .then(
            (c) => {
              controller = c;
              if (settled) c.abort();
            },
            () => finish("failed"),
          );
      });
      if (outcome === "synced") return last;
      // A failed watch (unreachable edge, 410 Gone): poll, bounded, then start over from a fresh read.
      if (outcome === "failed")
        await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
    return { ...last, synced: false, reason: `not synced within ${options.timeoutMs} ms: ${last.reason}` };
  }

  /** Whether every Deployment, StatefulSet and DaemonSet of an intent (one package, or all) is available. */
  async workloads(
    intent: string,
    pkg: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ available: boolean; workloads: WorkloadStatus[] }> {
    const out = await this.#listWorkloads(
      intent,
      `camino.io/intent=${intent}${pkg ? `,camino.io/package=${pkg}` : ""}`,
      signal,
    );
    return { available: out.every((w) => w.available >= w.desired), workloads: out };
  }

  /** The workloads of the named intents, in every namespace: three list calls per 100 intents. */
  async workloadsOf(intents: readonly string[], signal?: AbortSignal): Promise<WorkloadStatus[]> {
    const out: WorkloadStatus[] = [];
    for (let i = 0; i < intents.length; i += 100) {
      out.push(
        ...(await this.#listWorkloads(
          undefined,
          `camino.io/intent in (${intents.slice(i, i + 100).join(",")}),camino.io/package`,
          signal,
        )),
      );
    }
    return out;
  }

  async #listWorkloads(
    namespace: string | undefined,
    selector: string,
    signal?: AbortSignal,
  ): Promise<WorkloadStatus[]> {
    const kinds = ["Deployment", "StatefulSet", "DaemonSet"];
    const out: WorkloadStatus[] = [];
    for (const kind of kinds) {
      const list = await this.#call(
        `list ${kind}s`,
        () => this.#objects.list("apps/v1", kind, namespace, undefined, undefined, undefined, undefined, selector),
        signal,
      );
      for (const o of list.items as (KubernetesObject & {
        spec?: { replicas?: number };
        status?: Record<string, number>;
      })[]) {
        const desired = kind === "DaemonSet" ? (o.status?.["desiredNumberScheduled"] ?? 0) : (o.spec?.replicas ?? 1);
        const st = o.status ?? {};
        // As `kubectl rollout status` judges: the controller has seen this spec and every replica runs it, so an
        // update is not READY while the old pods still serve.
        const seen = (st["observedGeneration"] ?? 0) >= (o.metadata?.generation ?? 0);
        const updated = kind === "DaemonSet" ? (st["updatedNumberScheduled"] ?? 0) : (st["updatedReplicas"] ?? 0);
        const rolledOut = seen && (desired === 0 || updated >= desired);
        const availableNow =
          kind === "DaemonSet"
            ? (st["numberAvailable"] ?? 0)
            : kind === "StatefulSet"
              ? (st["availableReplicas"] ?? st["readyReplicas"] ?? 0)
              : (st["availableReplicas"] ?? 0);
        const available = rolledOut ? availableNow : Math.min(availableNow, updated);
        const labels = o.metadata?.labels ?? {};
        out.push({
          kind,
          name: o.metadata?.name ?? "",
          intent: labels["camino.io/intent"] ?? "",
          package: labels["camino.io/package"] ?? "",
          desired,
          available,
        });
      }
    }
    return out;
  }
}

/** The sync predicate on a RootSync object. */
export async function judgeSync(
  rs: Record<string, unknown>,
  commit: string,
  intent: string,
  isDescendant: (head: string, commit: string) => Promise<boolean>,
): Promise<SyncState> {
  type Errors = { code?: unknown; errorMessage?: unknown }[];
  const status = (rs["status"] ?? {}) as {
    observedGeneration?: number;
    source?: { errors?: unknown };
    rendering?: { errors?: unknown };
    sync?: { commit?: string; errors?: unknown };
    conditions?: { type: string; status: string }[];
  };
  const generation = (rs["metadata"] as { generation?: number } | undefined)?.generation;
  const head = typeof status.sync?.commit === "string" && status.sync.commit ? status.sync.commit : undefined;
  const base: SyncState = { synced: false, errors: [], reason: "" };
  if (head) base.commit = head;
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? (v as Errors).map((e) => String(e?.errorMessage ?? e?.code ?? "unknown error")) : [];
  // An error counts against the intent unless every object it names is in another namespace: an error that
  // names no object (an unknown kind, a source or rendering failure) may be the intent's, so it blocks.
  const mine = (message: string) => {
    // Objects named `Kind/namespace/name` (namespaced) or `Kind/name` (cluster-scoped).
    const refs = [...message.matchAll(/\b[A-Z][A-Za-z]*\/([a-z0-9][a-z0-9.-]*)(?:\/([a-z0-9][a-z0-9.-]*))?/g)].map(
      (m) => ({ kind: m[0].split("/")[0], first: m[1], namespaced: m[2] !== undefined }),
    );
    return (
      refs.length === 0 ||
      refs.some((r) => (r.namespaced ? r.first === intent : r.kind === "Namespace" && r.first === intent))
    );
  };
  const sourceErrors = [...list(status.source?.errors), ...list(status.rendering?.errors)];
  const syncErrors = list(status.sync?.errors).filter(mine);
  const errors = [...sourceErrors, ...syncErrors];
  if (!head)
    return {
      ...base,
      errors,
      reason: errors.length > 0 ? "the edge reports errors" : "the RootSync has not synced any commit yet",
    };
  if (status.observedGeneration !== generation)
    return { ...base, reason: `the RootSync's spec (generation ${generation}) is not observed yet` };
  const syncing = status.conditions?.find((c) => c.type === "Syncing");
  if (syncing?.status === "True") return { ...base, reason: "the edge is syncing" };
  if (!(head === commit || (await isDescendant(head, commit))))
    return { ...base, errors, reason: `the edge is at ${head.slice(0, 12)}, not yet at ${commit.slice(0, 12)}` };
  if (sourceErrors.length > 0)
    return { ...base, errors, reason: `the edge cannot read or render the repository: ${sourceErrors.join("; ")}` };
  // Only an error that names an object of the intent is final; one that names no object may pass.
  const named = syncErrors.filter((e) => /\b[A-Z][A-Za-z]*\/[a-z0-9]/.test(e));
  if (named.length > 0)
    return { ...base, errors, failed: true, reason: `sync errors name objects of the intent: ${named.join("; ")}` };
  if (errors.length > 0) return { ...base, errors, reason: `the edge reports sync errors: ${errors.join("; ")}` };
  return { ...base, synced: true, reason: "synced" };
}
