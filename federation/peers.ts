/**
 * The peer registry's interface: the domains this agent trusts, each with its own keys and endpoint, and
 * what is known of each (reachable, its DomainInfo from `Hello`). The agent reads it for `ListPeers`,
 * placement in peer domains and catalogue brokering. Types only: federation/ imports nothing from agent/.
 */

/** A trusted peer domain as the agent sees it. */
export interface PeerView {
  /** The peer's domain id, e.g. "domain-y". */
  id: string;
  /** Its federation API endpoint (https URL). */
  endpoint: string;
  /** Whether the last call to it (Hello, a segment call) succeeded. */
  healthy: boolean;
  /** Why not, when not healthy. */
  reason: string;
}

/** The peers of this domain. */
export interface PeerDirectory {
  list(): PeerView[];
  get(id: string): PeerView | undefined;
}
