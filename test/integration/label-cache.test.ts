/**
 * One suite, two label caches: the in-memory one and the Redis one against a real redis-server (Unix socket).
 * Round trips, pipelined reads of many pods, TTL expiry (TTLs of ~1 s given as parameters), and for Redis a
 * server killed and restarted mid-run: reads answer misses at once and the cache reports the degradation, no
 * crash, and it works again once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryLabelCache, type LabelCache, type PodLabels } from "../../agent/monitoring/label-cache.js";
import { createRedisLabelCache } from "../../agent/monitoring/redis-label-cache.js";
import { redisServer, type RedisServer } from "../helpers/redis-server.js";

/** Polls `check` every 20 ms until it holds. @throws naming `what` after `timeoutMs` */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const labels = (i: number): PodLabels => ({ intent: `chain-${i % 7}`, package: `pkg-${i}`, edge: `edge-${i % 3}` });

let redis: RedisServer;
beforeAll(async () => {
  redis = redisServer();
  await redis.start();
});
afterAll(async () => {
  await redis?.stop();
});

const implementations: Array<[string, (ttlMs: number) => LabelCache]> = [
  ["memory", (ttlMs) => createMemoryLabelCache({ ttlMs })],
  [
    "redis",
    (ttlMs) =>
      createRedisLabelCache({ path: redis.socket, ttlMs, keyPrefix: `t${Math.random().toString(36).slice(2)}:` }),
  ],
];

describe.each(implementations)("label cache (%s)", (kind, make) => {
  async function ready(ttlMs = 60_000): Promise<LabelCache> {
    const cache = make(ttlMs);
    await until(`${kind} cache healthy`, () => cache.health().healthy);
    return cache;
  }

  it("round-trips entries, answers undefined for unknown pods, and overwrites", async () => {
    const cache = await ready();
    try {
      expect(cache.kind).toBe(kind);
      await cache.setMany([
        ["edge-1/ns/a", labels(1)],
        ["edge-2/ns/b", labels(2)],
      ]);
      expect(await cache.getMany(["edge-1/ns/a", "edge-9/ns/none", "edge-2/ns/b"])).toEqual([
        labels(1),
        undefined,
        labels(2),
      ]);
      await cache.setMany([["edge-1/ns/a", labels(5)]]);
      expect(await cache.getMany(["edge-1/ns/a"])).toEqual([labels(5)]);
      expect(cache.stats()).toMatchObject({ hits: 3, misses: 1, failures: 0 });
      expect(cache.health()).toMatchObject({ name: "label-cache", kind, healthy: true, message: "" });
    } finally {
      await cache.close();
    }
  });

  it("reads 5000 pods in one call, in order", async () => {
    const cache = await ready();
    try {
      const pods = Array.from({ length: 5000 }, (_, i) => `edge-${i % 3}/ns/pod-${i}`);
      await cache.setMany(pods.map((p, i) => [p, labels(i)] as const));
      const got = await cache.getMany(pods);
      expect(got).toHaveLength(5000);
      expect(got.every((l, i) => l?.package === `pkg-${i}` && l.edge === `edge-${i % 3}`)).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it("expires entries after their TTL (~1 s), keeping longer-lived ones", async () => {
    const cache = await ready(1000);
    try {
      const written = Date.now();
      await cache.setMany([["edge-1/ns/short", labels(1)]]);
      await cache.setMany([["edge-1/ns/long", labels(2)]], 60_000);
      expect(await cache.getMany(["edge-1/ns/short", "edge-1/ns/long"])).toEqual([labels(1), labels(2)]);
      await until("the 1 s entry expired", async () => (await cache.getMany(["edge-1/ns/short"]))[0] === undefined);
      // Not before its TTL (a little slack for clock granularity on the server).
      expect(Date.now() - written).toBeGreaterThanOrEqual(950);
      expect(await cache.getMany(["edge-1/ns/long"])).toEqual([labels(2)]);
    } finally {
      await cache.close();
    }
  });
});

describe("Redis label cache while Redis is killed and restarted", () => {
  it("answers misses at once and reports the degradation, then recovers", async () => {
    const cache = createRedisLabelCache({ path: redis.socket, ttlMs: 60_000, commandTimeoutMs: 300 });
    const changes: boolean[] = [];
    cache.onHealthChange((h) => changes.push(h.healthy));
    try {
      await until("healthy", () => cache.health().healthy);
      await cache.setMany([["edge-1/ns/a", labels(1)]]);
      expect(await cache.getMany(["edge-1/ns/a"])).toEqual([labels(1)]);

      await redis.kill();
      await until("unhealthy once Redis is gone", () => !cache.health().healthy);
      expect(cache.health().message).toMatch(/Redis/);
      // Reads and writes neither hang nor throw while Redis is down: misses, counted as failures.
      const started = Date.now();
      expect(await cache.getMany(["edge-1/ns/a", "edge-1/ns/b"])).toEqual([undefined, undefined]);
      await cache.setMany([["edge-1/ns/b", labels(2)]]);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(cache.stats().failures).toBeGreaterThanOrEqual(2);

      await redis.start();
      await until("healthy again after the restart", () => cache.health().healthy, 15_000);
      // The restarted server has no persistence: the old entry is gone, new ones round-trip.
      await cache.setMany([["edge-1/ns/c", labels(3)]]);
      expect(await cache.getMany(["edge-1/ns/a", "edge-1/ns/c"])).toEqual([undefined, labels(3)]);
      expect(changes).toEqual([true, false, true]);
    } finally {
      await cache.close();
    }
  });
});
