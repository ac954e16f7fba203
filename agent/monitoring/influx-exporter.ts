/**
 * The data lake: snapshots exported to InfluxDB's `/write` line-protocol endpoint, off the orchestration path.
 * `export()` only appends lines to a bounded buffer and returns; a sender writes batches in the background, one
 * at a time, retrying a failed batch within a budget (attempts and back-off) and then dropping it, counted. When
 * the buffer is full the oldest lines are dropped, counted. Nothing here ever awaits on behalf of a caller of
 * `export()`, so a slow or dead InfluxDB costs the agent memory up to the buffer's bound and nothing else.
 *
 * InfluxDB 1.x: the database is created first (`CREATE DATABASE` through `/query`, idempotent), again after a
 * write answers "database not found". 2.x: its 1.x-compatible `/write` with a DBRP mapping and a token (the
 * README says how); `createDatabase: false` then, since 2.x has buckets, not databases.
 */
import { linkSignals } from "../util/signals.js";
import { snapshotToLines } from "./line-protocol.js";
import type { MonitoringSnapshot } from "./snapshot.js";

export interface InfluxExporterOptions {
  /** InfluxDB's base URL, e.g. `http://influxdb:8086`. Credentials in it are not allowed: use the fields below. */
  url: string;
  /** The database (1.x), or the database name of the DBRP mapping (2.x). */
  database: string;
  /** The retention policy; default: the database's default. */
  retentionPolicy?: string;
  /** 1.x user and password (sent as basic auth). */
  username?: string;
  password?: string;
  /** 2.x token (sent as `Authorization: Token …`). */
  token?: string;
  /** Create the database before the first write (1.x). Default true. */
  createDatabase?: boolean;
  /** The domain, written as the `domain` tag. */
  domain: string;
  /** Lines per write. Default 5000. */
  batchSize?: number;
  /** How long lines wait for a batch to fill, in milliseconds. Default 1000. */
  flushIntervalMs?: number;
  /** Lines kept at most while InfluxDB is slow or down; the oldest are dropped beyond it. Default 100000. */
  maxBufferedLines?: number;
  /** Attempts per batch (the first and its retries). Default 4. */
  attempts?: number;
  /** First retry delay, doubled on each retry, in milliseconds. Default 200. */
  retryDelayMs?: number;
  /** One request's deadline, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Told of each batch dropped, with why (no credentials in it). */
  onDrop?: (lines: number, reason: string) => void;
  /** The fetch to use. Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Counters since start (GetDomainInfo, the agent's metrics and the tests read them). */
export interface InfluxExportStats {
  /** Lines InfluxDB accepted. */
  written: number;
  /** Lines dropped: batches out of attempts or refused, and the oldest lines of a full buffer. */
  dropped: number;
  /** Write attempts that failed and were retried. */
  retries: number;
  /** Batches that were dropped. */
  failedBatches: number;
  /** Lines waiting. */
  buffered: number;
  /** The last failure ("" after a success). */
  lastError: string;
}

export interface InfluxExporter {
  /** Queues the snapshot's points; returns at once. */
  export(snapshot: MonitoringSnapshot): void;
  /** Writes what is queued now (with retries); resolves when the buffer was sent or dropped. */
  flush(): Promise<void>;
  stats(): InfluxExportStats;
  /** Stops the timer and any retry, then makes one last attempt at what is queued: within timeoutMs in all. */
  close(): Promise<void>;
}

class WriteError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    readonly missingDatabase = false,
  ) {
    super(message);
  }
}

/** Creates the exporter (nothing is sent until the first snapshot). @throws TypeError for a URL with credentials */
export function createInfluxExporter(options: InfluxExporterOptions): InfluxExporter {
  const base = new URL(options.url);
  if (base.username || base.password) throw new TypeError("the InfluxDB URL must not carry credentials");
  const o = {
    batchSize: options.batchSize ?? 5000,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    maxBuffered: options.maxBufferedLines ?? 100_000,
    attempts: Math.max(1, options.attempts ?? 4),
    retryDelayMs: options.retryDelayMs ?? 200,
    timeoutMs: options.timeoutMs ?? 5000,
    createDatabase: options.createDatabase ?? true,
    fetch: options.fetch ?? fetch,
  };
  const headers: Record<string, string> = {};
  if (options.token) headers["authorization"] = `Token ${options.token}`;
  else if (options.username)
    headers["authorization"] =
      `Basic ${Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64")}`;
  const stats: InfluxExportStats = { written: 0, dropped: 0, retries: 0, failedBatches: 0, buffered: 0, lastError: "" };
  let buffer: string[] = [];
  let databaseReady = !o.createDatabase;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  // noRetry ends back-offs and retries (close); stopping also aborts requests in flight (after the last attempt).
  const noRetry = new AbortController();
  const stopping = new AbortController();

  const drop = (lines: number, reason: string) => {
    stats.dropped += lines;
    options.onDrop?.(lines, reason);
  };

  async function request(path: string, params: Record<string, string>, body: string): Promise<void> {
    const url = new URL(path, base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let res: Response;
    let text: string;
    // Linked, not AbortSignal.any: `stopping` lives as long as the exporter (see agent/util/signals.ts).
    const link = linkSignals(AbortSignal.timeout(o.timeoutMs), stopping.signal);
    try {
      res = await o.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": path === "/query" ? "application/x-www-form-urlencoded" : "text/plain" },
        body,
        signal: link.signal,
      });
      text = await res.text().catch(() => "");
    } catch (err) {
      const e = err as Error;
      throw new WriteError(
        `InfluxDB ${base.host} unreachable: ${e.name === "TimeoutError" ? "timed out" : ((e.cause as Error | undefined)?.message ?? e.message)}`,
        true,
      );
    } finally {
      link.dispose();
    }
    if (res.ok) {
      // /query answers 200 with an error inside for a refused statement.
      if (path === "/query" && text.includes('"error"'))
        throw new WriteError(`InfluxDB refused ${path}: ${text.slice(0, 200)}`, false);
      return;
    }
    const missing = res.status === 404 && /database not found/i.test(text);
    throw new WriteError(
      `InfluxDB answered ${res.status} to ${path}: ${text.slice(0, 200)}`,
      missing || res.status >= 500 || res.status === 429,
      missing,
    );
  }

  async function writeBatch(lines: string[]): Promise<void> {
    const params: Record<string, string> = { db: options.database, precision: "ms" };
    if (options.retentionPolicy) params["rp"] = options.retentionPolicy;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!databaseReady) {
          await request(
            "/query",
            {},
            `q=${encodeURIComponent(`CREATE DATABASE "${options.database.replace(/["\\]/g, "\\$&")}"`)}`,
          );
          databaseReady = true;
        }
        await request("/write", params, lines.join("\n"));
        stats.written += lines.length;
        stats.lastError = "";
        return;
      } catch (err) {
        const e = err instanceof WriteError ? err : new WriteError(String(err), false);
        stats.lastError = e.message;
        if (e.missingDatabase && o.createDatabase) databaseReady = false;
        if (!e.retry || attempt >= o.attempts || noRetry.signal.aborted) {
          stats.failedBatches++;
          drop(lines.length, e.message);
          return;
        }
        stats.retries++;
        await backoff(o.retryDelayMs * 2 ** (attempt - 1), noRetry.signal);
      }
    }
  }

  function send(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    sending ??= (async () => {
      try {
        while (buffer.length > 0) {
          const batch = buffer.slice(0, o.batchSize);
          buffer = buffer.slice(batch.length);
          stats.buffered = buffer.length;
          await writeBatch(batch);
        }
      } finally {
        sending = undefined;
      }
    })();
    return sending;
  }

  function schedule(): void {
    if (sending || noRetry.signal.aborted) return;
    if (buffer.length >= o.batchSize) void send();
    else if (!timer) {
      timer = setTimeout(() => void send(), o.flushIntervalMs);
      timer.unref();
    }
  }

  return {
    export(snapshot) {
      if (noRetry.signal.aborted) return;
      buffer.push(...snapshotToLines(snapshot, options.domain));
      if (buffer.length > o.maxBuffered) {
        const over = buffer.length - o.maxBuffered;
        buffer = buffer.slice(over);
        drop(over, "the export buffer is full");
      }
      stats.buffered = buffer.length;
      schedule();
    },
    async flush() {
      while (sending || buffer.length > 0) await (sending ?? send());
    },
    stats: () => ({ ...stats, buffered: buffer.length }),
    async close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      noRetry.abort();
      // The write in flight and one last attempt at what is left, within timeoutMs in all.
      const deadline = setTimeout(() => stopping.abort(), o.timeoutMs);
      try {
        await sending;
        if (buffer.length > 0 && !stopping.signal.aborted) await send();
      } finally {
        clearTimeout(deadline);
        stopping.abort();
      }
    },
  };
}

/** Waits `ms`, or less when `signal` aborts. */
function backoff(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
