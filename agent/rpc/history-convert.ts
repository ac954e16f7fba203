/**
 * Conversions of a deployment's revision history and of a plan's file diffs to camino.v1 messages
 * (GetDeployment's `Deployment.history`, PlanIntent's `diffs`). The stored specs stay in the record: the
 * messages carry what people read (digest, times, outcome, commits, blueprints).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DeploymentRevisionSchema,
  DeploymentState,
  FileDiffSchema,
  type DeploymentRevision,
  type FileDiff,
} from "../../gen/camino/v1/types_pb.js";
import type { DeploymentRecord } from "../orchestration/journal.js";
import type { FileChange } from "../orchestration/plan-diff.js";
import { historyOf } from "../orchestration/revision-history.js";

/** Every kept revision of the deployment's intent, oldest first, its current revision as it stands. */
export function historyToProto(r: DeploymentRecord): DeploymentRevision[] {
  return historyOf(r).map((e) =>
    create(DeploymentRevisionSchema, {
      revision: BigInt(e.revision),
      intentDigest: e.digest,
      ...(e.submittedAt ? { submittedAt: timestampFromDate(new Date(e.submittedAt)) } : {}),
      ...(e.endedAt ? { endedAt: timestampFromDate(new Date(e.endedAt)) } : {}),
      outcome: DeploymentState[e.outcome],
      reason: e.reason,
      commits: e.commits.map((c) => ({ repository: c.repository, commit: c.commit, wave: c.wave })),
      blueprints: e.blueprints.map((b) => ({ package: b.package, blueprint: b.blueprint, commit: b.commit })),
    }),
  );
}

/** One file an update would change. */
export function fileDiffToProto(d: FileChange): FileDiff {
  return create(FileDiffSchema, d);
}
