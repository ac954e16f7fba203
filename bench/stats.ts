/** Timing helpers for benchmarks: run a call sequentially or with N concurrent callers, and summarise. */

export interface Summary {
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function summarise(latenciesMs: number[], wallMs: number): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    calls: sorted.length,
    callsPerSecond: (sorted.length / wallMs) * 1000,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

/** Runs `call` `total` times with `concurrency` callers, after `warmup` untimed calls. */
export async function measure(
  call: () => Promise<unknown>,
  options: { total: number; concurrency: number; warmup: number },
): Promise<Summary> {
  for (let i = 0; i < options.warmup; i++) await call();
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < options.total) {
      next++;
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarise(latencies, performance.now() - start);
}

/** Median duration of `fn` over `runs` runs, in milliseconds. */
export function medianOf(fn: () => unknown, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return quantile(
    times.sort((a, b) => a - b),
    0.5,
  );
}
