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
  type RequestContext,
  type SecurityAuthentication,
  type V1APIResourceList,
} from "@kubernetes/client-node";
import * as http from "node:http";
import * as https from "node:https";
import { CaminoError, systemCode } from "../errors.js";
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
  readonly #close: () => void;
  readonly #renew: () => void;
  #health: EdgeHealth = { healthy: false, reason: "not checked yet", checkedAt: new Date(0) };

  constructor(options: EdgeTransportOptions) {
    this.edge = options.edge;
    this.timeoutMs = options.timeoutMs;
    const { apisFor, close, renew } = apiFactory(options.edge, options.kubeConfig);
    this.#apisFor = apisFor;
    this.#close = close;
    this.#renew = renew;
  }

  /** Closes the edge's kept-alive connections (a later call opens new ones). */
  close(): void {
    this.#close();
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
    const attempt = () => fn(this.#apisFor(anySignal(caller.signal, limit)));
    try {
      let result: T;
      try {
        result = await attempt();
      } catch (err) {
        // A kept-alive connection the edge dropped (it restarted, or closed it as the request went out) fails
        // the request before the edge read it: the pool is renewed and the call made once more, on a new one.
        if (signal?.aborted || limit.aborted || !droppedConnection(err)) throw err;
        this.#renew();
        result = await attempt();
      }
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

/** Whether a request failed on a connection the other end had closed (reset, or closed as it was sent). */
function droppedConnection(err: unknown): boolean {
  const code = systemCode(err);
  return code === "ECONNRESET" || code === "EPIPE" || /socket hang up/.test(String((err as Error)?.message ?? ""));
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
 * The kubeconfig's authentication of every request (its headers, its TLS options), with the request sent on one
 * keep-alive connection pool per edge instead of the new agent the client builds for each request: a connection
 * (and, over HTTPS, a TLS handshake) per request cost the agent and the edge more than many of the requests did.
 * The pool is built from the first request's agent options (CA, client certificate, server name), which are the
 * kubeconfig's and do not change. Free connections close before the server's keep-alive timeout (Node's agent
 * reads the server's `Keep-Alive` hint). An edge reached through a proxy keeps the client's own agents.
 */
function keptAlive(
  kubeConfig: KubeConfig,
  proxied: boolean,
): SecurityAuthentication & { close(): void; renew(): void } {
  let pool: http.Agent | undefined;
  return {
    close: () => {
      pool?.destroy();
      pool = undefined;
    },
    // Later requests go out on a new pool; the old one's requests under way end on their own connections, and its
    // free connections close at the server's keep-alive timeout (or are gone already).
    renew: () => {
      pool = undefined;
    },
    getName: () => "kubeconfig authentication, kept-alive connections",
    applySecurityAuthentication: async (context: RequestContext) => {
      await kubeConfig.applySecurityAuthentication(context);
      const made = context.getAgent();
      if (proxied || !made) return;
      if (!pool) {
        const options = { ...(made as http.Agent & { options: https.AgentOptions }).options, keepAlive: true };
        pool = made instanceof https.Agent ? new https.Agent(options) : new http.Agent(options);
      }
      made.destroy();
      context.setAgent(pool);
    },
  };
}

/**
 * The clients of one call, as KubeConfig.makeApiClient builds them, on a configuration whose middleware gives
 * each request the call's signal. Made on first use within the call.
 */
function apiFactory(
  edge: string,
  kubeConfig: KubeConfig,
): { apisFor: (signal: AbortSignal) => EdgeApis; close: () => void; renew: () => void } {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new CaminoError("ERR_CONFIG_INVALID", `edges: the context of ${edge} has no cluster`);
  const baseServer = new ServerConfiguration(cluster.server, {});
  const discovery: DiscoveryCache = {};
  const auth = keptAlive(kubeConfig, !!cluster.proxyUrl);
  const apisFor = (signal: AbortSignal): EdgeApis => {
    const withSignal: Middleware = {
      pre: async (context) => {
        context.setSignal(signal);
        return context;
      },
      post: async (context) => context,
    };
    const configuration = createConfiguration({
      baseServer,
      authMethods: { default: auth },
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
  return { apisFor, close: () => auth.close(), renew: () => auth.renew() };
}
