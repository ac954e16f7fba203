/** The health watch's judgement of one package on its edge's answer, and the intent's roll-up (health-watch.ts). */
import { describe, expect, it } from "vitest";
import type { WorkloadStatus } from "../../agent/edge/readiness.js";
import { judgePackage, rollUp } from "../../agent/orchestration/health-watch.js";
import type { DeploymentRecord, PackageRecord, StateName } from "../../agent/orchestration/journal.js";

const w = (name: string, available: number, desired: number, pkg = "sink"): WorkloadStatus => ({
  kind: "Deployment",
  name,
  intent: "i",
  package: pkg,
  desired,
  available,
});

describe("judgePackage", () => {
  it("is READY with every workload available, and learns the workloads it saw", () => {
    const known = new Set<string>();
    expect(judgePackage("edge-1", "sink", { workloads: [w("a", 2, 2), w("b", 1, 1, "other")] }, known)).toEqual({
      state: "READY",
      reason: "workloads available again on edge-1",
    });
    expect([...known]).toEqual(["Deployment/a"]);
  });

  it("names each workload short of replicas, and each one seen before that is gone", () => {
    const known = new Set(["Deployment/a", "Deployment/gone"]);
    expect(judgePackage("edge-1", "sink", { workloads: [w("a", 1, 3)] }, known)).toEqual({
      state: "DEGRADED",
      reason: "Deployment/gone missing, Deployment/a 1/3 available on edge-1",
    });
  });

  it("names the edge that did not answer", () => {
    expect(judgePackage("edge-2", "sink", { error: "connect ECONNREFUSED" }, new Set())).toEqual({
      state: "DEGRADED",
      reason: "edge edge-2 unreachable: connect ECONNREFUSED",
    });
  });
});

describe("rollUp", () => {
  const record = (...states: [string, StateName, string][]): DeploymentRecord =>
    ({
      packages: states.map(
        ([p, state, edge]): Partial<PackageRecord> => ({ package: p, state, edge, domain: "d", reason: `${p} why` }),
      ),
    }) as DeploymentRecord;

  it("is DEGRADED when any package is, naming each with its reason", () => {
    expect(rollUp(record(["a", "READY", "e1"], ["b", "DEGRADED", "e2"]))).toEqual({
      state: "DEGRADED",
      reason: "1 of 2 packages DEGRADED: b: b why",
    });
  });

  it("is READY only when every package is; otherwise it says nothing", () => {
    expect(rollUp(record(["a", "READY", "e1"], ["b", "READY", "e2"], ["c", "READY", "e1"]))).toEqual({
      state: "READY",
      reason: "every package READY again (3 on e1, e2)",
    });
    expect(rollUp(record(["a", "READY", "e1"], ["b", "SYNCED", "e1"]))).toBeUndefined();
  });
});
