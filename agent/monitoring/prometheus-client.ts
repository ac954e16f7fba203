/**
 * A client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), as Prometheus and the Thanos
 * Querier both serve it: bearer or basic auth, a timeout per request, the caller's AbortSignal. Queries go as
 * form-encoded POSTs, so long PromQL is not cut by URL limits.
 */
import { CaminoError } from "../../common/errors.js";

/** How to authenticate to the API. */
export type PrometheusAuth =
  | { kind: "none" }
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string };

export interface PrometheusClientOptions {
  /** The API's base URL, e.g. `http://thanos-query:9090` (the `/api/v1/...` paths are appended). */
  url: string;
  /** Default none. */
  auth?: PrometheusAuth;
  /** Per-request timeout in ms. Default 10000. */
  timeoutMs?: number;
  /** HTTP client. Default global fetch. */
  fetch?: typeof fetch;
}

/** One series of an instant vector. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** One series of a range query. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, number][];
}

export interface PrometheusClient {
  /** An instant query; a scalar result is returned as one series with no labels. */
  query(promql: string, signal: AbortSignal, time?: Date): Promise<VectorSample[]>;
  /** A range query from `start` to `end` every `stepSeconds`. */
  queryRange(
    promql: string,
    range: { start: Date; end: Date; stepSeconds: number },
    signal: AbortSignal,
  ): Promise<MatrixSeries[]>;
}

interface ApiBody {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

const num = (v: unknown): number => (typeof v === "string" ? Number(v) : Number.NaN);

/** @example const prom = createPrometheusClient({ url: "http://127.0.0.1:9090" }); await prom.query("up", signal); */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = options.url.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 10_000;
  const http = options.fetch ?? fetch;
  const auth = options.auth ?? { kind: "none" };
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (auth.kind === "bearer") headers["authorization"] = `Bearer ${auth.token}`;
  if (auth.kind === "basic")
    headers["authorization"] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  // Messages name the API by its origin and path only: never a credential from the URL.
  const where = (() => {
    try {
      const u = new URL(base);
      return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
    } catch {
      return "the Prometheus API";
    }
  })();

  async function call(path: string, form: Record<string, string>, signal: AbortSignal): Promise<ApiBody["data"]> {
    let res: Response;
    try {
      res = await http(`${base}${path}`, {
        method: "POST",
        headers,
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) throw new CaminoError("ERR_CANCELLED", "the Prometheus query was cancelled", { cause: err });
      const timedOut = (err as Error).name === "TimeoutError";
      throw new CaminoError(
        "ERR_MONITORING_UNAVAILABLE",
        timedOut
          ? `${where} did not answer within ${timeoutMs} ms`
          : `${where} cannot be reached: ${(err as Error).message}`,
        { cause: err, data: { url: where } },
      );
    }
    let body: ApiBody;
    try {
      body = (await res.json()) as ApiBody;
    } catch (err) {
      throw new CaminoError("ERR_MONITORING_UNAVAILABLE", `${where}${path} answered HTTP ${res.status}, not JSON`, {
        cause: err,
        data: { url: where, status: res.status },
      });
    }
    if (!res.ok || body.status !== "success")
      throw new CaminoError(
        "ERR_MONITORING_UNAVAILABLE",
        `${where}${path} answered HTTP ${res.status}: ${body.errorType ?? "error"}: ${body.error ?? "no message"}`,
        { data: { url: where, status: res.status } },
      );
    return body.data;
  }

  return {
    async query(promql, signal, time) {
      const data = await call(
        "/api/v1/query",
        { query: promql, ...(time ? { time: String(time.getTime() / 1000) } : {}) },
        signal,
      );
      const result = data?.result;
      if (data?.resultType === "scalar" && Array.isArray(result)) return [{ metric: {}, value: num(result[1]) }];
      if (data?.resultType !== "vector" || !Array.isArray(result))
        throw new CaminoError(
          "ERR_BAD_RESPONSE",
          `${where} answered a ${data?.resultType ?? "missing"} result to an instant query`,
        );
      return result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({
        metric: r.metric ?? {},
        value: num(r.value?.[1]),
      }));
    },
    async queryRange(promql, range, signal) {
      const data = await call(
        "/api/v1/query_range",
        {
          query: promql,
          start: String(range.start.getTime() / 1000),
          end: String(range.end.getTime() / 1000),
          step: String(range.stepSeconds),
        },
        signal,
      );
      const result = data?.result;
      if (data?.resultType !== "matrix" || !Array.isArray(result))
        throw new CaminoError(
          "ERR_BAD_RESPONSE",
          `${where} answered a ${data?.resultType ?? "missing"} result to a range query`,
        );
      return result.map((r: { metric?: Record<string, string>; values?: [number, string][] }) => ({
        metric: r.metric ?? {},
        values: (r.values ?? []).map(([t, v]): [number, number] => [t, num(v)]),
      }));
    },
  };
}
