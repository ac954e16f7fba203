/**
 * The audit log: one JSON line per record, appended to `<dataDir>/audit/audit.log`, rotated by size
 * (`audit.log` → `audit.log.1` → … → `audit.log.<files-1>`, the oldest dropped). {@link AuditLog.append} never
 * blocks and never throws: records queue in memory and one writer appends them in batches through one file handle,
 * so a burst of calls costs one write, not one per call. A failing disk is logged once (until writes work again)
 * and never fails the call being audited; the records it could not write are counted in that log line.
 */
import { mkdir, open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/logger.js";
import { AUDIT_DEFAULTS } from "../config/audit-section.js";
import { auditRecord, type AuditRecordInput } from "./audit-record.js";

/** The current file's name; rotated files add ".1", ".2", … (".1" the newest). */
export const AUDIT_FILE = "audit.log";

/** The audit folder of a data directory. */
export function auditDir(dataDir: string): string {
  return join(dataDir, "audit");
}

export interface AuditLogOptions {
  /** The folder of the log files, created (mode 0700) if missing; the agent uses {@link auditDir}. */
  dir: string;
  /** The current file rotates before a write would take it past this many bytes. Default 10 MiB. */
  maxBytes?: number;
  /** Files kept, the current one included; at least 2. Default 5. */
  files?: number;
  /** Where a failing write is reported (once per run of failures). */
  logger: Logger;
  /** Records waiting for the writer beyond which new ones are dropped and counted. Default 10000. */
  maxPending?: number;
  /** The clock for records without a time; for tests. Default `() => new Date()`. */
  now?: () => Date;
}

export interface AuditLog {
  /** The current file's path. */
  readonly file: string;
  /** Creates the folder and opens the current file, so a data directory the agent cannot write fails the start. */
  open(): Promise<void>;
  /** Queues a record built from `input`'s allowed fields; it is on disk after the next {@link flush}. Never throws. */
  append(input: AuditRecordInput): void;
  /** Resolves when every record appended so far is written (or counted as dropped). */
  flush(): Promise<void>;
  /** Flushes and closes the file; records appended afterwards are dropped. */
  close(): Promise<void>;
}

const DEFAULT_MAX_PENDING = 10_000;

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.name : "unknown");
}

/**
 * Creates an audit log; nothing touches the disk until {@link AuditLog.open} or the first record.
 * @example
 * const audit = createAuditLog({ dir: auditDir(config.domain.dataDir), ...config.audit, logger });
 * await audit.open();
 * audit.append({ caller, method: "camino.v1.DomainManager/SubmitIntent", target: "chain-a", outcome: "ok" });
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const dir = options.dir;
  const maxBytes = options.maxBytes ?? AUDIT_DEFAULTS.maxBytes;
  const files = options.files ?? AUDIT_DEFAULTS.files;
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  const now = options.now ?? (() => new Date());
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new TypeError("maxBytes must be a positive integer");
  if (!Number.isInteger(files) || files < 2) throw new TypeError("files must be an integer of at least 2");
  const file = join(dir, AUDIT_FILE);

  let handle: FileHandle | undefined;
  let size = 0;
  let pending: string[] = [];
  let writing: Promise<void> | undefined;
  let closed = false;
  // Records lost since writes began failing (or since the queue overflowed); reported when it ends.
  let failing = false;
  let dropped = 0;

  const lost = (count: number, why: string, err?: unknown) => {
    dropped += count;
    if (failing) return;
    failing = true;
    options.logger.error("audit records are being dropped", {
      file,
      reason: why,
      ...(err === undefined ? {} : { error: errorCode(err) }),
    });
  };

  const openCurrent = async (): Promise<FileHandle> => {
    if (handle) return handle;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const h = await open(file, "a", 0o600);
    size = (await h.stat()).size;
    handle = h;
    return h;
  };

  const rotate = async (): Promise<void> => {
    const h = handle;
    handle = undefined;
    await h?.close();
    // Oldest first, so nothing is overwritten before it has moved: .(n-2) → .(n-1), …, .1 → .2, current → .1.
    for (let i = files - 2; i >= 1; i--) {
      await rename(`${file}.${i}`, `${file}.${i + 1}`).catch((err: unknown) => {
        if (errorCode(err) !== "ENOENT") throw err;
      });
    }
    await rename(file, `${file}.1`);
    // Files beyond the count (left by a config that kept more) go too.
    for (const name of await readdir(dir)) {
      const m = /^audit\.log\.(\d+)$/.exec(name);
      if (m && Number(m[1]) >= files) await rm(join(dir, name), { force: true });
    }
  };

  const writeBatch = async (lines: readonly string[]): Promise<void> => {
    let chunk = "";
    let bytes = 0;
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      await openCurrent();
      // A record never straddles two files; one larger than maxBytes gets a file of its own.
      if (size + bytes + n > maxBytes && size + bytes > 0) {
        if (bytes > 0) {
          await (handle as FileHandle).appendFile(chunk);
          size += bytes;
          chunk = "";
          bytes = 0;
        }
        await rotate();
        await openCurrent();
      }
      chunk += line;
      bytes += n;
    }
    if (bytes > 0) {
      await (await openCurrent()).appendFile(chunk);
      size += bytes;
    }
  };

  const drain = async (): Promise<void> => {
    // Let the calls of this turn of the event loop queue their records: they go in one write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await writeBatch(batch);
        if (failing) {
          options.logger.info("audit log writing again", { file, dropped });
          failing = false;
          dropped = 0;
        }
      } catch (err) {
        // The handle may be unusable now; the next batch opens the file again.
        const h = handle;
        handle = undefined;
        await h?.close().catch(() => {});
        lost(batch.length, "write failed", err);
      }
    }
  };

  const startWriter = (): void => {
    writing ??= drain().finally(() => {
      writing = undefined;
      if (pending.length > 0) startWriter();
    });
  };

  return {
    file,
    async open() {
      await openCurrent();
    },
    append(input) {
      if (closed) {
        lost(1, "the audit log is closed");
        return;
      }
      if (pending.length >= maxPending) {
        lost(1, "too many records waiting for the disk");
        return;
      }
      try {
        pending.push(`${JSON.stringify(auditRecord({ ...input, time: input.time ?? now() }))}\n`);
      } catch (err) {
        lost(1, "record not serialisable", err);
        return;
      }
      startWriter();
    },
    async flush() {
      while (writing) await writing;
    },
    async close() {
      closed = true;
      while (writing) await writing;
      const h = handle;
      handle = undefined;
      await h
        ?.close()
        .catch((err: unknown) =>
          options.logger.warn("audit log did not close cleanly", { file, error: errorCode(err) }),
        );
    },
  };
}
