/** The verifier's cache of verified tokens never outlives a token: expiry is checked on every hit. */
import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../agent/auth/keys.js";
import { createNorthboundVerifier } from "../../agent/auth/northbound-verifier.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { AuthenticationError } from "../../agent/errors.js";
import { importJWK, type CryptoKey } from "jose";

describe("createNorthboundVerifier", () => {
  it("refuses a cached token once it expires, and keeps scopes from the token", async () => {
    const gen = await generateSigningKey();
    const key = {
      kid: gen.kid,
      alg: gen.alg,
      privateKey: (await importJWK(gen.privateJwk, gen.alg)) as CryptoKey,
      publicJwk: gen.publicJwk,
    };
    let clock = new Date("2026-11-24T10:00:00Z");
    const verifier = createNorthboundVerifier({
      domainId: "d",
      jwks: { keys: [gen.publicJwk] },
      clockToleranceSeconds: 0,
      now: () => clock,
    });
    const token = await mintNorthboundToken({
      key,
      issuer: "d",
      audience: "d",
      subject: "s",
      scopes: ["intents:read"],
      ttlSeconds: 30,
      now: clock,
    });
    const first = await verifier.verify(token);
    expect([...first.scopes]).toEqual(["intents:read"]);
    clock = new Date(clock.getTime() + 10_000);
    expect(await verifier.verify(token)).toBe(first);
    clock = new Date(clock.getTime() + 25_000);
    await expect(verifier.verify(token)).rejects.toThrow(AuthenticationError);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "ERR_TOKEN_EXPIRED" });
  });
});
