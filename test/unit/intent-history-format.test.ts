/**
 * What `camino intent history` and `camino intent diff` print for people (agent/cli/commands/intent-history.ts):
 * the history table (the current revision marked, the digest cut to 12, the commits counted, times in local
 * time), and the diff text per repository — or "no changes", saying what it was compared with.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { PlanIntentResponseSchema } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentRevisionSchema, DeploymentState } from "../../gen/camino/v1/types_pb.js";
import { formatDiff, formatHistory } from "../../agent/cli/commands/intent-history.js";
import { unifiedDiff } from "../../agent/util/unified-diff.js";

const at = (h: number, m: number) => timestampFromDate(new Date(2026, 11, 2, h, m, 0));

describe("camino intent history", () => {
  it("lists each revision: when, outcome, digest, commits, reason; the current one marked", () => {
    const history = [
      create(DeploymentRevisionSchema, {
        revision: 1n,
        intentDigest: "5f0c2a9e41d7aa00",
        submittedAt: at(19, 30),
        endedAt: at(19, 31),
        outcome: DeploymentState.READY,
        reason: "every package READY (3 on edge-1, edge-2)",
        commits: [1, 2, 3, 4].map((i) => ({ repository: "edge-1-deploy", commit: `c${i}`, wave: i % 2 })),
      }),
      create(DeploymentRevisionSchema, {
        revision: 2n,
        intentDigest: "a81b03c7d2e9bb11",
        submittedAt: at(19, 40),
        outcome: DeploymentState.COMMITTED,
        reason: "",
      }),
    ];
    expect(formatHistory(history, 2n).split("\n")).toEqual([
      "REVISION  SUBMITTED            ENDED                OUTCOME    DIGEST        COMMITS  REASON",
      "1         2026-12-02 19:30:00  2026-12-02 19:31:00  READY      5f0c2a9e41d7  4        every package READY (3 on edge-1, edge-2)",
      "2 *       2026-12-02 19:40:00  -                    COMMITTED  a81b03c7d2e9  0        -",
      "",
    ]);
  });
});

describe("camino intent diff", () => {
  it('says "no changes" and what it compared with', () => {
    expect(formatDiff("life", create(PlanIntentResponseSchema, { deployedRevision: 3n }))).toBe(
      "intent life: no changes (against revision 3)\n",
    );
    expect(formatDiff("life", create(PlanIntentResponseSchema, {}))).toBe(
      "intent life: no changes (against nothing deployed)\n",
    );
  });

  it("prints each repository's files with their unified diffs, counted by change", () => {
    const modified = unifiedDiff("life/b/deployment.yaml", "replicas: 1\n", "replicas: 2\n");
    const deleted = unifiedDiff("life/c/service.yaml", "kind: Service\n", undefined);
    const added = unifiedDiff("life/d/service.yaml", undefined, "kind: Service\n");
    const res = create(PlanIntentResponseSchema, {
      deployedRevision: 1n,
      diffs: [
        { repository: "edge-1-deploy", edge: "edge-1", path: "life/d/service.yaml", change: "added", unified: added },
        {
          repository: "edge-2-deploy",
          edge: "edge-2",
          path: "life/b/deployment.yaml",
          change: "modified",
          unified: modified,
        },
        {
          repository: "edge-2-deploy",
          edge: "edge-2",
          path: "life/c/service.yaml",
          change: "deleted",
          unified: deleted,
        },
      ],
    });
    expect(formatDiff("life", res)).toBe(
      [
        "intent life against revision 1: 1 added, 1 modified, 1 deleted in 2 repositories",
        "",
        "repository edge-1-deploy (edge edge-1):",
        "# added life/d/service.yaml",
        "--- /dev/null",
        "+++ b/life/d/service.yaml",
        "@@ -0,0 +1 @@",
        "+kind: Service",
        "",
        "repository edge-2-deploy (edge edge-2):",
        "# modified life/b/deployment.yaml",
        "--- a/life/b/deployment.yaml",
        "+++ b/life/b/deployment.yaml",
        "@@ -1 +1 @@",
        "-replicas: 1",
        "+replicas: 2",
        "# deleted life/c/service.yaml",
        "--- a/life/c/service.yaml",
        "+++ /dev/null",
        "@@ -1 +0,0 @@",
        "-kind: Service",
        "",
      ].join("\n"),
    );
  });
});
