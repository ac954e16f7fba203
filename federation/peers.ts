/**
 * The peer registry's interface: the domains this agent trusts, each with its own keys and endpoint, and
 * what is known of each (reachable, its DomainInfo from `Hello`, its advertised catalogue). The agent reads it
 * for `ListPeers`, `GetDomainInfo`, placement in peer domains and catalogue brokering.
 */
import type { Capacity, CatalogueEntry, DomainInfo } from "../gen/camino/v1/types_pb.js";

/** A peer's catalogue as it advertised it. */
export interface PeerCatalogue {
  digest: string;
  /** Its exported blueprints. */
  entries: CatalogueEntry[];
  /** Its aggregated capacity. */
  capacity?: Capacity;
  fetchedAt: Date;
}

/** A trusted peer domain as the agent sees it. */
export interface PeerView {
  /** The peer's domain id, e.g. "domain-y". */
  id: string;
  /** Its federation API endpoint (https URL). */
  endpoint: string;
  /** Whether the last refresh round (Hello, keys, catalogue) succeeded. */
  healthy: boolean;
  /** Why not, when not healthy. */
  reason: string;
  /** Whether the last call reached it (false when it was down, slow, or failed TLS). */
  reachable: boolean;
  /** False when its federation API version is incompatible; such a peer is not called beyond Hello. */
  compatible: boolean;
  lastSeen?: Date;
  /** Round-trip time of the last successful Hello. */
  roundTripMs?: number;
  /** Its DomainInfo from the last Hello. */
  info?: DomainInfo;
  /** The ids of the keys accepted from it now. */
  keyIds: string[];
  catalogue?: PeerCatalogue;
  /** The last error calling it; empty after a success. */
  lastError: string;
}

/** The peers of this domain. */
export interface PeerDirectory {
  list(): PeerView[];
  get(id: string): PeerView | undefined;
}
