/** `camino intent why`: the tree from the intent down to each package's first blocker (intent-why.ts). */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { formatWhy, whyData } from "../../agent/cli/commands/intent-why.js";
import { BlockerSchema, DeploymentSchema, DeploymentState as S } from "../../gen/camino/v1/types_pb.js";

const chain = create(DeploymentSchema, {
  intent: "paper-chain",
  state: S.COMMITTED,
  packages: [
    { package: "ingress", state: S.READY, edge: "edge-1", wave: 1 },
    {
      package: "upf",
      state: S.COMMITTED,
      edge: "edge-2",
      wave: 2,
      waitingOn: [
        create(BlockerSchema, {
          kind: "rollout",
          message: "Deployment/upf 0/1 available — pod upf-7c9 ImagePullBackOff: upf",
          replicasDesired: 1,
          podReasons: ["pod upf-7c9 ImagePullBackOff: upf"],
        }),
        create(BlockerSchema, {
          kind: "sync",
          message: "edge edge-2 to sync commit 0123456789ab",
          syncStatus: "at 0f0f",
        }),
      ],
    },
    {
      package: "smf",
      state: S.ADMITTED,
      edge: "edge-1",
      wave: 3,
      waitingOn: [create(BlockerSchema, { kind: "wave", message: "wave 3 waits for upf", packages: ["upf"] })],
    },
  ],
});

describe("formatWhy", () => {
  it("draws the intent, the READY packages folded, and each other package's first blocker", () => {
    expect(formatWhy(chain)).toBe(
      [
        "paper-chain  COMMITTED  (wave 2 of 3)",
        "├─ ingress  READY on edge-1",
        "├─ upf  COMMITTED on edge-2",
        "│  └─ rollout: Deployment/upf 0/1 available — pod upf-7c9 ImagePullBackOff: upf (and 1 more)",
        "└─ smf  ADMITTED on edge-1",
        "   └─ wave: wave 3 waits for upf",
        "",
      ].join("\n"),
    );
  });

  it("says a READY intent is READY in one line", () => {
    const d = create(DeploymentSchema, {
      intent: "done",
      state: S.READY,
      reason: "every package READY (2 on edge-1)",
      packages: [
        { package: "a", state: S.READY, edge: "edge-1", wave: 1 },
        { package: "b", state: S.READY, edge: "edge-1", wave: 1 },
      ],
    });
    expect(formatWhy(d)).toBe("done  READY: every package READY (2 on edge-1)\n");
  });

  it("shows what a sync blocker's RootSync reports, and all blockers in the data for scripts", () => {
    const d = create(DeploymentSchema, {
      intent: "x",
      state: S.COMMITTED,
      packages: [
        {
          package: "p",
          state: S.COMMITTED,
          edge: "edge-1",
          wave: 1,
          waitingOn: [
            create(BlockerSchema, {
              kind: "sync",
              message: "edge edge-1 to sync commit abc",
              syncStatus: "at def, syncing",
            }),
          ],
        },
      ],
    });
    expect(formatWhy(d)).toContain("└─ sync: edge edge-1 to sync commit abc — RootSync at def, syncing");
    expect(whyData(d)).toMatchObject({
      intent: "x",
      state: "COMMITTED",
      packages: [{ package: "p", waitingOn: [{ kind: "sync", syncStatus: "at def, syncing" }] }],
    });
  });
});
