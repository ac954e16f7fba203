/** What a deployment waits on, from its record (agent/orchestration/blockers.ts) and as the API gives it. */
import { describe, expect, it } from "vitest";
import { addWait, derivedBlockers, endWait, shortInMessage, waitOn } from "../../agent/orchestration/blockers.js";
import type { LiveDeployment } from "../../agent/orchestration/deployment-store.js";
import type { DeploymentRecord, PackageRecord, StateName } from "../../agent/orchestration/journal.js";
import { deploymentToProto } from "../../agent/rpc/convert.js";

const pkg = (name: string, wave: number, state: StateName, reason = "", edge = "edge-1"): PackageRecord => ({
  package: name,
  wave,
  edge,
  domain: "domain-a",
  repository: `${edge}-deploy`,
  state,
  reason,
  blueprintCommit: "",
  commit: "",
  updatedAt: "2026-01-01T00:00:00Z",
});

const record = (state: StateName, packages: PackageRecord[], extra: Partial<DeploymentRecord> = {}) =>
  ({
    id: "chain.1",
    intent: "chain",
    revision: 1,
    state,
    reason: "",
    digest: "",
    deploymentDigest: "",
    intentJson: {},
    timeoutMs: 1000,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    packages,
    admission: [],
    touched: {},
    events: [],
    ...extra,
  }) as DeploymentRecord;

const kinds = (m: Map<string, { kind: string }[]>) =>
  Object.fromEntries([...m].map(([k, v]) => [k || "(intent)", v.map((b) => b.kind)]));

describe("derivedBlockers", () => {
  it("a later wave waits on the packages of earlier waves that are not READY; a READY package waits on nothing", () => {
    const r = record("COMMITTED", [
      pkg("a", 1, "READY"),
      pkg("b", 1, "COMMITTED"),
      pkg("c", 2, "ADMITTED"),
      pkg("d", 3, "ADMITTED"),
    ]);
    const live: LiveDeployment = { record: r };
    addWait(live, "b", { kind: "rollout", edge: "edge-1", message: "b on edge-1: Deployment/b 0/1 available" });
    const all = derivedBlockers(r);
    expect(kinds(all)).toEqual({ b: ["rollout"], c: ["wave"], d: ["wave"] });
    expect(all.get("c")?.[0]?.packages).toEqual(["b"]);
    expect(all.get("d")?.[0]?.packages).toEqual(["b", "c"]);
  });

  it("a queued intent's packages wait on the queue; an ended wait is gone and the others stay", () => {
    const r = record("PENDING", [pkg("a", 1, "PENDING"), pkg("b", 2, "PENDING")]);
    const live: LiveDeployment = { record: r };
    waitOn(live, "", [{ kind: "queue", message: "waiting for a turn" }]);
    expect(kinds(derivedBlockers(r))).toEqual({ "(intent)": ["queue"], a: ["queue"], b: ["queue"] });
    waitOn(live, "", []);
    const one = addWait(live, "a", { kind: "sync", edge: "edge-1", message: "edge-1" });
    addWait(live, "a", { kind: "sync", edge: "edge-2", message: "edge-2" });
    endWait(live, "a", one);
    expect(
      derivedBlockers(r)
        .get("a")
        ?.map((b) => b.edge),
    ).toEqual(["edge-2"]);
  });

  it("a package of a segment waits on its peer, with the segment's state there", () => {
    const r = record("COMMITTED", [pkg("far", 1, "COMMITTED", "", "")], {
      segments: [
        {
          domain: "domain-b",
          id: "seg-1",
          generation: 1,
          packages: ["far"],
          firstWave: 1,
          lastWave: 1,
          phase: "committed",
          namespace: "ns",
          leaseExpiresAt: "",
          state: "SYNCED",
          reason: "edge-9 synced",
        },
      ],
    });
    expect(derivedBlockers(r).get("far")).toEqual([
      {
        kind: "segment",
        peer: "domain-b",
        segmentState: "SYNCED",
        message: "segment seg-1 in domain-b: SYNCED (edge-9 synced)",
      },
    ]);
  });

  it("a DEGRADED package says what the health watch found, by kind", () => {
    const r = record("DEGRADED", [
      pkg("short", 1, "DEGRADED", "Deployment/short 1/3 available on edge-1"),
      pkg("lost", 1, "DEGRADED", "edge edge-2 unreachable: connect ECONNREFUSED", "edge-2"),
      pkg("rule", 1, "DEGRADED", "prerequisite IngressClass/nginx (provided by intent gate, terminated) on edge-1"),
      pkg("fine", 1, "READY"),
      pkg("synced", 1, "DEGRADED", "sync error KNV2009 for Deployment/chain/synced on edge-1"),
    ]);
    const all = derivedBlockers(r);
    expect(kinds(all)).toEqual({ short: ["rollout"], lost: ["edge"], rule: ["dependency"], synced: ["sync"] });
    expect(all.get("synced")?.[0]?.object).toBe("Deployment/chain/synced");
    expect(all.get("short")?.[0]).toMatchObject({ replicasAvailable: 1, replicasDesired: 3, edge: "edge-1" });
    expect(all.get("rule")?.[0]?.resource).toBe("IngressClass/nginx");
  });

  it("a ROLLED_BACK intent says why; a package refused at admission names the check, edge and resource", () => {
    const r = record("ROLLED_BACK", [pkg("big", 1, "ROLLED_BACK"), pkg("ok", 1, "ROLLED_BACK")], {
      reason: "admission refused 1 reason(s): big@edge-1 [resources] needs 64 CPU",
      admission: [{ package: "big", edge: "edge-1", check: "resources", message: "needs 64 CPU", resource: "cpu" }],
    });
    const all = derivedBlockers(r);
    expect(kinds(all)).toEqual({ "(intent)": ["admission"], big: ["admission"] });
    expect(all.get("big")?.[0]).toMatchObject({ edge: "edge-1", resource: "cpu" });
  });

  it("a READY deployment waits on nothing, whatever a run left on its record", () => {
    const r = record("READY", [pkg("a", 1, "READY")], { waitingOn: { a: [{ kind: "rollout", message: "x" }] } });
    expect(derivedBlockers(r).size).toBe(0);
  });
});

describe("shortInMessage", () => {
  it("names the resources a placement reason says do not fit", () => {
    expect(
      shortInMessage("spec.packages[0].resources: needs 64 CPU, 16Mi memory; edge-1 has 3250m CPU, 6Gi memory free"),
    ).toBe("cpu");
    expect(
      shortInMessage(
        "needs 100m CPU, 8Gi memory, 3 pods; edge-2 has 3 CPU, 1Gi memory, 2 pods free after earlier packages",
      ),
    ).toBe("memory, pods");
    expect(
      shortInMessage(
        "needs 1200m CPU, 32Mi memory; edge-2 has 3750m CPU, 7Gi memory free in total, but its pod does not fit on its nodes (free per node: 1 CPU, 2Gi memory)",
      ),
    ).toBe("node room");
    expect(shortInMessage("edge edge-1 cannot be asked for its capacity: not connected")).toBeUndefined();
  });
});

describe("deploymentToProto", () => {
  it("gives the intent's blockers and each package's", () => {
    const r = record("PENDING", [pkg("a", 1, "PENDING")], {
      waitingOn: { "": [{ kind: "queue", message: "waiting for a turn: 1 deployments under way" }] },
    });
    const d = deploymentToProto(r);
    expect(d.waitingOn.map((b) => [b.kind, b.message])).toEqual([
      ["queue", "waiting for a turn: 1 deployments under way"],
    ]);
    expect(d.packages[0]?.waitingOn.map((b) => b.kind)).toEqual(["queue"]);
  });
});
