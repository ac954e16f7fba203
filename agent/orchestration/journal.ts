/**
 * The agent's durable record of deployments: one JSON file per intent under `<dataDir>/deployments/`,
 * written temp file → fsync → rename → fsync of the folder (one folder fsync shared by the renames ready
 * together), so a crash leaves the old record or the new one, never half of either. The lifecycle writes a
 * record durably before it touches an edge's repository (the baseline commit it would roll back to is in it),
 * so a restarted agent can roll back what was in flight. Other progress is written behind, coalesced: at most
 * one write per intent in flight and one queued; its events reach watchers once the write holding them ends.
 */
import { closeSync, fsync, open as openFd, openSync, readFileSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { CaminoError } from "../errors.js";
import type { Blocker } from "./blockers.js";
import type { AdmissionReason } from "./planner.js";
import type { RunTimes } from "./run-timing.js";

export type StateName =
  | "PENDING"
  | "ADMITTED"
  | "COMMITTED"
  | "SYNCED"
  | "READY"
  | "DEGRADED"
  | "FAILED"
  | "ROLLED_BACK"
  | "TERMINATED"
  | "TERMINATING";

export const SETTLED: ReadonlySet<StateName> = new Set(["READY", "DEGRADED", "FAILED", "ROLLED_BACK", "TERMINATED"]);

export interface PackageRecord {
  package: string;
  wave: number;
  edge: string;
  domain: string;
  repository: string;
  state: StateName;
  reason: string;
  blueprintCommit: string;
  commit: string;
  updatedAt: string;
}

export interface EventRecord {
  time: string;
  package: string;
  state: StateName;
  reason: string;
  kind: string;
  wave: number;
}

export interface DeploymentRecord {
  id: string;
  intent: string;
  revision: number;
  state: StateName;
  reason: string;
  digest: string;
  /** Digest of the intent and its resolved blueprint commits. */
  deploymentDigest: string;
  /** The DeploymentIntent message as protobuf JSON (for terminate and for people). */
  intentJson: unknown;
  timeoutMs: number;
  createdAt: string;
  updatedAt: string;
  packages: PackageRecord[];
  admission: AdmissionReason[];
  /** Repository → the head before this revision first wrote to it ("" when the repository was empty). */
  touched: Record<string, string>;
  /** The last events (bounded), for watchers that ask from a time. */
  events: EventRecord[];
  /** On the origin: the segments this revision placed in peer domains (and those an earlier revision committed). */
  segments?: SegmentRecord[];
  /** On the peer: set when this deployment is a segment run for an origin domain. */
  segment?: HostedSegmentRecord;
  /** What the run waits on now, per package ("" for the intent) (blockers.ts); kept when it fails. */
  waitingOn?: Record<string, Blocker[]>;
  /** Set on a revision that moves packages away from lost edges (heal.ts): those edges, not waited on to sync. */
  healedFrom?: string[];
  /**
   * Where the revision's deploy run spent its time (run-timing.ts): waiting for a turn, on edges and peers, and
   * in the agent's own work, in ms, in all and per step; set when the run ends (its rollback included).
   */
  timing?: RunTimes;
  /** Set (durably) while the revision is being rolled back: its cause. A restart finishes the rollback. */
  rollingBack?: string;
  /**
   * The intent's revisions, oldest first, this one last (bounded: revision-history.ts). Absent in records
   * written before it existed.
   */
  history?: RevisionRecord[];
}

/** One revision of an intent as its record keeps it (revision-history.ts): what `camino intent history` lists. */
export interface RevisionRecord {
  revision: number;
  /** The revision's deployment digest: its spec and the blueprint commits it resolved. */
  digest: string;
  submittedAt: string;
  /** When its run (or its termination) settled; "" while it runs. */
  endedAt: string;
  /** READY, ROLLED_BACK, FAILED or TERMINATED once ended; while it runs, the state it was last written in. */
  outcome: StateName;
  reason: string;
  /** The commits the revision made: repository, commit, wave (0 for the chain). */
  commits: { repository: string; commit: string; wave: number }[];
  /** Each package's resolved blueprint and its commit (what a rollback to this revision pins). */
  blueprints: { package: string; blueprint: string; commit: string }[];
  /** The DeploymentIntent as submitted (protobuf JSON): what a rollback to this revision submits again. */
  intentJson: unknown;
}

/**
 * Where a segment stands at its origin. `proposing` and `committing` are written durably before the call, so a
 * crash leaves a record saying what may have reached the peer: before a commit decision the segment is aborted,
 * after it terminated.
 */
export type SegmentPhase = "proposing" | "reserved" | "committing" | "committed" | "aborted" | "terminated";

export interface SegmentRecord {
  domain: string;
  id: string;
  generation: number;
  packages: string[];
  firstWave: number;
  lastWave: number;
  phase: SegmentPhase;
  /** The segment's namespace on the peer (from the offer). */
  namespace: string;
  /** While reserved: when the peer's lease ends (ISO time). */
  leaseExpiresAt: string;
  /** The peer's last word on it: its state and reason. */
  state: StateName | "";
  reason: string;
  /** Set while an end (abort or terminate) could not reach the peer: the origin tries again. */
  pendingEnd?: boolean;
  /** The generation the peer runs, while a newer one is proposed or committing (an update). */
  committedGeneration?: number;
}

/** A segment this domain runs for an origin: enough to re-plan it and to answer the origin. */
export interface HostedSegmentRecord {
  origin: string;
  id: string;
  generation: number;
  /** The origin's intent (the cross-domain hosts are named after it). */
  hostIntent: string;
  /** The origin's side: its trust domain, root, addresses and consumers (planner.ts RemoteSide). */
  remote: {
    domain: string;
    trustDomain: string;
    meshRoot: string;
    addresses: {
      package: string;
      host: string;
      port: number;
      gatewayAddress: string;
      gatewayPort: number;
      network: string;
      protocol: string;
      spiffeIdentity: string;
    }[];
    consumers: { from: string; to: string; port: number; principal: string }[];
  };
}

export const MAX_EVENTS_KEPT = 500;

/** The marker beside the journal's folder: a folder gone while its marker stays is refused, not re-created. */
const JOURNAL_FORMAT = "camino deployment journal 1: one JSON record per intent";

const STATES: ReadonlySet<string> = new Set([...SETTLED, "PENDING", "ADMITTED", "COMMITTED", "SYNCED", "TERMINATING"]);

/** What is wrong with a parsed record of the file `<name>.json`, or undefined when it can be used. */
function recordProblem(rec: unknown, name: string): string | undefined {
  const r = rec as Partial<DeploymentRecord> | null;
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "not a JSON object";
  if (r.intent !== name) return `intent is ${JSON.stringify(r.intent)}, the file is named for ${JSON.stringify(name)}`;
  if (!Number.isInteger(r.revision) || (r.revision as number) < 1) return "revision is not a positive integer";
  if (typeof r.state !== "string" || !STATES.has(r.state)) return `state ${JSON.stringify(r.state)} is not a state`;
  if (!Array.isArray(r.packages)) return "packages is not a list";
  if (!Array.isArray(r.events)) return "events is not a list";
  if (r.touched === null || typeof r.touched !== "object") return "touched is not an object";
  return undefined;
}

/** A journal the agent cannot start on: names the file, what is wrong, and how to recover. */
export class JournalError extends CaminoError {
  constructor(file: string, why: string, count: number) {
    const more = count > 1 ? ` (and ${count - 1} more)` : "";
    super(
      "ERR_JOURNAL_UNREADABLE",
      `the deployment journal cannot be read: ${file}: ${why}${more}. The agent does not start on a journal it cannot read, and does not change it. To recover, stop the agent and run: camino recover --from-repositories --config <agent config> (it keeps every readable record, moves each unreadable one aside, and rebuilds those intents from the deployment repositories; see the README, "Recovering the journal")`,
      { data: { file } },
    );
  }
}

const fsOpen = promisify(openFd);
const fsFsync = promisify(fsync);

export class Journal {
  readonly #dir: string;
  readonly #writing = new Map<string, Promise<void>>();
  /** Per intent, its write queued behind the one in flight and not started yet. */
  readonly #notStarted = new Map<string, Promise<void>>();
  readonly #queued = new Map<string, DeploymentRecord>();
  /** Whether the folder is known to exist (made or found by a write). */
  #made = false;
  #nextFolderSync: Promise<void> | undefined;
  #lastFolderSync: Promise<void> = Promise.resolve();
  /** Records written, and the fsyncs they took: one per file, and the folder's, shared by the ready renames. */
  readonly stats = { records: 0, fileSyncs: 0, folderSyncs: 0 };

  readonly #fsync: boolean;

  /**
   * @param options.fsync false: no fsync at all (the benchmark's "without a durable record"; the agent's
   *   `CAMINO_JOURNAL_FSYNC=off`). A crash of the process still leaves whole records; one of the machine may not.
   */
  constructor(dataDir: string, options: { fsync?: boolean } = {}) {
    this.#dir = join(dataDir, "deployments");
    this.#fsync = options.fsync ?? true;
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
   * Every record on disk. A record that cannot be read (unreadable, truncated, not JSON, not a deployment record),
   * or a journal folder gone from a data folder that had one, refuses the start: the agent never forgets intents
   * silently, and never overwrites a record it could not read. A temporary file of a write that never finished
   * (`*.tmp`: never acknowledged) is removed.
   * @throws JournalError naming the file, what is wrong and the way to recover
   */
  async load(): Promise<DeploymentRecord[]> {
    const { records, unreadable } = await this.inspect();
    const first = unreadable[0];
    if (first) throw new JournalError(first.file, first.why, unreadable.length);
    return records;
  }

  /**
   * The readable records and the unreadable files, with why (`camino recover` and {@link load}). Creates the
   * folder, and its marker beside it, on a data folder that never had a journal.
   */
  async inspect(): Promise<{ records: DeploymentRecord[]; unreadable: { file: string; why: string }[] }> {
    const marker = `${this.#dir}.format`;
    const hadOne = await readFile(marker, "utf8").then(
      () => true,
      () => false,
    );
    let names: string[];
    try {
      names = (await readdir(this.#dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        return { records: [], unreadable: [{ file: this.#dir, why: `unreadable (${(err as Error).message})` }] };
      }
      if (hadOne) {
        return {
          records: [],
          unreadable: [{ file: this.#dir, why: "the journal folder is missing (its marker is there)" }],
        };
      }
      names = [];
      await mkdir(this.#dir, { recursive: true });
    }
    if (!hadOne) await writeFile(marker, `${JOURNAL_FORMAT}\n`, { mode: 0o600 });
    const records: DeploymentRecord[] = [];
    const unreadable: { file: string; why: string }[] = [];
    for (const f of names) {
      const file = join(this.#dir, f);
      if (f.endsWith(".tmp")) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (!f.endsWith(".json")) continue;
      let text: string;
      try {
        // Read synchronously: this runs at start, before the agent serves, and 1,000 promise-based reads cost
        // several times more (an open, a stat, a read and a close each, every one a round trip to the pool).
        text = readFileSync(file, "utf8");
      } catch (err) {
        unreadable.push({ file, why: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
        continue;
      }
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (err) {
        unreadable.push({
          file,
          why: text.trim() === "" ? "empty (truncated)" : `truncated or not JSON (${(err as Error).message})`,
        });
        continue;
      }
      const problem = recordProblem(rec, f.slice(0, -".json".length));
      if (problem) unreadable.push({ file, why: `not a deployment record: ${problem}` });
      else records.push(rec as DeploymentRecord);
    }
    return { records, unreadable };
  }

  /** Moves an unreadable record aside (`<folder>.unreadable/`), never overwriting one there; returns where. */
  async setAside(file: string): Promise<string> {
    const aside = `${this.#dir}.unreadable`;
    await mkdir(aside, { recursive: true });
    const to = join(aside, `${basename(file)}.${Date.now()}`);
    await rename(file, to);
    return to;
  }

  /**
   * Writes one intent's record, given as its JSON text (taken when the write starts: the snapshot). What may wait
   * on the disk (the file's creation, its fsync, the rename) goes through the thread pool, so that a busy disk
   * never stalls the agent's event loop; writing a few KB into the open file and closing it are made directly.
   */
  async #write(intent: string, text: string): Promise<void> {
    if (!this.#made) {
      await mkdir(this.#dir, { recursive: true });
      this.#made = true;
    }
    const file = join(this.#dir, `${intent}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = await fsOpen(tmp, "w", 0o600).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
      // The folder went away under the running agent: made again, as the first write makes it.
      await mkdir(this.#dir, { recursive: true });
      return fsOpen(tmp, "w", 0o600);
    });
    try {
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      if (this.#fsync) {
        await fsFsync(fd);
        this.stats.fileSyncs++;
      }
    } finally {
      closeSync(fd);
    }
    await rename(tmp, file);
    if (this.#fsync) await this.#syncFolder();
    this.stats.records++;
  }

  /**
   * Makes the renames done so far durable: one fsync of the folder, shared by every rename that is ready
   * before it starts (a group commit). A sync that has already started may have missed this caller's rename,
   * so the caller joins the next one, which starts when it ends.
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

  /**
   * The write that will hold `rec` as it is now: the intent's write not yet started when there is one (it reads
   * the record when it starts), else a new one after the write in flight. Rejects when that write fails.
   */
  #enqueue(rec: DeploymentRecord): Promise<void> {
    this.#queued.set(rec.intent, rec);
    const waiting = this.#notStarted.get(rec.intent);
    if (waiting) return waiting;
    const prev = this.#writing.get(rec.intent) ?? Promise.resolve();
    const next: Promise<void> = prev
      .catch(() => undefined)
      .then(() => {
        if (this.#notStarted.get(rec.intent) === next) this.#notStarted.delete(rec.intent);
        const latest = this.#queued.get(rec.intent) as DeploymentRecord;
        this.#queued.delete(rec.intent);
        return this.#write(latest.intent, JSON.stringify(latest));
      });
    this.#notStarted.set(rec.intent, next);
    this.#writing.set(rec.intent, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.#writing.get(rec.intent) === next) this.#writing.delete(rec.intent);
      });
    return next;
  }

  /** Writes the record now (after any write of it in flight); resolves when it is on disk. */
  async save(rec: DeploymentRecord): Promise<void> {
    await this.#enqueue(rec);
  }

  /**
   * Writes the record soon: writes of one intent coalesce, so only its latest state is written. The write reads
   * the record when it starts, never before the caller's synchronous work is done. Resolves (never rejects) when
   * a write holding the record as it is now has ended; a failure goes to `onError`.
   */
  saveLater(rec: DeploymentRecord, onError: (err: unknown) => void): Promise<void> {
    return this.#enqueue(rec).catch(onError);
  }

  /** Waits for every write in flight. */
  async flush(): Promise<void> {
    while (this.#writing.size > 0) await Promise.allSettled([...this.#writing.values()]);
  }

  async remove(intent: string): Promise<void> {
    await this.flush();
    await unlink(join(this.#dir, `${intent}.json`)).catch(() => undefined);
  }
}
