/**
 * `monitoring.alerts`: the alert rules. The defaults (agent/monitoring/alert-rules.ts) apply unless the section
 * says otherwise; a rule listed with a default's name changes only the fields it gives (or turns the rule off
 * with `enabled: false`), and a rule with a new name adds one (its `kind` and `threshold` are then required).
 * @example
 * monitoring:
 *   alerts:
 *     rules:
 *       - { name: WorkloadCpuNearLimit, threshold: 0.8, for: 30s }
 *       - { name: EdgeUnreachable, enabled: false }
 *       - { name: FirewallMemory, kind: workload-memory, threshold: 0.75, for: 1m, severity: critical }
 */
import { type Checker, joinPath } from "../../common/checker.js";
import {
  ALERT_RULE_KINDS,
  type AlertRule,
  type AlertSeverity,
  DEFAULT_ALERT_RULES,
} from "../monitoring/alert-rules.js";

export interface AlertsConfig {
  /** False turns alerting off. Default true. */
  enabled: boolean;
  /** The rules in force, defaults first (as changed), then the added ones. */
  rules: AlertRule[];
}

const SEVERITIES: readonly AlertSeverity[] = ["info", "warning", "critical"];

/** The default `monitoring.alerts`. */
export function defaultAlerts(): AlertsConfig {
  return { enabled: true, rules: DEFAULT_ALERT_RULES.map((r) => ({ ...r })) };
}

/** Checks `monitoring.alerts`; problems are added to `c` with their paths. */
export function parseAlertsSection(c: Checker, v: unknown): AlertsConfig {
  const config = defaultAlerts();
  const o = c.object(v, "monitoring.alerts", ["enabled", "rules"]);
  if (!o) return config;
  if (o["enabled"] !== undefined) {
    if (typeof o["enabled"] === "boolean") config.enabled = o["enabled"];
    else c.add("monitoring.alerts.enabled", "must be true or false");
  }
  const off = new Set<string>();
  const seen = new Set<string>();
  c.list(o["rules"], "monitoring.alerts.rules", 100).forEach((raw, i) => {
    const path = `monitoring.alerts.rules[${i}]`;
    const r = c.object(raw, path, ["name", "kind", "threshold", "for", "severity", "enabled"]);
    if (!r) return;
    const name = c.string(r["name"], joinPath(path, "name"), {
      required: true,
      max: 63,
      check: (s) => (/^[A-Za-z][A-Za-z0-9_-]*$/.test(s) ? undefined : "is not a rule name (letters, digits, - and _)"),
    });
    if (!name) return;
    if (seen.has(name)) {
      c.add(joinPath(path, "name"), `${JSON.stringify(name)} is listed twice`);
      return;
    }
    seen.add(name);
    const existing = config.rules.find((x) => x.name === name);
    const kind = c.oneOf(r["kind"], joinPath(path, "kind"), ALERT_RULE_KINDS, !existing);
    const threshold = number(c, r["threshold"], joinPath(path, "threshold"), !existing);
    const forMs = r["for"] === "0s" ? 0 : c.duration(r["for"], joinPath(path, "for"), 86_400_000)?.ms;
    const severity = c.oneOf(r["severity"], joinPath(path, "severity"), SEVERITIES);
    if (r["enabled"] !== undefined && typeof r["enabled"] !== "boolean")
      c.add(joinPath(path, "enabled"), "must be true or false");
    if (r["enabled"] === false) off.add(name);
    const rule: AlertRule = existing ?? {
      name,
      kind: kind ?? "workload-cpu",
      threshold: 0,
      forMs: 0,
      severity: "warning",
    };
    if (kind) rule.kind = kind;
    if (threshold !== undefined) rule.threshold = threshold;
    if (forMs !== undefined) rule.forMs = forMs;
    if (severity) rule.severity = severity;
    if (!existing && kind && threshold !== undefined) config.rules.push(rule);
  });
  config.rules = config.rules.filter((r) => !off.has(r.name));
  return config;
}

/** A finite, non-negative number (or absent → undefined). */
function number(c: Checker, v: unknown, path: string, required: boolean): number | undefined {
  if (v === undefined || v === null) {
    if (required) c.add(path, "is required");
    return undefined;
  }
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    c.add(path, `must be a non-negative number, not ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}
