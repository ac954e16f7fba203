/** The alert engine on hand-made snapshots with a fake clock, and the runner's ListAlerts view. */
import { describe, expect, it } from "vitest";
import { type AlertState, evaluateAlerts } from "../../agent/monitoring/alert-engine.js";
import { type AlertRule, DEFAULT_ALERT_RULES } from "../../agent/monitoring/alert-rules.js";
import { AlertRunner } from "../../agent/monitoring/alert-runner.js";
import type { EdgeFigures, MonitoringSnapshot, WorkloadFigures } from "../../agent/monitoring/snapshot.js";

const GiB = 1024 ** 3;
const T0 = Date.parse("2026-12-02T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000);

function edge(name: string, over: Partial<EdgeFigures> = {}): EdgeFigures {
  return {
    edge: name,
    reachable: true,
    allocatable: { cpuMillis: 4000, memoryBytes: 8 * GiB },
    requested: { cpuMillis: 1000, memoryBytes: 2 * GiB },
    used: { cpuMillis: 500, memoryBytes: GiB },
    free: { cpuMillis: 3000, memoryBytes: 6 * GiB },
    ...over,
  };
}
function workload(pkg: string, over: Partial<WorkloadFigures> = {}): WorkloadFigures {
  return {
    intent: "chain",
    package: pkg,
    edge: "edge-1",
    domain: "x",
    used: { cpuMillis: 100, memoryBytes: 100e6 },
    limits: { cpuMillis: 500, memoryBytes: 512e6 },
    replicasAvailable: 1,
    replicasDesired: 1,
    ...over,
  };
}
function snap(s: number, edges: EdgeFigures[], workloads: WorkloadFigures[]): MonitoringSnapshot {
  return { at: at(s), source: "test", edges, workloads, links: [] };
}

const cpu: AlertRule = { name: "Cpu", kind: "workload-cpu", threshold: 0.9, forMs: 30_000, severity: "warning" };

describe("evaluateAlerts", () => {
  it("is pending first, fires once the condition has held for the rule's duration, and resolves when it stops", () => {
    const hot = (s: number) =>
      snap(s, [edge("edge-1")], [workload("fw", { used: { cpuMillis: 475, memoryBytes: 1 } })]);
    let state: AlertState = new Map();
    let r = evaluateAlerts([cpu], state, hot(0), at(0));
    expect(r.transitions).toEqual([]);
    expect([...r.state.values()][0]).toMatchObject({ firing: false, since: at(0), value: 0.95 });
    state = r.state;
    r = evaluateAlerts([cpu], state, hot(29), at(29));
    expect(r.transitions).toEqual([]);
    state = r.state;
    r = evaluateAlerts([cpu], state, hot(30), at(30));
    expect(r.transitions).toHaveLength(1);
    expect(r.transitions[0]).toMatchObject({
      kind: "firing",
      alert: {
        rule: "Cpu",
        intent: "chain",
        package: "fw",
        edge: "edge-1",
        value: 0.95,
        threshold: 0.9,
        since: at(0),
        firedAt: at(30),
        firing: true,
        severity: "warning",
      },
    });
    expect(r.transitions[0]?.alert.summary).toBe("chain/fw on edge-1 CPU of its limit: 95.0% ≥ 90.0%");
    state = r.state;
    // Still hot: no second firing.
    r = evaluateAlerts([cpu], state, hot(45), at(45));
    expect(r.transitions).toEqual([]);
    state = r.state;
    r = evaluateAlerts([cpu], state, snap(60, [edge("edge-1")], [workload("fw")]), at(60));
    expect(r.transitions).toEqual([
      expect.objectContaining({
        kind: "resolved",
        alert: expect.objectContaining({ firing: false, resolvedAt: at(60), value: 0.2, since: at(0) }),
      }),
    ]);
    expect(r.state.size).toBe(0);
  });

  it("restarts the duration when the condition stops before firing", () => {
    const s = (t: number, used: number) =>
      snap(t, [edge("edge-1")], [workload("fw", { used: { cpuMillis: used, memoryBytes: 1 } })]);
    let r = evaluateAlerts([cpu], new Map(), s(0, 480), at(0));
    r = evaluateAlerts([cpu], r.state, s(20, 100), at(20));
    r = evaluateAlerts([cpu], r.state, s(25, 480), at(25));
    r = evaluateAlerts([cpu], r.state, s(50, 480), at(50));
    expect(r.transitions).toEqual([]);
    r = evaluateAlerts([cpu], r.state, s(55, 480), at(55));
    expect(r.transitions.map((t) => t.kind)).toEqual(["firing"]);
    expect(r.transitions[0]?.alert.since).toEqual(at(25));
  });

  it("judges every default rule: memory, replicas, edge capacity, edge unreachable; no limit is not judged", () => {
    const rules = DEFAULT_ALERT_RULES.map((r) => ({ ...r, forMs: 0 }));
    const s = snap(
      0,
      [
        edge("edge-1", { requested: { cpuMillis: 3800, memoryBytes: 7.5 * GiB } }),
        edge("edge-2", { reachable: false }),
        edge("edge-3"),
      ],
      [
        workload("mem", { used: { cpuMillis: 1, memoryBytes: 500e6 } }),
        workload("down", { replicasAvailable: 1, replicasDesired: 3 }),
        workload("nolimit", {
          edge: "edge-3",
          used: { cpuMillis: 9000, memoryBytes: 9e9 },
          limits: { cpuMillis: 0, memoryBytes: 0 },
        }),
      ],
    );
    const r = evaluateAlerts(rules, new Map(), s, at(0));
    const fired = r.transitions
      .map((t) => `${t.alert.rule} ${t.alert.edge} ${t.alert.package} ${t.alert.value}`)
      .sort();
    expect(fired).toEqual([
      "EdgeCpuNearlyExhausted edge-1  0.95",
      "EdgeMemoryNearlyExhausted edge-1  0.9375",
      "EdgeUnreachable edge-2  1",
      "ReplicasUnavailable edge-1 down 2",
      "WorkloadMemoryNearLimit edge-1 mem 0.9765625",
    ]);
  });

  it("keeps a workload's alert while its edge cannot be read, and resolves it when it is gone from a readable edge", () => {
    const hot = workload("fw", { used: { cpuMillis: 500, memoryBytes: 1 } });
    const fire = { ...cpu, forMs: 0 };
    let r = evaluateAlerts([fire], new Map(), snap(0, [edge("edge-1")], [hot]), at(0));
    expect(r.transitions.map((t) => t.kind)).toEqual(["firing"]);
    r = evaluateAlerts([fire], r.state, snap(10, [edge("edge-1", { reachable: false })], []), at(10));
    expect(r.transitions).toEqual([]);
    expect([...r.state.values()].map((a) => a.firing)).toEqual([true]);
    r = evaluateAlerts([fire], r.state, snap(20, [edge("edge-1")], []), at(20));
    expect(r.transitions.map((t) => `${t.kind} ${t.alert.package}`)).toEqual(["resolved fw"]);
  });
});

describe("link rules", () => {
  it("judge a link's error rate (links with requests only) and p99 latency, on its consumer package", () => {
    const rules: AlertRule[] = [
      { name: "Errors", kind: "link-error-rate", threshold: 0.05, forMs: 0, severity: "warning" },
      { name: "Slow", kind: "link-latency-p99", threshold: 100, forMs: 0, severity: "warning" },
    ];
    const s: MonitoringSnapshot = {
      ...snap(0, [edge("edge-1")], []),
      links: [
        { intent: "chain", link: "fw-nat-80", from: "fw", to: "nat", requestRate: 10, errorRate: 0.07, p99Ms: 40 },
        { intent: "chain", link: "nat-upf-80", from: "nat", to: "upf", requestRate: 5, errorRate: 0, p99Ms: 250 },
        // No requests: its error rate means nothing, and it has no latency.
        { intent: "chain", link: "upf-db-5432", from: "upf", to: "db", requestRate: 0, errorRate: 1 },
      ],
    };
    const r = evaluateAlerts(rules, new Map(), s, at(0));
    expect(
      r.transitions.map((t) => [t.alert.rule, t.alert.intent, t.alert.package, t.alert.value, t.alert.summary]),
    ).toEqual([
      ["Errors", "chain", "fw", 0.07, "chain link fw-nat-80 (fw → nat) error rate: 7.0% ≥ 5.0%"],
      ["Slow", "chain", "nat", 250, "chain link nat-upf-80 (nat → upf) p99 latency: 250 ms ≥ 100 ms"],
    ]);
  });
});

describe("AlertRunner", () => {
  it("publishes transitions and lists firing then resolved alerts, filtered by intent (edge alerts by placement)", () => {
    let now = at(0);
    const published: string[] = [];
    const runner = new AlertRunner({
      rules: [
        { ...cpu, forMs: 10_000 },
        { name: "Down", kind: "edge-unreachable", threshold: 1, forMs: 0, severity: "critical" },
      ],
      publish: (t) => published.push(`${t.kind} ${t.alert.rule} ${t.alert.intent}/${t.alert.package}@${t.alert.edge}`),
      intentsOn: (e) => (e === "edge-2" ? ["other"] : []),
      now: () => now,
    });
    const hot = workload("fw", { used: { cpuMillis: 500, memoryBytes: 1 } });
    runner.observe(snap(0, [edge("edge-1"), edge("edge-2", { reachable: false })], [hot]));
    expect(published).toEqual(["firing Down /@edge-2"]);
    now = at(10);
    runner.observe(snap(10, [edge("edge-1"), edge("edge-2", { reachable: false })], [hot]));
    expect(published).toEqual(["firing Down /@edge-2", "firing Cpu chain/fw@edge-1"]);
    expect(runner.list({ intent: "chain" }).map((a) => a.rule)).toEqual(["Cpu"]);
    expect(runner.list({ intent: "other" }).map((a) => a.rule)).toEqual(["Down"]);
    now = at(20);
    runner.observe(snap(20, [edge("edge-1"), edge("edge-2")], [workload("fw")]));
    expect(published.slice(2).sort()).toEqual(["resolved Cpu chain/fw@edge-1", "resolved Down /@edge-2"]);
    expect(runner.list({ firingOnly: true })).toEqual([]);
    const all = runner.list({ intent: "chain" });
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ rule: "Cpu", firing: false, since: at(0), firedAt: at(10), resolvedAt: at(20) });
    expect(runner.evaluations).toBe(3);
  });
});
