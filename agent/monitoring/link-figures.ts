/**
 * Each link's service level, computed the same way whichever source read it: the sources reduce Istio's standard
 * metrics to per-second rates by series ({@link LinkRates}: what `sum by (…)(rate(…))` answers, or what two
 * direct scrapes give) and {@link linkFiguresOf} joins them to intents and links and does the arithmetic.
 *
 * The join: a series' namespace is the intent (CAMINO runs a chain in a namespace named after it), its workloads
 * are the packages (a workload is named after its Deployment; `packageOf` maps a Deployment to its
 * `camino.io/package` label where kube-state-metrics knows it, else the workload's name is the package's). A
 * link's name is `<from>-<to>-<port>`, which the mesh's metrics do not carry (they have no port): `linkName`
 * resolves it from the intent's links, else the figures are named `<from>-<to>`.
 *
 * Each side of a link reports it (`reporter="source"` from the consumer's sidecar, `"destination"` from the
 * provider's); the client's view is the one kept when there is one, as it counts what the consumer saw (the
 * network between edges included), else the server's (a consumer outside this domain).
 */
import type { LinkFigures } from "./snapshot.js";

/** One series' per-second rate. */
export interface RateSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Istio's metrics as per-second rates; labels as Istio names them. */
export interface LinkRates {
  /** `istio_requests_total`, by response_code and grpc_response_status. */
  requests: RateSample[];
  /** `istio_request_duration_milliseconds_bucket`, with `le` (the scrape source). */
  buckets: RateSample[];
  /** Percentiles already computed (the Prometheus source's `histogram_quantile`), value in ms. */
  p50: RateSample[];
  p99: RateSample[];
  tcpSent: RateSample[];
  tcpReceived: RateSample[];
  tcpOpened: RateSample[];
}

export const emptyLinkRates = (): LinkRates => ({
  requests: [],
  buckets: [],
  p50: [],
  p99: [],
  tcpSent: [],
  tcpReceived: [],
  tcpOpened: [],
});

/** The labels a link's series are grouped by (also the Prometheus source's `by` clause). */
export const LINK_GROUP_LABELS = [
  "reporter",
  "source_workload_namespace",
  "source_workload",
  "destination_workload_namespace",
  "destination_workload",
  "destination_service",
] as const;

export interface LinkJoin {
  /** The package of a workload (a Deployment's name) in a namespace, when known. */
  packageOf?: (namespace: string, workload: string) => string | undefined;
  /** The link's CAMINO name, from the intent's links. */
  linkName?: (intent: string, from: string, to: string) => string | undefined;
}

/** A response counted as failed: 5xx, or a gRPC status other than OK. */
export function isFailure(labels: Readonly<Record<string, string>>): boolean {
  const code = labels["response_code"] ?? "";
  const grpc = labels["grpc_response_status"] ?? "";
  return code.startsWith("5") || (grpc !== "" && grpc !== "0");
}

/**
 * `histogram_quantile(q, …)` as Prometheus computes it: cumulative bucket rates by upper bound (`+Inf`
 * included), linear interpolation inside the bucket the rank falls in, the last finite bound when it falls in
 * `+Inf`. Undefined when no request was counted.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const last = sorted[sorted.length - 1];
  if (!last || last[0] !== Number.POSITIVE_INFINITY || sorted.length < 2) return undefined;
  // Cumulative counts must not decrease (a rate can, by float error or scrape skew): as Prometheus, keep the max.
  for (let i = 1; i < sorted.length; i++)
    if ((sorted[i] as [number, number])[1] < (sorted[i - 1] as [number, number])[1])
      sorted[i] = [(sorted[i] as [number, number])[0], (sorted[i - 1] as [number, number])[1]];
  const total = (sorted[sorted.length - 1] as [number, number])[1];
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let i = sorted.findIndex(([, c]) => c >= rank);
  if (i < 0) i = sorted.length - 1;
  if (i === sorted.length - 1) return (sorted[sorted.length - 2] as [number, number])[0];
  const [end, count] = sorted[i] as [number, number];
  if (i === 0 && end <= 0) return end;
  const [start, before] = i === 0 ? [0, 0] : (sorted[i - 1] as [number, number]);
  if (count === before) return end;
  return start + (end - start) * ((rank - before) / (count - before));
}

interface Group {
  reporter: string;
  intent: string;
  from: string;
  to: string;
  requests: number;
  errors: number;
  http: boolean;
  buckets: Map<number, number>;
  p50?: number;
  p99?: number;
  tcp: boolean;
  sent: number;
  received: number;
  opened: number;
}

const maxOf = (a: number | undefined, b: number): number => (a === undefined || Number.isNaN(a) ? b : Math.max(a, b));

/** The links' figures, one per (intent, consumer, provider), sorted by intent and link. */
export function linkFiguresOf(rates: LinkRates, join: LinkJoin = {}): LinkFigures[] {
  const groups = new Map<string, Group>();
  const pkg = (namespace: string, workload: string) =>
    workload === "unknown" || workload === "" ? "" : (join.packageOf?.(namespace, workload) ?? workload);
  const group = (l: Readonly<Record<string, string>>): Group | undefined => {
    const reporter = l["reporter"] ?? "";
    const srcNs = l["source_workload_namespace"] ?? "";
    const dstNs = l["destination_workload_namespace"] ?? "";
    // The chain's namespace: the side that reported it is in this domain.
    const intent = reporter === "destination" ? dstNs : srcNs;
    const from = pkg(srcNs, l["source_workload"] ?? "");
    let to = pkg(dstNs, l["destination_workload"] ?? "");
    if (to === "") to = l["destination_service"] ?? "";
    if (!intent || intent === "unknown" || !from || !to) return undefined;
    const key = `${reporter}\u0000${intent}\u0000${from}\u0000${to}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        reporter,
        intent,
        from,
        to,
        requests: 0,
        errors: 0,
        http: false,
        buckets: new Map(),
        tcp: false,
        sent: 0,
        received: 0,
        opened: 0,
      };
      groups.set(key, g);
    }
    return g;
  };
  for (const s of rates.requests) {
    const g = group(s.labels);
    if (!g || !Number.isFinite(s.value)) continue;
    g.http = true;
    g.requests += s.value;
    if (isFailure(s.labels)) g.errors += s.value;
  }
  for (const s of rates.buckets) {
    const g = group(s.labels);
    const le = s.labels["le"];
    if (!g || le === undefined || !Number.isFinite(s.value)) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(bound)) continue;
    g.buckets.set(bound, (g.buckets.get(bound) ?? 0) + s.value);
  }
  for (const [answer, field] of [
    [rates.p50, "p50"],
    [rates.p99, "p99"],
  ] as const) {
    for (const s of answer) {
      const g = group(s.labels);
      if (g && Number.isFinite(s.value)) g[field] = maxOf(g[field], s.value);
    }
  }
  for (const [answer, field] of [
    [rates.tcpSent, "sent"],
    [rates.tcpReceived, "received"],
    [rates.tcpOpened, "opened"],
  ] as const) {
    for (const s of answer) {
      const g = group(s.labels);
      if (!g || !Number.isFinite(s.value)) continue;
      g.tcp = true;
      g[field] += s.value;
    }
  }
  // The client's view of a link when there is one.
  const chosen = new Map<string, Group>();
  for (const g of groups.values()) {
    const key = `${g.intent}\u0000${g.from}\u0000${g.to}`;
    const other = chosen.get(key);
    if (!other || (other.reporter !== "source" && g.reporter === "source")) chosen.set(key, g);
  }
  const out: LinkFigures[] = [];
  for (const g of chosen.values()) {
    const f: LinkFigures = {
      intent: g.intent,
      link: join.linkName?.(g.intent, g.from, g.to) ?? `${g.from}-${g.to}`,
      from: g.from,
      to: g.to,
      requestRate: g.requests,
      errorRate: g.requests > 0 ? Math.min(1, g.errors / g.requests) : 0,
    };
    if (g.buckets.size > 0) {
      const b = [...g.buckets];
      const p50 = histogramQuantile(0.5, b);
      const p99 = histogramQuantile(0.99, b);
      if (p50 !== undefined) f.p50Ms = p50;
      if (p99 !== undefined) f.p99Ms = p99;
    }
    if (g.p50 !== undefined && f.p50Ms === undefined && g.requests > 0) f.p50Ms = g.p50;
    if (g.p99 !== undefined && f.p99Ms === undefined && g.requests > 0) f.p99Ms = g.p99;
    if (g.tcp) {
      f.tcpBytesSentRate = g.sent;
      f.tcpBytesReceivedRate = g.received;
      f.tcpConnectionsOpenedRate = g.opened;
    }
    out.push(f);
  }
  return out.sort((a, b) =>
    a.intent === b.intent ? (a.link < b.link ? -1 : a.link > b.link ? 1 : 0) : a.intent < b.intent ? -1 : 1,
  );
}
