/**
 * Linked signals and deadlines, in one place: every async call of the agent takes an AbortSignal that joins
 * the caller's signal (an RPC's, or a run's), the agent's shutdown signal and a per-operation deadline.
 * The reason a signal carries says which of them fired, so an error can name it.
 */
import { setMaxListeners } from "node:events";
import { CaminoError } from "../errors.js";

/** The error a deadline aborts with: what did not finish, and in how long. */
export class DeadlineError extends CaminoError {
  constructor(what: string, ms: number) {
    super("ERR_DEADLINE", `${what} did not finish within ${ms} ms`, { data: { ms } });
  }
}

/**
 * A signal that aborts when any of `signals` aborts, with that signal's reason. Undefined entries are skipped.
 * Many listeners may wait on one run's signal (every call under way), so the listener limit is lifted.
 * For parents that live about as long as the result (a run's signal, a call's deadline): on Node 20,
 * `AbortSignal.any` leaves an entry on each parent for every signal made from it (nodejs/node#55351), so a
 * long-lived parent such as the agent's shutdown signal is linked with {@link linkSignals} instead.
 * @example const signal = anySignal(runSignal, deadline("dry run", 5000));
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const signal = present.length === 1 ? (present[0] as AbortSignal) : AbortSignal.any(present);
  setMaxListeners(0, signal);
  return signal;
}

/** A signal linked to its parents until {@link LinkedSignal.dispose} is called. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Unlinks from the parents (idempotent): call it when the work the signal bounds is over. */
  dispose(): void;
}

/**
 * Like {@link anySignal}, with listeners that `dispose` removes, so that linking to a long-lived parent (the
 * agent's shutdown signal) leaves nothing behind on it once the work is over.
 * @example const link = linkSignals(ctx.signal, shutdown); try { await work(link.signal) } finally { link.dispose() }
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const parents = signals.filter((s): s is AbortSignal => s !== undefined);
  const dispose = () => {
    for (const p of parents) p.removeEventListener("abort", onAbort);
  };
  function onAbort(this: AbortSignal) {
    dispose();
    controller.abort(this.reason);
  }
  for (const p of parents) {
    if (p.aborted) {
      controller.abort(p.reason);
      break;
    }
    p.addEventListener("abort", onAbort, { once: true });
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose };
}

/** A deadline whose timer can be cleared once the work it bounds is over. */
export interface DeadlineTimer {
  /** Aborts after the time given, with a {@link DeadlineError}. */
  readonly signal: AbortSignal;
  /** Clears the timer (idempotent), so nothing of the deadline outlives the work. */
  clear(): void;
}

/**
 * Starts a deadline of `ms` naming `what`. Its timer does not hold the process open; `clear` it when the work
 * is over, so that hot paths (one deadline per edge call) do not leave a timer and its controller behind.
 * @example const limit = startDeadline("list nodes", 10_000); try { await call(limit.signal) } finally { limit.clear() }
 */
export function startDeadline(what: string, ms: number): DeadlineTimer {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineError(what, ms)), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** A signal that aborts after `ms` with a {@link DeadlineError} naming `what` (see {@link startDeadline}). */
export function deadline(what: string, ms: number): AbortSignal {
  return startDeadline(what, ms).signal;
}

/**
 * A controller whose signal also follows `parents`: aborting the controller stops only its own work, and any
 * parent aborting stops it too. Used for a run that may be cancelled alone or with the agent.
 */
export function linkedController(...parents: (AbortSignal | undefined)[]): {
  controller: AbortController;
  signal: AbortSignal;
} {
  const controller = new AbortController();
  return { controller, signal: anySignal(controller.signal, ...parents) };
}

/** The reason an aborted signal gives, as an Error (a plain `abort()` gives a DOMException named AbortError). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new CaminoError("ERR_CANCELLED", "the operation was cancelled");
}

/**
 * A pause of `ms` that can be ended early: `done` resolves false once the time has passed, true when `wake()` was
 * called first, and rejects with the signal's reason when it aborts.
 * @example const p = wakeableWait(250, signal); onNews = p.wake; if (await p.done) console.log("woken");
 */
export function wakeableWait(ms: number, signal: AbortSignal): { done: Promise<boolean>; wake: () => void } {
  let wake: () => void = () => {};
  const done = new Promise<boolean>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const stop = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      stop();
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      stop();
      resolve(false);
    }, ms);
    wake = () => {
      stop();
      resolve(true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return { done, wake };
}

/**
 * Waits `ms`, or until `signal` aborts (then rejects with its reason). For bounded polls and retry backoff,
 * never for a test's timing.
 */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
