/**
 * Key announcements (docs/federation.md, "Key rotation"): a domain's whole public key set, signed as a compact
 * JWS by the key it signs with now, so that a peer that trusts that key can adopt the others. Payload:
 * `{iss: domain, iat, keys: [public JWKs]}`, header `typ: camino-keys+jws`.
 */
import { CompactSign, compactVerify, type CryptoKey } from "jose";
import { CaminoError } from "../common/errors.js";
import { checkJwsHeader, decodeJsonSegment, type JwsAlgorithm } from "../common/jws-header.js";
import { validatePublicJwks, type PeerKey } from "./peer-keys.js";
import type { PublicJwk, PublicJwks } from "./trust.js";

/** The JOSE `typ` of key announcements. */
export const ANNOUNCEMENT_TYPE = "camino-keys+jws";
/** Longest announcement accepted. */
export const MAX_ANNOUNCEMENT_BYTES = 64 * 1024;

/** Signs an announcement of `keys` by `issuer` with `key`. */
export function signAnnouncement(options: {
  key: { kid: string; alg: JwsAlgorithm; privateKey: CryptoKey };
  issuer: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  keys: readonly PublicJwk[];
}): Promise<string> {
  const payload = { iss: options.issuer, iat: options.issuedAt, keys: options.keys };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: ANNOUNCEMENT_TYPE })
    .sign(options.key.privateKey);
}

/** An announcement whose signature verified. */
export interface OpenedAnnouncement {
  signer: PeerKey;
  issuedAt: number;
  jwks: PublicJwks;
}

/**
 * Verifies an announcement from `peer`: header allow-list, a signer among `accepted` (the peer's keys accepted
 * now), the signature, `iss` = peer, `iat` not in the future beyond `toleranceSeconds`, and a valid key set.
 * @throws CaminoError ERR_ANNOUNCEMENT_INVALID saying why.
 */
export async function openAnnouncement(
  peer: string,
  announcement: string,
  accepted: ReadonlyMap<string, PeerKey>,
  nowSeconds: number,
  toleranceSeconds: number,
): Promise<OpenedAnnouncement> {
  const fail = (problem: string, cause?: unknown) =>
    new CaminoError("ERR_ANNOUNCEMENT_INVALID", `key announcement of peer ${peer} ${problem}`, {
      data: { peer },
      ...(cause === undefined ? {} : { cause }),
    });
  if (typeof announcement !== "string" || announcement.length === 0) throw fail("is empty");
  if (announcement.length > MAX_ANNOUNCEMENT_BYTES) throw fail(`is over ${MAX_ANNOUNCEMENT_BYTES} bytes`);
  const checked = checkJwsHeader(announcement, ANNOUNCEMENT_TYPE);
  if (!checked.ok) throw fail(checked.problem);
  const kid = checked.header.kid as string;
  const signer = accepted.get(kid);
  if (!signer) throw fail(`is signed by key ${JSON.stringify(kid)}, which is not accepted for it (unknown or retired)`);
  if (signer.alg !== checked.header.alg) throw fail(`names algorithm ${checked.header.alg} for a ${signer.alg} key`);
  try {
    await compactVerify(announcement, await signer.key(), { algorithms: [signer.alg] });
  } catch (err) {
    throw fail("has a signature that does not verify", err);
  }
  const payload = decodeJsonSegment(announcement.split(".")[1] as string);
  if (!payload) throw fail("has a payload that is not a JSON object");
  if (payload["iss"] !== peer) throw fail("names another issuer");
  const iat = payload["iat"];
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw fail("has no iat");
  if (iat > nowSeconds + toleranceSeconds) throw fail("was issued in the future");
  let jwks: PublicJwks;
  try {
    jwks = validatePublicJwks({ keys: payload["keys"] }, "its key set", "ERR_ANNOUNCEMENT_INVALID");
  } catch (err) {
    throw fail(`is not acceptable: ${(err as Error).message}`, err);
  }
  return { signer, issuedAt: iat, jwks };
}
