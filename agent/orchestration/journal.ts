/**
 * The agent's durable record of deployments: the latest record of each intent, written before the lifecycle
 * touches an edge's repository (the baseline commit it would roll back to is in it), so that a restarted agent
 * can finish or roll back whatever was in flight. Its folder is `<dataDir>/deployments/`.
 *
 * - Records are appended to a log (`log-<sequence>.jsonl`: one line per record, a checksum of its JSON and the
 *   JSON), and the records that are ready together share one fdatasync: a group commit. The records of changes
 *   made while a group is on its way to the disk go in the next group, each intent once, as it is when that
 *   group starts (writes behind coalesce).
 * - When a log reaches its size, a new one is started and the old one is folded: each intent it holds is written
 *   to its own file (`<intent>.json`: temporary file, fsync, rename, then one fsync of the folder), and the log
 *   is deleted. A graceful stop folds the last log, and the start after a crash folds what it finds.
 * - Reading takes the per-intent files, then the logs in order: an intent's last record wins. A crash leaves only
 *   whole records: a line cut short can only be the end of a log (never acknowledged) and is dropped; a fold cut
 *   short leaves its log, which is read and folded again.
 */
import { closeSync, fdatasync, fsync, open as openFd, openSync, readdirSync, writeSync } from "node:fs";
import { mkdir, rename, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import type { Failpoints } from "../failpoints.js";
import { writeNewFile } from "../util/new-file.js";
import { checksum, LOG_NAME, readFolder } from "./journal-read.js";
import { JournalError, type DeploymentRecord } from "./journal-records.js";

export * from "./journal-records.js";

const logName = (seq: number) => `log-${String(seq).padStart(10, "0")}.jsonl`;

/** A log is folded once it holds this much: a few hundred intents' changes at a few KB a record. */
export const DEFAULT_MAX_LOG_BYTES = 4 << 20;

const fsOpen = promisify(openFd);
const fsFsync = promisify(fsync);
const fsDatasync = promisify(fdatasync);

interface OpenLog {
  file: string;
  fd: number;
  bytes: number;
  /** Intent → the JSON of its last record in this log: what folding the log writes. */
  latest: Map<string, string>;
}

interface Group {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function group(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class Journal {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #maxLogBytes: number;
  readonly #failpoints: Failpoints | undefined;
  readonly #onFoldError: (err: unknown) => void;
  /** Records appended and the fsyncs taken: the logs' (one per group) and the folder's; logs folded. */
  readonly stats = { records: 0, fileSyncs: 0, folderSyncs: 0, folds: 0 };

  /** Whether the folder is known to exist (made or found by a write). */
  #made = false;
  #log: OpenLog | undefined;
  /** The next log's sequence number; 0 until the folder was read. */
  #nextSeq = 0;
  /** Per intent, its record to write in the next group, and that group. */
  #ready = new Map<string, DeploymentRecord>();
  #next: Group | undefined;
  #scheduled = false;
  /** The group on its way to the disk (its append and its fdatasync). */
  #inFlight: Promise<void> | undefined;
  /** Folds run one after the other, beside the appends. */
  #folding: Promise<void> = Promise.resolve();
  #foldFailed = false;
  #nextFolderSync: Promise<void> | undefined;
  #lastFolderSync: Promise<void> = Promise.resolve();

  /**
   * @param options.fsync false: no fsync at all (the benchmark's "without a durable record"; the agent's
   *   `CAMINO_JOURNAL_FSYNC=off`). A crash of the process still leaves whole records; one of the machine may not.
   * @param options.maxLogBytes the size at which a log is folded ({@link DEFAULT_MAX_LOG_BYTES})
   * @param options.failpoints `journal-fold` fires after each record file a fold writes
   * @param options.onFoldError a fold that failed: its log and every later one stay, folded at the next start
   */
  constructor(
    dataDir: string,
    options: {
      fsync?: boolean;
      maxLogBytes?: number;
      failpoints?: Failpoints;
      onFoldError?: (err: unknown) => void;
    } = {},
  ) {
    this.#dir = join(dataDir, "deployments");
    this.#fsync = options.fsync ?? true;
    this.#maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
    this.#failpoints = options.failpoints;
    this.#onFoldError = options.onFoldError ?? (() => undefined);
  }

  /** Whether writes are fsynced. */
  get fsyncs(): boolean {
    return this.#fsync;
  }

  /** The journal's folder. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * Every record on disk; the logs an earlier run left are folded. A record that cannot be read (unreadable,
   * truncated, not JSON, not a deployment record, a log line damaged), or a journal folder gone from a data
   * folder that had one, refuses the start: the agent never forgets intents silently, and never overwrites a
   * record it could not read. A temporary file of a fold that never finished (`*.tmp`) is removed.
   * @throws JournalError naming the file, what is wrong and the way to recover
   */
  async load(): Promise<DeploymentRecord[]> {
    const read = await readFolder(this.#dir);
    const first = read.unreadable[0];
    if (first) throw new JournalError(first.file, first.why, read.unreadable.length);
    this.#nextSeq = Math.max(this.#nextSeq, read.nextSeq);
    this.#made = true;
    for (const file of read.temporary) await unlink(file).catch(() => undefined);
    if (read.logs.length > 0) await this.#fold(read.logs, read.fromLogs);
    return read.records;
  }

  /**
   * The readable records and the unreadable files, with why (`camino recover` and {@link load}). Changes nothing,
   * but creates the folder, and its marker beside it, on a data folder that never had a journal.
   */
  async inspect(): Promise<{ records: DeploymentRecord[]; unreadable: { file: string; why: string }[] }> {
    const { records, unreadable } = await readFolder(this.#dir);
    return { records, unreadable };
  }

  /** Moves an unreadable record or log aside (`<folder>.unreadable/`), never overwriting one there; returns where. */
  async setAside(file: string): Promise<string> {
    const aside = `${this.#dir}.unreadable`;
    await mkdir(aside, { recursive: true });
    const to = join(aside, `${basename(file)}.${Date.now()}`);
    await rename(file, to);
    return to;
  }

  /** Writes the record now (after any write of it in flight); resolves when it is on disk. */
  async save(rec: DeploymentRecord): Promise<void> {
    await this.#enqueue(rec);
  }

  /**
   * Writes the record soon: writes of one intent coalesce, so only its latest state is written. The write reads
   * the record when its group starts, never before the caller's synchronous work is done. Resolves (never
   * rejects) when a write holding the record as it is now has ended; a failure goes to `onError`.
   */
  saveLater(rec: DeploymentRecord, onError: (err: unknown) => void): Promise<void> {
    return this.#enqueue(rec).catch(onError);
  }

  /** Waits for every write in flight or ready. */
  async flush(): Promise<void> {
    for (;;) {
      const pending = this.#next?.promise ?? this.#inFlight;
      if (!pending) return;
      await pending.catch(() => undefined);
    }
  }

  /** Writes what is ready and folds the last log (a graceful stop): the folder then holds one file per intent. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#log) this.#endLog(this.#log);
    await this.#folding;
  }

  /** The group that will hold `rec` as it is when the group starts: the next one. Rejects when it fails. */
  #enqueue(rec: DeploymentRecord): Promise<void> {
    this.#ready.set(rec.intent, rec);
    this.#next ??= group();
    if (!this.#inFlight && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#startGroup());
    }
    return this.#next.promise;
  }

  #startGroup(): void {
    this.#scheduled = false;
    const next = this.#next;
    if (this.#inFlight || !next) return;
    const records = this.#ready;
    this.#ready = new Map();
    this.#next = undefined;
    const done = this.#append(records).then(next.resolve, next.reject);
    this.#inFlight = done;
    void done.finally(() => {
      this.#inFlight = undefined;
      this.#startGroup();
    });
  }

  /**
   * Appends a group's records to the log and makes them durable with one fdatasync. Writing a few KB into the
   * open file is made directly; the fdatasync, which may wait on a busy disk, goes through the thread pool.
   */
  async #append(records: Map<string, DeploymentRecord>): Promise<void> {
    const log = this.#log ?? (await this.#openLog());
    const bodies: [string, string][] = [];
    let text = "";
    for (const [intent, rec] of records) {
      const body = JSON.stringify(rec);
      bodies.push([intent, body]);
      text += `${checksum(body)} ${body}\n`;
    }
    const bytes = Buffer.from(text);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(log.fd, bytes, at, bytes.length - at);
      if (this.#fsync) {
        await fsDatasync(log.fd);
        this.stats.fileSyncs++;
      }
    } catch (err) {
      // The log may now end in a line cut short, which is read as the end of a log: this log ends here.
      this.#endLog(log);
      throw err;
    }
    log.bytes += bytes.length;
    for (const [intent, body] of bodies) log.latest.set(intent, body);
    this.stats.records += records.size;
    if (log.bytes >= this.#maxLogBytes) this.#endLog(log);
  }

  /** Starts a new log; its name is durable before a record in it is acknowledged. */
  async #openLog(): Promise<OpenLog> {
    if (!this.#made) {
      await mkdir(this.#dir, { recursive: true });
      this.#made = true;
    }
    if (this.#nextSeq === 0) {
      this.#nextSeq = 1;
      for (const f of readdirSync(this.#dir)) {
        const m = LOG_NAME.exec(f);
        if (m) this.#nextSeq = Math.max(this.#nextSeq, Number(m[1]) + 1);
      }
    }
    for (;;) {
      const file = join(this.#dir, logName(this.#nextSeq++));
      let fd: number;
      try {
        fd = await fsOpen(file, "wx", 0o600);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") continue;
        if (code !== "ENOENT") throw err;
        // The folder went away under the running agent: made again, as the first write makes it.
        await mkdir(this.#dir, { recursive: true });
        fd = await fsOpen(file, "wx", 0o600);
      }
      if (this.#fsync) await this.#syncFolder();
      const log: OpenLog = { file, fd, bytes: 0, latest: new Map() };
      this.#log = log;
      return log;
    }
  }

  /** Ends a log: no more appends to it; it is folded after the folds before it. */
  #endLog(log: OpenLog): void {
    if (this.#log === log) this.#log = undefined;
    try {
      closeSync(log.fd);
    } catch {
      // Closed already: the fold reads nothing from the descriptor.
    }
    this.#folding = this.#folding.then(async () => {
      // Logs are folded in order: after a fold failed, a later one would write files that the failed log,
      // read after the files at the next start, would undo. They are all kept, and folded at the next start.
      if (this.#foldFailed) return;
      await this.#fold([log.file], log.latest).catch((err: unknown) => {
        this.#foldFailed = true;
        this.#onFoldError(err);
      });
    });
  }

  /**
   * Writes each intent's last record in `logs` to its own file, makes the files and their names durable, then
   * deletes the logs. A crash on the way leaves the logs, read after the files: the same records win.
   */
  async #fold(logs: string[], latest: Map<string, string>): Promise<void> {
    for (const [intent, body] of latest) {
      await this.#writeRecordFile(intent, body);
      await this.#failpoints?.hit("journal-fold");
    }
    if (this.#fsync) await this.#syncFolder();
    for (const file of logs) await unlink(file);
    if (this.#fsync) await this.#syncFolder();
    this.stats.folds++;
  }

  /** One intent's file: temporary file, fsync, rename. Creating, syncing and renaming go through the thread pool. */
  async #writeRecordFile(intent: string, text: string): Promise<void> {
    const file = join(this.#dir, `${intent}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeNewFile(tmp, Buffer.from(text), { mode: 0o600, fsync: this.#fsync });
    if (this.#fsync) this.stats.fileSyncs++;
    await rename(tmp, file);
  }

  /**
   * Makes the names created so far durable: one fsync of the folder, shared by every caller ready before it
   * starts. A sync that has already started may have missed this caller's change, so the caller joins the next
   * one, which starts when it ends.
   */
  #syncFolder(): Promise<void> {
    if (this.#nextFolderSync) return this.#nextFolderSync;
    const next: Promise<void> = this.#lastFolderSync
      .catch(() => undefined)
      .then(async () => {
        if (this.#nextFolderSync === next) this.#nextFolderSync = undefined;
        const dir = openSync(this.#dir, "r");
        try {
          await fsFsync(dir);
          this.stats.folderSyncs++;
        } finally {
          closeSync(dir);
        }
      });
    this.#nextFolderSync = next;
    this.#lastFolderSync = next;
    return next;
  }
}
