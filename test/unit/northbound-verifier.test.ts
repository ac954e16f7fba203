/** The verifier's cache of verified tokens never outlives a token: expiry is checked on every hit. */
import { beforeEach, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../agent/auth/keys.js";
import { createNorthboundVerifier } from "../../agent/auth/northbound-verifier.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { AuthenticationError } from "../../agent/errors.js";
import { KeyObject, sign as nodeSign } from "node:crypto";
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

  describe("hardening (issue 12: forged tokens that used to pass)", () => {
    const T0 = new Date("2026-12-02T12:00:00Z");
    const sec = Math.floor(T0.getTime() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    let privateKey: CryptoKey;
    let kid: string;
    let verify: (token: string) => Promise<unknown>;
    /** Signs with the domain's own key whatever header and claims the test gives: a key holder's forgery. */
    const forge = (header: Record<string, unknown>, claims: Record<string, unknown>) => {
      const input = `${b64({ alg: "EdDSA", kid, typ: "camino-nb+jwt", ...header })}.${b64({ iss: "d", aud: "d", sub: "s", scope: "intents:read", iat: sec, exp: sec + 60, ...claims })}`;
      return `${input}.${nodeSign(null, Buffer.from(input), KeyObject.from(privateKey)).toString("base64url")}`;
    };

    beforeEach(async () => {
      const gen = await generateSigningKey();
      kid = gen.kid;
      privateKey = (await importJWK(gen.privateJwk, gen.alg)) as CryptoKey;
      const verifier = createNorthboundVerifier({
        domainId: "d",
        jwks: { keys: [gen.publicJwk] },
        maxLifetimeSeconds: 3600,
        now: () => T0,
      });
      verify = (t) => verifier.verify(t);
    });

    it("accepts the plain forgery, so each refusal below is for its one difference", async () => {
      await expect(verify(forge({}, {}))).resolves.toMatchObject({ subject: "s" });
      await expect(verify(forge({}, { iat: sec + 25, exp: sec + 85 }))).resolves.toMatchObject({ subject: "s" });
    });

    it.each([
      ["iat 10 minutes in the future, no nbf", {}, { iat: sec + 600, exp: sec + 660 }, "ERR_TOKEN_CLAIM"],
      ["iat older than the longest lifetime", {}, { iat: sec - 7200, exp: sec + 60 }, "ERR_TOKEN_LIFETIME"],
      ["exp − iat over the longest lifetime", {}, { exp: sec + 3601 }, "ERR_TOKEN_LIFETIME"],
      ["no iat", {}, { iat: undefined }, "ERR_TOKEN_CLAIM"],
      ["a jku header", { jku: "https://evil.example/jwks.json" }, {}, "ERR_TOKEN_HEADER"],
      ["an x5u header", { x5u: "https://evil.example/c.pem" }, {}, "ERR_TOKEN_HEADER"],
      ["a jwk header", { jwk: { kty: "OKP" } }, {}, "ERR_TOKEN_HEADER"],
      ["a crit header", { crit: ["exp"] }, {}, "ERR_TOKEN_HEADER"],
      ["alg none", { alg: "none" }, {}, "ERR_TOKEN_ALG"],
      ["a federation token", { typ: "camino-fed+jwt" }, {}, "ERR_TOKEN_TYPE"],
      ["an oversized token", {}, { pad: "x".repeat(17 * 1024) }, "ERR_TOKEN_MALFORMED"],
    ])("refuses %s", async (_name, header, claims, code) => {
      await expect(verify(forge(header, claims))).rejects.toMatchObject({ code });
    });
  });
});
