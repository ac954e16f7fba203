/**
 * The federation component as the agent sees it: peers, trust and segments behind one object with
 * `start(signal)` and `close()`. Until federation lands, {@link createLocalOnlyFederation} is the component:
 * no peers, and any placement in another domain is refused with a reason that says so.
 *
 * Shared types live here, in federation/, and federation/ imports nothing from agent/: the agent depends on
 * these interfaces, never the other way round, so there is no import cycle.
 */
import { CaminoError } from "../common/errors.js";
import type { PeerDirectory } from "./peers.js";
import type { SegmentBroker } from "./segments.js";
import type { PeerTrust } from "./trust.js";

export type { PeerCatalogue, PeerDirectory, PeerView } from "./peers.js";
export type { PlacementVerdict, SegmentBroker, SegmentHost, SegmentProposal } from "./segments.js";
export type { PeerTrust, VerifiedPeer } from "./trust.js";

export interface Federation {
  readonly peers: PeerDirectory;
  readonly segments: SegmentBroker;
  /** Undefined while this agent does not federate. */
  readonly trust: PeerTrust | undefined;
  start(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The options of {@link createLocalOnlyFederation}. */
export interface LocalOnlyFederationOptions {
  /** This domain's id: placement here is always allowed. */
  domainId: string;
}

/**
 * A segment broker that places nothing outside `domainId`: `canPlace` says why with `refuse(domain)`, and
 * proposing or committing is refused the same way. Used until cross-domain segments exist.
 */
export function noSegments(domainId: string, refuse: (domain: string) => string): SegmentBroker {
  const unavailable = (domain: string): Promise<never> =>
    Promise.reject(new CaminoError("ERR_PLACEMENT_UNAVAILABLE", refuse(domain)));
  return {
    canPlace: (domain) => (domain === domainId ? { ok: true } : { ok: false, reason: refuse(domain) }),
    peerInfo: () => undefined,
    propose: (domain) => unavailable(domain),
    renew: (domain) => unavailable(domain),
    commit: (domain) => unavailable(domain),
    abort: async () => undefined,
    terminate: async () => undefined,
    get: (domain) => unavailable(domain),
    watch: (domain) => ({
      [Symbol.asyncIterator]: () => ({ next: () => unavailable(domain) }),
    }),
  };
}

/** A federation component with no peers: placement in another domain is refused, segments cannot be made. */
export function createLocalOnlyFederation(options: LocalOnlyFederationOptions): Federation {
  return {
    peers: { list: () => [], get: () => undefined },
    segments: noSegments(
      options.domainId,
      (domain) =>
        `placement in peer domain ${JSON.stringify(domain)} is not available: this agent does not federate with peers (it has no federation section)`,
    ),
    trust: undefined,
    async start() {},
    async close() {},
  };
}
