/**
 * The federation interceptors on a real HTTP/2 server in process: a server stream is authorised when it opens
 * (an unsigned one never reaches its handler) and is closed with UNAUTHENTICATED when its token expires, so the
 * client must reopen it with a fresh token; the client interceptor signs streams as it signs unary calls.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { generateSigningKey } from "../../agent/auth/keys.js";
import { importJWK, type CryptoKey, type JWK } from "jose";
import { federationClientAuth, federationServerAuth } from "../../federation/call-auth.js";
import { errorMapInterceptor } from "../../agent/rpc/error-map.js";
import { createFederationTrust } from "../../federation/federation-trust.js";
import type { PeerTrust, PublicJwks } from "../../federation/trust.js";

let server: http2.Http2Server;
let url: string;
let opened = 0;
const sessions = new Set<http2.ServerHttp2Session>();
let caller: PeerTrust;
let stranger: PeerTrust;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function keys(kidAlg: { kid: string; privateJwk: JWK; publicJwk: JWK }) {
  const privateKey = (await importJWK(kidAlg.privateJwk, "EdDSA")) as CryptoKey;
  return {
    current: () => ({ kid: kidAlg.kid, alg: "EdDSA" as const, privateKey }),
    published: () => ({ keys: [kidAlg.publicJwk] }),
  };
}

beforeAll(async () => {
  const [x, y, s] = await Promise.all([generateSigningKey(), generateSigningKey(), generateSigningKey()]);
  const callee = createFederationTrust({
    domainId: "domain-x",
    ownKeys: await keys(x),
    peers: [{ id: "domain-y", jwks: { keys: [y.publicJwk] } as PublicJwks }],
  });
  // Tokens of two seconds: the stream below outlives its token.
  caller = createFederationTrust({
    domainId: "domain-y",
    ownKeys: await keys(y),
    peers: [{ id: "domain-x", jwks: { keys: [x.publicJwk] } as PublicJwks }],
    tokenTtlSeconds: 2,
  });
  stranger = createFederationTrust({
    domainId: "domain-s",
    ownKeys: await keys(s),
    peers: [{ id: "domain-x", jwks: { keys: [x.publicJwk] } as PublicJwks }],
  });
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(
        Federation,
        {
          async *watchSegment(req, ctx) {
            opened++;
            for (let i = 0; !ctx.signal.aborted; i++) {
              yield { segment: { id: `${req.segmentId}-${i}` } };
              await new Promise((r) => setTimeout(r, 100));
            }
          },
        },
        {
          interceptors: [
            errorMapInterceptor(silent as never),
            federationServerAuth({ trust: callee, allowed: () => new Set(["WatchSegment"]), logger: silent }),
          ],
        },
      ),
  });
  server = http2.createServer(handler);
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  const closed = new Promise<void>((r) => server.close(() => r()));
  for (const s of sessions) s.destroy();
  await closed;
});

describe("federation streams", () => {
  it("a stream opened without a valid token is refused before its handler runs", async () => {
    const before = opened;
    const client = createClient(
      Federation,
      createGrpcTransport({ baseUrl: url, interceptors: [federationClientAuth(stranger, "domain-x")] }),
    );
    const err = await (async () => {
      for await (const _ of client.watchSegment({ segmentId: "s1" })) {
        // Nothing must arrive.
      }
    })().catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
    expect(opened).toBe(before);
  });

  it("a stream is served while its token lives and closed with UNAUTHENTICATED when it expires", async () => {
    const client = createClient(
      Federation,
      createGrpcTransport({ baseUrl: url, interceptors: [federationClientAuth(caller, "domain-x")] }),
    );
    const started = Date.now();
    const received: string[] = [];
    const err = await (async () => {
      for await (const m of client.watchSegment({ segmentId: "s2" })) received.push(m.segment?.id ?? "");
    })().catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
    expect(ConnectError.from(err).rawMessage).toMatch(/expired; reopen/);
    expect(received.length).toBeGreaterThan(3);
    expect(received[0]).toBe("s2-0");
    // Closed at the token's expiry (2 s, whole seconds), not before it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // Reopened, with a fresh token, it is served again.
    const again = client.watchSegment({ segmentId: "s3" })[Symbol.asyncIterator]();
    expect((await again.next()).value?.segment?.id).toBe("s3-0");
    await again.return?.();
  });
});
