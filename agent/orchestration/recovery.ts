/**
 * Start-up recovery: every record of the journal is loaded into the store, and a deployment that was in flight
 * when the agent stopped is finished safely — a termination is finished, anything else is rolled back to the
 * baselines its record holds (written before any repository was touched).
 */
import type { DeploymentStore } from "./deployment-store.js";
import { SETTLED } from "./journal.js";
import { rollBack } from "./rollback.js";
import type { LifecycleDeps } from "./run-context.js";
import { terminate } from "./termination.js";

/** Loads the journal into `store` and starts the recovery of each deployment left in flight. */
export async function recoverDeployments(deps: LifecycleDeps, store: DeploymentStore): Promise<void> {
  const records = await deps.journal.load((file, err) =>
    deps.logger.error("unreadable deployment record", { file, error: String(err) }),
  );
  for (const record of records) store.set({ record });
  for (const live of store.values()) {
    const r = live.record;
    if (SETTLED.has(r.state)) continue;
    const was = r.state;
    deps.logger.warn("recovering a deployment left in flight", { intent: r.intent, revision: r.revision, state: was });
    live.run =
      was === "TERMINATING"
        ? terminate(deps, live)
        : rollBack(deps, live, `the agent restarted while the intent was ${was}`);
  }
}
