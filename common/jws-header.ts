/**
 * The allow-list for the protected header of the JWS and JWTs CAMINO accepts (federation tokens, key
 * announcements, northbound tokens). jose ignores header members it does not know, so a token carrying `jku`,
 * `x5u`, `jwk` or an unknown `crit` extension would otherwise verify; this check runs first, on the raw header,
 * and refuses any member but `alg`, `kid` and `typ`, any algorithm but EdDSA and ES256, and any other `typ`.
 */

/** The only signature algorithms CAMINO signs with or accepts. */
export const JWS_ALGORITHMS = ["EdDSA", "ES256"] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** The header members a CAMINO JWS may carry. */
const ALLOWED_MEMBERS: ReadonlySet<string> = new Set(["alg", "kid", "typ"]);

/** Longest `kid` accepted (RFC 7638 thumbprints are 43 characters). */
const MAX_KID_LENGTH = 128;

/** A protected header that passed {@link checkJwsHeader}. */
export interface CheckedJwsHeader {
  alg: JwsAlgorithm;
  kid?: string;
  typ: string;
}

/**
 * Why a header was refused: `malformed` (not a compact JWS), `header` (a member or value not allowed), `alg` (an
 * algorithm not allowed, such as `none` or HS256), `type` (another `typ`).
 */
export type JwsHeaderProblem = { ok: false; kind: "malformed" | "header" | "alg" | "type"; problem: string };

/** The outcome of {@link checkJwsHeader}. */
export type JwsHeaderCheck = { ok: true; header: CheckedJwsHeader } | JwsHeaderProblem;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A header member name or value fit for an error message: short printable ASCII, quoted, or a placeholder. */
export function printable(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return typeof s === "string" && /^[\x20-\x7e]{1,40}$/.test(s) ? JSON.stringify(s) : "(not shown)";
}

/** Decodes one base64url segment of a compact JWS as a JSON object, or undefined when it is not one. */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  if (segment.length === 0 || !BASE64URL.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the protected header of a compact JWS before anything else reads it. `typ` must equal `expectedTyp`
 * exactly. Never throws; the problem text names the member and never contains the token.
 * @example const c = checkJwsHeader(token, "camino-fed+jwt"); if (!c.ok) throw new CaminoError(…, c.problem);
 */
export function checkJwsHeader(compact: string, expectedTyp: string, requireKid = true): JwsHeaderCheck {
  const parts = compact.split(".");
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    return { ok: false, kind: "malformed", problem: "is not a compact JWS (three base64url parts)" };
  }
  const header = decodeJsonSegment(parts[0] as string);
  if (!header) return { ok: false, kind: "malformed", problem: "has a protected header that is not a JSON object" };
  for (const name of Object.keys(header)) {
    if (!ALLOWED_MEMBERS.has(name)) {
      return { ok: false, kind: "header", problem: `carries header ${printable(name)}, which is not allowed` };
    }
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== "string" || !(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    return {
      ok: false,
      kind: "alg",
      problem: `has algorithm ${printable(alg)}, which is not allowed (use ${JWS_ALGORITHMS.join(" or ")})`,
    };
  }
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    return { ok: false, kind: "header", problem: "has a kid that is not a short string" };
  }
  if (requireKid && kid === undefined) return { ok: false, kind: "header", problem: "has no kid" };
  if (typ !== expectedTyp) {
    return { ok: false, kind: "type", problem: `has type ${printable(typ)}, not ${expectedTyp}` };
  }
  if (parts[1] === "" || parts[2] === "") {
    return { ok: false, kind: "malformed", problem: "has an empty payload or signature" };
  }
  const checked: CheckedJwsHeader = { alg: alg as JwsAlgorithm, typ };
  if (typeof kid === "string") checked.kid = kid;
  return { ok: true, header: checked };
}
