/**
 * Start-up recovery: every record of the journal is loaded into the store, and each deployment that was in
 * flight when the agent stopped is taken on where it is safe, or rolled back ({@link chooseRecovery}):
 * - a termination, or a rollback, under way is finished;
 * - a deploy run is **resumed** when nothing has changed under it: its packages' edges are still configured,
 *   their blueprints still resolve to the commits it recorded, its `spec.timeout` has not passed, and no segment
 *   of the revision is being negotiated with a peer. The run starts again from admission with every package
 *   pinned to the edge it was placed on: a wave already committed (and pushed) is found by its commit's
 *   trailers, so no new commit is made, and is waited on; the run has what is left of its `spec.timeout`; the
 *   baselines recorded before the crash are kept for a rollback. Reservations are made again by the resumed
 *   admission (the book starts empty at each start);
 * - otherwise it is rolled back to the baselines its record holds (written before any repository was touched).
 * The choice and its reason are an event of the deployment (a progress event whose reason starts `recovery:`),
 * kept in its record.
 */
import type { Catalogue } from "../cad/catalogue.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import type { Intent } from "../intent/model.js";
import { validateIntent } from "../intent/validate.js";
import { startDeployRun } from "./deployment-run.js";
import type { DeploymentStore, LiveDeployment } from "./deployment-store.js";
import { SETTLED, type DeploymentRecord } from "./journal.js";
import { rollBack } from "./rollback.js";
import { setState, type LifecycleDeps } from "./run-context.js";
import type { RunQueue } from "./run-queue.js";
import { terminate } from "./termination.js";
import { pinnedIntent } from "./heal.js";

/** What recovery does with a deployment left in flight, and why. */
export interface RecoveryChoice {
  action: "resume" | "roll back" | "finish the termination" | "finish the rollback";
  why: string;
}

/**
 * Chooses how to take on a deployment left in flight (`r` not settled). Pure but for the catalogue's answer.
 * @param now the time of the restart (ms)
 */
export async function chooseRecovery(
  r: DeploymentRecord,
  deps: { domainId: string; edges: Pick<EdgeRegistry, "get">; catalogue: Pick<Catalogue, "resolve"> },
  now: number,
): Promise<RecoveryChoice> {
  const was = `the agent restarted while the intent was ${r.state}`;
  if (r.state === "TERMINATING") return { action: "finish the termination", why: was };
  if (r.rollingBack) return { action: "finish the rollback", why: `${was}, rolling back: ${r.rollingBack}` };
  const rollBackBecause = (why: string): RecoveryChoice => ({ action: "roll back", why: `${was}; ${why}` });
  if (r.segment) return rollBackBecause(`segment ${r.segment.id} of ${r.segment.origin}: its origin decides again`);
  const negotiating = (r.segments ?? []).filter((s) => s.generation === r.revision && s.phase !== "aborted");
  if (negotiating.length > 0) {
    const peers = [...new Set(negotiating.map((s) => s.domain))].join(", ");
    return rollBackBecause(`the revision has segments in ${peers}, which are not resumed across a restart`);
  }
  if (Date.parse(r.createdAt) + r.timeoutMs <= now) return rollBackBecause("its spec.timeout passed meanwhile");
  const gone = [...new Set(r.packages.filter((p) => p.edge && !deps.edges.get(p.edge)).map((p) => p.edge))];
  if (gone.length > 0) return rollBackBecause(`edge ${gone.join(", ")} is no longer configured`);
  let intent: Intent;
  try {
    intent = validateIntent(r.intentJson);
  } catch (err) {
    return rollBackBecause(`its recorded spec no longer validates: ${(err as Error).message}`);
  }
  for (const p of r.packages) {
    if (!p.blueprintCommit || p.domain !== deps.domainId) continue;
    const spec = intent.packages.find((x) => x.name === p.package);
    if (!spec) continue;
    const now = await deps.catalogue.resolve(spec.blueprint, spec.blueprintRevision).then(
      (b) => b.commit,
      (err: Error) => `unresolvable (${err.message})`,
    );
    if (now !== p.blueprintCommit) {
      return rollBackBecause(
        `blueprint ${spec.blueprint} of ${p.package} moved from ${p.blueprintCommit.slice(0, 12)} to ${now.slice(0, 12)}`,
      );
    }
  }
  const touched = Object.keys(r.touched).length;
  return {
    action: "resume",
    why:
      touched === 0
        ? `${was}; nothing was committed yet: the run starts again`
        : `${was}; its baselines in ${touched} repositories are kept for a rollback, and a wave it committed is found by its commit's trailers (no new commit) and waited on`,
  };
}

/** Loads the journal into `store` and starts the recovery of each deployment left in flight. */
export async function recoverDeployments(
  deps: LifecycleDeps & { queue: RunQueue },
  store: DeploymentStore,
): Promise<void> {
  const records = await deps.journal.load();
  for (const record of records) store.set({ record });
  const now = Date.now();
  for (const live of store.values()) {
    const r = live.record;
    if (SETTLED.has(r.state)) continue;
    const choice = await chooseRecovery(r, deps, now);
    deps.logger.warn("recovering a deployment left in flight", {
      intent: r.intent,
      revision: r.revision,
      state: r.state,
      action: choice.action,
      why: choice.why,
    });
    setState(deps, live, { state: r.state, reason: `recovery: ${choice.action}: ${choice.why}`, kind: "progress" });
    await deps.journal.save(r);
    live.run = start(deps, live, choice);
  }
}

function start(deps: LifecycleDeps & { queue: RunQueue }, live: LiveDeployment, choice: RecoveryChoice) {
  const r = live.record;
  if (choice.action === "finish the termination") return terminate(deps, live);
  if (choice.action !== "resume") return rollBack(deps, live, choice.why);
  const pins = new Map(
    r.packages.filter((p) => p.edge !== "" && p.domain === deps.domainId).map((p) => [p.package, p.edge] as const),
  );
  live.controller = new AbortController();
  live.resumed = true;
  return startDeployRun(deps, live, pinnedIntent(validateIntent(r.intentJson), pins));
}
