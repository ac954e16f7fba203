/**
 * What a restarted agent does with a deployment left in flight (agent/orchestration/recovery.ts chooseRecovery):
 * resume when nothing changed under it, finish a termination or a rollback under way, roll back otherwise — and
 * the reason names why. The process test (test/integration/lifecycle.test.ts) kills a real agent and checks the
 * resumed run commits nothing twice.
 */
import { describe, expect, it } from "vitest";
import { chooseRecovery } from "../../agent/orchestration/recovery.js";
import type { DeploymentRecord, PackageRecord } from "../../agent/orchestration/journal.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const COMMIT = "a".repeat(40);

const intentJson = {
  apiVersion: "camino.io/v1",
  kind: "DeploymentIntent",
  metadata: { name: "chain" },
  spec: { packages: [{ name: "front", blueprint: "traffic-sink", placement: { edge: "edge-1" } }] },
};

function pkg(over: Partial<PackageRecord> = {}): PackageRecord {
  return {
    package: "front",
    wave: 1,
    edge: "edge-1",
    domain: "domain-a",
    repository: "edge-1-deploy",
    state: "COMMITTED",
    reason: "",
    blueprintCommit: COMMIT,
    commit: "b".repeat(40),
    updatedAt: new Date(NOW - 5000).toISOString(),
    ...over,
  };
}

function record(over: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: "chain.1",
    intent: "chain",
    revision: 1,
    state: "COMMITTED",
    reason: "",
    digest: "",
    deploymentDigest: "d",
    intentJson,
    timeoutMs: 60_000,
    createdAt: new Date(NOW - 10_000).toISOString(),
    updatedAt: new Date(NOW - 5000).toISOString(),
    packages: [pkg()],
    admission: [],
    touched: { "edge-1-deploy": "" },
    events: [],
    ...over,
  };
}

const deps = (commit = COMMIT, edges = ["edge-1"]) => ({
  domainId: "domain-a",
  edges: { get: (name: string) => (edges.includes(name) ? ({ name } as never) : undefined) },
  catalogue: {
    resolve: async (blueprint: string) => {
      if (blueprint !== "traffic-sink") throw new Error(`no blueprint ${blueprint}`);
      return { commit } as never;
    },
  },
});

describe("recovery of a deployment left in flight", () => {
  it("resumes when its edges, blueprints and time are as they were, saying what is kept", async () => {
    const c = await chooseRecovery(record(), deps(), NOW);
    expect(c).toEqual({
      action: "resume",
      why: "the agent restarted while the intent was COMMITTED; its baselines in 1 repositories are kept for a rollback, and a wave it committed is found by its commit's trailers (no new commit) and waited on",
    });
    const fresh = await chooseRecovery(
      record({ state: "PENDING", touched: {}, packages: [pkg({ edge: "", blueprintCommit: "" })] }),
      deps(),
      NOW,
    );
    expect(fresh.action).toBe("resume");
    expect(fresh.why).toMatch(/nothing was committed yet: the run starts again$/);
  });

  it("rolls back, saying why, when resuming is not safe", async () => {
    const cases: [string, Promise<unknown>][] = [
      [
        "its spec.timeout passed meanwhile",
        chooseRecovery(record({ createdAt: new Date(NOW - 61_000).toISOString() }), deps(), NOW),
      ],
      ["edge edge-1 is no longer configured", chooseRecovery(record(), deps(COMMIT, []), NOW)],
      [
        `blueprint traffic-sink of front moved from ${COMMIT.slice(0, 12)} to cccccccccccc`,
        chooseRecovery(record(), deps("c".repeat(40)), NOW),
      ],
      [
        "the revision has segments in domain-b, which are not resumed across a restart",
        chooseRecovery(
          record({
            segments: [
              {
                domain: "domain-b",
                id: "domain-a.chain.domain-b",
                generation: 1,
                packages: ["back"],
                firstWave: 1,
                lastWave: 1,
                phase: "reserved",
                namespace: "chain-domain-a",
                leaseExpiresAt: "",
                state: "",
                reason: "",
              },
            ],
          }),
          deps(),
          NOW,
        ),
      ],
    ];
    for (const [why, choice] of cases) {
      expect(await choice).toEqual({
        action: "roll back",
        why: `the agent restarted while the intent was COMMITTED; ${why}`,
      });
    }
  });

  it("finishes a termination or a rollback that was under way", async () => {
    expect((await chooseRecovery(record({ state: "TERMINATING" }), deps(), NOW)).action).toBe("finish the termination");
    const rb = await chooseRecovery(record({ rollingBack: "wave 1: dry run refused" }), deps(), NOW);
    expect(rb).toEqual({
      action: "finish the rollback",
      why: "the agent restarted while the intent was COMMITTED, rolling back: wave 1: dry run refused",
    });
  });
});
