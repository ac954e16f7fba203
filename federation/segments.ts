/**
 * Cross-domain chain segments (docs/federation.md, "Segments"): the part of an intent placed in a peer domain.
 * Two roles, one per side of the boundary:
 *
 * - the **origin** calls its peers through a {@link SegmentBroker}: `propose` (the peer admits and reserves
 *   under a lease, and answers an offer), `renew` while the origin's earlier waves run, `commit` fenced by
 *   (segment id, generation), `watch` until READY, and `abort` before the commit or `terminate` after it;
 * - the **peer** answers those calls through a {@link SegmentHost}, which the agent implements over its own
 *   lifecycle (agent/segments/segment-host.ts): a committed segment is a deployment of the peer's own.
 *
 * federation/ imports nothing from agent/: both interfaces speak the wire messages.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ProposeSegmentRequest,
  ProposeSegmentRequestSchema,
  ProposeSegmentResponse,
} from "../gen/camino/v1/federation_pb.js";
import type { DomainInfo, SegmentStatus } from "../gen/camino/v1/types_pb.js";

/** Whether packages may be placed in a domain; when not, why (shown to the user with the field path). */
export type PlacementVerdict = { ok: true } | { ok: false; reason: string };

/** A proposal as the origin builds it (the wire message's fields). */
export type SegmentProposal = MessageInitShape<typeof ProposeSegmentRequestSchema>;

/** The origin's side: calls to the peer that runs a segment. Every call is bounded by the federation's call timeout. */
export interface SegmentBroker {
  /** Whether packages can be placed in `domain` now. Synchronous: it reads what the peer registry knows. */
  canPlace(domain: string): PlacementVerdict;
  /** The peer's DomainInfo from its last Hello (trust domain, mesh root, gateways), or undefined. */
  peerInfo(domain: string): DomainInfo | undefined;
  propose(domain: string, proposal: SegmentProposal, signal: AbortSignal): Promise<ProposeSegmentResponse>;
  /** Extends the lease of a reservation. @returns when it now expires */
  renew(domain: string, segmentId: string, generation: number, signal: AbortSignal): Promise<Date>;
  /** Commits an offer, fenced by (segment id, generation); a repeat returns the first answer. */
  commit(domain: string, segmentId: string, generation: number, signal: AbortSignal): Promise<SegmentStatus>;
  /** Before commit: releases the peer's reservation. */
  abort(domain: string, segmentId: string, generation: number, reason: string, signal: AbortSignal): Promise<void>;
  /** After commit: removes the segment from the peer. */
  terminate(domain: string, segmentId: string, signal: AbortSignal): Promise<SegmentStatus | undefined>;
  get(domain: string, segmentId: string, signal: AbortSignal): Promise<SegmentStatus>;
  /** The segment's state as the peer streams it, from its current state on, until `signal` aborts. */
  watch(domain: string, segmentId: string, signal: AbortSignal): AsyncIterable<SegmentStatus>;
}

/** The peer's side: what this domain does when a verified peer (`origin`) calls the segment methods. */
export interface SegmentHost {
  propose(origin: string, req: ProposeSegmentRequest, signal: AbortSignal): Promise<ProposeSegmentResponse>;
  renew(origin: string, segmentId: string, generation: number): Date;
  commit(origin: string, segmentId: string, generation: number, signal: AbortSignal): Promise<SegmentStatus>;
  abort(origin: string, segmentId: string, generation: number, reason: string): Promise<void>;
  terminate(origin: string, segmentId: string, signal: AbortSignal): Promise<SegmentStatus>;
  /** A segment `origin` placed here; or, when `origin` runs a segment this domain placed, this domain's view of it. */
  get(origin: string, segmentId: string): SegmentStatus;
  watch(origin: string, segmentId: string, signal: AbortSignal): AsyncIterable<SegmentStatus>;
}

/** The segment id an origin gives the part of `intent` it places in `domain`: stable across revisions. */
export function segmentIdOf(origin: string, intent: string, domain: string): string {
  return `${origin}.${intent}.${domain}`;
}
