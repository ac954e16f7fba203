/**
 * Trust between domains (docs/federation.md): every federation call carries a short-lived JWT signed by the
 * caller (`typ: camino-fed+jwt`, `aud` the callee, `rdg` the digest of the request's protobuf encoding). This is
 * the interface the peering service and client need; federation/federation-trust.ts implements it.
 */

/** A JSON Web Key as jose reads it (public half only, for peers). */
export type PublicJwk = { kid?: string; alg?: string; kty: string; [member: string]: unknown };

/** A JSON Web Key Set. */
export interface PublicJwks {
  keys: PublicJwk[];
}

/** A caller proven to be a trusted peer. */
export interface VerifiedPeer {
  /** The peer's domain id (the token's `iss`). */
  domain: string;
  /** The token's `jti`, replay-checked until `expiresAt`. */
  tokenId: string;
  /** The key id the token was signed with. */
  keyId: string;
  expiresAt: Date;
}

/** A peer as the trust list names it, with its keys already read (inline, from a file, or from its JWKS URL once). */
export interface TrustedPeer {
  id: string;
  jwks: PublicJwks;
  /**
   * Where the keys were configured from, e.g. `url:https://…/jwks.json` or `file:/etc/…`. When given and
   * unchanged at {@link PeerTrust.setPeers}, the peer keeps the keys it holds (configured and announced) even if
   * `jwks` now differs: a JWKS URL that starts serving a key nobody announced changes nothing. When absent, the
   * keys count as changed when `jwks` differs.
   */
  keySource?: string;
}

/** What {@link PeerTrust.applyAnnouncement} changed in a peer's key set. */
export interface AnnouncementResult {
  added: string[];
  retired: string[];
}

export interface PeerTrust {
  /**
   * Verifies a peer's bearer token for one request (`request`: the request message's protobuf binary encoding,
   * re-encoded by the callee). Rejects with a CaminoError whose code says why (ERR_PEER_*); the message never
   * contains the token.
   */
  verify(token: string, request: Uint8Array): Promise<VerifiedPeer>;
  /** Signs a token for one call to `peer` carrying `request`. */
  sign(peer: string, request: Uint8Array): Promise<string>;
  /**
   * Replaces the trust list (config reload). A peer no longer listed is refused from then on; a listed peer keeps
   * the keys it announced since, unless its configured keys changed.
   */
  setPeers(peers: readonly TrustedPeer[]): void;
  /** The ids of the keys accepted from `peer` now (empty for an unknown peer). */
  keyIds(peer: string): string[];
  /**
   * Applies a peer's signed key announcement (from its `GetKeys`): accepted only when signed by a key this
   * agent already accepts from that peer, and only when it keeps its signer (it may add keys, and retire keys
   * other than its signer). @throws CaminoError ERR_ANNOUNCEMENT_INVALID, saying why.
   */
  applyAnnouncement(peer: string, announcement: string): Promise<AnnouncementResult>;
  /** What this agent's `GetKeys` answers: its JWKS, and its announcement signed by the current key. */
  ownKeys(): Promise<{ jwks: PublicJwks; announcement: string }>;
}
