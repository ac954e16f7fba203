/**
 * The label cache on the agent's metrics: what cacheLookup reports and what an observed cache counts itself
 * appear in the exposition text, added up.
 */
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../agent/agent-metrics/metrics.js";

/** The exposition text's value of one sample line, by its name and labels as prom-client writes them. */
async function sample(text: Promise<string>, line: string): Promise<number | undefined> {
  const found = (await text).split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("cacheLookup", () => {
  it("counts hits and misses, a batch at a time", async () => {
    const m = createMetrics({ domainId: "d", version: "0", processMetrics: false });
    const hit = 'camino_label_cache_lookups_total{result="hit",domain="d"}';
    const miss = 'camino_label_cache_lookups_total{result="miss",domain="d"}';
    expect(await sample(m.registry.metrics(), hit)).toBe(0);
    m.cacheLookup(true);
    m.cacheLookup(false, 3);
    m.cacheLookup(true, 0);
    expect(await sample(m.registry.metrics(), hit)).toBe(1);
    expect(await sample(m.registry.metrics(), miss)).toBe(3);
  });

  it("refuses a count that is not a whole number", () => {
    const m = createMetrics({ domainId: "d", version: "0", processMetrics: false });
    expect(() => m.cacheLookup(true, -1)).toThrow(TypeError);
    expect(() => m.cacheLookup(false, 1.5)).toThrow(TypeError);
  });

  it("adds the observed cache's own counters, read at each scrape", async () => {
    const m = createMetrics({ domainId: "d", version: "0", processMetrics: false });
    const stats = { hits: 5, misses: 2, failures: 1 };
    m.observeCache(() => stats);
    m.cacheLookup(true);
    expect(await sample(m.registry.metrics(), 'camino_label_cache_lookups_total{result="hit",domain="d"}')).toBe(6);
    expect(await sample(m.registry.metrics(), 'camino_label_cache_lookups_total{result="miss",domain="d"}')).toBe(2);
    stats.failures = 4;
    expect(await sample(m.registry.metrics(), 'camino_label_cache_failures_total{domain="d"}')).toBe(4);
  });
});
