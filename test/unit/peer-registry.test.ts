/**
 * The peer registry against a peer served in process: keys change only by a signed announcement. A key the peer
 * serves in its JWKS without an announcement signed by a key already trusted is not accepted (a token it signs
 * is refused) and is logged once; an announced one is accepted. A peer that answers Hello as another domain
 * is not trusted; one speaking another federation API version is reported incompatible and not called further.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { importJWK, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Federation, HelloRequestSchema } from "../../gen/camino/v1/federation_pb.js";
import { DomainInfoSchema } from "../../gen/camino/v1/types_pb.js";
import { generateSigningKey, type GeneratedKey } from "../../agent/auth/keys.js";
import { signAnnouncement } from "../../federation/announcement.js";
import { requestDigest } from "../../federation/fed-token.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import { PeerRegistry } from "../../federation/peer-registry.js";
import type { PublicJwks } from "../../federation/trust.js";

let server: http2.Http2Server;
const sessions = new Set<http2.ServerHttp2Session>();
let url: string;
let current: GeneratedKey;
let extra: GeneratedKey;
let self: GeneratedKey;
/** What the served peer answers: its id in Hello, its JWKS, and the keys its announcement lists. */
const peer = { id: "domain-m", version: "camino.v1/1", served: [] as JWK[], announced: [] as JWK[] };
/** Calls the served peer answered, by method. */
const calls = { hello: 0, getKeys: 0, getCatalogue: 0 };
const warnings: Record<string, unknown>[] = [];
const logger = {
  debug() {},
  info() {},
  warn: (_m: string, f?: Record<string, unknown>) => warnings.push(f ?? {}),
  error() {},
};

const privateOf = async (k: GeneratedKey) => (await importJWK(k.privateJwk, k.alg)) as CryptoKey;

beforeAll(async () => {
  [current, extra, self] = await Promise.all([generateSigningKey(), generateSigningKey(), generateSigningKey()]);
  const currentKey = await privateOf(current);
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(Federation, {
        hello: () => {
          calls.hello++;
          return { callee: create(DomainInfoSchema, { id: peer.id, federationApiVersion: peer.version }) };
        },
        getKeys: async () => {
          calls.getKeys++;
          return {
            jwks: JSON.stringify({ keys: peer.served }),
            announcement: await signAnnouncement({
              key: { kid: current.kid, alg: current.alg, privateKey: currentKey },
              issuer: "domain-m",
              issuedAt: Math.floor(Date.now() / 1000),
              keys: peer.announced as never,
            }),
          };
        },
        getCatalogue: () => {
          calls.getCatalogue++;
          return { digest: "", entries: [] };
        },
      }),
  });
  server = http2.createServer(handler);
  server.on("session", (s) => sessions.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  const closed = new Promise<void>((r) => server.close(() => r()));
  for (const s of sessions) s.destroy();
  await closed;
});

async function registryFor() {
  const selfKey = await privateOf(self);
  const trust = createFederationTrust({
    domainId: "domain-x",
    ownKeys: {
      current: () => ({ kid: self.kid, alg: self.alg, privateKey: selfKey }),
      published: () => ({ keys: [self.publicJwk] }),
    },
    peers: [],
  });
  const registry = new PeerRegistry({
    trust,
    localInfo: async () => create(DomainInfoSchema, { id: "domain-x" }),
    refreshIntervalMs: 600_000,
    callTimeoutMs: 2000,
    logger,
  });
  registry.setPeers([
    {
      id: "domain-m",
      endpoint: url,
      ca: "",
      keySource: "inline",
      readKeys: async () => ({ keys: [current.publicJwk] }) as PublicJwks,
    },
  ]);
  return { trust, registry };
}

/** A token from domain-m signed by `key`, for `request`. */
async function tokenBy(key: GeneratedKey, request: Uint8Array): Promise<string> {
  return new SignJWT({ rdg: requestDigest(request) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "camino-fed+jwt" })
    .setIssuer("domain-m")
    .setAudience("domain-x")
    .setIssuedAt()
    .setExpirationTime("1m")
    .setJti(crypto.randomUUID())
    .sign(await privateOf(key));
}

describe("peer keys change only by signed announcement", () => {
  it("a key served without an announcement is not accepted, and is logged once", async () => {
    peer.id = "domain-m";
    peer.served = [current.publicJwk, extra.publicJwk];
    peer.announced = [current.publicJwk];
    const { trust, registry } = await registryFor();
    try {
      const status = await registry.refresh("domain-m");
      expect(status.healthy).toBe(true);
      expect(status.keyIds).toEqual([current.kid]);
      await registry.refresh("domain-m");
      const logged = warnings.filter((w) => w["keyId"] === extra.kid);
      expect(logged).toHaveLength(1);
      expect(logged[0]?.["peer"]).toBe("domain-m");
      const request = toBinary(HelloRequestSchema, create(HelloRequestSchema, {}));
      await expect(trust.verify(await tokenBy(extra, request), request)).rejects.toMatchObject({
        code: expect.stringMatching(/^ERR_PEER_TOKEN_/),
      });
      await expect(trust.verify(await tokenBy(current, request), request)).resolves.toMatchObject({
        domain: "domain-m",
      });
    } finally {
      await registry.close();
    }
  });

  it("the same key, announced by the current key, is accepted", async () => {
    peer.served = [current.publicJwk, extra.publicJwk];
    peer.announced = [current.publicJwk, extra.publicJwk];
    const { trust, registry } = await registryFor();
    try {
      const status = await registry.refresh("domain-m");
      expect([...status.keyIds].sort()).toEqual([current.kid, extra.kid].sort());
      const request = toBinary(HelloRequestSchema, create(HelloRequestSchema, {}));
      await expect(trust.verify(await tokenBy(extra, request), request)).resolves.toMatchObject({ domain: "domain-m" });
    } finally {
      await registry.close();
    }
  });

  it("an endpoint answering Hello as another domain is not trusted", async () => {
    peer.id = "domain-q";
    const { registry } = await registryFor();
    try {
      const status = await registry.refresh("domain-m");
      expect(status.healthy).toBe(false);
      expect(status.lastError).toMatch(/answered as domain "domain-q"/);
    } finally {
      await registry.close();
      peer.id = "domain-m";
    }
  });
});

describe("federation API versions", () => {
  it("a peer speaking another federation API is reported incompatible and called no further than Hello", async () => {
    peer.version = "camino.v2/1";
    const { registry } = await registryFor();
    try {
      const before = { ...calls };
      const status = await registry.refresh("domain-m");
      expect(status.compatible).toBe(false);
      expect(status.healthy).toBe(false);
      expect(status.reachable).toBe(true);
      expect(status.lastError).toMatch(/speaks federation API camino\.v2\/1; this agent speaks camino\.v1\/1/);
      expect(calls.hello).toBe(before.hello + 1);
      expect(calls.getKeys).toBe(before.getKeys);
      expect(calls.getCatalogue).toBe(before.getCatalogue);
    } finally {
      await registry.close();
      peer.version = "camino.v1/1";
    }
  });
});
