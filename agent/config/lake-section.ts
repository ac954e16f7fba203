/**
 * `monitoring.labelCache` and `monitoring.influxdb`: the label cache's TTL and Redis deadlines (Redis itself is
 * chosen by the `REDIS_URL` environment variable, so its password stays out of the config file), and the
 * optional export of snapshots to InfluxDB. Credentials come from files (absolute, or relative to the config).
 * @example
 * monitoring:
 *   labelCache: { ttl: 10m, commandTimeout: 500ms }
 *   influxdb:
 *     url: http://influxdb.monitoring:8086
 *     database: camino
 *     tokenFile: /var/run/secrets/influxdb/token   # 2.x (1.x: username + passwordFile)
 *     createDatabase: false                         # 2.x: the bucket and its DBRP mapping exist already
 */
import { resolve } from "node:path";
import type { Checker } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";

export interface LabelCacheConfig {
  /** Entry lifetime, in ms. Default 600000 (`ttl: 10m`). */
  ttlMs: number;
  /** A Redis command's deadline, in ms. Default 500 (`commandTimeout: 500ms`). */
  commandTimeoutMs: number;
  /** Key prefix in Redis. Default `camino:<domain>:`. */
  keyPrefix?: string;
}

export interface InfluxConfig {
  url: string;
  database: string;
  retentionPolicy?: string;
  username?: string;
  passwordFile?: string;
  tokenFile?: string;
  /** Default true (1.x); false for 2.x. */
  createDatabase: boolean;
  /** Default 5000. */
  batchSize: number;
  /** Default 1000 (`flushInterval: 1s`). */
  flushIntervalMs: number;
  /** Default 100000. */
  maxBufferedLines: number;
  /** Attempts per batch. Default 4. */
  attempts: number;
  /** Default 200 (`retryDelay: 200ms`). */
  retryDelayMs: number;
  /** Default 5000 (`timeout: 5s`). */
  timeoutMs: number;
}

export function parseLabelCacheSection(c: Checker, v: unknown): LabelCacheConfig {
  const o = c.object(v, "monitoring.labelCache", ["ttl", "commandTimeout", "keyPrefix"]) ?? {};
  const config: LabelCacheConfig = {
    ttlMs: c.duration(o["ttl"], "monitoring.labelCache.ttl", 7 * 86_400_000)?.ms ?? 600_000,
    commandTimeoutMs: c.duration(o["commandTimeout"], "monitoring.labelCache.commandTimeout", 60_000)?.ms ?? 500,
  };
  const prefix = c.string(o["keyPrefix"], "monitoring.labelCache.keyPrefix", { max: 128 });
  if (prefix) config.keyPrefix = prefix;
  return config;
}

/** `monitoring.influxdb`, or undefined when it is absent (no export). */
export function parseInfluxSection(c: Checker, v: unknown, base: string): InfluxConfig | undefined {
  const o = c.object(v, "monitoring.influxdb", [
    "url",
    "database",
    "retentionPolicy",
    "username",
    "passwordFile",
    "tokenFile",
    "createDatabase",
    "batchSize",
    "flushInterval",
    "maxBufferedLines",
    "attempts",
    "retryDelay",
    "timeout",
  ]);
  if (!o) return undefined;
  const p = (k: string) => `monitoring.influxdb.${k}`;
  const url = c.string(o["url"], p("url"), { required: true, max: 2048, check: httpUrlProblem });
  const database = c.string(o["database"], p("database"), { required: true, max: 128 });
  const file = (k: string) => {
    const f = c.string(o[k], p(k), { max: 4096 });
    return f ? resolve(base, f) : undefined;
  };
  const config: InfluxConfig = {
    url: url ?? "",
    database: database ?? "",
    createDatabase: true,
    batchSize: c.integer(o["batchSize"], p("batchSize"), 1, 100_000) ?? 5000,
    flushIntervalMs: c.duration(o["flushInterval"], p("flushInterval"), 600_000)?.ms ?? 1000,
    maxBufferedLines: c.integer(o["maxBufferedLines"], p("maxBufferedLines"), 1, 10_000_000) ?? 100_000,
    attempts: c.integer(o["attempts"], p("attempts"), 1, 20) ?? 4,
    retryDelayMs: c.duration(o["retryDelay"], p("retryDelay"), 600_000)?.ms ?? 200,
    timeoutMs: c.duration(o["timeout"], p("timeout"), 600_000)?.ms ?? 5000,
  };
  const rp = c.string(o["retentionPolicy"], p("retentionPolicy"), { max: 128 });
  if (rp) config.retentionPolicy = rp;
  const username = c.string(o["username"], p("username"), { max: 256 });
  if (username) config.username = username;
  const passwordFile = file("passwordFile");
  if (passwordFile) config.passwordFile = passwordFile;
  const tokenFile = file("tokenFile");
  if (tokenFile) config.tokenFile = tokenFile;
  if (tokenFile && username) c.add("monitoring.influxdb", "give tokenFile (2.x) or username (1.x), not both");
  if (o["createDatabase"] !== undefined) {
    if (typeof o["createDatabase"] === "boolean") config.createDatabase = o["createDatabase"];
    else c.add(p("createDatabase"), "must be true or false");
  }
  return config;
}
