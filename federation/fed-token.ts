/**
 * The federation token (docs/federation.md, "One token per call"): a JWT with `typ: camino-fed+jwt`, `iss` the
 * calling domain, `aud` the called domain, `iat`, `exp` at most 300 s later, a random `jti`, and `rdg`, the
 * base64url SHA-256 of the request message's protobuf binary encoding.
 */
import { createHash, randomBytes } from "node:crypto";
import { SignJWT, type CryptoKey } from "jose";
import type { JwsAlgorithm } from "../common/jws-header.js";

/** The JOSE `typ` of federation tokens. */
export const FEDERATION_TOKEN_TYPE = "camino-fed+jwt";
/** Longest token accepted; a longer one is refused before it is parsed. */
export const MAX_FEDERATION_TOKEN_BYTES = 8 * 1024;
/** Longest lifetime (`exp − iat`) of a federation token, in seconds. */
export const MAX_FEDERATION_TOKEN_LIFETIME_SECONDS = 300;

/** `rdg`: the base64url SHA-256 of a request's protobuf binary encoding. */
export function requestDigest(request: Uint8Array): string {
  return createHash("sha256").update(request).digest("base64url");
}

/** What {@link signFederationToken} needs. */
export interface FederationTokenClaims {
  key: { kid: string; alg: JwsAlgorithm; privateKey: CryptoKey };
  issuer: string;
  audience: string;
  request: Uint8Array;
  /** Seconds since the epoch. */
  issuedAt: number;
  ttlSeconds: number;
}

/** Signs one federation token. */
export function signFederationToken(c: FederationTokenClaims): Promise<string> {
  return new SignJWT({ rdg: requestDigest(c.request) })
    .setProtectedHeader({ alg: c.key.alg, kid: c.key.kid, typ: FEDERATION_TOKEN_TYPE })
    .setIssuer(c.issuer)
    .setAudience(c.audience)
    .setIssuedAt(c.issuedAt)
    .setExpirationTime(c.issuedAt + c.ttlSeconds)
    .setJti(randomBytes(16).toString("base64url"))
    .sign(c.key.privateKey);
}
