/**
 * The attack table against a real agent's peer listener: every forged, stolen, replayed or malformed federation
 * token is refused with UNAUTHENTICATED (a trusted peer asking what its policy denies: PERMISSION_DENIED; a
 * flood: RESOURCE_EXHAUSTED for that peer only), each refusal logged with the peer and the reason and never the
 * token, and none of them changes anything: the valid token a refused call carried still works afterwards.
 * Tokens do not cross APIs: a northbound token is refused on the peer port and a federation token northbound.
 * Peers that are unreachable or present a certificate from the wrong CA are reported with the reason.
 */
import { readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { base64url, SignJWT, importJWK, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation, HelloRequestSchema, type HelloRequest } from "../../gen/camino/v1/federation_pb.js";
import { generateSigningKey, type GeneratedKey } from "../../agent/auth/keys.js";
import { requestDigest } from "../../federation/fed-token.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

let x: AgentProcess;
let y: AgentProcess;
let z: AgentProcess;
let stranger: GeneratedKey;
let strangerKey: CryptoKey;
let peerApi: Client<typeof Federation>;

const now = () => Math.floor(Date.now() / 1000);
const hello = (id = "domain-y"): HelloRequest => create(HelloRequestSchema, { caller: { id } });
const bytes = (m: HelloRequest) => toBinary(HelloRequestSchema, m);

interface Forge {
  key?: CryptoKey;
  header?: Record<string, unknown>;
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number | null;
  jti?: string | null;
  rdg?: string;
  request?: HelloRequest;
}

/** A federation token as domain-y would sign it for a Hello, with any part changed. */
async function forge(f: Forge = {}): Promise<string> {
  const iat = f.iat ?? now();
  const claims: Record<string, unknown> = {
    iss: f.iss ?? "domain-y",
    aud: f.aud ?? "domain-x",
    iat,
    rdg: f.rdg ?? requestDigest(bytes(f.request ?? hello())),
  };
  if (f.exp !== null) claims["exp"] = f.exp ?? iat + 60;
  if (f.jti !== null) claims["jti"] = f.jti ?? crypto.randomUUID();
  const header = f.header ?? { alg: y.key.alg, kid: y.key.kid, typ: "camino-fed+jwt" };
  // A crit header needs jose told that its parameter is understood, or it refuses to sign.
  const crit = Array.isArray(header["crit"]) ? { crit: Object.fromEntries(header["crit"].map((c) => [c, true])) } : {};
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(f.key ?? y.key.privateKey, crit);
}

async function helloWith(token: string | undefined, request: HelloRequest = hello()) {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return peerApi.hello(request, { headers, timeoutMs: 5000 });
}

async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(claims)}.`;
}

beforeAll(async () => {
  // x: a small rate limit, so a flood is cheap; y and z refresh rarely, so their own loops stay out of the way.
  [x, y, z] = await Promise.all([
    startAgentProcess({ domainId: "domain-x", federation: { rateLimit: { perSecond: 5, burst: 10 } } }),
    startAgentProcess({ domainId: "domain-y", federation: { refreshIntervalSeconds: 600 } }),
    startAgentProcess({ domainId: "domain-z", federation: { refreshIntervalSeconds: 600 } }),
  ]);
  await x.setPeers([y, z], (p) => (p.domainId === "domain-z" ? { allow: ["Hello", "GetKeys"] } : {}));
  stranger = await generateSigningKey();
  strangerKey = (await importJWK(stranger.privateJwk, stranger.alg)) as CryptoKey;
  const ca = readFileSync(x.federationFiles!.caFile, "utf8");
  peerApi = createClient(Federation, createGrpcTransport({ baseUrl: x.federationUrl!, nodeOptions: { ca } }));
  // x has read its peers' keys once its first round ran.
  const end = Date.now() + 15_000;
  while ((await codeOf(helloWith(await forge()))) !== "ok") {
    if (Date.now() > end) throw new Error("domain-x never accepted domain-y");
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([x, y, z].map((a) => a?.stop()));
});

describe("the attack table: each refused with UNAUTHENTICATED", () => {
  const cases: [string, () => Promise<string | undefined>, HelloRequest?][] = [
    ["no token", async () => undefined],
    ["garbage", async () => "not-a-jwt"],
    [
      "an untrusted issuer",
      () =>
        forge({
          iss: "domain-s",
          key: strangerKey,
          header: { alg: "EdDSA", kid: stranger.kid, typ: "camino-fed+jwt" },
        }),
    ],
    [
      "a trusted issuer signing with a key not its own",
      () => forge({ key: strangerKey, header: { alg: "EdDSA", kid: stranger.kid, typ: "camino-fed+jwt" } }),
    ],
    [
      "a trusted issuer signing with another peer's key",
      () => forge({ key: z.key.privateKey, header: { alg: z.key.alg, kid: z.key.kid, typ: "camino-fed+jwt" } }),
    ],
    ["expired", () => forge({ iat: now() - 400, exp: now() - 100 })],
    ["not yet valid (iat 10 minutes ahead)", () => forge({ iat: now() + 600 })],
    ["exp too far ahead (10 minutes of life)", () => forge({ exp: now() + 600 })],
    ["no exp", () => forge({ exp: null })],
    ["no jti", () => forge({ jti: null })],
    ["the wrong audience", () => forge({ aud: "domain-z" })],
    [
      "alg none",
      async () =>
        unsigned(
          { alg: "none", typ: "camino-fed+jwt" },
          {
            iss: "domain-y",
            aud: "domain-x",
            iat: now(),
            exp: now() + 60,
            jti: "n",
            rdg: requestDigest(bytes(hello())),
          },
        ),
    ],
    [
      "HS256 with the public key as the secret",
      async () =>
        new SignJWT({ rdg: requestDigest(bytes(hello())) })
          .setProtectedHeader({ alg: "HS256", kid: y.key.kid, typ: "camino-fed+jwt" })
          .setIssuer("domain-y")
          .setAudience("domain-x")
          .setIssuedAt()
          .setExpirationTime("1m")
          .setJti(crypto.randomUUID())
          .sign(new TextEncoder().encode(JSON.stringify(y.key.publicJwk))),
    ],
    ["the northbound typ", () => forge({ header: { alg: y.key.alg, kid: y.key.kid, typ: "camino-nb+jwt" } })],
    ["no typ", () => forge({ header: { alg: y.key.alg, kid: y.key.kid } })],
    ["an rdg taken from another request", () => forge({ request: hello("someone-else") })],
    ["an unknown kid", () => forge({ header: { alg: y.key.alg, kid: "not-a-key", typ: "camino-fed+jwt" } })],
    [
      "a jku header",
      () =>
        forge({ header: { alg: y.key.alg, kid: y.key.kid, typ: "camino-fed+jwt", jku: "https://evil.example/jwks" } }),
    ],
    [
      "an x5u header",
      () => forge({ header: { alg: y.key.alg, kid: y.key.kid, typ: "camino-fed+jwt", x5u: "https://evil.example/c" } }),
    ],
    [
      "a jwk header",
      () => forge({ header: { alg: y.key.alg, kid: y.key.kid, typ: "camino-fed+jwt", jwk: y.key.publicJwk } }),
    ],
    [
      "a crit header",
      () =>
        forge({ header: { alg: y.key.alg, kid: y.key.kid, typ: "camino-fed+jwt", crit: ["x-camino"], "x-camino": 1 } }),
    ],
    ["an oversized token (9 KiB)", async () => `${await forge()}${"A".repeat(9 * 1024)}`],
  ];
  for (const [name, token] of cases) {
    it(name, async () => {
      expect(await codeOf(helloWith(await token()))).toBe(Code.Unauthenticated);
    });
  }

  it("the domain's own northbound token on the peer port", async () => {
    expect(await codeOf(helloWith(await x.token(["catalogue:read"])))).toBe(Code.Unauthenticated);
  });

  it("a federation token on the northbound API", async () => {
    const nb = createClient(DomainManager, createGrpcTransport({ baseUrl: x.grpcUrl }));
    const token = await forge();
    const err = await nb.getDomainInfo({}, { headers: { authorization: `Bearer ${token}` } }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
  });

  it("a replayed jti", async () => {
    const token = await forge();
    expect(await codeOf(helloWith(token))).toBe("ok");
    expect(await codeOf(helloWith(token))).toBe(Code.Unauthenticated);
  });

  it("a request carrying a field this domain does not know, even correctly signed", async () => {
    const request = hello();
    request.$unknown = [{ no: 99, wireType: WireType.Varint, data: new Uint8Array([1]) }];
    const token = await forge({ rdg: requestDigest(toBinary(HelloRequestSchema, request)) });
    expect(await codeOf(helloWith(token, request))).toBe(Code.Unauthenticated);
  });
});

describe("refusals have no side effect", () => {
  it("a valid token refused with the wrong request is still accepted with its own", async () => {
    const token = await forge();
    expect(await codeOf(helloWith(token, hello("someone-else")))).toBe(Code.Unauthenticated);
    expect(await codeOf(helloWith(token))).toBe("ok");
  });

  it("every refusal is logged with the peer and the reason, and no log line holds a token", async () => {
    const token = await forge({ aud: "domain-z" });
    expect(await codeOf(helloWith(token))).toBe(Code.Unauthenticated);
    const end = Date.now() + 5000;
    const refusals = () => x.logs.filter((l) => l["msg"] === "federation call refused");
    while (!refusals().some((l) => l["code"] === "ERR_PEER_TOKEN_AUDIENCE") && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    const line = refusals().find((l) => l["code"] === "ERR_PEER_TOKEN_AUDIENCE");
    expect(line?.["peer"]).toBe("domain-y");
    expect(String(line?.["reason"])).toMatch(/not for this domain|audience/);
    const text = JSON.stringify(x.logs);
    expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toContain(token.split(".")[1]);
  });
});

/** A valid federation token from domain-z (a second trusted peer) for a request's bytes. */
const signAsZ = (request: Uint8Array) =>
  new SignJWT({ rdg: requestDigest(request) })
    .setProtectedHeader({ alg: z.key.alg, kid: z.key.kid, typ: "camino-fed+jwt" })
    .setIssuer("domain-z")
    .setAudience("domain-x")
    .setIssuedAt()
    .setExpirationTime("1m")
    .setJti(crypto.randomUUID())
    .sign(z.key.privateKey);

describe("policy and limits", () => {
  it("a trusted peer asking what its policy denies gets PERMISSION_DENIED", async () => {
    const request = create(HelloRequestSchema, {});
    expect(
      await codeOf(peerApi.hello(request, { headers: { authorization: `Bearer ${await signAsZ(bytes(request))}` } })),
    ).toBe("ok");
    const cat = await peerApi
      .getCatalogue({}, { headers: { authorization: `Bearer ${await signAsZ(new Uint8Array())}` } })
      .catch((e: unknown) => e);
    expect(ConnectError.from(cat).code).toBe(Code.PermissionDenied);
  });

  it("a flood from one peer is rate-limited (RESOURCE_EXHAUSTED) while another peer is unaffected", async () => {
    const tokens = await Promise.all(Array.from({ length: 40 }, () => forge()));
    const codes = await Promise.all(tokens.map((t) => codeOf(helloWith(t))));
    expect(codes.filter((c) => c === Code.ResourceExhausted).length).toBeGreaterThan(0);
    const request = create(HelloRequestSchema, {});
    const token = await signAsZ(bytes(request));
    expect(await codeOf(peerApi.hello(request, { headers: { authorization: `Bearer ${token}` } }))).toBe("ok");
  });
});
