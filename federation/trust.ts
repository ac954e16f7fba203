/**
 * Trust between domains (docs/federation.md): every federation call carries a short-lived JWT signed by the
 * caller (`typ: camino-fed+jwt`, `aud` the callee, `rdg` the digest of the request's protobuf encoding). This is
 * the interface the peering service and client need; the implementation lands with federation.
 */

/** A caller proven to be a trusted peer. */
export interface VerifiedPeer {
  /** The peer's domain id (the token's `iss`). */
  domain: string;
  /** The token's `jti`, replay-checked until `expiresAt`. */
  tokenId: string;
  expiresAt: Date;
}

export interface PeerTrust {
  /**
   * Verifies a peer's bearer token for one request (`request`: the request message's protobuf binary encoding,
   * re-encoded by the callee). Rejects with an error naming why (its codes join the error table with federation).
   */
  verify(token: string, request: Uint8Array, signal?: AbortSignal): Promise<VerifiedPeer>;
  /** Signs a token for one call to `peer` carrying `request`. */
  sign(peer: string, request: Uint8Array): Promise<string>;
}
