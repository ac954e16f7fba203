/**
 * {@link PeerTrust} implemented (DESIGN section 7, docs/federation.md "One token per call"): per-peer key sets
 * that are never merged, a header allow-list checked before jose parses anything, per-peer replay memory and
 * rate limit, and key announcements that can add keys only under a key the peer already holds.
 *
 * The order of checks in {@link PeerTrust.verify} matters: size, header, issuer, key, signature and claims,
 * digest, replay, and only then the rate limit, so a forged token can neither drain a peer's budget nor enter
 * its replay memory. A refused token changes nothing.
 */
import { errors, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { CaminoError, type ErrorCode } from "../common/errors.js";
import { checkJwsHeader, decodeJsonSegment, printable, type JwsAlgorithm } from "../common/jws-header.js";
import { openAnnouncement, signAnnouncement } from "./announcement.js";
import {
  FEDERATION_TOKEN_TYPE,
  MAX_FEDERATION_TOKEN_BYTES,
  MAX_FEDERATION_TOKEN_LIFETIME_SECONDS,
  requestDigest,
  signFederationToken,
} from "./fed-token.js";
import { jwksFingerprint, peerKey, sameKeyMaterial, validatePublicJwks, type PeerKey } from "./peer-keys.js";
import { createTokenBucket, type RateLimit, type TokenBucket } from "./rate-limit.js";
import { createReplayCache, type ReplayCache } from "./replay-cache.js";
import type { AnnouncementResult, PeerTrust, PublicJwk, PublicJwks, TrustedPeer, VerifiedPeer } from "./trust.js";

/** The key this domain signs with now. */
export interface DomainSigningKey {
  kid: string;
  alg: JwsAlgorithm;
  privateKey: CryptoKey;
}

/**
 * This domain's key ring as federation needs it (agent/auth/key-ring.ts implements it): the key signing now,
 * and every public key published now (the signing key, the announced next key during a rotation, the previous
 * key until it retires). Both are read on every call, so a rotation takes effect without rebuilding the trust.
 */
export interface DomainKeySource {
  current(): DomainSigningKey;
  published(): { keys: readonly JWK[] };
}

/** The options of {@link createFederationTrust}. */
export interface FederationTrustOptions {
  /** This domain's id: the `iss` of tokens it signs and the `aud` tokens to it must carry. */
  domainId: string;
  /** This domain's keys. */
  ownKeys: DomainKeySource;
  /** The trusted peers, with their keys already read (see readPeerJwks). */
  peers: readonly TrustedPeer[];
  /** Seconds of clock skew tolerated on `iat` and `exp`. Default 30. */
  clockToleranceSeconds?: number;
  /** Lifetime of the tokens this domain signs, in seconds. Default 60; at most 300. */
  tokenTtlSeconds?: number;
  /** Most `jti`s remembered per peer; when full of live tokens, calls are refused as rate limited. Default 50000. */
  replayCacheSize?: number;
  /** Calls accepted per peer. Default 200 per second, bursts of 400. */
  rateLimit?: RateLimit;
  /** The clock. Default the system clock. */
  now?: () => Date;
}

/** Everything known of one trusted peer. Replaced as a whole when its configured keys change. */
interface PeerState {
  id: string;
  /** What the configured keys were, to tell at reload whether they changed. */
  configured: string;
  keys: Map<string, PeerKey>;
  /** `iat` of the last announcement applied; an older one is refused. */
  announcedAt: number;
  replay: ReplayCache;
  bucket: TokenBucket;
}

/** The code of each kind of header refusal (an algorithm not allowed is a header problem for peers). */
const HEADER_CODES = {
  malformed: "ERR_PEER_TOKEN_MALFORMED",
  header: "ERR_PEER_TOKEN_HEADER",
  alg: "ERR_PEER_TOKEN_HEADER",
  type: "ERR_PEER_TOKEN_TYPE",
} as const satisfies Record<string, ErrorCode>;

const DEFAULTS = {
  clockToleranceSeconds: 30,
  tokenTtlSeconds: 60,
  replayCacheSize: 50_000,
  rateLimit: { perSecond: 200, burst: 400 },
};

/** What a jose verification error means for a peer's token. */
function explainJose(err: unknown): { code: ErrorCode; why: string } {
  if (err instanceof errors.JWTExpired) {
    return { code: "ERR_PEER_TOKEN_EXPIRED", why: err.claim === "iat" ? "was issued too long ago" : "has expired" };
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return { code: "ERR_PEER_TOKEN_AUDIENCE", why: "is not for this domain" };
    if (err.claim === "typ") return { code: "ERR_PEER_TOKEN_TYPE", why: `is not a ${FEDERATION_TOKEN_TYPE}` };
    if (err.reason === "missing") return { code: "ERR_PEER_TOKEN_CLAIM", why: `has no ${err.claim} claim` };
    if (err.claim === "iat") return { code: "ERR_PEER_TOKEN_CLAIM", why: "was issued in the future" };
    if (err.claim === "nbf") return { code: "ERR_PEER_TOKEN_CLAIM", why: "is not valid yet" };
    return { code: "ERR_PEER_TOKEN_CLAIM", why: `has an unacceptable ${err.claim} claim` };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return { code: "ERR_PEER_TOKEN_SIGNATURE", why: "has a signature that does not verify" };
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return { code: "ERR_PEER_TOKEN_HEADER", why: "has a disallowed alg" };
  return { code: "ERR_PEER_TOKEN_MALFORMED", why: "is not a valid JWT" };
}

/**
 * Creates the trust of one domain in its peers.
 * @example
 * const trust = createFederationTrust({ domainId: "domain-x", ownKeys: keyRing, peers });
 * const token = await trust.sign("domain-y", requestBytes);   // client side
 * const peer = await trust.verify(token, reencodedRequest);    // server side
 */
export function createFederationTrust(options: FederationTrustOptions): PeerTrust {
  const domainId = options.domainId;
  const tolerance = options.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds;
  const ttl = options.tokenTtlSeconds ?? DEFAULTS.tokenTtlSeconds;
  const replayCacheSize = options.replayCacheSize ?? DEFAULTS.replayCacheSize;
  const rateLimit = options.rateLimit ?? DEFAULTS.rateLimit;
  const now = options.now ?? (() => new Date());
  if (!domainId) throw new TypeError("domainId is required");
  if (!(tolerance >= 0 && tolerance <= 300)) throw new TypeError("clockToleranceSeconds must be within 0..300");
  if (!(Number.isInteger(ttl) && ttl >= 1 && ttl <= MAX_FEDERATION_TOKEN_LIFETIME_SECONDS)) {
    throw new TypeError(`tokenTtlSeconds must be an integer within 1..${MAX_FEDERATION_TOKEN_LIFETIME_SECONDS}`);
  }
  createReplayCache(replayCacheSize); // validates the size
  createTokenBucket(rateLimit, 0); // validates the rate

  let peers = new Map<string, PeerState>();
  let own: { fingerprint: string; value: { jwks: PublicJwks; announcement: string } } | undefined;

  const newState = (peer: TrustedPeer, jwks: PublicJwks, configured: string): PeerState => ({
    id: peer.id,
    configured,
    keys: new Map(jwks.keys.map((k) => [k.kid as string, peerKey(k)])),
    announcedAt: Number.NEGATIVE_INFINITY,
    replay: createReplayCache(replayCacheSize),
    bucket: createTokenBucket(rateLimit, now().getTime()),
  });

  const setPeers = (list: readonly TrustedPeer[]) => {
    // Validate everything first: a bad trust list changes nothing.
    const checked = list.map((p) => {
      if (typeof p.id !== "string" || p.id.length === 0) throw new TypeError("every trusted peer needs an id");
      const jwks = validatePublicJwks(p.jwks, `keys of peer ${p.id}`);
      return { peer: p, jwks, configured: p.keySource ?? jwksFingerprint(jwks) };
    });
    const ids = new Set<string>();
    for (const { peer } of checked) {
      if (ids.has(peer.id)) throw new TypeError(`peer ${peer.id} is listed twice`);
      ids.add(peer.id);
    }
    const next = new Map<string, PeerState>();
    for (const { peer, jwks, configured } of checked) {
      const before = peers.get(peer.id);
      if (before && before.configured === configured) {
        next.set(peer.id, before);
      } else {
        const state = newState(peer, jwks, configured);
        // Replays stay refused and the budget stays spent across a change of keys.
        if (before) {
          state.replay = before.replay;
          state.bucket = before.bucket;
        }
        next.set(peer.id, state);
      }
    }
    peers = next;
  };
  setPeers(options.peers);

  const refuse = (code: ErrorCode, message: string, peer?: string, cause?: unknown): CaminoError =>
    new CaminoError(code, message, {
      data: peer === undefined ? {} : { peer },
      ...(cause === undefined ? {} : { cause }),
    });

  return {
    async verify(token, request) {
      if (typeof token !== "string" || token.length === 0) {
        throw refuse("ERR_PEER_TOKEN_MISSING", "federation call carries no token");
      }
      if (token.length > MAX_FEDERATION_TOKEN_BYTES) {
        throw refuse("ERR_PEER_TOKEN_TOO_LARGE", `federation token is over ${MAX_FEDERATION_TOKEN_BYTES} bytes`);
      }
      const header = checkJwsHeader(token, FEDERATION_TOKEN_TYPE);
      if (!header.ok) throw refuse(HEADER_CODES[header.kind], `federation token ${header.problem}`);
      // Unverified, only to choose whose keys verify it.
      const claims = decodeJsonSegment(token.split(".")[1] as string);
      if (!claims) throw refuse("ERR_PEER_TOKEN_MALFORMED", "federation token payload is not a JSON object");
      const iss = claims["iss"];
      const state = typeof iss === "string" ? peers.get(iss) : undefined;
      if (!state) {
        throw refuse("ERR_PEER_UNTRUSTED", `federation token issuer ${printable(iss)} is not a trusted peer`);
      }
      const peer = state.id;
      const kid = header.header.kid as string;
      const key = state.keys.get(kid);
      if (!key) {
        throw refuse(
          "ERR_PEER_TOKEN_KEY_UNKNOWN",
          `token from peer ${peer} names key ${printable(kid)}, which is not one of its keys`,
          peer,
        );
      }
      if (key.alg !== header.header.alg) {
        throw refuse(
          "ERR_PEER_TOKEN_HEADER",
          `token from peer ${peer} names alg ${header.header.alg} for its ${key.alg} key`,
          peer,
        );
      }
      const at = now();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, await key.key(), {
          algorithms: [key.alg],
          typ: FEDERATION_TOKEN_TYPE,
          issuer: peer,
          audience: domainId,
          clockTolerance: tolerance,
          maxTokenAge: MAX_FEDERATION_TOKEN_LIFETIME_SECONDS,
          currentDate: at,
          requiredClaims: ["iat", "exp", "jti"],
        }));
      } catch (err) {
        const { code, why } = explainJose(err);
        throw refuse(code, `token from peer ${peer} ${why}`, peer, err);
      }
      const iat = payload.iat as number;
      const exp = payload.exp as number;
      if (!(exp > iat && exp - iat <= MAX_FEDERATION_TOKEN_LIFETIME_SECONDS)) {
        throw refuse(
          "ERR_PEER_TOKEN_LIFETIME",
          `token from peer ${peer} lives ${exp - iat}s (at most ${MAX_FEDERATION_TOKEN_LIFETIME_SECONDS}s)`,
          peer,
        );
      }
      const jti = payload.jti;
      if (typeof jti !== "string" || jti.length === 0 || jti.length > 128) {
        throw refuse("ERR_PEER_TOKEN_CLAIM", `token from peer ${peer} has no usable jti`, peer);
      }
      if (payload["rdg"] !== requestDigest(request)) {
        throw refuse("ERR_PEER_REQUEST_DIGEST", `token from peer ${peer} was not signed for this request (rdg)`, peer);
      }
      // The trust list may have changed while the signature was checked: decide on the state of now.
      if (peers.get(peer) !== state || state.keys.get(kid) !== key) {
        throw refuse(
          "ERR_PEER_UNTRUSTED",
          `peer ${peer} or its key ${printable(kid)} left the trust list during the call`,
          peer,
        );
      }
      const nowMs = now().getTime();
      if (state.replay.seen(jti, nowMs)) {
        throw refuse("ERR_PEER_TOKEN_REPLAYED", `token from peer ${peer} was already used (jti replayed)`, peer);
      }
      if (!state.replay.hasRoom(nowMs)) {
        throw refuse("ERR_PEER_RATE_LIMITED", `peer ${peer} has too many live tokens (replay memory full)`, peer);
      }
      if (!state.bucket.take(nowMs)) {
        throw refuse("ERR_PEER_RATE_LIMITED", `peer ${peer} is calling faster than ${rateLimit.perSecond}/s`, peer);
      }
      state.replay.add(jti, (exp + tolerance) * 1000);
      return { domain: peer, tokenId: jti, keyId: kid, expiresAt: new Date(exp * 1000) } satisfies VerifiedPeer;
    },

    async sign(peer, request) {
      if (!peers.has(peer)) throw refuse("ERR_PEER_NOT_FOUND", `peer ${peer} is not in the trust list`, peer);
      return signFederationToken({
        key: options.ownKeys.current(),
        issuer: domainId,
        audience: peer,
        request,
        issuedAt: Math.floor(now().getTime() / 1000),
        ttlSeconds: ttl,
      });
    },

    setPeers,

    keyIds(peer) {
      return [...(peers.get(peer)?.keys.keys() ?? [])];
    },

    async applyAnnouncement(peer, announcement): Promise<AnnouncementResult> {
      const state = peers.get(peer);
      if (!state) {
        throw refuse(
          "ERR_ANNOUNCEMENT_INVALID",
          `key announcement of peer ${peer} refused: it is not a trusted peer`,
          peer,
        );
      }
      const opened = await openAnnouncement(peer, announcement, state.keys, now().getTime() / 1000, tolerance);
      const fail = (problem: string) =>
        refuse("ERR_ANNOUNCEMENT_INVALID", `key announcement of peer ${peer} ${problem}`, peer);
      // The trust list may have changed while the signature was checked.
      if (peers.get(peer) !== state || state.keys.get(opened.signer.kid) !== opened.signer) {
        throw fail("was signed by a key that left the trust list meanwhile");
      }
      if (opened.issuedAt < state.announcedAt) throw fail("is older than one already applied");
      const announced = new Map(opened.jwks.keys.map((k) => [k.kid as string, k] as const));
      const signerJwk = announced.get(opened.signer.kid);
      if (!signerJwk || !sameKeyMaterial(signerJwk, opened.signer.jwk)) {
        throw fail(
          `drops or changes its own signing key ${printable(opened.signer.kid)} (keys are added, not replaced)`,
        );
      }
      for (const [kid, jwk] of announced) {
        const held = state.keys.get(kid);
        if (held && !sameKeyMaterial(held.jwk, jwk)) throw fail(`changes the key behind kid ${printable(kid)}`);
      }
      const added = [...announced.keys()].filter((kid) => !state.keys.has(kid));
      const retired = [...state.keys.keys()].filter((kid) => !announced.has(kid));
      const keys = new Map<string, PeerKey>();
      for (const [kid, jwk] of announced) keys.set(kid, state.keys.get(kid) ?? peerKey(jwk as PublicJwk));
      state.keys = keys;
      state.announcedAt = opened.issuedAt;
      return { added, retired };
    },

    async ownKeys() {
      const signing = options.ownKeys.current();
      const jwks = validatePublicJwks(
        { keys: options.ownKeys.published().keys },
        `this domain's published keys`,
        "ERR_KEY_UNREADABLE",
      );
      const fingerprint = `${signing.kid} ${jwksFingerprint(jwks)}`;
      if (own?.fingerprint !== fingerprint) {
        if (!jwks.keys.some((k) => k.kid === signing.kid)) {
          throw new CaminoError("ERR_KEY_UNREADABLE", `the signing key ${signing.kid} is not among the published keys`);
        }
        const announcement = await signAnnouncement({
          key: signing,
          issuer: domainId,
          issuedAt: Math.floor(now().getTime() / 1000),
          keys: jwks.keys,
        });
        own = { fingerprint, value: { jwks, announcement } };
      }
      return own.value;
    },
  };
}
