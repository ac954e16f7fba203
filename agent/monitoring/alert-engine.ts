/**
 * The alert engine as a pure function of (rules, previous state, snapshot, now): what is pending, what fires,
 * what resolves. No clock, no I/O, so it is tested with hand-made snapshots and a fake clock; the runner
 * (alert-runner.ts) calls it on every snapshot and publishes the transitions.
 *
 * A condition first seen at T is pending; it fires at the first snapshot at or after T + rule.forMs while it
 * still holds; it resolves at the first snapshot where it no longer holds. A workload on an edge the source
 * could not read keeps its alerts as they were (no figures is not good figures); its edge has its own alert.
 */
import { type AlertRule, type AlertSeverity, formatRuleValue } from "./alert-rules.js";
import type { EdgeFigures, MonitoringSnapshot, WorkloadFigures } from "./snapshot.js";

/** One alert (pending, firing or resolved). Edge alerts have an empty intent and package. */
export interface Alert {
  /** `<rule>/<edge>/<intent>/<package>`: stable across snapshots. */
  id: string;
  rule: string;
  severity: AlertSeverity;
  intent: string;
  package: string;
  edge: string;
  /** The measured value at the last evaluation (at firing, the value that made it fire; at resolution, the last one). */
  value: number;
  threshold: number;
  /** Since when the condition has held. */
  since: Date;
  firing: boolean;
  /** When it fired. */
  firedAt?: Date;
  /** When it resolved. */
  resolvedAt?: Date;
  summary: string;
}

/** Alerts pending or firing, by id. Treat as immutable: the engine returns a new one. */
export type AlertState = ReadonlyMap<string, Alert>;

export interface AlertTransition {
  kind: "firing" | "resolved";
  alert: Alert;
}

export interface AlertEvaluation {
  state: AlertState;
  transitions: AlertTransition[];
}

/**
 * One subject's measured value. A subject is three names: (edge, intent, package) for a workload, (edge, "", "")
 * for an edge, ("", intent, link) for a link; an alert's id is `<rule>/<a>/<b>/<c>`, built only for a condition
 * that holds (at 5,000 workloads a tick, building every id is most of the cost).
 */
type Visit = (
  a: string,
  b: string,
  c: string,
  alert: { intent: string; package: string; edge: string },
  value: number,
  what: () => string,
) => void;

/** Evaluates every rule on one snapshot. */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  previous: AlertState,
  snapshot: MonitoringSnapshot,
  now: Date,
): AlertEvaluation {
  const unreachable = new Set(snapshot.edges.filter((e) => !e.reachable).map((e) => e.edge));
  const state = new Map<string, Alert>();
  const transitions: AlertTransition[] = [];
  const seen = new Set<string>();
  // The previous alerts by rule and subject, so a subject is looked up by the names it already has.
  const index = new Map<string, Map<string, Map<string, Map<string, Alert>>>>();
  for (const a of previous.values()) {
    const [, x = "", y = "", z = ""] = a.id.split("/");
    child(child(child(index, a.rule), x), y).set(z, a);
  }
  for (const rule of rules) {
    const prev = index.get(rule.name);
    observe(rule, snapshot, unreachable, (a, b, c, subject, value, what) => {
      const before = prev?.get(a)?.get(b)?.get(c);
      if (value < rule.threshold) {
        if (before) {
          seen.add(before.id);
          if (before.firing) transitions.push({ kind: "resolved", alert: resolved(before, value, now) });
        }
        return;
      }
      const id = before?.id ?? `${rule.name}/${a}/${b}/${c}`;
      seen.add(id);
      const since = before?.since ?? now;
      const alert: Alert = {
        id,
        rule: rule.name,
        severity: rule.severity,
        intent: subject.intent,
        package: subject.package,
        edge: subject.edge,
        value,
        threshold: rule.threshold,
        since,
        firing: before?.firing ?? false,
        summary: `${what()}: ${formatRuleValue(rule.kind, value)} ≥ ${formatRuleValue(rule.kind, rule.threshold)}`,
      };
      if (before?.firedAt) alert.firedAt = before.firedAt;
      if (!alert.firing && now.getTime() - since.getTime() >= rule.forMs) {
        alert.firing = true;
        alert.firedAt = now;
        transitions.push({ kind: "firing", alert });
      }
      state.set(id, alert);
    });
  }
  for (const [id, before] of previous) {
    if (seen.has(id)) continue;
    // A workload whose edge could not be read keeps its alert; anything else that is gone resolves.
    if (before.intent !== "" && unreachable.has(before.edge) && rules.some((r) => r.name === before.rule)) {
      state.set(id, before);
      continue;
    }
    if (before.firing) transitions.push({ kind: "resolved", alert: resolved(before, before.value, now) });
  }
  return { state, transitions };
}

/** The map under `key`, made when missing. */
function child<V>(m: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let c = m.get(key);
  if (!c) {
    c = new Map();
    m.set(key, c);
  }
  return c;
}

function resolved(a: Alert, value: number, now: Date): Alert {
  return { ...a, value, firing: false, resolvedAt: now };
}

/** Calls `visit` with the rule's measured value for every subject it applies to in the snapshot. */
function observe(rule: AlertRule, s: MonitoringSnapshot, unreachable: ReadonlySet<string>, visit: Visit): void {
  const workload = (w: WorkloadFigures, value: number, what: string) =>
    visit(w.edge, w.intent, w.package, w, value, () => `${w.intent}/${w.package} on ${w.edge} ${what}`);
  const noIntent = { intent: "", package: "" };
  const edge = (e: EdgeFigures, value: number, what: string) =>
    visit(e.edge, "", "", { ...noIntent, edge: e.edge }, value, () => `edge ${e.edge} ${what}`);
  switch (rule.kind) {
    case "workload-cpu":
      for (const w of s.workloads)
        if (!unreachable.has(w.edge) && w.limits.cpuMillis > 0)
          workload(w, w.used.cpuMillis / w.limits.cpuMillis, "CPU of its limit");
      break;
    case "workload-memory":
      for (const w of s.workloads)
        if (!unreachable.has(w.edge) && w.limits.memoryBytes > 0)
          workload(w, w.used.memoryBytes / w.limits.memoryBytes, "memory of its limit");
      break;
    case "replicas-unavailable":
      for (const w of s.workloads)
        if (!unreachable.has(w.edge))
          workload(
            w,
            Math.max(0, w.replicasDesired - w.replicasAvailable),
            `replicas unavailable (${w.replicasAvailable}/${w.replicasDesired} available)`,
          );
      break;
    case "edge-cpu":
      for (const e of s.edges)
        if (e.reachable && e.allocatable.cpuMillis > 0)
          edge(e, e.requested.cpuMillis / e.allocatable.cpuMillis, "CPU requested of allocatable");
      break;
    case "edge-memory":
      for (const e of s.edges)
        if (e.reachable && e.allocatable.memoryBytes > 0)
          edge(e, e.requested.memoryBytes / e.allocatable.memoryBytes, "memory requested of allocatable");
      break;
    case "edge-unreachable":
      for (const e of s.edges) edge(e, e.reachable ? 0 : 1, "unreachable");
      break;
    case "link-error-rate":
    case "link-latency-p99":
      for (const l of s.links) {
        const value = rule.kind === "link-error-rate" ? (l.requestRate > 0 ? l.errorRate : undefined) : l.p99Ms;
        if (value === undefined) continue;
        // A link's alert is its consumer package's: the intent's watchers see it on the package that calls.
        visit(
          "",
          l.intent,
          l.link,
          { intent: l.intent, package: l.from, edge: "" },
          value,
          () =>
            `${l.intent} link ${l.link} (${l.from} → ${l.to}) ${rule.kind === "link-error-rate" ? "error rate" : "p99 latency"}`,
        );
      }
      break;
  }
}
