/**
 * An intent's revision history in its record (agent/orchestration/revision-history.ts): opened with each new
 * revision's record and carried over, ended with the run's outcome (the commits it made, the blueprint commits
 * it resolved), shown as the record stands while a revision is open (also after a restart's rollback, which ends
 * no entry), bounded, and turned into a rollback's pinned spec — or a refusal naming `to_revision`.
 */
import { describe, expect, it } from "vitest";
import { RequestError } from "../../agent/errors.js";
import type { DeploymentRecord, StateName } from "../../agent/orchestration/journal.js";
import {
  deployedRevision,
  endRevision,
  historyOf,
  MAX_REVISIONS_KEPT,
  noteCommit,
  openRevision,
  rollbackSpec,
} from "../../agent/orchestration/revision-history.js";

const spec = (replicas: number) => ({
  apiVersion: "camino.io/v1",
  kind: "DeploymentIntent",
  metadata: { name: "life" },
  spec: {
    packages: [
      { name: "ingress", blueprint: "nginx-ingress" },
      { name: "upf", blueprint: "upf", replicas },
    ],
  },
});

/** A new revision's record as deployment-manager.ts builds it, its history opened from `previous`. */
function revisionOf(revision: number, previous?: DeploymentRecord): DeploymentRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, revision)).toISOString();
  const r: DeploymentRecord = {
    id: `life.${revision}`,
    intent: "life",
    revision,
    state: "PENDING",
    reason: "submitted",
    digest: "",
    deploymentDigest: `digest-${revision}`,
    intentJson: spec(revision),
    timeoutMs: 60_000,
    createdAt: at,
    updatedAt: at,
    packages: ["ingress", "upf"].map((name, i) => ({
      package: name,
      wave: i + 1,
      edge: "",
      domain: "domain-x",
      repository: "",
      state: "PENDING" as StateName,
      reason: "waiting for admission",
      blueprintCommit: "",
      commit: "",
      updatedAt: at,
    })),
    admission: [],
    touched: {},
    events: [],
  };
  openRevision(r, previous);
  return r;
}

/** Runs the record's revision as a deployment would: admitted, the chain and both waves committed, READY. */
function deploy(r: DeploymentRecord, blueprintCommit: string, state: StateName = "READY"): DeploymentRecord {
  const n = r.revision;
  r.touched = { "edge-1-deploy": `base-${n}` };
  noteCommit(r, { repository: "edge-1-deploy", commit: `chain-${n}`, wave: 0 });
  for (const p of r.packages) {
    p.repository = "edge-1-deploy";
    p.blueprintCommit = blueprintCommit;
    p.commit = `${p.package}-${n}`;
    p.state = state;
  }
  r.state = state;
  r.reason = state === "READY" ? "every package READY" : "spec.timeout 1s passed";
  endRevision(r, new Date(Date.UTC(2026, 0, 1, 1, n)).toISOString());
  return r;
}

describe("revision history", () => {
  it("keeps each revision with its outcome, commits and blueprint commits, carried from record to record", () => {
    const r1 = deploy(revisionOf(1), "bp-a");
    const r2 = deploy(revisionOf(2, r1), "bp-b", "ROLLED_BACK");
    const r3 = revisionOf(3, r2);
    const h = historyOf(r3);
    expect(h.map((e) => [e.revision, e.outcome, e.digest])).toEqual([
      [1, "READY", "digest-1"],
      [2, "ROLLED_BACK", "digest-2"],
      [3, "PENDING", "digest-3"],
    ]);
    expect(h[0]?.commits).toEqual([
      { repository: "edge-1-deploy", commit: "chain-1", wave: 0 },
      { repository: "edge-1-deploy", commit: "ingress-1", wave: 1 },
      { repository: "edge-1-deploy", commit: "upf-1", wave: 2 },
    ]);
    expect(h[0]?.blueprints).toEqual([
      { package: "ingress", blueprint: "nginx-ingress", commit: "bp-a" },
      { package: "upf", blueprint: "upf", commit: "bp-a" },
    ]);
    expect(h[0]?.endedAt).toBe("2026-01-01T01:01:00.000Z");
    expect(h[2]?.endedAt).toBe("");
  });

  it("counts no commit for a wave that changed nothing (its package keeps the head it found)", () => {
    const r = revisionOf(1);
    r.touched = { "edge-1-deploy": "head-before" };
    for (const p of r.packages) Object.assign(p, { repository: "edge-1-deploy", commit: "head-before" });
    r.state = "READY";
    endRevision(r);
    expect(historyOf(r)[0]?.commits).toEqual([]);
  });

  it("shows an open revision as its record stands: running, or rolled back by a restarted agent", () => {
    const r1 = deploy(revisionOf(1), "bp-a");
    const r2 = revisionOf(2, r1);
    r2.state = "COMMITTED";
    expect(historyOf(r2).at(-1)).toMatchObject({ revision: 2, outcome: "COMMITTED", endedAt: "" });
    // recovery.ts rolls back without ending the entry: the record's outcome shows, and the next revision ends it.
    r2.state = "ROLLED_BACK";
    r2.reason = "the agent restarted while the intent was COMMITTED";
    expect(historyOf(r2).at(-1)).toMatchObject({ outcome: "ROLLED_BACK", reason: r2.reason });
    const r3 = revisionOf(3, r2);
    expect(r3.history?.find((e) => e.revision === 2)).toMatchObject({ outcome: "ROLLED_BACK" });
    // The entry of a READY revision keeps READY when it later degrades; a termination ends it TERMINATED.
    r1.state = "DEGRADED";
    expect(historyOf(r1)[0]?.outcome).toBe("READY");
    r1.state = "TERMINATED";
    endRevision(r1);
    expect(historyOf(r1)[0]?.outcome).toBe("TERMINATED");
    // A revision that failed keeps its failure when the intent is terminated after it.
    const failed = deploy(revisionOf(2, r1), "bp-b", "ROLLED_BACK");
    failed.state = "TERMINATED";
    endRevision(failed);
    expect(historyOf(failed).map((e) => e.outcome)).toEqual(["TERMINATED", "ROLLED_BACK"]);
  });

  it("opens an entry for a record journalled before history existed", () => {
    const old = revisionOf(4);
    delete old.history;
    old.state = "READY";
    expect(historyOf(old).map((e) => [e.revision, e.outcome])).toEqual([[4, "READY"]]);
    const next = revisionOf(5, old);
    expect(historyOf(next).map((e) => e.revision)).toEqual([4, 5]);
  });

  it(`keeps the last ${MAX_REVISIONS_KEPT} revisions`, () => {
    let r = deploy(revisionOf(1), "bp");
    for (let n = 2; n <= MAX_REVISIONS_KEPT + 5; n++) r = deploy(revisionOf(n, r), "bp");
    const h = historyOf(r);
    expect(h).toHaveLength(MAX_REVISIONS_KEPT);
    expect(h[0]?.revision).toBe(6);
    expect(h.at(-1)?.revision).toBe(MAX_REVISIONS_KEPT + 5);
  });

  it("says which revision the repositories hold", () => {
    expect(deployedRevision(undefined)).toBe(0);
    const r1 = deploy(revisionOf(1), "bp-a");
    expect(deployedRevision(r1)).toBe(1);
    const r2 = deploy(revisionOf(2, r1), "bp-b", "ROLLED_BACK");
    expect(deployedRevision(r2)).toBe(1);
    r2.state = "TERMINATED";
    expect(deployedRevision(r2)).toBe(0);
  });

  it("gives a rollback the revision's spec pinned to its blueprint commits", () => {
    const r1 = deploy(revisionOf(1), "bp-a");
    const r2 = deploy(revisionOf(2, r1), "bp-b");
    expect(rollbackSpec(r2, 1)).toEqual({
      ...spec(1),
      spec: {
        packages: [
          { name: "ingress", blueprint: "nginx-ingress", blueprintRevision: "bp-a" },
          { name: "upf", blueprint: "upf", replicas: 1, blueprintRevision: "bp-a" },
        ],
      },
    });
    // The stored spec itself is left as it was.
    expect(r2.history?.[0]?.intentJson).toEqual(spec(1));
  });

  it("refuses a revision that is not recorded, naming to_revision and the recorded ones", () => {
    const r2 = deploy(revisionOf(2, deploy(revisionOf(1), "bp-a")), "bp-b");
    for (const [to, text] of [
      [7, "to_revision: revision 7 is not recorded for intent life (recorded: 1, 2)"],
      [0, "to_revision: is required for intent life (recorded: 1, 2)"],
    ] as const) {
      let caught: unknown;
      try {
        rollbackSpec(r2, to);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RequestError);
      expect((caught as RequestError).message).toContain(text);
      expect((caught as RequestError).issues[0]?.path).toBe("to_revision");
    }
  });
});
