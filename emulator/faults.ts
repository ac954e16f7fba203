/**
 * Faults an emulated edge can be given, by config or through its admin endpoint: the API unavailable
 * (connections refused), a slow API (latency added to every request), sync errors (named objects fail to
 * apply), node loss (nodes NotReady; their pods evicted and rescheduled where they fit), and workloads that
 * never become available (their pods run but never pass readiness), ConfigSync paused (no sync and no re-apply,
 * so a hand edit stays as a real cluster shows it between syncs), and the traffic of the chain's links (the
 * mesh's request rate, error ratio and latency the edge's Istio metrics report, emulator/metrics/istio.ts).
 */

/** The synthetic traffic of a link, as its sidecars' metrics report it. */
export interface LinkTraffic {
  /** Requests per second (HTTP/gRPC links), or connections opened per second (TCP links). */
  requestRate?: number;
  /** Share of requests answered 503 (HTTP) or UNAVAILABLE (gRPC), 0..1. */
  errorRatio?: number;
  /** Median latency in ms. */
  latencyMs?: number;
  /** 99th percentile latency in ms (at least the median). Default 4 × the median. */
  p99LatencyMs?: number;
}

const LINK_TRAFFIC_FIELDS = ["requestRate", "errorRatio", "latencyMs", "p99LatencyMs"] as const;

export interface Faults {
  /** The API listeners are closed: connections are refused. */
  apiUnavailable: boolean;
  /** Added to every API request, in ms. */
  apiLatencyMs: number;
  /** Objects ConfigSync fails to apply: "Kind/namespace/name" or "Kind/name". */
  syncErrors: string[];
  /**
   * ConfigSync is paused: no round runs (nothing fetched, applied, pruned, or written to the RootSync's status),
   * so an object edited or deleted by hand stays so, as on a real cluster between two syncs. Unpaused, the next
   * round starts at once and applies everything (drift corrected).
   */
  syncPaused: boolean;
  /** Nodes that are NotReady. */
  nodesNotReady: string[];
  /**
   * Workloads ("namespace/name" of a Deployment, StatefulSet or DaemonSet) whose pods are created and run but
   * never become Ready, as with a readiness probe that keeps failing: the workload stays unavailable.
   */
  unavailable: string[];
  /**
   * Link traffic by `"<namespace>/<link>"` (the link's CAMINO name), or `"*"` for every link: what is given
   * replaces the defaults (10 requests/s, no errors, 20 ms median, 80 ms p99). A `null` value in a PATCH removes
   * the entry.
   */
  links: Record<string, LinkTraffic>;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  apiUnavailable: false,
  apiLatencyMs: 0,
  syncErrors: [],
  syncPaused: false,
  nodesNotReady: [],
  unavailable: [],
  links: {},
});

/** Validates a (partial) faults document; returns the problems by field. */
export function faultProblems(v: unknown): string[] {
  if (!v || typeof v !== "object" || Array.isArray(v)) return ["faults must be an object"];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o))
    if (
      !["apiUnavailable", "apiLatencyMs", "syncErrors", "syncPaused", "nodesNotReady", "unavailable", "links"].includes(
        k,
      )
    )
      out.push(`${k}: unknown field`);
  if (o["apiUnavailable"] !== undefined && typeof o["apiUnavailable"] !== "boolean")
    out.push("apiUnavailable: must be true or false");
  if (o["syncPaused"] !== undefined && typeof o["syncPaused"] !== "boolean")
    out.push("syncPaused: must be true or false");
  if (
    o["apiLatencyMs"] !== undefined &&
    (typeof o["apiLatencyMs"] !== "number" || o["apiLatencyMs"] < 0 || o["apiLatencyMs"] > 600_000)
  )
    out.push("apiLatencyMs: must be a number of milliseconds between 0 and 600000");
  for (const k of ["syncErrors", "nodesNotReady", "unavailable"]) {
    const list = o[k];
    if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== "string")))
      out.push(`${k}: must be a list of strings`);
    else if (k === "unavailable" && Array.isArray(list)) {
      for (const x of list as string[])
        if (!/^[^/]+\/[^/]+$/.test(x)) out.push(`unavailable: ${JSON.stringify(x)} is not "namespace/name"`);
    }
  }
  if (o["links"] !== undefined) out.push(...linkTrafficProblems(o["links"]));
  return out;
}

function linkTrafficProblems(v: unknown): string[] {
  if (!v || typeof v !== "object" || Array.isArray(v)) return ["links: must be an object"];
  const out: string[] = [];
  for (const [key, t] of Object.entries(v as Record<string, unknown>)) {
    if (key !== "*" && !/^[^/]+\/[^/]+$/.test(key))
      out.push(`links: ${JSON.stringify(key)} is not "namespace/link" or "*"`);
    if (t === null) continue;
    if (!t || typeof t !== "object" || Array.isArray(t)) {
      out.push(`links.${key}: must be an object or null`);
      continue;
    }
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!(LINK_TRAFFIC_FIELDS as readonly string[]).includes(k)) out.push(`links.${key}.${k}: unknown field`);
    const num = (k: string, max: number) => {
      const x = o[k];
      if (x !== undefined && (typeof x !== "number" || !Number.isFinite(x) || x < 0 || x > max))
        out.push(`links.${key}.${k}: must be a number between 0 and ${max}`);
    };
    num("requestRate", 1_000_000);
    num("errorRatio", 1);
    num("latencyMs", 3_600_000);
    num("p99LatencyMs", 3_600_000);
  }
  return out;
}

/** Applies a PATCH of `links` (null removes an entry) to the links in force. */
export function mergeLinkTraffic(
  current: Readonly<Record<string, LinkTraffic>>,
  change: Readonly<Record<string, LinkTraffic | null>>,
): Record<string, LinkTraffic> {
  const out: Record<string, LinkTraffic> = { ...current };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete out[k];
    else out[k] = { ...v };
  }
  return out;
}
