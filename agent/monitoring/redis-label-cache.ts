/**
 * The label cache in Redis (`REDIS_URL`): one key per pod (`<prefix>pod:<edge>/<namespace>/<pod>`), written with
 * `SET … PX <ttl>` in one pipeline and read with one `MGET`. ioredis's defaults would queue commands through 20
 * reconnects while Redis is down, so callers would hang; here the offline queue is off, a command is retried at
 * most once and times out after `commandTimeoutMs`, so a cache that is down answers misses at once and says why
 * in its health. ioredis reconnects in the background with a bounded back-off, and the cache is healthy again
 * when Redis answers.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { LabelCache, LabelCacheHealth, LabelCacheStats, PodLabels } from "./label-cache.js";

export interface RedisLabelCacheOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`; or leave it out and give `path`. */
  url?: string;
  /** A Unix socket to connect to instead of a URL (the tests' redis-server listens on one). */
  path?: string;
  /** Prefix of every key, so domains can share one Redis. Default "camino:". */
  keyPrefix?: string;
  /** How long an entry lives, in milliseconds. Default 600000 (10 minutes). */
  ttlMs?: number;
  /** A command's deadline, in milliseconds. Default 500. */
  commandTimeoutMs?: number;
  /** Retries of one command after a connection error. Default 1. */
  maxRetriesPerRequest?: number;
  /** Upper bound of the reconnect back-off, in milliseconds. Default 2000. */
  maxReconnectDelayMs?: number;
}

/** Creates the Redis label cache and starts connecting (it is unhealthy until Redis answers). */
export function createRedisLabelCache(options: RedisLabelCacheOptions): LabelCache {
  if (!options.url && !options.path) throw new TypeError("createRedisLabelCache needs url or path");
  const prefix = `${options.keyPrefix ?? "camino:"}pod:`;
  const ttl = options.ttlMs ?? 600_000;
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const redisOptions: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    // Reconnect for ever, backing off to maxDelay: the agent outlives Redis restarts.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    ...(options.path ? { path: options.path } : {}),
  };
  const redis = options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
  const stats: LabelCacheStats = { hits: 0, misses: 0, failures: 0 };
  const listeners = new Set<(h: LabelCacheHealth) => void>();
  let state: LabelCacheHealth = {
    name: "label-cache",
    kind: "redis",
    healthy: false,
    message: "connecting to Redis",
    checkedAt: new Date(),
  };
  const report = (healthy: boolean, message: string) => {
    const changed = healthy !== state.healthy;
    state = { ...state, healthy, message, checkedAt: new Date() };
    if (changed) for (const l of listeners) l(state);
  };
  // An error event without a listener is printed by ioredis; here it is the health's message. ioredis's
  // messages name the socket or host and port, never the URL's password.
  redis.on("error", (err: Error) => report(false, `Redis unavailable: ${err.message}`));
  redis.on("ready", () => report(true, ""));
  redis.on("close", () => {
    if (state.healthy) report(false, "Redis connection closed");
  });
  const failed = (err: unknown) => {
    stats.failures++;
    report(false, `Redis unavailable: ${err instanceof Error ? err.message : String(err)}`);
  };
  let closed = false;
  return {
    kind: "redis",
    async setMany(list, ttlMs = ttl) {
      if (list.length === 0) return;
      const pipeline = redis.pipeline();
      for (const [pod, labels] of list)
        pipeline.set(prefix + pod, JSON.stringify([labels.intent, labels.package, labels.edge]), "PX", ttlMs);
      try {
        const results = (await pipeline.exec()) ?? [];
        const err = results.find(([e]) => e)?.[0];
        if (err) failed(err);
      } catch (err) {
        failed(err);
      }
    },
    async getMany(pods) {
      if (pods.length === 0) return [];
      let values: Array<string | null>;
      try {
        values = await redis.mget(pods.map((p) => prefix + p));
      } catch (err) {
        failed(err);
        stats.misses += pods.length;
        return pods.map(() => undefined);
      }
      if (!state.healthy && redis.status === "ready") report(true, "");
      return values.map((v) => {
        const labels = v === null ? undefined : decode(v);
        if (labels) stats.hits++;
        else stats.misses++;
        return labels;
      });
    },
    health: () => ({ ...state }),
    onHealthChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      // quit() waits for Redis; a Redis that is down gets disconnect() instead.
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** A stored value, or undefined when it is not one this cache wrote (treated as a miss). */
function decode(v: string): PodLabels | undefined {
  try {
    const a: unknown = JSON.parse(v);
    if (Array.isArray(a) && a.length === 3 && a.every((x) => typeof x === "string"))
      return { intent: a[0], package: a[1], edge: a[2] };
  } catch {
    // fall through: a miss
  }
  return undefined;
}
