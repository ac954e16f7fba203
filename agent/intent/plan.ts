/**
 * The plan of an intent as far as this domain can take it today: validation, ordering into waves and the
 * digest that identifies its spec. Placement and the hydrated files join the plan as those parts land.
 */
import { intentDigest, intentFromMessage } from "./load.js";
import type { DeploymentIntent } from "../../gen/camino/v1/intent_pb.js";
import type { IntentLimits } from "./model.js";

export interface IntentPlan {
  intent: string;
  order: readonly string[];
  /** `waves[0]` is deployment wave 1. */
  waves: readonly (readonly string[])[];
  digest: string;
}

/** Validates and orders an intent message. @throws IntentError */
export function planIntentMessage(message: DeploymentIntent | undefined, limits: IntentLimits): IntentPlan {
  const intent = intentFromMessage(message, limits);
  return { intent: intent.name, order: intent.order, waves: intent.waves, digest: intentDigest(intent) };
}
