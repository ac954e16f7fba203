/** The `limits` section of the agent config: how large an intent the agent accepts. */
import { DEFAULT_INTENT_LIMITS, type IntentLimits } from "../intent/model.js";
import type { Checker } from "../../common/checker.js";

/**
 * Checks the `limits` section; problems are added to `c` with their paths. The section sets three of the
 * {@link IntentLimits} (`maxIntentBytes` sets `maxBytes`); every limit it leaves out keeps its default, stated once
 * in {@link DEFAULT_INTENT_LIMITS} (1 MiB, 500 packages, 2000 links, …), where the intent validator reads it too.
 */
export function parseLimitsSection(c: Checker, v: unknown): IntentLimits {
  const o = c.object(v, "limits", ["maxIntentBytes", "maxPackages", "maxLinks"]) ?? {};
  return {
    ...DEFAULT_INTENT_LIMITS,
    maxBytes:
      c.integer(o["maxIntentBytes"], "limits.maxIntentBytes", 1024, 16 * 1024 * 1024) ?? DEFAULT_INTENT_LIMITS.maxBytes,
    maxPackages: c.integer(o["maxPackages"], "limits.maxPackages", 1, 500) ?? DEFAULT_INTENT_LIMITS.maxPackages,
    maxLinks: c.integer(o["maxLinks"], "limits.maxLinks", 0, 5000) ?? DEFAULT_INTENT_LIMITS.maxLinks,
  };
}
