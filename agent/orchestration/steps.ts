/**
 * Long operations as an ordered list of steps with one shared signature over one context: each step reads and
 * writes the context, the list stops at the first error (or when the context's signal aborts), and the caller
 * writes the outcome in one `finally`. Adding a step is adding one entry to a list.
 */

/** One step of an operation over the context `C`. */
export interface Step<C> {
  /** Shown in progress reasons and timeout messages ("wave 2: synced"). */
  readonly name: string;
  /**
   * The step's short name in the failpoint fired once it is done: `<operation>-after-<failpoint>`, e.g.
   * `deploy-after-commit` (agent/failpoints.ts, the README's table). Planning's steps, which touch nothing
   * durable, have none.
   */
  readonly failpoint?: string;
  run(ctx: C): Promise<void>;
}

/** What every step list's context carries. */
export interface StepContext {
  readonly signal: AbortSignal;
  /** The name of the step under way, for timeout and failure messages. */
  stage: string;
  /** Told the name of each step as it starts (with its prefix), for a run's time per step (run-timing.ts). */
  readonly onStep?: (stage: string) => void;
}

/**
 * Runs `steps` in order over `ctx`. Stops at the first step that throws (rethrowing it) or when `ctx.signal`
 * aborts before a step (throwing the signal's reason).
 * @param prefix prepended to each step's name in `ctx.stage` (e.g. "wave 2: ")
 * @param after called with each step's failpoint name once the step is done (the step boundary's failpoint)
 */
export async function runSteps<C extends StepContext>(
  steps: readonly Step<C>[],
  ctx: C,
  prefix = "",
  after?: (failpoint: string) => Promise<void>,
): Promise<void> {
  for (const step of steps) {
    ctx.signal.throwIfAborted();
    ctx.stage = `${prefix}${step.name}`;
    ctx.onStep?.(ctx.stage);
    await step.run(ctx);
    if (step.failpoint) await after?.(step.failpoint);
  }
}
