/**
 * What the deployment journal (journal.ts) holds: one record per intent, its packages, events, segments and
 * revisions; what makes a record readable; and the error that refuses a journal that is not.
 */
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

const STATES: ReadonlySet<string> = new Set([...SETTLED, "PENDING", "ADMITTED", "COMMITTED", "SYNCED", "TERMINATING"]);

/** What is wrong with a parsed record of the file `<name>.json`, or undefined when it can be used. */
export function recordProblem(rec: unknown, name: string): string | undefined {
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
