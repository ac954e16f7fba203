/**
 * How every call reaches an edge: the Kubernetes API clients, built so that each HTTP request carries an
 * AbortSignal, and {@link EdgeTransport.call}, which gives one call the edge's deadline joined with the
 * caller's signal, records the edge's health, and turns a failure into an {@link EdgeError}.
 *
 * The client's API methods take no signal, and KubernetesObjectApi ignores per-call middleware, so the signal
 * travels in an AsyncLocalStorage: `call` runs the request inside `store.run(signal, …)`, and a middleware on
 * the clients' shared configuration hands it to the request context, whose fetch aborts (closing the socket)
 * when it fires. A timed-out request is closed, not left running.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
  type KubeConfig,
  type KubernetesObject,
  type Middleware,
} from "@kubernetes/client-node";
import { CaminoError } from "../errors.js";
import { abortReason, anySignal, deadline } from "../util/signals.js";
import { EdgeError, explainEdgeFailure } from "./edge-errors.js";

/** The field manager of every server-side apply CAMINO makes. */
export const FIELD_MANAGER = "camino";

/** An edge's health as last seen by a call. */
export interface EdgeHealth {
  healthy: boolean;
  reason: string;
  checkedAt: Date;
}

/** Options of {@link createEdgeTransport}. */
export interface EdgeTransportOptions {
  /** The edge's name, for messages. */
  edge: string;
  /** How to reach the edge; its current context is used. */
  kubeConfig: KubeConfig;
  /** The deadline of each call, in ms. */
  timeoutMs: number;
}

/**
 * KubernetesObjectApi as KubernetesObjectApi.makeApiClient builds it (the context's namespace is the default
 * one), with its discovery of served kinds open to callers.
 */
export class EdgeObjectApi extends KubernetesObjectApi {
  constructor(configuration: Configuration, kubeConfig: KubeConfig) {
    super(configuration);
    this.setDefaultNamespace(kubeConfig);
  }

  /** Whether the edge serves `kind` in `apiVersion` (the client caches the answer per API version). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)) !== undefined;
  }
}

/** The API clients of one edge; a call made through them inside {@link EdgeTransport.call} is abortable. */
export interface EdgeApis {
  core: CoreV1Api;
  objects: EdgeObjectApi;
  custom: CustomObjectsApi;
}

/** One edge's calls, each with a deadline and the caller's signal; keeps the edge's health. */
export class EdgeTransport {
  readonly edge: string;
  readonly timeoutMs: number;
  readonly apis: EdgeApis;
  readonly #signals: AsyncLocalStorage<AbortSignal>;
  #health: EdgeHealth = { healthy: false, reason: "not checked yet", checkedAt: new Date(0) };

  constructor(options: EdgeTransportOptions) {
    this.edge = options.edge;
    this.timeoutMs = options.timeoutMs;
    this.#signals = new AsyncLocalStorage<AbortSignal>();
    this.apis = apisFor(options.edge, options.kubeConfig, this.#signals);
  }

  /** The health as last seen. */
  get health(): EdgeHealth {
    return { ...this.#health };
  }

  /**
   * Runs one API call. Its requests abort when the edge's deadline passes (`ERR_EDGE_TIMEOUT`, naming the call
   * and the ms) or when `signal` aborts (the signal's reason is thrown, and the edge's health is left alone:
   * the caller gave up, which says nothing about the edge). Other failures become an {@link EdgeError}.
   * @param what the call, as a reader would name it ("list nodes")
   * @example const nodes = await transport.call("list nodes", (api) => api.core.listNode(), signal);
   */
  async call<T>(what: string, fn: (apis: EdgeApis) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    // The caller's signal is followed by a listener removed when the call ends, not joined with AbortSignal.any:
    // the caller's signal often lives long (an observer's, the agent's), and on Node 20 every AbortSignal.any
    // built on it stays referenced from it for good (nodejs/node#55351), one per call.
    const caller = new AbortController();
    const follow = () => caller.abort(abortReason(signal as AbortSignal));
    signal?.addEventListener("abort", follow, { once: true });
    const limit = deadline(`${what} on edge ${this.edge}`, this.timeoutMs);
    try {
      const result = await this.#signals.run(anySignal(caller.signal, limit), () => fn(this.apis));
      this.#seen(true, "ok");
      return result;
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      const e = limit.aborted
        ? new EdgeError("ERR_EDGE_TIMEOUT", this.edge, `${what} did not answer within ${this.timeoutMs} ms`, err)
        : explainEdgeFailure(this.edge, what, err);
      // An edge that answered, even with a refusal, is up.
      if (e.code === "ERR_EDGE_API") this.#seen(true, "ok");
      else this.#seen(false, e.data["reason"] as string);
      throw e;
    } finally {
      signal?.removeEventListener("abort", follow);
    }
  }

  #seen(healthy: boolean, reason: string): void {
    this.#health = { healthy, reason, checkedAt: new Date() };
  }
}

/** Creates the transport of one edge. @throws CaminoError `ERR_CONFIG_INVALID` when the context has no cluster */
export function createEdgeTransport(options: EdgeTransportOptions): EdgeTransport {
  return new EdgeTransport(options);
}

/** Server-side apply of `object` (`dryRun` "All" persists nothing), as {@link FIELD_MANAGER}, forcing conflicts. */
export function applyServerSide(apis: EdgeApis, object: KubernetesObject, dryRun?: "All"): Promise<KubernetesObject> {
  return apis.objects.patch(object, undefined, dryRun, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** The clients, as KubeConfig.makeApiClient builds them, plus the middleware that gives each request its signal. */
function apisFor(edge: string, kubeConfig: KubeConfig, signals: AsyncLocalStorage<AbortSignal>): EdgeApis {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new CaminoError("ERR_CONFIG_INVALID", `edges: the context of ${edge} has no cluster`);
  const withSignal: Middleware = {
    pre: async (context) => {
      const signal = signals.getStore();
      if (signal) context.setSignal(signal);
      return context;
    },
    post: async (context) => context,
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [withSignal],
  });
  return {
    core: new CoreV1Api(configuration),
    objects: new EdgeObjectApi(configuration, kubeConfig),
    custom: new CustomObjectsApi(configuration),
  };
}
