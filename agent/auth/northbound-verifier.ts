/**
 * Verification of northbound tokens: a protected header allow-list checked before jose reads the token (only
 * `alg` EdDSA or ES256, `kid` and `typ`: no `jku`, `x5u`, `jwk`, `crit`, and so no `alg: none` or HMAC
 * confusion), `typ: camino-nb+jwt`, issuer (this domain by any key its ring publishes now, or a configured
 * external issuer by its JWKS), audience, `exp`/`nbf` with a small clock tolerance, an `iat` no further ahead
 * than that tolerance, and a bounded lifetime (`exp − iat`, and the age since `iat`). Failures say what is wrong
 * with the token, never what the token is.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { checkJwsHeader } from "../../common/jws-header.js";
import { AuthenticationError } from "../errors.js";
import type { Jwks } from "./keys.js";
import { NORTHBOUND_TOKEN_TYPE } from "./token.js";

/** An issuer whose tokens this domain accepts. */
export interface TrustedIssuer {
  /** The `iss` value. */
  issuer: string;
  /** Its public keys, inline … */
  jwks?: Jwks;
  /** … or fetched (and cached) from a URL. */
  jwksUrl?: string;
  /** The `aud` its tokens must carry; default the verifier's audience. */
  audience?: string;
}

export interface NorthboundVerifierOptions {
  /** This domain's id: the issuer of its own tokens. */
  domainId: string;
  /**
   * This domain's public keys, or a function answering the keys published now (the key ring's `published`, so
   * tokens signed by any key of a rotation verify). A function is called on every verification; when it answers
   * a different object, the keys are re-read and remembered verifications are dropped.
   */
  jwks: Jwks | (() => Jwks);
  /** The audience tokens must name. Default the domain id. */
  audience?: string;
  /** Other issuers (portals, cross-domain orchestrators). */
  externalIssuers?: readonly TrustedIssuer[];
  /** Seconds of clock skew tolerated on exp/nbf/iat. Default 30. */
  clockToleranceSeconds?: number;
  /** Longest accepted lifetime (exp − iat) in seconds. Default 86400. */
  maxLifetimeSeconds?: number;
  /** The clock; default now. */
  now?: () => Date;
  /** Verified tokens remembered (by their exact text), so a client's repeated calls skip the signature check. Default 1024; 0 turns it off. */
  cacheSize?: number;
  /** Longest time a verified token is remembered, in seconds (bounds how long a removed issuer key keeps working). Default 60. */
  cacheSeconds?: number;
}

/** Who made a call, as its verified token says. */
export interface Principal {
  issuer: string;
  subject: string;
  scopes: ReadonlySet<string>;
  tokenId?: string;
}

export interface NorthboundVerifier {
  /** Verifies a compact JWT. @throws AuthenticationError */
  verify(token: string): Promise<Principal>;
}

const ALGORITHMS = ["EdDSA", "ES256"];
/** The code of each kind of header refusal. */
const HEADER_CODES = {
  malformed: "ERR_TOKEN_MALFORMED",
  header: "ERR_TOKEN_HEADER",
  alg: "ERR_TOKEN_ALG",
  type: "ERR_TOKEN_TYPE",
} as const;
/** Longest token accepted; longer ones are refused before they are parsed. */
const MAX_TOKEN_BYTES = 16 * 1024;

function scopesOf(payload: JWTPayload): Set<string> {
  const out = new Set<string>();
  const scope = payload["scope"];
  if (typeof scope === "string") for (const s of scope.split(" ")) if (s) out.add(s);
  const scp = payload["scp"];
  if (Array.isArray(scp)) for (const s of scp) if (typeof s === "string") out.add(s);
  return out;
}

function explain(err: unknown): AuthenticationError {
  if (err instanceof errors.JWTExpired)
    return new AuthenticationError(
      err.claim === "iat" ? "ERR_TOKEN_LIFETIME" : "ERR_TOKEN_EXPIRED",
      err.claim === "iat" ? "token was issued longer ago than the longest token lifetime" : "token has expired",
      { cause: err },
    );
  if (err instanceof errors.JWTClaimValidationFailed) {
    const what =
      err.claim === "nbf"
        ? "token is not yet valid"
        : err.claim === "aud"
          ? "token audience is not this domain"
          : err.claim === "iat"
            ? "token was issued in the future"
            : `token claim ${err.claim} is not acceptable (${err.reason})`;
    return new AuthenticationError(err.claim === "aud" ? "ERR_TOKEN_AUDIENCE" : "ERR_TOKEN_CLAIM", what, {
      cause: err,
      data: { claim: err.claim },
    });
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AuthenticationError("ERR_TOKEN_ALG", `token algorithm is not allowed (use ${ALGORITHMS.join(" or ")})`, {
      cause: err,
    });
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new AuthenticationError("ERR_TOKEN_SIGNATURE", "token signature is invalid", { cause: err });
  if (err instanceof errors.JWKSNoMatchingKey)
    return new AuthenticationError("ERR_TOKEN_SIGNATURE", "token is not signed by a key of its issuer", { cause: err });
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return new AuthenticationError("ERR_TOKEN_SIGNATURE", "token key id matches several keys", { cause: err });
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return new AuthenticationError("ERR_TOKEN_ISSUER_KEYS", "the issuer's keys cannot be fetched", { cause: err });
  if (err instanceof errors.JOSEError)
    return new AuthenticationError("ERR_TOKEN_INVALID", `token is invalid (${err.code})`, { cause: err });
  return new AuthenticationError("ERR_TOKEN_INVALID", "token is invalid", { cause: err });
}

/** Creates a verifier; remote JWKS are fetched lazily and cached by jose. */
export function createNorthboundVerifier(options: NorthboundVerifierOptions): NorthboundVerifier {
  const audience = options.audience ?? options.domainId;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const maxLifetime = options.maxLifetimeSeconds ?? 86_400;
  const now = options.now ?? (() => new Date());
  const cacheSize = options.cacheSize ?? 1024;
  const cacheMs = (options.cacheSeconds ?? 60) * 1000;
  // Exact token text → principal, its expiry and when the entry lapses. Insertion order makes it FIFO.
  const cache = new Map<string, { principal: Principal; expMs: number; untilMs: number }>();
  const issuers = new Map<string, { keys: JWTVerifyGetKey; audience: string }>();
  const ownKeys = typeof options.jwks === "function" ? options.jwks : () => options.jwks as Jwks;
  let ownJwks = ownKeys();
  issuers.set(options.domainId, { keys: createLocalJWKSet(ownJwks), audience });
  for (const ext of options.externalIssuers ?? []) {
    const keys = ext.jwks
      ? createLocalJWKSet(ext.jwks)
      : ext.jwksUrl
        ? createRemoteJWKSet(new URL(ext.jwksUrl), { timeoutDuration: 5000 })
        : undefined;
    if (!keys) throw new TypeError(`external issuer ${ext.issuer} needs jwks or jwksUrl`);
    issuers.set(ext.issuer, { keys, audience: ext.audience ?? audience });
  }

  return {
    async verify(token) {
      const published = ownKeys();
      if (published !== ownJwks) {
        // A rotation changed this domain's keys: a retired key must stop verifying now, remembered tokens too.
        ownJwks = published;
        issuers.set(options.domainId, { keys: createLocalJWKSet(published), audience });
        cache.clear();
      }
      const hit = cache.get(token);
      if (hit) {
        const t = now().getTime();
        if (t < hit.untilMs && t < hit.expMs + tolerance * 1000) return hit.principal;
        cache.delete(token);
      }
      if (token.length > MAX_TOKEN_BYTES) {
        throw new AuthenticationError("ERR_TOKEN_MALFORMED", `token is over ${MAX_TOKEN_BYTES} bytes`);
      }
      // jose ignores header members it does not know (jku, x5u, jwk…): refuse them before it reads the token.
      const header = checkJwsHeader(token, NORTHBOUND_TOKEN_TYPE, false);
      if (!header.ok) throw new AuthenticationError(HEADER_CODES[header.kind], `token ${header.problem}`);
      let claims: JWTPayload;
      try {
        claims = decodeJwt(token);
      } catch (err) {
        throw new AuthenticationError("ERR_TOKEN_MALFORMED", "token is not a JWT", { cause: err });
      }
      const trusted = typeof claims.iss === "string" ? issuers.get(claims.iss) : undefined;
      if (!trusted)
        throw new AuthenticationError(
          "ERR_TOKEN_ISSUER",
          `token issuer ${JSON.stringify(String(claims.iss ?? "")).slice(0, 120)} is not trusted`,
        );
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, trusted.keys, {
          algorithms: ALGORITHMS,
          typ: NORTHBOUND_TOKEN_TYPE,
          issuer: claims.iss as string,
          audience: trusted.audience,
          clockTolerance: tolerance,
          currentDate: now(),
          // Bounds the age since iat, and (only when set) makes jose refuse an iat ahead of the clock tolerance.
          maxTokenAge: maxLifetime,
          requiredClaims: ["exp", "iat"],
        }));
      } catch (err) {
        if (
          err instanceof errors.JOSEError &&
          err.code === "ERR_JWT_CLAIM_VALIDATION_FAILED" &&
          (err as errors.JWTClaimValidationFailed).claim === "typ"
        ) {
          throw new AuthenticationError("ERR_TOKEN_TYPE", `token type must be ${NORTHBOUND_TOKEN_TYPE}`, {
            cause: err,
          });
        }
        throw explain(err);
      }
      if ((payload.exp as number) - (payload.iat as number) > maxLifetime) {
        throw new AuthenticationError("ERR_TOKEN_LIFETIME", `token lifetime exceeds ${maxLifetime}s`);
      }
      const principal: Principal = {
        issuer: payload.iss as string,
        subject: typeof payload.sub === "string" ? payload.sub : "",
        scopes: scopesOf(payload),
      };
      if (typeof payload.jti === "string") principal.tokenId = payload.jti;
      if (cacheSize > 0) {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
        cache.set(token, { principal, expMs: (payload.exp as number) * 1000, untilMs: now().getTime() + cacheMs });
      }
      return principal;
    },
  };
}
