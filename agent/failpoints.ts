/**
 * Failpoints: named places in the agent where a test can make it stop, stall or fail, set by the environment
 * variable CAMINO_FAILPOINTS, e.g. `plan-intent=delay(500);deploy-before-commit=exit(137)`. Every run then
 * fails at the same place, instead of at a random timer. Unset (the normal case), a hit costs a map lookup.
 *
 * Actions: `delay(MS)` waits (abortable), `error(MESSAGE)` throws, `exit(CODE)` ends the process at once.
 *
 * The failpoints that exist, one per `failpoints.hit("…")` name in agent/ (keep this list in step with them);
 * a name in CAMINO_FAILPOINTS that is none of these is accepted and never fires:
 * - `plan-intent`: agent/rpc/domain-manager-service.ts, the PlanIntent handler, before the intent is read and
 *   planned (waits under the call's signal).
 * - `deploy-admission`: agent/orchestration/deploy-steps.ts, a deployment run's `admission` step, before the
 *   intent is planned and its resources reserved.
 * - `deploy-before-commit`: agent/orchestration/deploy-steps.ts, the `wave 0` step and every later wave's `commit`
 *   step, once per wave: after the repositories' baselines are recorded (their journal write may still be on its
 *   way: no branch moves before it is on disk), before any branch moves (a wave's commit may already be made
 *   and written, prepared during its dry run).
 * - `segment-before-propose`: agent/orchestration/segment-steps.ts, on the origin, after a segment is journalled
 *   as proposing, before ProposeSegment is sent.
 * - `segment-after-propose`: the same file, after the peer's offer is journalled (the segment reserved).
 * - `segment-before-commit`: the same file, after the commit decision is journalled durably, before
 *   CommitSegment is sent (no lease renewal happens from here on).
 * - `segment-after-commit`: the same file, after the peer's commit answer is journalled.
 * - `segment-propose`: agent/segments/segment-host.ts, on the peer, inside ProposeSegment: after the ledger
 *   reserved the segment, before it is planned and answered.
 * - `segment-commit`: the same file, inside CommitSegment: after the ledger committed, before the segment's
 *   deployment is journalled.
 * - `deploy-after-<step>`, `rollback-after-<step>`, `terminate-after-<step>`: every step boundary of a deploy
 *   (or update) run, a rollback and a termination, fired once the step is done, named by each step's
 *   `failpoint` (agent/orchestration/steps.ts runSteps, rollback.ts, termination.ts): deploy-after-admission,
 *   -wave-0, -dry-run, -commit, -sync, -available (once per wave), -waves, -cleanup, -segments, -ready;
 *   rollback-after-segments, -restore, -release, -record; terminate-after-waves, -release, -record.
 * - `journal-fold`: agent/orchestration/journal.ts, after each record file a fold of the journal's log writes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CaminoError, ConfigError } from "./errors.js";

type Action = { kind: "delay"; ms: number } | { kind: "error"; message: string } | { kind: "exit"; code: number };

export interface Failpoints {
  /** Runs the action set for `name`, if any. */
  hit(name: string, signal?: AbortSignal): Promise<void>;
}

/** Parses a CAMINO_FAILPOINTS value. @throws ConfigError naming the bad entry. */
export function parseFailpoints(spec: string | undefined): Failpoints {
  const actions = new Map<string, Action>();
  for (const entry of (spec ?? "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w:.-]+)=(delay|error|exit)(?:\((.*)\))?$/.exec(entry);
    const bad = () =>
      new ConfigError([
        {
          path: "CAMINO_FAILPOINTS",
          message: `${JSON.stringify(entry)} is not NAME=delay(MS), NAME=error(MESSAGE) or NAME=exit(CODE)`,
        },
      ]);
    if (!m) throw bad();
    const [, name, kind, arg = ""] = m as unknown as [string, string, string, string | undefined];
    if (kind === "delay") {
      if (!/^\d+$/.test(arg)) throw bad();
      actions.set(name, { kind, ms: Number(arg) });
    } else if (kind === "exit") {
      if (arg !== "" && !/^\d+$/.test(arg)) throw bad();
      actions.set(name, { kind, code: arg === "" ? 1 : Number(arg) });
    } else {
      actions.set(name, { kind: "error", message: arg || `failpoint ${name}` });
    }
  }
  return {
    async hit(name, signal) {
      const action = actions.get(name);
      if (!action) return;
      if (action.kind === "delay") await sleep(action.ms, undefined, signal ? { signal } : undefined);
      else if (action.kind === "error") throw new CaminoError("ERR_FAILPOINT", action.message);
      else process.exit(action.code);
    },
  };
}
