/**
 * What a deployment waits on, as `camino.v1.Blocker`s: the blockers its run recorded and those that follow from
 * its record (agent/orchestration/blockers.ts), for `Deployment.waiting_on` (the intent's own) and each
 * `PackageStatus.waiting_on`.
 */
import { create } from "@bufbuild/protobuf";
import { BlockerSchema, type Blocker as BlockerMessage } from "../../gen/camino/v1/types_pb.js";
import { derivedBlockers, INTENT, type Blocker } from "../orchestration/blockers.js";
import type { DeploymentRecord } from "../orchestration/journal.js";

/** One blocker as its message. */
export function blockerToProto(b: Blocker): BlockerMessage {
  return create(BlockerSchema, {
    kind: b.kind,
    message: b.message,
    edge: b.edge ?? "",
    resource: b.resource ?? "",
    packages: b.packages ?? [],
    commit: b.commit ?? "",
    syncStatus: b.syncStatus ?? "",
    replicasAvailable: b.replicasAvailable ?? 0,
    replicasDesired: b.replicasDesired ?? 0,
    podReasons: b.podReasons ?? [],
    peer: b.peer ?? "",
    segmentState: b.segmentState ?? "",
    object: b.object ?? "",
  });
}

/**
 * A deployment's blockers as messages: the intent's own, and a function giving each package's (empty for a
 * package that waits on nothing).
 * @example const w = waitingOnToProto(record); create(DeploymentSchema, { waitingOn: w.intent, … w.of("upf") … })
 */
export function waitingOnToProto(r: DeploymentRecord): {
  intent: BlockerMessage[];
  of: (pkg: string) => BlockerMessage[];
} {
  const all = derivedBlockers(r);
  return {
    intent: (all.get(INTENT) ?? []).map(blockerToProto),
    of: (pkg) => (all.get(pkg) ?? []).map(blockerToProto),
  };
}
