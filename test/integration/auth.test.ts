/**
 * Northbound authentication and authorisation against a real agent: every way a token can be wrong is
 * refused with UNAUTHENTICATED, a missing scope with PERMISSION_DENIED, and tokens of configured external
 * issuers (inline JWKS, and a JWKS URL served here) are accepted. Health stays open. Forged tokens that a key
 * holder could mint (iat in the future, jku/x5u headers) are refused, and an oversized authorization header gets a
 * status on both ports instead of leaving the client to its deadline.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { promisify } from "node:util";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DomainManager,
  GetDomainInfoRequestSchema,
  GetDomainInfoResponseSchema,
} from "../../gen/camino/v1/domain_manager_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { generateSigningKey, type GeneratedKey } from "../../agent/auth/keys.js";
import { importJWK, type CryptoKey } from "jose";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { grpcJsClient, grpcJsUnary } from "../helpers/grpc-js.js";

const now = () => Math.floor(Date.now() / 1000);
const execFileAsync = promisify(execFile);

interface TokenSpec {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  typ?: string | undefined;
  iss?: string;
  aud?: string;
  scope?: string;
  iat?: number;
  nbf?: number;
  exp?: number | undefined;
  /** Extra protected header members. */
  header?: Record<string, unknown>;
}

let agent: AgentProcess;
let portalKey: GeneratedKey;
let orchestratorKey: GeneratedKey;
let strangerKey: GeneratedKey;
let jwksServer: Server;

async function sign(spec: TokenSpec): Promise<string> {
  const key = spec.key ?? agent.key.privateKey;
  const header: Record<string, unknown> = { alg: spec.alg ?? agent.key.alg, kid: spec.kid ?? agent.key.kid };
  if (spec.typ !== undefined) header["typ"] = spec.typ;
  Object.assign(header, spec.header);
  const jwt = new SignJWT({ scope: spec.scope ?? "intents:write catalogue:read" })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(spec.iss ?? "domain-x")
    .setAudience(spec.aud ?? "domain-x")
    .setSubject("test")
    .setIssuedAt(spec.iat ?? now())
    .setJti(crypto.randomUUID());
  if (spec.nbf !== undefined) jwt.setNotBefore(spec.nbf);
  if (spec.exp !== undefined) jwt.setExpirationTime(spec.exp);
  return jwt.sign(key);
}

const good = (extra: TokenSpec = {}) => sign({ typ: "camino-nb+jwt", exp: now() + 600, ...extra });

function client() {
  return createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
}

let lastReason: string | null = null;

/** Calls GetDomainInfo; returns "OK" or the status code, and keeps the agent's reason (camino-error-code). */
async function callWith(authorization: string | undefined): Promise<Code | "OK"> {
  lastReason = null;
  try {
    await client().getDomainInfo({}, authorization === undefined ? {} : { headers: { authorization } });
    return "OK";
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    // Whatever the reason, a refusal never echoes the credential back.
    if (authorization) expect(err.message).not.toContain(authorization.replace(/^Bearer /, ""));
    lastReason = err.metadata.get("camino-error-code");
    return err.code;
  }
}

beforeAll(async () => {
  portalKey = await generateSigningKey("ES256");
  orchestratorKey = await generateSigningKey("EdDSA");
  strangerKey = await generateSigningKey("EdDSA");
  jwksServer = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json")
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ keys: [orchestratorKey.publicJwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
  const port = (jwksServer.address() as AddressInfo).port;
  agent = await startAgentProcess({
    auth: {
      externalIssuers: [
        { issuer: "https://portal.example", jwks: { keys: [portalKey.publicJwk] } },
        {
          issuer: "orchestrator",
          jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
          audience: "camino-domains",
        },
      ],
    },
  });
});

afterAll(async () => {
  await agent?.stop();
  await new Promise((r) => jwksServer.close(r));
});

describe("northbound tokens", () => {
  it("accepts a token minted by `camino token` for this domain", async () => {
    expect(await callWith(`Bearer ${await agent.token(["catalogue:read"])}`)).toBe("OK");
  });

  const refused: [string, string, () => Promise<string | undefined>][] = [
    ["no authorization header", "ERR_TOKEN_MISSING", async () => undefined],
    ["a Basic header", "ERR_TOKEN_MALFORMED", async () => "Basic dXNlcjpwYXNz"],
    ["a token that is not a JWT", "ERR_TOKEN_MALFORMED", async () => "Bearer not-a-jwt"],
    [
      "a bad signature (a stranger's key under this domain's kid)",
      "ERR_TOKEN_SIGNATURE",
      async () => `Bearer ${await good({ key: (await importJWK(strangerKey.privateJwk, "EdDSA")) as CryptoKey })}`,
    ],
    [
      "a tampered payload",
      "ERR_TOKEN_SIGNATURE",
      async () => {
        const [h, , s] = (await good()).split(".");
        const payload = base64url.encode(
          JSON.stringify({ iss: "domain-x", aud: "domain-x", scope: "repos:admin", iat: now(), exp: now() + 600 }),
        );
        return `Bearer ${h}.${payload}.${s}`;
      },
    ],
    [
      "an expired token",
      "ERR_TOKEN_EXPIRED",
      async () => `Bearer ${await good({ iat: now() - 7200, exp: now() - 3600 })}`,
    ],
    [
      "a token not yet valid",
      "ERR_TOKEN_CLAIM",
      async () => `Bearer ${await good({ nbf: now() + 3600, exp: now() + 7200 })}`,
    ],
    [
      "a token without exp",
      "ERR_TOKEN_CLAIM",
      async () => `Bearer ${await sign({ typ: "camino-nb+jwt", exp: undefined })}`,
    ],
    ["a token for another audience", "ERR_TOKEN_AUDIENCE", async () => `Bearer ${await good({ aud: "domain-y" })}`],
    ["a token of the wrong typ", "ERR_TOKEN_TYPE", async () => `Bearer ${await good({ typ: "JWT" })}`],
    ["a token without typ", "ERR_TOKEN_TYPE", async () => `Bearer ${await sign({ exp: now() + 600 })}`],
    [
      "a federation token (camino-fed+jwt)",
      "ERR_TOKEN_TYPE",
      async () => `Bearer ${await good({ typ: "camino-fed+jwt" })}`,
    ],
    [
      "an unsigned token (alg: none)",
      "ERR_TOKEN_ALG",
      async () => {
        const enc = (o: object) => base64url.encode(JSON.stringify(o));
        return `Bearer ${enc({ alg: "none", typ: "camino-nb+jwt" })}.${enc({ iss: "domain-x", aud: "domain-x", scope: "intents:write catalogue:read", iat: now(), exp: now() + 600 })}.`;
      },
    ],
    [
      "an HS256 token keyed with the domain's public key (algorithm confusion)",
      "ERR_TOKEN_ALG",
      async () =>
        `Bearer ${await new SignJWT({ scope: "catalogue:read" })
          .setProtectedHeader({ alg: "HS256", typ: "camino-nb+jwt", kid: agent.key.kid })
          .setIssuer("domain-x")
          .setAudience("domain-x")
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(new TextEncoder().encode(JSON.stringify(agent.key.publicJwk)))}`,
    ],
    [
      "an untrusted issuer",
      "ERR_TOKEN_ISSUER",
      async () =>
        `Bearer ${await good({ iss: "https://evil.example", key: (await importJWK(strangerKey.privateJwk, "EdDSA")) as CryptoKey, kid: strangerKey.kid })}`,
    ],
    [
      "a trusted external issuer's name on a stranger's key",
      "ERR_TOKEN_SIGNATURE",
      async () =>
        `Bearer ${await good({ iss: "https://portal.example", key: (await importJWK(strangerKey.privateJwk, "EdDSA")) as CryptoKey, kid: strangerKey.kid, alg: "EdDSA" })}`,
    ],
    [
      "a lifetime longer than the domain allows",
      "ERR_TOKEN_LIFETIME",
      async () => `Bearer ${await good({ exp: now() + 3 * 86_400 })}`,
    ],
    // Issue 12: forged with the domain's own key, these used to be accepted.
    [
      "a token issued 10 minutes in the future, without nbf",
      "ERR_TOKEN_CLAIM",
      async () => `Bearer ${await good({ iat: now() + 600, exp: now() + 1200 })}`,
    ],
    [
      "a correctly signed token carrying a jku header",
      "ERR_TOKEN_HEADER",
      async () => `Bearer ${await good({ header: { jku: "https://evil.example/jwks.json" } })}`,
    ],
    [
      "a correctly signed token carrying an x5u header",
      "ERR_TOKEN_HEADER",
      async () => `Bearer ${await good({ header: { x5u: "https://evil.example/cert.pem" } })}`,
    ],
  ];

  it.each(refused)("refuses %s with UNAUTHENTICATED (%s)", async (_, reason, make) => {
    expect(await callWith(await make())).toBe(Code.Unauthenticated);
    expect(lastReason).toBe(reason);
  });

  it("refuses a valid token without the method's scope with PERMISSION_DENIED, naming the scope", async () => {
    const token = await agent.token(["intents:read"]);
    const err = await client()
      .planIntent({}, { headers: { authorization: `Bearer ${token}` } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.PermissionDenied);
    expect((err as ConnectError).rawMessage).toBe("PlanIntent needs scope intents:write");
  });

  it("accepts tokens of an external issuer given by inline JWKS", async () => {
    const key = (await importJWK(portalKey.privateJwk, "ES256")) as CryptoKey;
    expect(
      await callWith(`Bearer ${await good({ iss: "https://portal.example", key, kid: portalKey.kid, alg: "ES256" })}`),
    ).toBe("OK");
  });

  it("accepts tokens of an external issuer given by a JWKS URL, with its own audience", async () => {
    const key = (await importJWK(orchestratorKey.privateJwk, "EdDSA")) as CryptoKey;
    expect(
      await callWith(
        `Bearer ${await good({ iss: "orchestrator", aud: "camino-domains", key, kid: orchestratorKey.kid, alg: "EdDSA" })}`,
      ),
    ).toBe("OK");
    // …and only with its audience.
    expect(
      await callWith(
        `Bearer ${await good({ iss: "orchestrator", aud: "domain-x", key, kid: orchestratorKey.kid, alg: "EdDSA" })}`,
      ),
    ).toBe(Code.Unauthenticated);
  });

  it("keeps health open to callers without a token", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: agent.grpcUrl }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("never writes a token into its logs", async () => {
    const token = await agent.token(["intents:write"]);
    await callWith(`Bearer ${token}`);
    await callWith(`Bearer ${token}x`);
    const text = JSON.stringify(agent.logs);
    expect(text).not.toContain(token.split(".")[2]);
  });
});

describe("oversized authorization headers", () => {
  const huge = `Bearer ${"a".repeat(70 * 1024)}`;

  it("are answered on the HTTP/2 port by a gRPC C-core client (Python) with a status, not left to its deadline", async () => {
    // C core sends the value without Huffman coding, so nghttp2 meets a 70 KB header field: a connection error.
    const script = [
      "import grpc, sys",
      "ch = grpc.insecure_channel(sys.argv[1])",
      "try:",
      "    ch.unary_unary('/camino.v1.DomainManager/GetDomainInfo')(b'', metadata=[('authorization', sys.argv[2])], timeout=30)",
      "    print('OK')",
      "except grpc.RpcError as e:",
      "    print(e.code().name)",
    ].join("\n");
    const { stdout } = await execFileAsync("/usr/bin/python3", ["-c", script, agent.grpcTarget, huge], {
      timeout: 60_000,
      maxBuffer: 1 << 20,
    });
    expect(stdout.trim()).toBe("UNAVAILABLE");
  });

  it("are refused by the token check for a client whose encoding fits (grpc-js)", async () => {
    const client = grpcJsClient(agent.grpcTarget);
    try {
      const err = await grpcJsUnary(
        client,
        "/camino.v1.DomainManager/GetDomainInfo",
        GetDomainInfoRequestSchema,
        GetDomainInfoResponseSchema,
        {},
        { authorization: huge },
      ).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: grpcStatus.UNAUTHENTICATED });
    } finally {
      client.close();
    }
  });

  it("are answered 431 on the HTTP/1.1 port", async () => {
    const res = await fetch(`${agent.httpUrl}/camino.v1.DomainManager/GetDomainInfo`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: huge },
      body: "{}",
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.status).toBe(431);
  });
});
