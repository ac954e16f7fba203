/**
 * Faults an emulated edge can be given, by config or through its admin endpoint: the API unavailable
 * (connections refused), a slow API (latency added to every request), sync errors (named objects fail to
 * apply), node loss (nodes NotReady; their pods evicted and rescheduled where they fit), and workloads that
 * never become available (their pods run but never pass readiness).
 */

export interface Faults {
  /** The API listeners are closed: connections are refused. */
  apiUnavailable: boolean;
  /** Added to every API request, in ms. */
  apiLatencyMs: number;
  /** Objects ConfigSync fails to apply: "Kind/namespace/name" or "Kind/name". */
  syncErrors: string[];
  /** Nodes that are NotReady. */
  nodesNotReady: string[];
  /**
   * Workloads ("namespace/name" of a Deployment, StatefulSet or DaemonSet) whose pods are created and run but
   * never become Ready, as with a readiness probe that keeps failing: the workload stays unavailable.
   */
  unavailable: string[];
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  apiUnavailable: false,
  apiLatencyMs: 0,
  syncErrors: [],
  nodesNotReady: [],
  unavailable: [],
});

/** Validates a (partial) faults document; returns the problems by field. */
export function faultProblems(v: unknown): string[] {
  if (!v || typeof v !== "object" || Array.isArray(v)) return ["faults must be an object"];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(o))
    if (!["apiUnavailable", "apiLatencyMs", "syncErrors", "nodesNotReady", "unavailable"].includes(k))
      out.push(`${k}: unknown field`);
  if (o["apiUnavailable"] !== undefined && typeof o["apiUnavailable"] !== "boolean")
    out.push("apiUnavailable: must be true or false");
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
  return out;
}
