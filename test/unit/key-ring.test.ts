/**
 * The domain key ring through a whole rotation, on a fake clock: the next key is published at once, signs after
 * the overlap, and the previous key leaves after its retirement time; the files on disk follow (read back by a
 * second, read-only ring and by plain file reads), and northbound tokens verify at every step.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKeyRing, nextKeyFile } from "../../agent/auth/key-ring.js";
import { generateSigningKey, writeKeyFiles } from "../../agent/auth/keys.js";
import { createNorthboundVerifier } from "../../agent/auth/northbound-verifier.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import type { PublicJwk } from "../../federation/trust.js";

const T0 = new Date("2026-12-02T12:00:00Z");

describe("loadKeyRing", () => {
  let dir: string;
  let keyFile: string;
  let clock: Date;
  const now = () => clock;
  const tick = (s: number) => (clock = new Date(clock.getTime() + s * 1000));
  let firstKid: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "camino-key-ring-"));
    keyFile = join(dir, "domain.jwk");
    const key = await generateSigningKey();
    firstKid = key.kid;
    await writeKeyFiles(key, { keyFile, jwksFile: join(dir, "domain.jwks.json") });
    clock = new Date(T0);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const kids = (jwks: { keys: { kid?: string }[] }) => jwks.keys.map((k) => k.kid);

  it("reads an existing single-key file as a ring of one key", async () => {
    const ring = await loadKeyRing({ keyFile, now });
    expect(ring.current().kid).toBe(firstKid);
    expect(kids(ring.published())).toEqual([firstKid]);
    expect(ring.rotation()).toBeUndefined();
    expect(existsSync(nextKeyFile(keyFile))).toBe(false);
  });

  it("announces the next key at once, signs with it after the overlap, retires the old one after that", async () => {
    const jwksFile = join(dir, "domain.jwks.json");
    const ring = await loadKeyRing({ keyFile, jwksFile, now, overlapSeconds: 900, retireAfterSeconds: 300 });
    const r = await ring.rotate("ES256");
    expect(r).toEqual({
      previousKeyId: firstKid,
      nextKeyId: expect.any(String),
      algorithm: "ES256",
      createdAt: T0,
      activatesAt: new Date(T0.getTime() + 900_000),
      retiresAt: new Date(T0.getTime() + 1_200_000),
    });
    const next = r.nextKeyId;
    // Announced: both published (the public JWKS file too, for peers that read it when they start).
    expect(kids(ring.published())).toEqual([firstKid, next]);
    expect(kids(JSON.parse(readFileSync(jwksFile, "utf8")))).toEqual([firstKid, next]);
    expect(ring.current().kid).toBe(firstKid);
    // The next key's file is private, and another process reading the files sees the same ring.
    expect(statSync(nextKeyFile(keyFile)).mode & 0o777).toBe(0o600);
    const reader = await loadKeyRing({ keyFile, now, readOnly: true });
    expect(kids(reader.published())).toEqual([firstKid, next]);
    // A second rotation while one is under way is refused, and changes nothing.
    await expect(ring.rotate()).rejects.toMatchObject({ code: "ERR_KEY_ROTATION_PENDING" });
    expect(kids(ring.published())).toEqual([firstKid, next]);

    tick(899);
    expect(ring.current().kid).toBe(firstKid);
    tick(1);
    expect(ring.current().kid).toBe(next);
    expect(ring.current().alg).toBe("ES256");
    expect(kids(ring.published())).toEqual([firstKid, next]);
    expect(reader.current().kid).toBe(next);

    tick(299);
    expect(kids(ring.published())).toEqual([firstKid, next]);
    tick(1);
    expect(kids(ring.published())).toEqual([next]);
    expect(ring.rotation()).toBeUndefined();
    // Durable: the next key replaces the key file, and the next file goes.
    expect(await reader.settle()).toBe(false); // read-only never writes
    expect(await ring.settle()).toBe(true);
    expect(JSON.parse(readFileSync(keyFile, "utf8")).kid).toBe(next);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(nextKeyFile(keyFile))).toBe(false);
    expect(JSON.parse(readFileSync(jwksFile, "utf8")).keys).toEqual([ring.current().publicJwk]);
    const reloaded = await loadKeyRing({ keyFile, now });
    expect(kids(reloaded.published())).toEqual([next]);
    // And the ring rotates again.
    const again = await ring.rotate();
    expect(again.previousKeyId).toBe(next);
  });

  it("finishes a rotation interrupted after the key file was replaced", async () => {
    const ring = await loadKeyRing({ keyFile, now, overlapSeconds: 0, retireAfterSeconds: 0 });
    const { nextKeyId } = await ring.rotate();
    // As if the process stopped between renaming the next key over the key file and removing the next file.
    const doc = JSON.parse(readFileSync(nextKeyFile(keyFile), "utf8"));
    writeFileSync(keyFile, JSON.stringify(doc.key));
    const reloaded = await loadKeyRing({ keyFile, now });
    expect(kids(reloaded.published())).toEqual([nextKeyId]);
    expect(existsSync(nextKeyFile(keyFile))).toBe(false);
  });

  it("refuses a damaged next key file, naming the file and never the key", async () => {
    writeFileSync(nextKeyFile(keyFile), JSON.stringify({ version: 1, key: { kty: "OKP", d: "c2VjcmV0" } }));
    const err = await loadKeyRing({ keyFile, now }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "ERR_KEY_UNREADABLE" });
    expect((err as Error).message).toContain(nextKeyFile(keyFile));
    expect((err as Error).message).not.toContain("c2VjcmV0");
  });

  it("keeps northbound tokens and peer calls verifying through the whole rotation", async () => {
    const ring = await loadKeyRing({ keyFile, now, overlapSeconds: 60, retireAfterSeconds: 30 });
    const verifier = createNorthboundVerifier({
      domainId: "domain-x",
      jwks: () => ring.published(),
      cacheSeconds: 3600,
      now,
    });
    // domain-y follows domain-x's keys by its announcements only.
    const yKey = await generateSigningKey();
    const xTrust = createFederationTrust({
      domainId: "domain-x",
      ownKeys: ring,
      peers: [{ id: "domain-y", jwks: { keys: [yKey.publicJwk as PublicJwk] } }],
      now,
    });
    const y = createFederationTrust({
      domainId: "domain-y",
      ownKeys: { current: () => ring.current(), published: () => ({ keys: [] }) }, // y only verifies here
      peers: [{ id: "domain-x", jwks: { keys: [ring.current().publicJwk as PublicJwk] } }],
      now,
    });
    const request = new TextEncoder().encode("hello");
    const mint = (ttlSeconds = 30) =>
      mintNorthboundToken({
        key: ring.current(),
        issuer: "domain-x",
        audience: "domain-x",
        subject: "ops",
        scopes: ["intents:read"],
        ttlSeconds,
        now: clock,
      });
    const longLived = await mint(3600);
    await verifier.verify(longLived); // remembered by the verifier's cache
    const usedKids = new Set<string>();
    await ring.rotate();
    for (let s = 0; s < 150; s += 5) {
      if (s % 15 === 0) await y.applyAnnouncement("domain-x", (await xTrust.ownKeys()).announcement);
      usedKids.add(ring.current().kid);
      await expect(verifier.verify(await mint())).resolves.toMatchObject({ subject: "ops" });
      await expect(y.verify(await xTrust.sign("domain-y", request), request)).resolves.toMatchObject({
        domain: "domain-x",
      });
      tick(5);
    }
    expect(usedKids.size).toBe(2);
    expect(y.keyIds("domain-x")).toEqual([ring.current().kid]);
    // The first key has retired: a token it signed, within its own lifetime and once remembered, verifies no more.
    await expect(verifier.verify(longLived)).rejects.toMatchObject({ code: "ERR_TOKEN_SIGNATURE" });
  });
});
