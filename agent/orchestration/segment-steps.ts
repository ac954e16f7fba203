/**
 * The origin's side of cross-domain segments (docs/federation.md, "Segments"), used by the deploy, rollback
 * and termination steps:
 *
 *   propose (in admission; journalled before and after) ─► leases renewed while earlier waves run ─►
 *   at the segment's first wave: decision journalled ─► CommitSegment ─► at its last wave: WatchSegment until
 *   READY (the peer's package states mirrored into this record) ─► READY
 *
 * Any failure before the commit decision aborts the segment (AbortSegment); after it, terminates it
 * (TerminateSegment). An end that cannot reach the peer is marked `pendingEnd` and tried again by the
 * reconciler (segment-reconciler.ts) until the peer answers; meanwhile an uncommitted reservation lapses on
 * the peer by itself when its lease ends.
 */
import { onEdge } from "./run-timing.js";
import { DeploymentState, type SegmentStatus } from "../../gen/camino/v1/types_pb.js";
import { pause } from "../../common/pause.js";
import { CaminoError, findError } from "../errors.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { SegmentRecord, StateName } from "./journal.js";
import type { ProposalHooks, SegmentPlan } from "./planner.js";
import { RunFailure, setState, type LifecycleDeps, type RunContext } from "./run-context.js";

/** A DeploymentState as the record's state name ("" for unspecified). */
export function stateName(s: DeploymentState): StateName | "" {
  const name = DeploymentState[s] as string | undefined;
  return name && name !== "UNSPECIFIED" ? (name as StateName) : "";
}

const recordOf = (live: LiveDeployment, id: string) => live.record.segments?.find((s) => s.id === id);

/** Writes a segment's record (adding it), durably. */
async function saveSegment(deps: LifecycleDeps, live: LiveDeployment, seg: SegmentRecord): Promise<void> {
  const r = live.record;
  r.segments = [...(r.segments ?? []).filter((s) => s.id !== seg.id), seg];
  await deps.journal.save(r);
}

/** The hooks the admission step gives planning: each proposal journalled before the call and after the offer. */
export function proposalHooks(ctx: RunContext): ProposalHooks {
  const { deps, live } = ctx;
  return {
    async before(seg: SegmentPlan) {
      const old = recordOf(live, seg.id);
      await saveSegment(deps, live, {
        domain: seg.domain,
        id: seg.id,
        generation: seg.generation,
        packages: seg.packages,
        firstWave: seg.firstWave,
        lastWave: seg.lastWave,
        phase: "proposing",
        namespace: old?.namespace ?? "",
        leaseExpiresAt: "",
        state: old?.state ?? "",
        reason: `proposing generation ${seg.generation} to ${seg.domain}`,
        ...(old?.phase === "committed"
          ? { committedGeneration: old.generation }
          : old?.committedGeneration !== undefined
            ? { committedGeneration: old.committedGeneration }
            : {}),
      });
      await deps.failpoints.hit("segment-before-propose", ctx.signal);
    },
    async after(seg: SegmentPlan) {
      const rec = recordOf(live, seg.id) as SegmentRecord;
      rec.phase = "reserved";
      rec.namespace = seg.namespace ?? "";
      rec.leaseExpiresAt = seg.leaseExpiresAt?.toISOString() ?? "";
      rec.reason = `reserved by ${seg.domain} until ${rec.leaseExpiresAt}`;
      await saveSegment(deps, live, rec);
      for (const p of seg.packages)
        setState(deps, live, {
          package: p,
          state: "ADMITTED",
          reason: `reserved in ${seg.domain} (segment ${seg.id}, namespace ${rec.namespace}) until ${rec.leaseExpiresAt}`,
        });
      await deps.failpoints.hit("segment-after-propose", ctx.signal);
    },
  };
}

/**
 * Renews the leases of this run's reserved segments until each is committed or ended, or the run stops:
 * at half of the time left each round. A renewal the peer refuses (the lease already lapsed) fails the run.
 */
export function keepLeases(ctx: RunContext, fail: (why: Error) => void): void {
  const { deps, live } = ctx;
  const loop = async () => {
    for (;;) {
      const reserved = (live.record.segments ?? []).filter(
        (s) => s.phase === "reserved" && s.generation === live.record.revision,
      );
      if (reserved.length === 0 || ctx.signal.aborted) return;
      const soonest = Math.min(...reserved.map((s) => Date.parse(s.leaseExpiresAt) || Date.now()));
      const wait = Math.max(50, (soonest - Date.now()) / 2);
      await pause(wait, ctx.signal);
      if (ctx.signal.aborted) return;
      for (const s of reserved) {
        if (s.phase !== "reserved") continue;
        try {
          const until = await deps.federation.segments.renew(s.domain, s.id, s.generation, ctx.signal);
          if (s.phase !== "reserved") continue;
          s.leaseExpiresAt = until.toISOString();
          deps.journal.saveLater(live.record, () => undefined);
        } catch (err) {
          if (ctx.signal.aborted || s.phase !== "reserved") return;
          // A peer briefly unreachable is tried again; a lease it refuses is the end of the run.
          if (findError(err, "ERR_PEER_UNREACHABLE")) continue;
          fail(err as Error);
          return;
        }
      }
    }
  };
  void loop();
}

/**
 * Commits the segments whose first wave is `wave`: the decision journalled durably first, then CommitSegment
 * fenced by (id, generation). A refusal (the lease lapsed, a stale generation) or an unreachable peer fails
 * the run; the rollback then terminates the segment, since the commit may have landed.
 */
export async function commitSegmentsAt(ctx: RunContext, wave: number): Promise<void> {
  const { deps, live, signal } = ctx;
  const due = (live.record.segments ?? []).filter(
    (s) => s.firstWave === wave && s.phase === "reserved" && s.generation === live.record.revision,
  );
  await Promise.all(
    due.map(async (s) => {
      s.phase = "committing";
      s.reason = `committing generation ${s.generation} in ${s.domain}`;
      await deps.journal.save(live.record);
      await deps.failpoints.hit("segment-before-commit", signal);
      let status: SegmentStatus;
      try {
        status = await onEdge(live, () => deps.federation.segments.commit(s.domain, s.id, s.generation, signal));
      } catch (err) {
        throw new RunFailure(`segment ${s.id}: ${(err as Error).message}`);
      }
      s.phase = "committed";
      s.committedGeneration = s.generation;
      s.leaseExpiresAt = "";
      s.state = stateName(status.state);
      s.reason = status.reason;
      await deps.journal.save(live.record);
      for (const p of s.packages)
        setState(deps, live, { package: p, state: "COMMITTED", reason: `committed in ${s.domain} (segment ${s.id})` });
      await deps.failpoints.hit("segment-after-commit", signal);
    }),
  );
}

/**
 * Waits, over WatchSegment, until every segment whose last wave is `wave` is READY on its peer; each of the
 * peer's package states is mirrored into this record as it comes (so WatchDeployment shows the segment's own
 * progress). A segment the peer reports FAILED or ROLLED_BACK fails the run.
 */
export async function awaitSegmentsAt(ctx: RunContext, wave: number): Promise<void> {
  const due = (ctx.live.record.segments ?? []).filter((s) => s.lastWave === wave && s.phase === "committed");
  await Promise.all(due.map((s) => onEdge(ctx.live, () => awaitSegment(ctx, s))));
}

/** Waits over WatchSegment until one segment is READY on its peer (awaitSegmentsAt). */
async function awaitSegment(ctx: RunContext, s: SegmentRecord): Promise<void> {
  const { deps, live, signal } = ctx;
  live.waiting = `segment ${s.id} in ${s.domain}`;
  // The stream is cancelled explicitly when the wait ends: leaving the loop alone does not close it.
  const done = new AbortController();
  const watching = AbortSignal.any([signal, done.signal]);
  try {
    for await (const status of deps.federation.segments.watch(s.domain, s.id, watching)) {
      mirror(deps, live, s, status);
      const state = stateName(status.state);
      if (state === "READY" && status.generation === BigInt(s.generation)) return;
      if (state === "FAILED" || state === "ROLLED_BACK" || state === "TERMINATED")
        throw new RunFailure(`segment ${s.id} in ${s.domain} is ${state}: ${status.reason}`);
    }
  } finally {
    done.abort();
  }
  signal.throwIfAborted();
  throw new RunFailure(`the watch of segment ${s.id} in ${s.domain} ended`);
}

/**
 * Copies the peer's word on a segment into the record: the segment's state and each of its packages' (a package
 * may move on the peer while the segment's own state and reason stay the same).
 */
export function mirror(deps: LifecycleDeps, live: LiveDeployment, s: SegmentRecord, status: SegmentStatus): void {
  const state = stateName(status.state);
  const changed = state !== s.state || status.reason !== s.reason;
  s.state = state;
  s.reason = status.reason;
  for (const p of status.packageStates) {
    const mine = live.record.packages.find((x) => x.package === p.package);
    const ps = stateName(p.state);
    if (!mine || !ps || (mine.state === ps && mine.reason.endsWith(p.reason))) continue;
    setState(deps, live, { package: p.package, state: ps, reason: `${s.domain}: ${p.reason}` });
  }
  if (!changed) return;
  setState(deps, live, {
    state: live.record.state,
    reason: `segment ${s.id} in ${s.domain}: ${state} (${status.reason})`,
    kind: "progress",
  });
}

/**
 * Ends segments: aborted before the commit decision, terminated after it. One the peer does not know is
 * ended already. One that cannot be reached is marked `pendingEnd` (tried again later) and reported.
 * @param which the segments to end; default every one of the record not ended yet
 * @returns problems, in words
 */
export async function endSegments(
  deps: LifecycleDeps,
  live: LiveDeployment,
  reason: string,
  signal: AbortSignal,
  which?: (s: SegmentRecord) => boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const open = (live.record.segments ?? []).filter(
    (s) => s.phase !== "aborted" && s.phase !== "terminated" && (which ? which(s) : true),
  );
  await Promise.all(
    open.map(async (s) => {
      const before = s.phase === "proposing" || s.phase === "reserved";
      try {
        if (before) await deps.federation.segments.abort(s.domain, s.id, s.generation, reason, signal);
        else await deps.federation.segments.terminate(s.domain, s.id, signal);
        if (before && s.committedGeneration !== undefined && s.committedGeneration !== s.generation) {
          // An update given up: the generation committed before keeps running on the peer.
          s.reason = `generation ${s.generation} aborted (${reason}); generation ${s.committedGeneration} keeps running`;
          s.generation = s.committedGeneration;
          s.phase = "committed";
          delete s.pendingEnd;
          return;
        }
        s.phase = before ? "aborted" : "terminated";
        s.state = before ? "ROLLED_BACK" : "TERMINATED";
        s.reason = before ? `aborted: ${reason}` : "terminated on the peer";
        delete s.pendingEnd;
      } catch (err) {
        if (findError(err, "ERR_SEGMENT_NOT_FOUND")) {
          s.phase = before ? "aborted" : "terminated";
          s.state = before ? "ROLLED_BACK" : "TERMINATED";
          s.reason = `${s.domain} no longer has it`;
          delete s.pendingEnd;
          return;
        }
        s.pendingEnd = true;
        const why = err instanceof CaminoError ? err.message : String(err);
        s.reason = `${before ? "abort" : "termination"} not confirmed by ${s.domain}: ${why}`;
        problems.push(
          before
            ? `segment ${s.id}: ${s.domain} did not confirm the abort (its reservation lapses with its lease): ${why}`
            : `segment ${s.id}: ${s.domain} did not confirm the termination; it is tried again: ${why}`,
        );
      }
    }),
  );
  if (open.length > 0) await deps.journal.save(live.record).catch(() => undefined);
  return problems;
}

/** The record's segment for a remote package, if any. */
export function segmentOfPackage(live: LiveDeployment, pkg: string): SegmentRecord | undefined {
  return live.record.segments?.find((s) => s.packages.includes(pkg) && s.phase !== "aborted");
}

/** The lease of a reserved segment, as a Date (for display). */
export function leaseOf(s: SegmentRecord): Date | undefined {
  return s.leaseExpiresAt ? new Date(s.leaseExpiresAt) : undefined;
}
