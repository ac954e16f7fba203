/**
 * Rolling an intent back to a recorded revision (RollbackIntent, `camino intent rollback NAME --to N`): that
 * revision's spec, each package pinned to the blueprint commit it resolved (revision-history.ts
 * `rollbackSpec`), validated as any submitted intent is and submitted as the intent's next revision. Not to be
 * confused with rollback.ts, which undoes a failed run.
 */
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import { intentFromMessage } from "../intent/load.js";
import type { IntentLimits } from "../intent/model.js";
import type { DeploymentManager, Submitted } from "./deployment-manager.js";
import { rollbackSpec } from "./revision-history.js";

/**
 * Submits `toRevision`'s spec of intent `name` (an intent name or deployment id) again, pinned.
 * @throws RequestError naming `name` or `to_revision` (the revisions recorded listed); CaminoError
 *   ERR_DEPLOYMENT_NOT_FOUND; what a submission throws (a revision still in flight, an invalid spec)
 */
export async function rollbackTo(
  deployments: Pick<DeploymentManager, "get" | "submit">,
  limits: IntentLimits,
  name: string,
  toRevision: number,
): Promise<Submitted> {
  const spec = rollbackSpec(deployments.get(name), toRevision);
  const message = fromJson(DeploymentIntentSchema, spec as JsonValue, { ignoreUnknownFields: true });
  const intent = intentFromMessage(message, limits);
  return deployments.submit(intent, toJson(DeploymentIntentSchema, message));
}
