/** The `lifecycle` section of the agent config: the timing and concurrency of deployments. */
import type { Checker } from "../../common/checker.js";

/** The `lifecycle` section, parsed: every field is set, in milliseconds where the file says seconds. */
export interface LifecycleConfig {
  /** An intent without spec.timeout gets this, in ms. Default 300000 (`defaultTimeoutSeconds: 300`). */
  defaultTimeoutMs: number;
  /** How often workload availability is asked while a deployment waits, in ms. Default 200. */
  pollMs: number;
  /** How long a rollback or termination waits for edges to sync it, in ms. Default 60000 (`cleanupTimeoutSeconds: 60`). */
  cleanupTimeoutMs: number;
  /** Capacity readings younger than this are reused by admission, in ms. Default 250. */
  capacityMaxAgeMs: number;
  /** Deployments running at once; more wait their turn. Default 32. */
  maxConcurrentRuns: number;
  /**
   * With `spec.heal: replace`, how long an edge must stay lost (unreachable, or no node Ready) before its
   * packages are re-placed, in ms. Default 60000 (`healGraceSeconds: 60`).
   */
  healGraceMs: number;
}

/** Defaults of the `lifecycle` section, in the units the file uses. */
export const LIFECYCLE_DEFAULTS = {
  defaultTimeoutSeconds: 300,
  pollMs: 200,
  cleanupTimeoutSeconds: 60,
  capacityMaxAgeMs: 250,
  maxConcurrentRuns: 32,
  healGraceSeconds: 60,
} as const;

/** Checks the `lifecycle` section; problems are added to `c` with their paths. */
export function parseLifecycleSection(c: Checker, v: unknown): LifecycleConfig {
  const o =
    c.object(v, "lifecycle", [
      "defaultTimeoutSeconds",
      "pollMs",
      "cleanupTimeoutSeconds",
      "capacityMaxAgeMs",
      "maxConcurrentRuns",
      "healGraceSeconds",
    ]) ?? {};
  const d = LIFECYCLE_DEFAULTS;
  return {
    defaultTimeoutMs:
      (c.integer(o["defaultTimeoutSeconds"], "lifecycle.defaultTimeoutSeconds", 1, 86_400) ?? d.defaultTimeoutSeconds) *
      1000,
    pollMs: c.integer(o["pollMs"], "lifecycle.pollMs", 10, 60_000) ?? d.pollMs,
    cleanupTimeoutMs:
      (c.integer(o["cleanupTimeoutSeconds"], "lifecycle.cleanupTimeoutSeconds", 1, 3600) ?? d.cleanupTimeoutSeconds) *
      1000,
    capacityMaxAgeMs: c.integer(o["capacityMaxAgeMs"], "lifecycle.capacityMaxAgeMs", 0, 60_000) ?? d.capacityMaxAgeMs,
    maxConcurrentRuns:
      c.integer(o["maxConcurrentRuns"], "lifecycle.maxConcurrentRuns", 1, 10_000) ?? d.maxConcurrentRuns,
    healGraceMs:
      (c.integer(o["healGraceSeconds"], "lifecycle.healGraceSeconds", 1, 86_400) ?? d.healGraceSeconds) * 1000,
  };
}
