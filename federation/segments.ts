/**
 * Cross-domain chain segments (docs/federation.md): the part of an intent placed in a peer domain, proposed to
 * the peer (which admits and reserves it under a lease), then committed, aborted or terminated. This is the
 * interface the lifecycle's plan and deploy steps call; the implementation lands with federation.
 */

/** What the origin asks of a peer: the packages placed there, named by intent and package. */
export interface SegmentProposal {
  intent: string;
  revision: number;
  /** The peer domain. */
  domain: string;
  packages: readonly string[];
}

/** What a peer offers back: the segment, its lease, and the addresses it will expose for the links. */
export interface SegmentOffer {
  segmentId: string;
  domain: string;
  generation: number;
  /** Package name → the host a consumer in the origin dials (through the peer's east-west gateway). */
  addresses: Readonly<Record<string, string>>;
  leaseExpiresAt: Date;
}

/** Whether packages may be placed in a domain; when not, why (shown to the user with the field path). */
export type PlacementVerdict = { ok: true } | { ok: false; reason: string };

export interface SegmentBroker {
  /** Whether packages can be placed in `domain` now. Synchronous: it reads what the peer registry knows. */
  canPlace(domain: string): PlacementVerdict;
  propose(proposal: SegmentProposal, signal: AbortSignal): Promise<SegmentOffer>;
  /** Commits an offer, fenced by (segment id, generation). */
  commit(offer: SegmentOffer, signal: AbortSignal): Promise<void>;
  /** Before commit: releases the peer's reservation. */
  abort(offer: SegmentOffer, signal: AbortSignal): Promise<void>;
  /** After commit: removes the segment from the peer. */
  terminate(offer: SegmentOffer, signal: AbortSignal): Promise<void>;
}
