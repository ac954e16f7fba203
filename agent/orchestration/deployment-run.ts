/**
 * One deploy run: waits for a turn, runs {@link DEPLOY_STEPS} under the revision's `spec.timeout`, and in its
 * `finally` either leaves the deployment READY or rolls it back with the cause (rollback.ts), gives the turn
 * back, and tells watchers the run is over.
 */
import { createHash } from "node:crypto";
import { CaminoError } from "../errors.js";
import type { Intent } from "../intent/model.js";
import { anySignal } from "../util/signals.js";
import { doneWaiting, doneWaitingAll, waitOn } from "./blockers.js";
import { DEPLOY_STEPS } from "./deploy-steps.js";
import type { LiveDeployment } from "./deployment-store.js";
import { rollBack } from "./rollback.js";
import { RunFailure, setState, type LifecycleDeps, type RunContext } from "./run-context.js";
import type { RunQueue } from "./run-queue.js";
import { endRun, RunTiming } from "./run-timing.js";
import { runSteps } from "./steps.js";

/** Starts the run of `live`'s revision of `intent`; `live.controller` must be set. Settles when the run ends. */
export function startDeployRun(
  deps: LifecycleDeps & { queue: RunQueue },
  live: LiveDeployment,
  intent: Intent,
): Promise<void> {
  const controller = live.controller as AbortController;
  const r = live.record;
  const ctx: RunContext = {
    deps,
    live,
    intent,
    signal: anySignal(controller.signal),
    stage: "waiting for a turn",
    onStep: (stage) => live.timing?.step(stage),
  };
  const seconds = Math.round(r.timeoutMs / 100) / 10;
  // From the revision's submission: a run resumed after a restart has only what is left of it.
  const left = Math.max(0, Date.parse(r.createdAt) + r.timeoutMs - Date.now());
  const timer = setTimeout(
    () => {
      const waiting = live.waiting ? ` (waiting for ${live.waiting})` : "";
      controller.abort(new RunFailure(`spec.timeout ${seconds}s passed during ${ctx.stage}${waiting}`));
    },
    Math.min(left, r.timeoutMs),
  );

  return (async () => {
    let giveBack: (() => void) | undefined;
    try {
      // What an earlier start of this run waited on (a run resumed after a restart) is not waited on any more.
      doneWaitingAll(live);
      const timing = new RunTiming();
      live.timing = timing;
      const queuedAt = performance.now();
      giveBack = await deps.queue.take(ctx.signal, ({ running, waiting }) => {
        const reason = `waiting for a turn: ${running} deployments under way, ${waiting} waiting before it`;
        waitOn(live, "", [
          { kind: "queue", message: `${reason} (lifecycle.maxConcurrentRuns ${deps.options.maxConcurrentRuns})` },
        ]);
        setState(deps, live, { state: "PENDING", reason, kind: "progress" });
      });
      timing.queued(performance.now() - queuedAt);
      doneWaiting(live, "");
      await runSteps(DEPLOY_STEPS, ctx, "", (point) => deps.failpoints.hit(`deploy-after-${point}`, ctx.signal));
    } catch (err) {
      await rollBack(deps, live, failureReason(deps, r.id, ctx.signal, err));
    } finally {
      clearTimeout(timer);
      giveBack?.();
      if (ctx.ended && r.state === "READY") {
        // The ready step wrote READY with the run's end: its time split is brought up to date in memory only
        // (GetDeployment serves it; the journal's copy lacks the last write's few milliseconds).
        if (live.timing) r.timing = live.timing.times();
      } else {
        // The outcome (already durable) into the revision's history entry, and the run's time, written behind.
        endRun(live);
        deps.journal.saveLater(r, (err) =>
          deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) }),
        );
      }
      live.timing = undefined;
    }
  })().finally(() => {
    live.controller = undefined;
    live.resumed = undefined;
    deps.events.settled(live);
  });
}

/**
 * The reason a run ends with: the abort's reason (timeout, termination, shutdown), a domain error's message,
 * or — for an unexpected error — an incident id whose details stay in the agent's log.
 */
function failureReason(deps: Pick<LifecycleDeps, "logger">, id: string, signal: AbortSignal, err: unknown): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  if (err instanceof RunFailure || err instanceof CaminoError) return err.message;
  const incident = createHash("sha256").update(`${id}\0${Date.now()}`).digest("hex").slice(0, 12);
  deps.logger.error("deployment failed unexpectedly", {
    deployment: id,
    incident,
    error: String((err as Error)?.stack ?? err),
  });
  return `internal error (incident ${incident} in the agent's log)`;
}
