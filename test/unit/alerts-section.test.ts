/** `monitoring.alerts`, `monitoring.labelCache` and `monitoring.influxdb` as the config file gives them. */
import { describe, expect, it } from "vitest";
import { Checker } from "../../common/checker.js";
import { parseMonitoringSection } from "../../agent/config/monitoring-section.js";
import { DEFAULT_ALERT_RULES } from "../../agent/monitoring/alert-rules.js";

function parse(v: unknown) {
  const c = new Checker();
  const config = parseMonitoringSection(c, v, "/etc/camino");
  return { config, issues: c.issues };
}

describe("monitoring.alerts", () => {
  it("defaults to the default rules, enabled", () => {
    const { config, issues } = parse({});
    expect(issues).toEqual([]);
    expect(config.alerts).toEqual({ enabled: true, rules: DEFAULT_ALERT_RULES });
    expect(config.labelCache).toEqual({ ttlMs: 600_000, commandTimeoutMs: 500 });
    expect(config.influxdb).toBeUndefined();
  });

  it("changes a default by name, turns one off, and adds a rule", () => {
    const { config, issues } = parse({
      alerts: {
        rules: [
          { name: "WorkloadCpuNearLimit", threshold: 0.8, for: "30s" },
          { name: "EdgeUnreachable", enabled: false },
          { name: "Hot", kind: "workload-memory", threshold: 0.5, for: "0s", severity: "critical" },
        ],
      },
    });
    expect(issues).toEqual([]);
    const byName = Object.fromEntries(config.alerts.rules.map((r) => [r.name, r]));
    expect(byName["WorkloadCpuNearLimit"]).toEqual({
      name: "WorkloadCpuNearLimit",
      kind: "workload-cpu",
      threshold: 0.8,
      forMs: 30_000,
      severity: "warning",
    });
    expect(byName["EdgeUnreachable"]).toBeUndefined();
    expect(byName["Hot"]).toEqual({
      name: "Hot",
      kind: "workload-memory",
      threshold: 0.5,
      forMs: 0,
      severity: "critical",
    });
    expect(config.alerts.rules).toHaveLength(DEFAULT_ALERT_RULES.length);
  });

  it("names the field of each problem", () => {
    const { issues } = parse({
      alerts: {
        rules: [
          { name: "New", threshold: -1 },
          { name: "X", kind: "cpu", threshold: 1, colour: "red" },
        ],
      },
      influxdb: { url: "ftp://x", batchSize: 0 },
    });
    expect(issues.map((i) => i.path).sort()).toEqual([
      "monitoring.alerts.rules[0].kind",
      "monitoring.alerts.rules[0].threshold",
      "monitoring.alerts.rules[1].colour",
      "monitoring.alerts.rules[1].kind",
      "monitoring.influxdb.batchSize",
      "monitoring.influxdb.database",
      "monitoring.influxdb.url",
    ]);
  });

  it("reads the InfluxDB export with its defaults, credential files resolved against the config's folder", () => {
    const { config, issues } = parse({
      influxdb: { url: "http://influx:8086", database: "camino", tokenFile: "influx.token", createDatabase: false },
      labelCache: { ttl: "1m", commandTimeout: "200ms", keyPrefix: "x:" },
    });
    expect(issues).toEqual([]);
    expect(config.influxdb).toEqual({
      url: "http://influx:8086",
      database: "camino",
      tokenFile: "/etc/camino/influx.token",
      createDatabase: false,
      batchSize: 5000,
      flushIntervalMs: 1000,
      maxBufferedLines: 100_000,
      attempts: 4,
      retryDelayMs: 200,
      timeoutMs: 5000,
    });
    expect(config.labelCache).toEqual({ ttlMs: 60_000, commandTimeoutMs: 200, keyPrefix: "x:" });
  });
});
