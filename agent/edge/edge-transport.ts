/**
 * How every call reaches an edge: the Kubernetes API clients, built so that each HTTP request carries an
 * AbortSignal, and {@link EdgeTransport.call}, which gives one call the edge's deadline joined with the
 * caller's signal, records the edge's health, and turns a failure into an {@link EdgeError}.
 *
 * The client's API methods take no signal, and KubernetesObjectApi ignores per-call middleware, so each call
 * gets its own clients, built on a configuration whose middleware hands the call's signal to every request
 * context; the request's fetch aborts (closing the socket) when it fires. A timed-out request is closed, not
 * left running. (Not an AsyncLocalStorage: on Node 20 using one turns on promise hooks for the whole process,
 * which made every promise of the agent about 2.5 times slower, measured here.) Clients are cheap objects;
 * the object API's discovery cache is shared by all of an edge's calls.
 */
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
  type V1APIResourceList,
} from "@kubernetes/client-node";
import { CaminoError } from "../errors.js";
import { abortReason, anySignal, startDeadline } from "../util/signals.js";
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

/** What the object API has learnt of the edge's served kinds, per API version (shared by an edge's calls). */
export type DiscoveryCache = Record<string, V1APIResourceList>;

/**
 * KubernetesObjectApi as KubernetesObjectApi.makeApiClient builds it (the context's namespace is the default
 * one), with its discovery of served kinds open to callers and its discovery cache shared.
 */
export class EdgeObjectApi extends KubernetesObjectApi {
  constructor(configuration: Configuration, kubeConfig: KubeConfig, discovery: DiscoveryCache) {
    super(configuration);
    this.setDefaultNamespace(kubeConfig);
    this.apiVersionResourceCache = discovery;
  }

  /** Whether the edge serves `kind` in `apiVersion` (the client caches the answer per API version). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)) !== undefined;
  }
}

/** The API clients of one call to an edge, every request of theirs bound to the call's signal. */
export interface EdgeApis {
  core: CoreV1Api;
  objects: EdgeObjectApi;
  custom: CustomObjectsApi;
}

/** One edge's calls, each with a deadline and the caller's signal; keeps the edge's health. */
export class EdgeTransport {
  readonly edge: string;
  readonly timeoutMs: number;
  readonly #apisFor: (signal: AbortSignal) => EdgeApis;
  #health: EdgeHealth = { healthy: false, reason: "not checked yet", checkedAt: new Date(0) };

  constructor(options: EdgeTransportOptions) {
    this.edge = options.edge;
    this.timeoutMs = options.timeoutMs;
    this.#apisFor = apiFactory(options.edge, options.kubeConfig);
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
    const timer = startDeadline(`${what} on edge ${this.edge}`, this.timeoutMs);
    const limit = timer.signal;
    try {
      const result = await fn(this.#apisFor(anySignal(caller.signal, limit)));
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
      timer.clear();
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

/**
 * The clients of one call, as KubeConfig.makeApiClient builds them, on a configuration whose middleware gives
 * each request the call's signal. Made on first use within the call.
 */
function apiFactory(edge: string, kubeConfig: KubeConfig): (signal: AbortSignal) => EdgeApis {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new CaminoError("ERR_CONFIG_INVALID", `edges: the context of ${edge} has no cluster`);
  const baseServer = new ServerConfiguration(cluster.server, {});
  const discovery: DiscoveryCache = {};
  return (signal) => {
    const withSignal: Middleware = {
      pre: async (context) => {
        context.setSignal(signal);
        return context;
      },
      post: async (context) => context,
    };
    const configuration = createConfiguration({
      baseServer,
      authMethods: { default: kubeConfig },
      promiseMiddleware: [withSignal],
    });
    let core: CoreV1Api | undefined;
    let objects: EdgeObjectApi | undefined;
    let custom: CustomObjectsApi | undefined;
    return {
      get core() {
        core ??= new CoreV1Api(configuration);
        return core;
      },
      get objects() {
        objects ??= new EdgeObjectApi(configuration, kubeConfig, discovery);
        return objects;
      },
      get custom() {
        custom ??= new CustomObjectsApi(configuration);
        return custom;
      },
    };
  };
}
