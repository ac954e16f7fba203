/**
 * Both sides of every segment brought to agree, after restarts and lost replies, one round every
 * `federation.segmentReconcileSeconds`:
 *
 * - **as origin**, for each segment of each deployment: an end (abort or terminate) that could not reach the
 *   peer is tried again; a committed segment of a settled intent is read back with GetSegment, its packages'
 *   states mirrored, and the intent marked DEGRADED while the peer does not run it READY (READY again when it
 *   does). A peer that no longer knows a committed segment is reported, not re-created.
 * - **as peer**, for each committed segment it runs: the origin is asked for its view (GetSegment). When the
 *   origin says the segment ended (terminated, aborted, or unknown to it), it is terminated here. An origin
 *   that cannot be reached changes nothing: the segment is kept, and its status says since when.
 */
import { findError } from "../errors.js";
import type { SegmentBroker } from "../../federation/segments.js";
import type { Logger } from "../log/logger.js";
import type { DeploymentManager } from "../orchestration/deployment-manager.js";
import { endSegments, mirror, stateName } from "../orchestration/segment-steps.js";
import { setState } from "../orchestration/run-context.js";
import type { CaminoSegmentHost } from "./segment-host.js";

export interface SegmentReconcilerOptions {
  deployments: DeploymentManager;
  broker: SegmentBroker;
  host?: CaminoSegmentHost;
  intervalMs: number;
  /** Bound of one call to a peer. */
  callTimeoutMs: number;
  logger: Logger;
}

/** One round on both sides. Never throws. */
export async function reconcileSegments(o: SegmentReconcilerOptions, signal: AbortSignal): Promise<void> {
  await Promise.allSettled([asOrigin(o, signal), asHost(o, signal)]);
}

async function asOrigin(o: SegmentReconcilerOptions, signal: AbortSignal): Promise<void> {
  const deps = o.deployments.deps;
  for (const r of o.deployments.records()) {
    const live = o.deployments.live(r.intent);
    if (!live || live.controller || live.terminating || signal.aborted) continue;
    const segments = r.segments ?? [];
    if (segments.some((s) => s.pendingEnd)) {
      const problems = await endSegments(deps, live, "the intent ended", signal, (s) => s.pendingEnd === true);
      // The intent's reason keeps its cause (why it rolled back or ended): the confirmation is added to it.
      if (problems.length === 0)
        setState(deps, live, {
          state: r.state,
          reason: `${r.reason}; since then every segment's end was confirmed by its peer`,
          kind: "progress",
        });
    }
    if (r.state !== "READY" && r.state !== "DEGRADED") continue;
    for (const s of segments) {
      if (s.phase !== "committed" || s.pendingEnd) continue;
      const call = AbortSignal.any([signal, AbortSignal.timeout(o.callTimeoutMs)]);
      try {
        const status = await o.broker.get(s.domain, s.id, call);
        mirror(deps, live, s, status);
        const state = stateName(status.state);
        if (state !== "READY" && r.state === "READY")
          setState(deps, live, {
            state: "DEGRADED",
            reason: `segment ${s.id} is ${state || "unknown"} in ${s.domain}: ${status.reason}`,
          });
        else if (state === "READY" && r.state === "DEGRADED" && r.reason.startsWith(`segment ${s.id} `))
          setState(deps, live, { state: "READY", reason: `segment ${s.id} is READY again in ${s.domain}` });
      } catch (err) {
        if (!findError(err, "ERR_SEGMENT_NOT_FOUND")) continue;
        if (r.state === "READY")
          setState(deps, live, {
            state: "DEGRADED",
            reason: `segment ${s.id} is unknown to ${s.domain}: the peer no longer runs it`,
          });
      }
    }
  }
}

async function asHost(o: SegmentReconcilerOptions, signal: AbortSignal): Promise<void> {
  const host = o.host;
  if (!host) return;
  for (const s of host.committed()) {
    if (signal.aborted) return;
    const call = AbortSignal.any([signal, AbortSignal.timeout(o.callTimeoutMs)]);
    let ended: string | undefined;
    try {
      const view = await o.broker.get(s.origin, s.segmentId, call);
      const state = stateName(view.state);
      host.noteOrigin(s.origin, s.segmentId, `${view.phase.toLowerCase()}, intent ${state || "unknown"}`);
      if (view.phase === "TERMINATED" || view.phase === "ABORTED") ended = `the origin's segment is ${view.phase}`;
    } catch (err) {
      if (findError(err, "ERR_SEGMENT_NOT_FOUND")) ended = "the origin no longer knows it";
      else
        host.noteOrigin(
          s.origin,
          s.segmentId,
          `unreachable since ${new Date().toISOString()}: ${(err as Error).message}`,
        );
    }
    if (!ended) continue;
    o.logger.warn("segment ended by its origin's word", { origin: s.origin, segment: s.segmentId, why: ended });
    await host.terminate(s.origin, s.segmentId).catch((err: unknown) =>
      o.logger.error("cannot terminate a segment its origin ended", {
        segment: s.segmentId,
        error: String(err),
      }),
    );
  }
}

/** Runs rounds until `signal` aborts. */
export function startSegmentReconciler(o: SegmentReconcilerOptions, signal: AbortSignal): void {
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    if (signal.aborted) return;
    timer = setTimeout(() => {
      void reconcileSegments(o, signal).finally(next);
    }, o.intervalMs);
    timer.unref?.();
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  next();
}
