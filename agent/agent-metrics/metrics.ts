/**
 * The agent's Prometheus metrics, served on the HTTP/1.1 port at /metrics. One registry per agent (no
 * global state), so several agents in one process — the embedded demo, tests — do not mix their figures.
 * RPCs are counted by the interceptor below; the lifecycle's figures come from its event bus
 * (lifecycle-metrics.ts); intents, packages, edges and peers are read at each scrape (state-metrics.ts); the
 * label cache reports its lookups through {@link CacheMetrics}. README ("The agent's metrics") lists every series;
 * deploy/grafana/camino-agent-dashboard.json charts them.
 */
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventBus } from "../orchestration/event-bus.js";
import { createLifecycleMetrics } from "./lifecycle-metrics.js";
import { createStateMetrics, type StateSources } from "./state-metrics.js";

export type { StateSources } from "./state-metrics.js";

/** What the label cache (agent/monitoring) reports to the agent's metrics. */
export interface CacheMetrics {
  /**
   * Counts label-cache lookups: `count` pod identifiers looked up at once (an MGET), all hits or all misses.
   * @example metrics.cacheLookup(true); metrics.cacheLookup(false, misses);
   */
  cacheLookup(hit: boolean, count?: number): void;
}

/** A label cache's own counters since start (LabelCache.stats()). */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Reads or writes that failed because the cache was unavailable. */
  failures: number;
}

export interface AgentMetrics extends CacheMetrics {
  readonly registry: Registry;
  /** Records every call: count, duration, gRPC code, and calls in flight. */
  readonly interceptor: Interceptor;
  /** Feeds the lifecycle's histograms and counters from every event of `bus`; returns the unsubscribe. */
  observeLifecycle(bus: EventBus): () => void;
  /** The interceptor that times this agent's calls to peer `peer` (camino_peer_call_duration_seconds). */
  peerCalls(peer: string): Interceptor;
  /** Sets what the intent, package, edge and peer gauges are read from at each scrape. */
  observeState(sources: StateSources): void;
  /**
   * Reads the label cache's own counters at each scrape, added to what {@link CacheMetrics.cacheLookup} reported:
   * a cache that keeps stats is observed here, and does not also call cacheLookup.
   */
  observeCache(stats: () => CacheStats): void;
}

export interface MetricsOptions {
  domainId: string;
  version: string;
  /** Also collect Node process metrics (heap, event loop lag, …). Default true. */
  processMetrics?: boolean;
}

function codeName(err: unknown): string {
  const code = err instanceof ConnectError ? err.code : Code.Unknown;
  return Code[code] ?? "Unknown";
}

/** Creates the registry and the interceptor that feeds it. */
export function createMetrics(options: MetricsOptions): AgentMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ domain: options.domainId });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "camino_" });
  new Gauge({
    name: "camino_build_info",
    help: "The agent's version.",
    labelNames: ["version"],
    registers: [registry],
  }).set({ version: options.version }, 1);
  const calls = new Counter({
    name: "camino_rpc_calls_total",
    help: "RPC calls handled, by method and status code.",
    labelNames: ["service", "method", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "camino_rpc_duration_seconds",
    help: "Time to the response of unary calls (and to the end of streams), by method and status code.",
    labelNames: ["service", "method", "code"],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const peerDuration = new Histogram({
    name: "camino_peer_call_duration_seconds",
    help: "Time of this agent's calls to peer domains (to the response of unary calls, to the end of streams), by peer, method and status code.",
    labelNames: ["peer", "method", "code"],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: "camino_rpc_in_flight",
    help: "Calls being handled now (server streams until they end).",
    labelNames: ["service", "method"],
    registers: [registry],
  });

  // Lookups reported through cacheLookup, plus the observed cache's own counters, read at each scrape.
  const reported = { hit: 0, miss: 0 };
  let cacheStats: (() => CacheStats) | undefined;
  new Counter({
    name: "camino_label_cache_lookups_total",
    help: "Pod identifiers looked up in the label cache, by result (hit: found; miss: not cached, expired, or the cache down).",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      const s = cacheStats?.();
      this.reset();
      this.inc({ result: "hit" }, reported.hit + (s?.hits ?? 0));
      this.inc({ result: "miss" }, reported.miss + (s?.misses ?? 0));
    },
  });
  new Counter({
    name: "camino_label_cache_failures_total",
    help: "Label-cache reads or writes that failed because the cache (Redis) was unavailable.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cacheStats?.().failures ?? 0);
    },
  });
  const lifecycle = createLifecycleMetrics(registry);
  const state = createStateMetrics(registry);

  const interceptor: Interceptor = (next) => async (req) => {
    const labels = { service: req.service.typeName, method: req.method.name };
    const stop = duration.startTimer(labels);
    inFlight.inc(labels);
    let res: UnaryResponse | StreamResponse;
    try {
      res = await next(req);
    } catch (err) {
      const code = codeName(err);
      inFlight.dec(labels);
      stop({ code });
      calls.inc({ ...labels, code });
      throw err;
    }
    if (!res.stream) {
      inFlight.dec(labels);
      stop({ code: "OK" });
      calls.inc({ ...labels, code: "OK" });
      return res;
    }
    const inner = res.message;
    async function* counted() {
      let code = "OK";
      try {
        yield* inner;
      } catch (err) {
        code = codeName(err);
        throw err;
      } finally {
        inFlight.dec(labels);
        stop({ code });
        calls.inc({ ...labels, code });
      }
    }
    return { ...res, message: counted() } as StreamResponse;
  };
  return {
    registry,
    interceptor,
    observeLifecycle: (bus) => lifecycle.observe(bus),
    observeState: (sources) => state.observe(sources),
    cacheLookup(hit, count = 1) {
      if (!Number.isInteger(count) || count < 0)
        throw new TypeError(`cacheLookup: count must be a whole number ≥ 0 (is ${count})`);
      reported[hit ? "hit" : "miss"] += count;
    },
    observeCache(stats) {
      cacheStats = stats;
    },
    peerCalls: (peer) => (next) => async (req) => {
      const timer = peerDuration.startTimer({ peer, method: req.method.name });
      let stopped = false;
      const stop = (labels: { code: string }) => {
        if (stopped) return;
        stopped = true;
        timer(labels);
      };
      // A stream the caller stops consuming is ended by its signal (the client does not close the iterator).
      req.signal.addEventListener("abort", () => stop({ code: "Canceled" }), { once: true });
      let res: UnaryResponse | StreamResponse;
      try {
        res = await next(req);
      } catch (err) {
        stop({ code: codeName(err) });
        throw err;
      }
      if (!res.stream) {
        stop({ code: "OK" });
        return res;
      }
      const inner = res.message;
      async function* timed() {
        let code = "OK";
        try {
          yield* inner;
        } catch (err) {
          code = codeName(err);
          throw err;
        } finally {
          stop({ code });
        }
      }
      return { ...res, message: timed() } as StreamResponse;
    },
  };
}
