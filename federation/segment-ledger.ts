/**
 * The peer side's record of the segments origins ask it to run (docs/federation.md, "Segments"): what is
 * reserved under a lease, what is committed, and the fencing rules that keep both sides in agreement.
 *
 * - A proposal is idempotent by (origin, segment id, generation): the same proposal again returns the same
 *   segment; the same key with other packages is refused. A higher generation of a committed segment is an
 *   update, reserved beside the running one until it is committed or dropped.
 * - A reservation holds until its lease ends; the origin renews it while its earlier waves run. One not
 *   committed by then is released by the peer on its own ({@link SegmentLedger.expire}).
 * - `commit` is fenced by (segment id, generation): after the lease it is refused (FAILED_PRECONDITION); a
 *   repeat of the same generation returns the first answer, so an origin that lost the reply can retry; an
 *   older generation is refused.
 * - Each origin stays within its quota (CPU, memory, segments); a proposal over it is refused with the reason.
 *
 * Pure bookkeeping, with the clock as a parameter: deploying a committed segment and releasing capacity are the
 * caller's work, told through the results.
 */
import { CaminoError } from "../common/errors.js";

/** The state of one generation of a segment on the peer. */
export type SegmentState = "RESERVED" | "COMMITTED" | "ABORTED" | "EXPIRED" | "TERMINATED";

/** One package of a proposal, with what it reserves. */
export interface LedgerPackage {
  name: string;
  blueprint: string;
  cpuMillis: number;
  memoryBytes: number;
}

/** What an origin proposes. */
export interface LedgerProposal {
  origin: string;
  segmentId: string;
  intent: string;
  generation: number;
  packages: readonly LedgerPackage[];
}

/** A segment as the peer keeps it: the generation it reserved last, and the one it runs. */
export interface LedgerSegment {
  origin: string;
  segmentId: string;
  intent: string;
  /** The generation last proposed. */
  generation: number;
  state: SegmentState;
  packages: readonly LedgerPackage[];
  leaseExpiresAt: Date;
  /** The generation deployed (committed), if any; an update in flight has `generation` above it. */
  committedGeneration?: number;
  /** The packages of the committed generation. */
  committedPackages?: readonly LedgerPackage[];
}

/** An origin's limits on this peer. */
export interface SegmentQuota {
  cpuMillis: number;
  memoryBytes: number;
  segments: number;
}

export interface SegmentLedgerOptions {
  /** How long a reservation holds without renewal, in milliseconds. */
  leaseMs: number;
  /** The origin's quota; undefined for an origin with none (no limit). */
  quotaOf(origin: string): SegmentQuota | undefined;
  /** Whether this domain exports `blueprint` to peers. */
  exported(blueprint: string): boolean;
  now?: () => Date;
}

const key = (origin: string, segmentId: string) => `${origin}\u0000${segmentId}`;

const samePackages = (a: readonly LedgerPackage[], b: readonly LedgerPackage[]) =>
  a.length === b.length &&
  a.every((p, i) => {
    const q = b[i] as LedgerPackage;
    return (
      p.name === q.name && p.blueprint === q.blueprint && p.cpuMillis === q.cpuMillis && p.memoryBytes === q.memoryBytes
    );
  });

/** The resources a segment holds now: its committed packages, and a reserved generation beside them. */
function held(s: LedgerSegment): { cpuMillis: number; memoryBytes: number } {
  const sum = (ps: readonly LedgerPackage[] = []) =>
    ps.reduce((t, p) => ({ cpuMillis: t.cpuMillis + p.cpuMillis, memoryBytes: t.memoryBytes + p.memoryBytes }), {
      cpuMillis: 0,
      memoryBytes: 0,
    });
  const committed = s.committedGeneration !== undefined ? sum(s.committedPackages) : { cpuMillis: 0, memoryBytes: 0 };
  const reserved = s.state === "RESERVED" ? sum(s.packages) : { cpuMillis: 0, memoryBytes: 0 };
  return {
    cpuMillis: committed.cpuMillis + reserved.cpuMillis,
    memoryBytes: committed.memoryBytes + reserved.memoryBytes,
  };
}

const live = (s: LedgerSegment) => s.state === "RESERVED" || s.committedGeneration !== undefined;

export class SegmentLedger {
  readonly #options: SegmentLedgerOptions;
  readonly #segments = new Map<string, LedgerSegment>();
  readonly #now: () => Date;

  constructor(options: SegmentLedgerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  list(): LedgerSegment[] {
    return [...this.#segments.values()].map((s) => ({ ...s }));
  }

  get(origin: string, segmentId: string): LedgerSegment | undefined {
    const s = this.#segments.get(key(origin, segmentId));
    return s ? { ...s } : undefined;
  }

  /**
   * Reserves a proposal under a lease. @returns the segment, and whether this call reserved it (false for a
   * repeat). @throws CaminoError ERR_PEER_DENIED (a blueprint not exported, a quota exceeded),
   * ERR_SEGMENT_STALE_GENERATION, ERR_SEGMENT_CONFLICT
   */
  propose(p: LedgerProposal): { segment: LedgerSegment; reserved: boolean } {
    for (const pkg of p.packages) {
      if (!this.#options.exported(pkg.blueprint))
        throw new CaminoError(
          "ERR_PEER_DENIED",
          `blueprint ${pkg.blueprint} (package ${pkg.name}) is not exported to peers`,
          {
            data: { package: pkg.name, blueprint: pkg.blueprint },
          },
        );
    }
    const k = key(p.origin, p.segmentId);
    const existing = this.#segments.get(k);
    if (existing) {
      if (p.generation < existing.generation)
        throw new CaminoError(
          "ERR_SEGMENT_STALE_GENERATION",
          `segment ${p.segmentId} is at generation ${existing.generation}; generation ${p.generation} is older`,
        );
      if (p.generation === existing.generation) {
        if (!samePackages(existing.packages, p.packages) || existing.intent !== p.intent)
          throw new CaminoError(
            "ERR_SEGMENT_CONFLICT",
            `segment ${p.segmentId} generation ${p.generation} was proposed with other packages; propose a new generation`,
          );
        if (existing.state === "RESERVED" || existing.state === "COMMITTED")
          return { segment: { ...existing }, reserved: false };
      }
    }
    this.#checkQuota(p, existing);
    const next: LedgerSegment = {
      origin: p.origin,
      segmentId: p.segmentId,
      intent: p.intent,
      generation: p.generation,
      state: "RESERVED",
      packages: [...p.packages],
      leaseExpiresAt: new Date(this.#now().getTime() + this.#options.leaseMs),
    };
    if (existing?.committedGeneration !== undefined) {
      next.committedGeneration = existing.committedGeneration;
      if (existing.committedPackages) next.committedPackages = existing.committedPackages;
    }
    this.#segments.set(k, next);
    return { segment: { ...next }, reserved: true };
  }

  /** Extends a reservation's lease. @throws CaminoError ERR_SEGMENT_NOT_FOUND, ERR_SEGMENT_LEASE_EXPIRED */
  renew(origin: string, segmentId: string, generation: number): Date {
    const s = this.#reserved(origin, segmentId, generation);
    s.leaseExpiresAt = new Date(this.#now().getTime() + this.#options.leaseMs);
    return s.leaseExpiresAt;
  }

  /**
   * Commits a reserved generation. @returns the segment and whether this was a repeat of a commit already made.
   * @throws CaminoError ERR_SEGMENT_NOT_FOUND, ERR_SEGMENT_LEASE_EXPIRED, ERR_SEGMENT_STALE_GENERATION
   */
  commit(origin: string, segmentId: string, generation: number): { segment: LedgerSegment; repeated: boolean } {
    const s = this.#find(origin, segmentId);
    if (s.committedGeneration === generation && s.generation === generation)
      return { segment: { ...s }, repeated: true };
    if (generation < s.generation || (s.committedGeneration !== undefined && generation <= s.committedGeneration))
      throw new CaminoError(
        "ERR_SEGMENT_STALE_GENERATION",
        `segment ${segmentId} is at generation ${s.generation}; generation ${generation} is older`,
      );
    const r = this.#reserved(origin, segmentId, generation);
    r.state = "COMMITTED";
    r.committedGeneration = generation;
    r.committedPackages = r.packages;
    return { segment: { ...r }, repeated: false };
  }

  /** Gives up a reservation before commit; a committed generation beside it keeps running. */
  abort(origin: string, segmentId: string, generation: number): LedgerSegment | undefined {
    const s = this.#segments.get(key(origin, segmentId));
    if (!s || s.generation !== generation || s.state !== "RESERVED") return s ? { ...s } : undefined;
    this.#drop(s, "ABORTED");
    return { ...s };
  }

  /** Ends a segment: its reservation and its committed generation. */
  terminate(origin: string, segmentId: string): LedgerSegment {
    const s = this.#find(origin, segmentId);
    s.state = "TERMINATED";
    delete s.committedGeneration;
    delete s.committedPackages;
    return { ...s };
  }

  /**
   * Puts back a committed segment known from elsewhere (the deployments a restarted peer reloads): reservations
   * are not durable (one lost in a restart lapses, as its lease would), committed segments are.
   */
  restore(s: Omit<LedgerSegment, "state" | "leaseExpiresAt">): void {
    this.#segments.set(key(s.origin, s.segmentId), {
      ...s,
      state: "COMMITTED",
      leaseExpiresAt: this.#now(),
      committedGeneration: s.committedGeneration ?? s.generation,
      committedPackages: s.committedPackages ?? s.packages,
    });
  }

  /** Releases every reservation whose lease has ended. @returns the segments it released. */
  expire(): LedgerSegment[] {
    const now = this.#now().getTime();
    const out: LedgerSegment[] = [];
    for (const s of this.#segments.values()) {
      if (s.state === "RESERVED" && s.leaseExpiresAt.getTime() <= now) {
        this.#drop(s, "EXPIRED");
        out.push({ ...s });
      }
    }
    return out;
  }

  /** A reservation that ended: back to its committed generation when there is one, else ended with `state`. */
  #drop(s: LedgerSegment, state: "ABORTED" | "EXPIRED"): void {
    if (s.committedGeneration !== undefined) {
      s.generation = s.committedGeneration;
      s.packages = s.committedPackages ?? [];
      s.state = "COMMITTED";
    } else s.state = state;
  }

  #find(origin: string, segmentId: string): LedgerSegment {
    const s = this.#segments.get(key(origin, segmentId));
    if (!s) throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `no segment ${segmentId} from ${origin}`);
    return s;
  }

  #reserved(origin: string, segmentId: string, generation: number): LedgerSegment {
    const s = this.#find(origin, segmentId);
    if (s.generation !== generation || s.state !== "RESERVED") {
      if (s.state === "EXPIRED" || (s.state === "COMMITTED" && generation > s.generation))
        throw new CaminoError(
          "ERR_SEGMENT_LEASE_EXPIRED",
          `segment ${segmentId} generation ${generation}: its lease has ended`,
        );
      throw new CaminoError(
        "ERR_SEGMENT_STALE_GENERATION",
        `segment ${segmentId} has no reservation at generation ${generation} (it is ${s.state} at ${s.generation})`,
      );
    }
    if (s.leaseExpiresAt.getTime() <= this.#now().getTime()) {
      this.#drop(s, "EXPIRED");
      throw new CaminoError(
        "ERR_SEGMENT_LEASE_EXPIRED",
        `segment ${segmentId} generation ${generation}: its lease has ended`,
      );
    }
    return s;
  }

  #checkQuota(p: LedgerProposal, existing: LedgerSegment | undefined): void {
    const quota = this.#options.quotaOf(p.origin);
    if (!quota) return;
    let cpu = 0;
    let memory = 0;
    let segments = 0;
    for (const s of this.#segments.values()) {
      if (s.origin !== p.origin || !live(s)) continue;
      const h = s === existing ? { ...held({ ...s, state: "COMMITTED" }) } : held(s);
      cpu += h.cpuMillis;
      memory += h.memoryBytes;
      segments++;
    }
    if (!existing || !live(existing)) segments++;
    for (const pkg of p.packages) {
      cpu += pkg.cpuMillis;
      memory += pkg.memoryBytes;
    }
    const over =
      segments > quota.segments
        ? `${segments} segments (quota ${quota.segments})`
        : cpu > quota.cpuMillis
          ? `${cpu}m CPU (quota ${quota.cpuMillis}m)`
          : memory > quota.memoryBytes
            ? `${memory} bytes of memory (quota ${quota.memoryBytes})`
            : undefined;
    if (over)
      throw new CaminoError("ERR_PEER_DENIED", `segment ${p.segmentId} would take ${p.origin} to ${over}`, {
        data: { origin: p.origin },
      });
  }
}
