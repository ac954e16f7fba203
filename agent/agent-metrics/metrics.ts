/**
 * The agent's Prometheus metrics, served on the HTTP/1.1 port at /metrics. One registry per agent (no
 * global state), so several agents in one process — the embedded demo, tests — do not mix their figures.
 */
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface AgentMetrics {
  readonly registry: Registry;
  /** Records every call: count, duration, gRPC code, and calls in flight. */
  readonly interceptor: Interceptor;
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
    help: "Time to the response headers of unary calls (and to the end of streams), by method.",
    labelNames: ["service", "method"],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: "camino_rpc_in_flight",
    help: "Calls being handled now (server streams until they end).",
    labelNames: ["service", "method"],
    registers: [registry],
  });

  const interceptor: Interceptor = (next) => async (req) => {
    const labels = { service: req.service.typeName, method: req.method.name };
    const stop = duration.startTimer(labels);
    inFlight.inc(labels);
    let res: UnaryResponse | StreamResponse;
    try {
      res = await next(req);
    } catch (err) {
      inFlight.dec(labels);
      stop();
      calls.inc({ ...labels, code: codeName(err) });
      throw err;
    }
    if (!res.stream) {
      inFlight.dec(labels);
      stop();
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
        stop();
        calls.inc({ ...labels, code });
      }
    }
    return { ...res, message: counted() } as StreamResponse;
  };
  return { registry, interceptor };
}
