/**
 * A peer's public keys: validated (EdDSA on Ed25519 or ES256 on P-256 only, public members only, a unique
 * `kid` each), imported once, and kept per peer. Keys of different peers never share a set.
 */
import { importJWK, type CryptoKey, type JWK } from "jose";
import { CaminoError, type ErrorCode } from "../common/errors.js";
import { printable, type JwsAlgorithm } from "../common/jws-header.js";
import type { PublicJwk, PublicJwks } from "./trust.js";

/** Most keys one peer may publish at once (a rotation needs two). */
export const MAX_PEER_KEYS = 16;

/** Members of a private or symmetric JWK: a public key set carrying any of them is refused. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** One accepted key of a peer. */
export interface PeerKey {
  kid: string;
  alg: JwsAlgorithm;
  /** The public JWK as validated (kid and alg set). */
  jwk: PublicJwk;
  /** The imported key; imported once, on first use. */
  key(): Promise<CryptoKey>;
}

/** The signature algorithm a public JWK is for, from its key type and curve; undefined when not allowed. */
function algorithmOf(jwk: Record<string, unknown>): JwsAlgorithm | undefined {
  if (jwk["kty"] === "OKP" && jwk["crv"] === "Ed25519" && typeof jwk["x"] === "string") return "EdDSA";
  if (jwk["kty"] === "EC" && jwk["crv"] === "P-256" && typeof jwk["x"] === "string" && typeof jwk["y"] === "string")
    return "ES256";
  return undefined;
}

/**
 * Validates a JWKS as a peer's (or this domain's) public keys. Each key needs a `kid` (unique in the set), an
 * Ed25519 or P-256 public key, an `alg` (when given) that matches, and no private member.
 * @throws CaminoError `code` (default ERR_PEER_KEYS_INVALID) naming `what` and the key, never the key material.
 */
export function validatePublicJwks(
  value: unknown,
  what: string,
  code: ErrorCode = "ERR_PEER_KEYS_INVALID",
): PublicJwks {
  const fail = (problem: string) => new CaminoError(code, `${what}: ${problem}`);
  if (value === null || typeof value !== "object" || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw fail("is not a JWKS (an object with a keys array)");
  }
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0) throw fail("has no keys");
  if (keys.length > MAX_PEER_KEYS) throw fail(`has ${keys.length} keys (at most ${MAX_PEER_KEYS})`);
  const seen = new Set<string>();
  const out: PublicJwk[] = [];
  keys.forEach((raw, i) => {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw fail(`keys[${i}] is not an object`);
    const jwk = raw as Record<string, unknown>;
    const kid = jwk["kid"];
    if (typeof kid !== "string" || kid.length === 0 || kid.length > 128) throw fail(`keys[${i}] needs a kid`);
    for (const m of PRIVATE_MEMBERS) {
      if (m in jwk) throw fail(`key ${printable(kid)} carries private member ${m}; publish public keys only`);
    }
    const alg = algorithmOf(jwk);
    if (!alg) throw fail(`key ${printable(kid)} is not an Ed25519 (EdDSA) or P-256 (ES256) public key`);
    if (jwk["alg"] !== undefined && jwk["alg"] !== alg)
      throw fail(`key ${printable(kid)} says alg ${printable(jwk["alg"])} but is a ${alg} key`);
    if (jwk["use"] !== undefined && jwk["use"] !== "sig") throw fail(`key ${printable(kid)} is not for signatures`);
    if (seen.has(kid)) throw fail(`kid ${printable(kid)} appears twice`);
    seen.add(kid);
    out.push({ ...(jwk as PublicJwk), kid, alg });
  });
  return { keys: out };
}

/** The members that make a public key what it is, for comparing two JWKs with the same kid. */
export function sameKeyMaterial(a: PublicJwk, b: PublicJwk): boolean {
  return a["kty"] === b["kty"] && a["crv"] === b["crv"] && a["x"] === b["x"] && a["y"] === b["y"];
}

/** Wraps a validated public JWK as a {@link PeerKey}. */
export function peerKey(jwk: PublicJwk): PeerKey {
  const alg = jwk.alg as JwsAlgorithm;
  let imported: Promise<CryptoKey> | undefined;
  return {
    kid: jwk.kid as string,
    alg,
    jwk,
    key: () => {
      imported ??= importJWK(jwk as JWK, alg) as Promise<CryptoKey>;
      return imported;
    },
  };
}

/** A canonical text of a validated JWKS (keys by kid, members sorted), to tell whether configured keys changed. */
export function jwksFingerprint(jwks: PublicJwks): string {
  const keys = [...jwks.keys]
    .sort((a, b) => ((a.kid ?? "") < (b.kid ?? "") ? -1 : 1))
    .map((k) => Object.fromEntries(Object.entries(k).sort(([x], [y]) => (x < y ? -1 : 1))));
  return JSON.stringify(keys);
}
