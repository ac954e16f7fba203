/**
 * A pause that ends early when a signal aborts, leaving no listener behind on the signal (loops that pause on a
 * long-lived signal would otherwise pile listeners up), and an awaitable wake-up for loops woken by events.
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). The timer does not hold the process. */
export function pause(ms: number, signal?: AbortSignal, wake?: (resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
    wake?.(done);
  });
}
