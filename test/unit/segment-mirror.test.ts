/**
 * The origin's copy of a peer's word on a segment (agent/orchestration/segment-steps.ts `mirror`): the segment's
 * state and reason, and each of its packages' states, as WatchSegment sends them. A package that moves on the peer
 * while the segment's own state and reason stay the same is copied too.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { LiveDeployment } from "../../agent/orchestration/deployment-store.js";
import type { DeploymentRecord, SegmentRecord } from "../../agent/orchestration/journal.js";
import type { LifecycleDeps } from "../../agent/orchestration/run-context.js";
import { mirror } from "../../agent/orchestration/segment-steps.js";
import { DeploymentState, SegmentStatusSchema } from "../../gen/camino/v1/types_pb.js";

function origin() {
  const segment: SegmentRecord = {
    domain: "domain-b",
    id: "domain-a.chain.domain-b",
    generation: 1,
    packages: ["far"],
    firstWave: 2,
    lastWave: 2,
    phase: "committed",
    namespace: "chain-domain-a",
    leaseExpiresAt: "",
    state: "COMMITTED",
    reason: "wave 0: the chain's namespace synced on edge-9",
  };
  const record = {
    id: "chain.1",
    intent: "chain",
    revision: 1,
    state: "COMMITTED",
    reason: "",
    packages: [
      {
        package: "far",
        wave: 2,
        edge: "",
        domain: "domain-b",
        repository: "",
        state: "COMMITTED",
        reason: "committed in domain-b (segment domain-a.chain.domain-b)",
        blueprintCommit: "",
        commit: "",
        updatedAt: "2026-01-01T00:00:00Z",
      },
    ],
    segments: [segment],
    events: [],
  } as unknown as DeploymentRecord;
  const published: { package: string; state: string; reason: string; kind: string }[] = [];
  const deps = {
    events: { publish: (_r: unknown, e: (typeof published)[number]) => published.push(e) },
    journal: { saveLater: () => Promise.resolve() },
    logger: { error: () => undefined },
  } as unknown as LifecycleDeps;
  return { live: { record } as LiveDeployment, segment, deps, published };
}

const status = (farState: DeploymentState, farReason: string) =>
  create(SegmentStatusSchema, {
    id: "domain-a.chain.domain-b",
    domain: "domain-b",
    state: DeploymentState.COMMITTED,
    reason: "wave 0: the chain's namespace synced on edge-9",
    generation: 1n,
    packageStates: [{ package: "far", state: farState, reason: farReason, edge: "edge-9", wave: 1 }],
  });

describe("mirror", () => {
  it("copies a package's new state when the segment's state and reason have not changed", () => {
    const { live, segment, deps, published } = origin();
    mirror(deps, live, segment, status(DeploymentState.SYNCED, "edge edge-9 synced 1fd942cb272c"));
    expect(live.record.packages[0]).toMatchObject({
      state: "SYNCED",
      reason: "domain-b: edge edge-9 synced 1fd942cb272c",
    });
    // The package's change is told to watchers; the segment's unchanged word is not told again.
    expect(published.map((e) => [e.package, e.state, e.kind])).toEqual([["far", "SYNCED", "state"]]);
    expect([segment.state, segment.reason]).toEqual(["COMMITTED", "wave 0: the chain's namespace synced on edge-9"]);

    // The same word again changes nothing and tells nothing.
    mirror(deps, live, segment, status(DeploymentState.SYNCED, "edge edge-9 synced 1fd942cb272c"));
    expect(published).toHaveLength(1);
  });
});
