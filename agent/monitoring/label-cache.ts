/**
 * The label cache: which deployment a pod belongs to (intent, package, edge), keyed by the pod's identifier
 * (`<edge>/<namespace>/<pod>`). Metrics sources read pod-level series; the cache turns a pod into the package
 * it serves without asking the edge again. Redis holds it when `REDIS_URL` is set (agent/monitoring/
 * redis-label-cache.ts), memory otherwise ({@link createMemoryLabelCache}). It is a cache: an entry expires after
 * its TTL, and a cache that cannot be read answers misses (and reports itself unhealthy) rather than failing its
 * caller, so monitoring keeps working from the `camino.io/*` labels while Redis is down.
 */

/** The deployment a pod belongs to. */
export interface PodLabels {
  intent: string;
  package: string;
  edge: string;
}

/** The cache's health as GetDomainInfo and the named health service report it. */
export interface LabelCacheHealth {
  /** "label-cache". */
  name: string;
  /** "memory" or "redis". */
  kind: string;
  healthy: boolean;
  /** Why it is unhealthy ("" when healthy); never carries credentials. */
  message: string;
  checkedAt: Date;
}

/** Counters since start, for the benchmark and the agent's own metrics. */
export interface LabelCacheStats {
  hits: number;
  misses: number;
  /** Reads or writes that failed (the cache was unavailable). */
  failures: number;
}

/** Pod identifier → deployment, with expiry. One interface for Redis and memory; one test suite runs on both. */
export interface LabelCache {
  readonly kind: "memory" | "redis";
  /** Stores entries, each for `ttlMs` (default: the cache's TTL). Resolves even when the cache is down. */
  setMany(entries: ReadonlyArray<readonly [pod: string, labels: PodLabels]>, ttlMs?: number): Promise<void>;
  /** The labels of each pod, in order; undefined for a miss, an expired entry, or a cache that is down. */
  getMany(pods: readonly string[]): Promise<Array<PodLabels | undefined>>;
  health(): LabelCacheHealth;
  /** Called with the health whenever healthy turns to unhealthy or back. Returns the unsubscribe function. */
  onHealthChange(listener: (h: LabelCacheHealth) => void): () => void;
  stats(): LabelCacheStats;
  close(): Promise<void>;
}

/** The pod identifier the cache is keyed by. */
export function podKey(edge: string, namespace: string, pod: string): string {
  return `${edge}/${namespace}/${pod}`;
}

export interface MemoryLabelCacheOptions {
  /** How long an entry lives, in milliseconds. Default 600000 (10 minutes). */
  ttlMs?: number;
  /** The clock, in milliseconds. Default Date.now. */
  now?: () => number;
  /** Entries kept at most; the oldest written go first. Default 100000. */
  maxEntries?: number;
}

/** The in-memory label cache (no `REDIS_URL`): a Map with expiry times, always healthy. */
export function createMemoryLabelCache(options: MemoryLabelCacheOptions = {}): LabelCache {
  const ttl = options.ttlMs ?? 600_000;
  const now = options.now ?? Date.now;
  const max = options.maxEntries ?? 100_000;
  const entries = new Map<string, { labels: PodLabels; expires: number }>();
  const stats: LabelCacheStats = { hits: 0, misses: 0, failures: 0 };
  return {
    kind: "memory",
    async setMany(list, ttlMs = ttl) {
      const expires = now() + ttlMs;
      for (const [pod, labels] of list) {
        // Re-inserted, so Map order stays the order of writes and the oldest is evicted first.
        entries.delete(pod);
        entries.set(pod, { labels: { ...labels }, expires });
      }
      while (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
    async getMany(pods) {
      const t = now();
      return pods.map((pod) => {
        const e = entries.get(pod);
        if (!e || e.expires <= t) {
          if (e) entries.delete(pod);
          stats.misses++;
          return undefined;
        }
        stats.hits++;
        return { ...e.labels };
      });
    },
    health: () => ({ name: "label-cache", kind: "memory", healthy: true, message: "", checkedAt: new Date(now()) }),
    onHealthChange: () => () => {},
    stats: () => ({ ...stats }),
    async close() {
      entries.clear();
    },
  };
}
