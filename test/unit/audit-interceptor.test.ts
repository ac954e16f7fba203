/**
 * The audit interceptor in front of real authentication and error mapping, in the order routes.ts composes them
 * (audit outermost): what a caller did and what they got is recorded, refusals too, and no secret of the request,
 * the token or an error message reaches the files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { importJWK, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { RepositoryRole } from "../../gen/camino/v1/types_pb.js";
import { generateSigningKey, type SigningKey } from "../../agent/auth/keys.js";
import { createNorthboundVerifier } from "../../agent/auth/northbound-verifier.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { createAuditLog, type AuditLog } from "../../agent/audit/audit-log.js";
import { readAuditLog } from "../../agent/audit/audit-reader.js";
import type { AuditRecord } from "../../agent/audit/audit-record.js";
import { CaminoError } from "../../agent/errors.js";
import { createLogger } from "../../agent/log/logger.js";
import { authInterceptor } from "../../agent/rpc/auth-interceptor.js";
import {
  auditInterceptor,
  DOMAIN_MANAGER_AUDITED,
  FEDERATION_AUDITED,
  northboundCaller,
  peerCallerOf,
  type VerifiedPeer,
} from "../../agent/rpc/audit-interceptor.js";
import { errorMapInterceptor } from "../../agent/rpc/error-map.js";

const SECRET_CREDENTIALS = "ghp_credSECRET0123456789";
const SECRET_URL_PASSWORD = "urlPassSECRET987";
const SECRET_IN_MESSAGE = "msgSECRET555";

const root = mkdtempSync(join(tmpdir(), "camino-audit-rpc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = createLogger({ stream: { write: () => {} } });

let key: SigningKey;
beforeAll(async () => {
  const gen = await generateSigningKey();
  key = {
    kid: gen.kid,
    alg: gen.alg,
    privateKey: (await importJWK(gen.privateJwk, gen.alg)) as CryptoKey,
    publicJwk: gen.publicJwk,
  };
});

const token = (scopes: string[]) =>
  mintNorthboundToken({ key, issuer: "domain-x", audience: "domain-x", subject: "alice", scopes, ttlSeconds: 300 });

function northbound(log: AuditLog) {
  const verifier = createNorthboundVerifier({ domainId: "domain-x", jwks: { keys: [key.publicJwk] } });
  const transport = createRouterTransport((router) =>
    router.service(
      DomainManager,
      {
        submitIntent: () => ({ deploymentId: "d-1", revision: 1n, noOp: false }),
        listRepositories: () => ({ repositories: [] }),
        rotateKeys: () => ({ currentKeyId: "key-1", nextKeyId: "key-2" }),
        deleteRepository: () => ({}),
        registerRepository: () => {
          throw new CaminoError("ERR_REPOSITORY_AUTH", `the server refused credentials ${SECRET_IN_MESSAGE}`);
        },
      },
      {
        interceptors: [
          auditInterceptor({ log, caller: northboundCaller, methods: DOMAIN_MANAGER_AUDITED }),
          errorMapInterceptor(logger),
          authInterceptor(verifier),
        ],
      },
    ),
  );
  return createClient(DomainManager, transport);
}

const files = (dir: string) => readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8"));

describe("northbound audit", () => {
  it("records a write with its caller, method, target and outcome, and refusals with who was refused", async () => {
    const dir = join(root, "nb");
    const log = createAuditLog({ dir, logger });
    const client = northbound(log);
    const intent = { intent: { metadata: { name: "chain-a" } } };
    const writer = await token(["intents:write"]);
    const reader = await token(["intents:read"]);
    await client.submitIntent(intent, { headers: { authorization: `Bearer ${writer}` } });
    await expect(client.submitIntent(intent)).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(client.submitIntent(intent, { headers: { authorization: `Bearer ${reader}` } })).rejects.toMatchObject(
      { code: Code.PermissionDenied },
    );
    await expect(
      client.submitIntent(intent, { headers: { authorization: "Bearer not.a.token" } }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    // A read is not audited.
    await client.listRepositories({}, { headers: { authorization: `Bearer ${await token(["repos:admin"])}` } });
    await log.close();

    const { records } = await readAuditLog(dir);
    const alice = { kind: "user", subject: "alice", issuer: "domain-x" };
    const method = "camino.v1.DomainManager/SubmitIntent";
    expect(records.map(({ time: _t, durationMs: _d, ...r }) => r)).toEqual([
      { caller: alice, method, target: "chain-a", outcome: "ok" },
      {
        caller: { kind: "unknown" },
        method,
        target: "chain-a",
        outcome: "UNAUTHENTICATED",
        error: "ERR_TOKEN_MISSING",
      },
      { caller: alice, method, target: "chain-a", outcome: "PERMISSION_DENIED", error: "ERR_SCOPE_MISSING" },
      { caller: { kind: "unknown" }, method, target: "chain-a", outcome: "UNAUTHENTICATED", error: expect.any(String) },
    ]);
    for (const text of files(dir)) {
      // No token, nor a piece of one (record strings are cut at 256 characters): every JWT starts "eyJ".
      for (const t of [writer, reader]) for (const part of t.split(".")) expect(text).not.toContain(part.slice(0, 16));
      expect(text).not.toContain("eyJ");
      expect(text).not.toContain("not.a.token");
      expect(text).not.toMatch(/bearer/i);
    }
  });

  it("never writes a repository's credentials, the password in its URL, the token or the error message", async () => {
    const dir = join(root, "repo");
    const log = createAuditLog({ dir, logger });
    const client = northbound(log);
    const admin = await token(["repos:admin"]);
    const err = await client
      .registerRepository(
        {
          repository: {
            name: "private-blueprints",
            url: `https://bob:${SECRET_URL_PASSWORD}@git.example/blueprints.git`,
            role: RepositoryRole.BLUEPRINT,
            branch: "main",
          },
          credentials: SECRET_CREDENTIALS,
        },
        { headers: { authorization: `Bearer ${admin}` } },
      )
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    // The caller does get the message; the audit trail does not keep it.
    expect(err?.rawMessage).toContain(SECRET_IN_MESSAGE);
    await log.close();

    const { records } = await readAuditLog(dir);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      method: "camino.v1.DomainManager/RegisterRepository",
      target: "private-blueprints",
      outcome: "FAILED_PRECONDITION",
      error: "ERR_REPOSITORY_AUTH",
    });
    const all = files(dir).join("");
    for (const secret of [SECRET_CREDENTIALS, SECRET_URL_PASSWORD, SECRET_IN_MESSAGE, "git.example", "eyJ"]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe("northbound targets", () => {
  it("names the next key of RotateKeys, and the repository of DeleteRepository", async () => {
    const dir = join(root, "keys");
    const log = createAuditLog({ dir, logger });
    const client = northbound(log);
    const admin = { headers: { authorization: `Bearer ${await token(["keys:admin", "repos:admin"])}` } };
    await client.rotateKeys({ algorithm: "EdDSA" }, admin);
    await client.deleteRepository({ name: "old-blueprints" }, admin);
    // Refused before the key exists: no target to name.
    await expect(client.rotateKeys({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    await log.close();
    expect((await readAuditLog(dir)).records.map((r) => [r.method.split("/")[1], r.target, r.outcome])).toEqual([
      ["RotateKeys", "key-2", "ok"],
      ["DeleteRepository", "old-blueprints", "ok"],
      ["RotateKeys", "", "UNAUTHENTICATED"],
    ]);
  });
});

describe("audit placed inside the error map", () => {
  it("still records the status the caller gets for a domain error", async () => {
    const dir = join(root, "inner");
    const log = createAuditLog({ dir, logger });
    const verifier = createNorthboundVerifier({ domainId: "domain-x", jwks: { keys: [key.publicJwk] } });
    const transport = createRouterTransport((router) =>
      router.service(
        DomainManager,
        {},
        {
          interceptors: [
            errorMapInterceptor(logger),
            auditInterceptor({ log, caller: northboundCaller, methods: DOMAIN_MANAGER_AUDITED }),
            authInterceptor(verifier),
          ],
        },
      ),
    );
    const client = createClient(DomainManager, transport);
    await expect(client.deleteRepository({ name: "r" })).rejects.toMatchObject({ code: Code.Unauthenticated });
    await log.close();
    expect((await readAuditLog(dir)).records).toMatchObject([
      { target: "r", outcome: "UNAUTHENTICATED", error: "ERR_TOKEN_MISSING" },
    ]);
  });
});

describe("federation audit", () => {
  it("records every call with the verified peer, a stream when it ends, and unlisted methods too", async () => {
    const dir = join(root, "fed");
    const log = createAuditLog({ dir, logger });
    const peerKey = createContextKey<VerifiedPeer | undefined>(undefined);
    // Stands in for the federation verifier: a peer named in a header is "verified", none is refused.
    const verify: Interceptor = (next) => async (req) => {
      const domain = req.header.get("x-test-peer");
      if (!domain) throw new CaminoError("ERR_PEER_TOKEN_MISSING", "no token");
      req.contextValues.set(peerKey, { domain });
      return next(req);
    };
    const federationAudit = auditInterceptor({
      log,
      caller: peerCallerOf(peerKey),
      // Only two methods listed: `all` records the others with an empty target.
      methods: FEDERATION_AUDITED.slice(3, 5),
      all: true,
    });
    const transport = createRouterTransport((router) => {
      router.service(
        Health,
        { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) },
        {
          interceptors: [federationAudit],
        },
      );
      router.service(
        Federation,
        {
          getSegment: (req) => {
            throw new CaminoError("ERR_DEPLOYMENT_NOT_FOUND", `no segment ${req.segmentId}`);
          },
          async *watchSegment() {
            yield { segment: {} };
            yield { segment: {} };
          },
          getKeys: () => ({ jwks: "{}" }),
        },
        {
          interceptors: [federationAudit, errorMapInterceptor(logger), verify],
        },
      );
    });
    const client = createClient(Federation, transport);
    const asY = { headers: { "x-test-peer": "domain-y" } };
    const seen = [];
    for await (const m of client.watchSegment({ segmentId: "seg-1" }, asY)) seen.push(m);
    expect(seen).toHaveLength(2);
    await expect(client.getSegment({ segmentId: "seg-2" }, asY)).rejects.toMatchObject({ code: Code.NotFound });
    await client.getKeys({}, asY);
    await expect(client.getKeys({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    // The same interceptor on another service (health, in a list shared by all services) records nothing there.
    await createClient(Health, transport).check({});
    await log.close();

    const { records } = await readAuditLog(dir);
    const y = { kind: "peer", domain: "domain-y" };
    expect(records.map(({ time: _t, durationMs: _d, ...r }) => r)).toEqual([
      { caller: y, method: "camino.v1.Federation/WatchSegment", target: "", outcome: "ok" },
      {
        caller: y,
        method: "camino.v1.Federation/GetSegment",
        target: "",
        outcome: "NOT_FOUND",
        error: "ERR_DEPLOYMENT_NOT_FOUND",
      },
      { caller: y, method: "camino.v1.Federation/GetKeys", target: "", outcome: "ok" },
      {
        caller: { kind: "unknown" },
        method: "camino.v1.Federation/GetKeys",
        target: "",
        outcome: "UNAUTHENTICATED",
        error: "ERR_PEER_TOKEN_MISSING",
      },
    ]);
    expect((await readAuditLog(dir, { peer: "domain-y" })).records).toHaveLength(3);
  });

  it("names the segment of segment calls, and records a stream the client left as cancelled", async () => {
    const dir = join(root, "fed-all");
    const log = createAuditLog({ dir, logger });
    const peerKey = createContextKey<VerifiedPeer | undefined>({ domain: "domain-z" });
    const transport = createRouterTransport((router) =>
      router.service(
        Federation,
        {
          proposeSegment: (req) => ({ segmentId: req.segmentId }),
          async *watchSegment(_req, ctx) {
            yield { segment: {} };
            // A watch with nothing more to say waits until the call ends.
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          },
        },
        { interceptors: [auditInterceptor({ log, caller: peerCallerOf(peerKey), methods: FEDERATION_AUDITED })] },
      ),
    );
    const client = createClient(Federation, transport);
    await client.proposeSegment({ segmentId: "seg-9", intent: "chain" });
    // The client leaves the stream after its first message, while the handler waits for its next one.
    const leave = new AbortController();
    await expect(
      (async () => {
        for await (const _ of client.watchSegment({ segmentId: "seg-10" }, { signal: leave.signal })) leave.abort();
      })(),
    ).rejects.toMatchObject({ code: Code.Canceled });
    let records: AuditRecord[] = [];
    for (let i = 0; i < 100 && records.length < 2; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await log.flush();
      records = (await readAuditLog(dir)).records;
    }
    await log.close();
    expect(records.map((r) => [r.method.split("/")[1], r.target, r.caller, r.outcome])).toEqual([
      ["ProposeSegment", "seg-9", { kind: "peer", domain: "domain-z" }, "ok"],
      ["WatchSegment", "seg-10", { kind: "peer", domain: "domain-z" }, "CANCELLED"],
    ]);
  });
});
