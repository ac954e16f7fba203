/**
 * The attack table at library level (docs/federation.md, "One token per call"): every forged, stale, misdirected
 * or replayed token is refused with its own code, and a refusal changes nothing — the next genuine call still
 * passes, and a refused token never enters the replay memory or spends the peer's rate budget.
 */
import { createHmac, KeyObject, sign as nodeSign } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { importJWK, type CryptoKey, type JWK } from "jose";
import { generateSigningKey, type SigningAlgorithm } from "../../agent/auth/keys.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { signAnnouncement } from "../../federation/announcement.js";
import { requestDigest } from "../../federation/fed-token.js";
import {
  createFederationTrust,
  type DomainKeySource,
  type DomainSigningKey,
  type FederationTrustOptions,
} from "../../federation/federation-trust.js";
import type { PeerTrust, PublicJwk } from "../../federation/trust.js";

interface TestKey extends DomainSigningKey {
  publicJwk: PublicJwk;
}

async function makeKey(alg: SigningAlgorithm = "EdDSA"): Promise<TestKey> {
  const gen = await generateSigningKey(alg);
  return {
    kid: gen.kid,
    alg: gen.alg,
    privateKey: (await importJWK(gen.privateJwk, gen.alg)) as CryptoKey,
    publicJwk: gen.publicJwk as PublicJwk,
  };
}

/** A key ring that holds what the test puts in it. */
function ringOf(
  current: TestKey,
  published: TestKey[] = [current],
): DomainKeySource & { set(c: TestKey, p: TestKey[]): void } {
  let cur = current;
  let pub = published;
  return {
    current: () => cur,
    published: () => ({ keys: pub.map((k) => k.publicJwk as JWK) }),
    set(c, p) {
      cur = c;
      pub = p;
    },
  };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** Signs anything, including headers jose would refuse to write: the attacker's own signer. */
function forge(key: TestKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const k = KeyObject.from(key.privateKey);
  const sig =
    key.alg === "EdDSA"
      ? nodeSign(null, Buffer.from(input), k)
      : nodeSign("sha256", Buffer.from(input), { key: k, dsaEncoding: "ieee-p1363" });
  return `${input}.${sig.toString("base64url")}`;
}

const T0 = new Date("2026-12-02T12:00:00Z");
const REQUEST = new TextEncoder().encode("hello request");
const OTHER_REQUEST = new TextEncoder().encode("commit segment s-1");

describe("createFederationTrust", () => {
  let clock: Date;
  const now = () => clock;
  let yKey: TestKey;
  let zKey: TestKey;
  let wKey: TestKey;
  let xKey: TestKey;
  /** domain-x, the callee under attack; it trusts domain-y and domain-z. */
  let x: PeerTrust;
  /** domain-y's own trust, to sign genuine tokens to domain-x. */
  let y: PeerTrust;
  let z: PeerTrust;
  let options: FederationTrustOptions;

  const sec = () => Math.floor(clock.getTime() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: "domain-y",
    aud: "domain-x",
    iat: sec(),
    exp: sec() + 60,
    jti: `j-${Math.random().toString(36).slice(2)}`,
    rdg: requestDigest(REQUEST),
    ...over,
  });
  const header = (key: TestKey, over: Record<string, unknown> = {}) => ({
    alg: key.alg,
    kid: key.kid,
    typ: "camino-fed+jwt",
    ...over,
  });
  /** The side-effect witness: a genuine call from domain-y still passes, with a fresh token. */
  const genuineStillPasses = async () => {
    const peer = await x.verify(await y.sign("domain-x", REQUEST), REQUEST);
    expect(peer.domain).toBe("domain-y");
  };

  beforeEach(async () => {
    clock = new Date(T0);
    [xKey, yKey, zKey, wKey] = await Promise.all([makeKey(), makeKey(), makeKey("ES256"), makeKey()]);
    options = {
      domainId: "domain-x",
      ownKeys: ringOf(xKey),
      peers: [
        { id: "domain-y", jwks: { keys: [yKey.publicJwk] } },
        { id: "domain-z", jwks: { keys: [zKey.publicJwk] } },
      ],
      now,
    };
    x = createFederationTrust(options);
    const trustsX = [{ id: "domain-x", jwks: { keys: [xKey.publicJwk] } }];
    y = createFederationTrust({ domainId: "domain-y", ownKeys: ringOf(yKey), peers: trustsX, now });
    z = createFederationTrust({ domainId: "domain-z", ownKeys: ringOf(zKey), peers: trustsX, now });
  });

  it("accepts a genuine token and says who called, with which key, until when", async () => {
    const token = await y.sign("domain-x", REQUEST);
    const peer = await x.verify(token, REQUEST);
    expect(peer).toMatchObject({ domain: "domain-y", keyId: yKey.kid, expiresAt: new Date(T0.getTime() + 60_000) });
    expect(peer.tokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await x.verify(await z.sign("domain-x", REQUEST), REQUEST)).domain).toBe("domain-z");
  });

  // Each row: a token an attacker could send, and the code it must be refused with.
  const table: [string, () => Promise<string> | string, string][] = [
    ["no token", () => "", "ERR_PEER_TOKEN_MISSING"],
    ["garbage", () => "not-a-token", "ERR_PEER_TOKEN_MALFORMED"],
    ["three garbage parts", () => "a.b.c", "ERR_PEER_TOKEN_MALFORMED"],
    ["an untrusted issuer", () => forge(wKey, header(wKey), claims({ iss: "domain-w" })), "ERR_PEER_UNTRUSTED"],
    [
      "a trusted issuer signing with a key not its own, under its kid",
      () => forge(wKey, header(yKey), claims()),
      "ERR_PEER_TOKEN_SIGNATURE",
    ],
    [
      "a trusted issuer signing with another peer's key and kid",
      () => forge(zKey, header(zKey), claims()),
      "ERR_PEER_TOKEN_KEY_UNKNOWN",
    ],
    [
      "another peer's key under the issuer's kid",
      () => forge(zKey, header(yKey, { alg: "ES256" }), claims()),
      "ERR_PEER_TOKEN_HEADER",
    ],
    [
      "expired",
      () => forge(yKey, header(yKey), claims({ iat: sec() - 200, exp: sec() - 100 })),
      "ERR_PEER_TOKEN_EXPIRED",
    ],
    [
      "not yet valid (iat 10 minutes ahead)",
      () => forge(yKey, header(yKey), claims({ iat: sec() + 600, exp: sec() + 660 })),
      "ERR_PEER_TOKEN_CLAIM",
    ],
    ["exp too far ahead", () => forge(yKey, header(yKey), claims({ exp: sec() + 3600 })), "ERR_PEER_TOKEN_LIFETIME"],
    ["no iat", () => forge(yKey, header(yKey), claims({ iat: undefined })), "ERR_PEER_TOKEN_CLAIM"],
    ["no exp", () => forge(yKey, header(yKey), claims({ exp: undefined })), "ERR_PEER_TOKEN_CLAIM"],
    ["no jti", () => forge(yKey, header(yKey), claims({ jti: undefined })), "ERR_PEER_TOKEN_CLAIM"],
    ["the wrong audience", () => forge(yKey, header(yKey), claims({ aud: "domain-q" })), "ERR_PEER_TOKEN_AUDIENCE"],
    [
      "alg none",
      () => `${b64({ alg: "none", kid: yKey.kid, typ: "camino-fed+jwt" })}.${b64(claims())}.`,
      "ERR_PEER_TOKEN_HEADER",
    ],
    [
      "HS256 with the public key as the secret",
      () => {
        const input = `${b64(header(yKey, { alg: "HS256" }))}.${b64(claims())}`;
        const secret = Buffer.from(JSON.stringify(yKey.publicJwk));
        return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
      },
      "ERR_PEER_TOKEN_HEADER",
    ],
    [
      "a northbound token",
      () =>
        mintNorthboundToken({
          key: { ...yKey, publicJwk: yKey.publicJwk as JWK },
          issuer: "domain-y",
          audience: "domain-x",
          subject: "s",
          scopes: ["intents:write"],
          ttlSeconds: 60,
          now: clock,
        }),
      "ERR_PEER_TOKEN_TYPE",
    ],
    ["no typ", () => forge(yKey, header(yKey, { typ: undefined }), claims()), "ERR_PEER_TOKEN_TYPE"],
    [
      "a typ jose would normalise (application/camino-fed+jwt)",
      () => forge(yKey, header(yKey, { typ: "application/camino-fed+jwt" }), claims()),
      "ERR_PEER_TOKEN_TYPE",
    ],
    [
      "an rdg of another request",
      () => forge(yKey, header(yKey), claims({ rdg: requestDigest(OTHER_REQUEST) })),
      "ERR_PEER_REQUEST_DIGEST",
    ],
    ["no rdg", () => forge(yKey, header(yKey), claims({ rdg: undefined })), "ERR_PEER_REQUEST_DIGEST"],
    ["an unknown kid", () => forge(yKey, header(yKey, { kid: "nope" }), claims()), "ERR_PEER_TOKEN_KEY_UNKNOWN"],
    ["no kid", () => forge(yKey, header(yKey, { kid: undefined }), claims()), "ERR_PEER_TOKEN_HEADER"],
    [
      "a jku header",
      () => forge(yKey, header(yKey, { jku: "https://evil.example/jwks.json" }), claims()),
      "ERR_PEER_TOKEN_HEADER",
    ],
    [
      "an x5u header",
      () => forge(yKey, header(yKey, { x5u: "https://evil.example/cert.pem" }), claims()),
      "ERR_PEER_TOKEN_HEADER",
    ],
    ["a jwk header", () => forge(yKey, header(yKey, { jwk: yKey.publicJwk }), claims()), "ERR_PEER_TOKEN_HEADER"],
    [
      "a crit header",
      () => forge(yKey, header(yKey, { crit: ["exp"], exp: sec() + 60 }), claims()),
      "ERR_PEER_TOKEN_HEADER",
    ],
    [
      "a token over 8 KiB",
      () => forge(yKey, header(yKey), claims({ pad: "x".repeat(8 * 1024) })),
      "ERR_PEER_TOKEN_TOO_LARGE",
    ],
  ];

  it.each(table)("refuses %s, and changes nothing", async (_name, make, code) => {
    const token = await make();
    await expect(x.verify(token, REQUEST)).rejects.toMatchObject({ code });
    await genuineStillPasses();
  });

  it("never puts the token in a refusal's message", async () => {
    for (const [, make] of table) {
      const token = await make();
      if (token.length < 20) continue;
      const err = await x.verify(token, REQUEST).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const text = `${(err as Error).message} ${JSON.stringify(err)}`;
      for (const part of token.split(".")) if (part.length > 8) expect(text).not.toContain(part);
    }
  });

  it("refuses a replayed jti, and still accepts the same jti after a refusal for another reason", async () => {
    const token = await y.sign("domain-x", REQUEST);
    // Presented with the wrong request first: refused, and the jti is not spent by the refusal.
    await expect(x.verify(token, OTHER_REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_REQUEST_DIGEST" });
    await expect(x.verify(token, REQUEST)).resolves.toMatchObject({ domain: "domain-y" });
    await expect(x.verify(token, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_REPLAYED" });
    // Still refused within the tolerance after exp, never accepted again.
    clock = new Date(T0.getTime() + 80_000);
    await expect(x.verify(token, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_REPLAYED" });
    clock = new Date(T0.getTime() + 91_000);
    await expect(x.verify(token, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_EXPIRED" });
  });

  it("accepts clock skew within the tolerance, and no more", async () => {
    const ahead = forge(yKey, header(yKey), claims({ iat: sec() + 25, exp: sec() + 85 }));
    await expect(x.verify(ahead, REQUEST)).resolves.toMatchObject({ domain: "domain-y" });
    const tooFar = forge(yKey, header(yKey), claims({ iat: sec() + 35, exp: sec() + 95 }));
    await expect(x.verify(tooFar, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_CLAIM" });
    const longest = forge(yKey, header(yKey), claims({ exp: sec() + 300 }));
    await expect(x.verify(longest, REQUEST)).resolves.toMatchObject({ domain: "domain-y" });
    const longer = forge(yKey, header(yKey), claims({ exp: sec() + 301 }));
    await expect(x.verify(longer, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_LIFETIME" });
  });

  it("refuses a peer removed from the trust list at once, and keeps the others", async () => {
    const early = await y.sign("domain-x", REQUEST);
    x.setPeers([{ id: "domain-z", jwks: { keys: [zKey.publicJwk] } }]);
    await expect(x.verify(early, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_UNTRUSTED" });
    await expect(x.verify(await y.sign("domain-x", REQUEST), REQUEST)).rejects.toMatchObject({
      code: "ERR_PEER_UNTRUSTED",
    });
    expect(x.keyIds("domain-y")).toEqual([]);
    await expect(x.verify(await z.sign("domain-x", REQUEST), REQUEST)).resolves.toMatchObject({ domain: "domain-z" });
    await expect(x.sign("domain-y", REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_NOT_FOUND" });
  });

  it("refuses a call in flight when its peer is removed before the signature check ends, and remembers nothing", async () => {
    const token = await y.sign("domain-x", REQUEST);
    const inFlight = x.verify(token, REQUEST);
    x.setPeers([{ id: "domain-z", jwks: { keys: [zKey.publicJwk] } }]);
    await expect(inFlight).rejects.toMatchObject({ code: "ERR_PEER_UNTRUSTED" });
    // Trusted again: the token was never accepted, so it is not a replay.
    x.setPeers(options.peers);
    await expect(x.verify(token, REQUEST)).resolves.toMatchObject({ domain: "domain-y" });
  });

  it("rate-limits a flooding peer while another peer is unaffected, and forged tokens spend no budget", async () => {
    x = createFederationTrust({ ...options, rateLimit: { perSecond: 2, burst: 3 } });
    // Forgeries first: refused before the budget is touched.
    for (let i = 0; i < 10; i++) {
      await expect(x.verify(forge(wKey, header(yKey), claims()), REQUEST)).rejects.toMatchObject({
        code: "ERR_PEER_TOKEN_SIGNATURE",
      });
    }
    for (let i = 0; i < 3; i++) await x.verify(await y.sign("domain-x", REQUEST), REQUEST);
    const fourth = await y.sign("domain-x", REQUEST);
    await expect(x.verify(fourth, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_RATE_LIMITED" });
    await expect(x.verify(await z.sign("domain-x", REQUEST), REQUEST)).resolves.toMatchObject({ domain: "domain-z" });
    // Half a second refills one call; the refused token was not spent and passes now.
    clock = new Date(T0.getTime() + 500);
    await expect(x.verify(fourth, REQUEST)).resolves.toMatchObject({ domain: "domain-y" });
    await expect(x.verify(await y.sign("domain-x", REQUEST), REQUEST)).rejects.toMatchObject({
      code: "ERR_PEER_RATE_LIMITED",
    });
  });

  it("refuses new tokens when a peer's replay memory is full of live ones, rather than forgetting one", async () => {
    x = createFederationTrust({ ...options, replayCacheSize: 2 });
    const first = await y.sign("domain-x", REQUEST);
    await x.verify(first, REQUEST);
    await x.verify(await y.sign("domain-x", REQUEST), REQUEST);
    await expect(x.verify(await y.sign("domain-x", REQUEST), REQUEST)).rejects.toMatchObject({
      code: "ERR_PEER_RATE_LIMITED",
    });
    await expect(x.verify(first, REQUEST)).rejects.toMatchObject({ code: "ERR_PEER_TOKEN_REPLAYED" });
    // Another peer has its own memory.
    await x.verify(await z.sign("domain-x", REQUEST), REQUEST);
    // Once the first tokens can no longer be accepted, their room is free again.
    clock = new Date(T0.getTime() + 91_000);
    await x.verify(await y.sign("domain-x", REQUEST), REQUEST);
  });

  it("signs tokens with the header and claims the contract names", async () => {
    const token = await y.sign("domain-x", REQUEST);
    const [h, p] = token
      .split(".")
      .slice(0, 2)
      .map((s) => JSON.parse(Buffer.from(s, "base64url").toString()));
    expect(h).toEqual({ alg: "EdDSA", kid: yKey.kid, typ: "camino-fed+jwt" });
    expect(Object.keys(p).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "rdg"]);
    expect(p).toMatchObject({
      iss: "domain-y",
      aud: "domain-x",
      iat: sec(),
      exp: sec() + 60,
      rdg: requestDigest(REQUEST),
    });
    expect(() => createFederationTrust({ ...options, tokenTtlSeconds: 301 })).toThrow(TypeError);
  });

  describe("key announcements", () => {
    let yNext: TestKey;
    const announce = (signer: TestKey, keys: TestKey[], over: Record<string, unknown> = {}) =>
      signAnnouncement({ key: signer, issuer: "domain-y", issuedAt: sec(), keys: keys.map((k) => k.publicJwk) }).then(
        (a) =>
          Object.keys(over).length === 0
            ? a
            : forge(
                signer,
                { alg: signer.alg, kid: signer.kid, typ: "camino-keys+jws" },
                { iss: "domain-y", iat: sec(), keys: keys.map((k) => k.publicJwk), ...over },
              ),
      );
    const tick = (s: number) => (clock = new Date(clock.getTime() + s * 1000));

    beforeEach(async () => {
      yNext = await makeKey("ES256");
    });

    it("adopts a key announced under the current key, then retires the old one; the retired key then signs nothing", async () => {
      await expect(x.applyAnnouncement("domain-y", await announce(yKey, [yKey, yNext]))).resolves.toEqual({
        added: [yNext.kid],
        retired: [],
      });
      expect(x.keyIds("domain-y").sort()).toEqual([yKey.kid, yNext.kid].sort());
      tick(1);
      await expect(x.applyAnnouncement("domain-y", await announce(yNext, [yNext]))).resolves.toEqual({
        added: [],
        retired: [yKey.kid],
      });
      tick(1);
      // Signed by the retired key: refused, and nothing changes.
      await expect(x.applyAnnouncement("domain-y", await announce(yKey, [yKey, yNext]))).rejects.toMatchObject({
        code: "ERR_ANNOUNCEMENT_INVALID",
      });
      expect(x.keyIds("domain-y")).toEqual([yNext.kid]);
      await expect(x.verify(forge(yKey, header(yKey), claims()), REQUEST)).rejects.toMatchObject({
        code: "ERR_PEER_TOKEN_KEY_UNKNOWN",
      });
      await expect(x.verify(forge(yNext, header(yNext), claims()), REQUEST)).resolves.toMatchObject({
        keyId: yNext.kid,
      });
      // Another peer never gains domain-y's keys.
      expect(x.keyIds("domain-z")).toEqual([zKey.kid]);
      await expect(x.verify(forge(yNext, header(yNext), claims({ iss: "domain-z" })), REQUEST)).rejects.toMatchObject({
        code: "ERR_PEER_TOKEN_KEY_UNKNOWN",
      });
    });

    const refusals: [string, () => Promise<string>][] = [
      ["replaces keys instead of adding", () => announce(yKey, [yNext])],
      ["is signed by an unknown key", () => announce(yNext, [yKey, yNext])],
      ["is signed by another peer's key", () => announce(zKey, [yKey, zKey])],
      ["names another issuer", () => announce(yKey, [yKey, yNext], { iss: "domain-z" })],
      ["was issued in the future", () => announce(yKey, [yKey, yNext], { iat: sec() + 600 })],
      [
        "carries a private key",
        () => announce(yKey, [yKey], { keys: [yKey.publicJwk, { ...yNext.publicJwk, d: "AAAA" }] }),
      ],
      [
        "carries a jku header",
        async () =>
          forge(
            yKey,
            { alg: "EdDSA", kid: yKey.kid, typ: "camino-keys+jws", jku: "https://e/" },
            { iss: "domain-y", iat: sec(), keys: [yKey.publicJwk, yNext.publicJwk] },
          ),
      ],
      [
        "has a forged signature",
        async () => {
          const [h, p] = (await announce(yKey, [yKey, yNext])).split(".");
          return `${h}.${p}.${forge(wKey, {}, {}).split(".")[2]}`;
        },
      ],
    ];

    it.each(refusals)("refuses an announcement that %s, and keeps the peer's keys", async (_name, make) => {
      await expect(x.applyAnnouncement("domain-y", await make())).rejects.toMatchObject({
        code: "ERR_ANNOUNCEMENT_INVALID",
      });
      expect(x.keyIds("domain-y")).toEqual([yKey.kid]);
      await genuineStillPasses();
    });

    it("refuses an announcement that changes the key behind a kid it keeps", async () => {
      await x.applyAnnouncement("domain-y", await announce(yKey, [yKey, yNext]));
      tick(1);
      const swapped = { ...wKey.publicJwk, kid: yNext.kid };
      await expect(
        x.applyAnnouncement("domain-y", await announce(yKey, [yKey], { keys: [yKey.publicJwk, swapped] })),
      ).rejects.toMatchObject({ code: "ERR_ANNOUNCEMENT_INVALID", message: expect.stringMatching(/changes the key/) });
      await expect(x.verify(forge(wKey, header(wKey, { kid: yNext.kid }), claims()), REQUEST)).rejects.toMatchObject({
        code: "ERR_PEER_TOKEN_HEADER",
      });
      await expect(x.verify(forge(yNext, header(yNext), claims()), REQUEST)).resolves.toMatchObject({
        keyId: yNext.kid,
      });
    });

    it("refuses an announcement older than one applied, so a replayed old one cannot retire a key", async () => {
      const old = await announce(yKey, [yKey]);
      tick(5);
      await x.applyAnnouncement("domain-y", await announce(yKey, [yKey, yNext]));
      await expect(x.applyAnnouncement("domain-y", old)).rejects.toMatchObject({ code: "ERR_ANNOUNCEMENT_INVALID" });
      expect(x.keyIds("domain-y").sort()).toEqual([yKey.kid, yNext.kid].sort());
    });

    it("keeps announced keys across a reload that leaves a peer's configuration unchanged, and only then", async () => {
      await x.applyAnnouncement("domain-y", await announce(yKey, [yKey, yNext]));
      x.setPeers(options.peers);
      expect(x.keyIds("domain-y").sort()).toEqual([yKey.kid, yNext.kid].sort());
      // A JWKS URL now serving an unannounced key (same source): nothing changes.
      const rogue = await makeKey();
      x.setPeers([
        { id: "domain-y", jwks: { keys: [yKey.publicJwk, rogue.publicJwk] }, keySource: "url:https://y/jwks" },
        { id: "domain-z", jwks: { keys: [zKey.publicJwk] } },
      ]);
      expect(x.keyIds("domain-y").sort()).toEqual([yKey.kid, rogue.kid].sort()); // the source changed: config wins
      const unannounced = await makeKey();
      x.setPeers([
        { id: "domain-y", jwks: { keys: [yKey.publicJwk, unannounced.publicJwk] }, keySource: "url:https://y/jwks" },
        { id: "domain-z", jwks: { keys: [zKey.publicJwk] } },
      ]);
      expect(x.keyIds("domain-y").sort()).toEqual([yKey.kid, rogue.kid].sort());
      await expect(x.verify(forge(unannounced, header(unannounced), claims()), REQUEST)).rejects.toMatchObject({
        code: "ERR_PEER_TOKEN_KEY_UNKNOWN",
      });
      await expect(x.verify(forge(rogue, header(rogue), claims()), REQUEST)).resolves.toMatchObject({
        domain: "domain-y",
      });
      // The operator changes the configured keys: they replace what was held.
      x.setPeers([
        { id: "domain-y", jwks: { keys: [yNext.publicJwk] } },
        { id: "domain-z", jwks: { keys: [zKey.publicJwk] } },
      ]);
      expect(x.keyIds("domain-y")).toEqual([yNext.kid]);
    });

    it("refuses a trust list with a private key or a duplicate peer, and keeps the old list", () => {
      expect(() => x.setPeers([{ id: "domain-y", jwks: { keys: [{ ...yKey.publicJwk, d: "AAAA" }] } }])).toThrow(
        /private member d/,
      );
      expect(() => x.setPeers([options.peers[0]!, options.peers[0]!])).toThrow(TypeError);
      expect(x.keyIds("domain-y")).toEqual([yKey.kid]);
      expect(x.keyIds("domain-z")).toEqual([zKey.kid]);
    });

    it("publishes its own keys with an announcement a peer adopts, through a whole rotation with no call refused", async () => {
      // domain-y rotates; domain-x follows by announcement only. Every second a call flows from y to x.
      const yRing = ringOf(yKey);
      y = createFederationTrust({
        domainId: "domain-y",
        ownKeys: yRing,
        peers: [{ id: "domain-x", jwks: { keys: [xKey.publicJwk] } }],
        now,
      });
      const call = async () =>
        expect((await x.verify(await y.sign("domain-x", REQUEST), REQUEST)).domain).toBe("domain-y");
      const refresh = async () => x.applyAnnouncement("domain-y", (await y.ownKeys()).announcement);
      const steps: (() => void)[] = [
        () => yRing.set(yKey, [yKey, yNext]), // rotate: next key announced
        () => {},
        () => {},
        () => yRing.set(yNext, [yKey, yNext]), // after the overlap: the next key signs
        () => yRing.set(yNext, [yNext]), // the old key retires
      ];
      for (const step of steps) {
        step();
        for (let s = 0; s < 10; s++) {
          await call();
          if (s % 5 === 0) await refresh();
          tick(1);
        }
      }
      expect(x.keyIds("domain-y")).toEqual([yNext.kid]);
      const own = await y.ownKeys();
      expect(own.jwks.keys.map((k) => k.kid)).toEqual([yNext.kid]);
    });
  });
});
