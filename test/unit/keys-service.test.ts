/**
 * RotateKeys behind real authentication and error mapping, over the real key ring in a temporary folder: it needs
 * keys:admin, answers the keys and times the ring wrote, refuses a second rotation with FAILED_PRECONDITION, and
 * `camino keys rotate` prints them through the CLI's own client against an HTTP/2 server on a free port.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { loadKeyRing, nextKeyFile, type KeyRing } from "../../agent/auth/key-ring.js";
import { generateSigningKey, writeKeyFiles } from "../../agent/auth/keys.js";
import { createNorthboundVerifier } from "../../agent/auth/northbound-verifier.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { main } from "../../agent/cli/camino.js";
import { createLogger } from "../../agent/log/logger.js";
import { authInterceptor } from "../../agent/rpc/auth-interceptor.js";
import { errorMapInterceptor } from "../../agent/rpc/error-map.js";
import { createKeysService } from "../../agent/rpc/keys-service.js";

const T0 = new Date("2026-12-02T12:00:00Z");
const logger = createLogger({ stream: { write: () => {} } });

describe("RotateKeys", () => {
  let dir: string;
  let keyFile: string;
  let ring: KeyRing;
  let routes: (router: ConnectRouter) => void;

  const token = (scopes: string[]) =>
    mintNorthboundToken({
      key: ring.current(),
      issuer: "domain-x",
      audience: "domain-x",
      subject: "ops",
      scopes,
      ttlSeconds: 300,
      now: T0,
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "camino-keys-rpc-"));
    keyFile = join(dir, "domain.jwk");
    await writeKeyFiles(await generateSigningKey(), { keyFile, jwksFile: join(dir, "domain.jwks.json") });
    ring = await loadKeyRing({ keyFile, overlapSeconds: 900, retireAfterSeconds: 300, now: () => T0 });
    const verifier = createNorthboundVerifier({ domainId: "domain-x", jwks: () => ring.published(), now: () => T0 });
    routes = (router) =>
      router.service(DomainManager, createKeysService({ keyRing: ring, logger }), {
        interceptors: [errorMapInterceptor(logger), authInterceptor(verifier)],
      });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("needs keys:admin, then announces the next key with its times, and refuses a second rotation", async () => {
    const client = createClient(DomainManager, createRouterTransport(routes));
    const first = ring.current().kid;
    const reader = await token(["catalogue:read", "repos:admin", "intents:write"]);
    await expect(
      client.rotateKeys({ algorithm: "ES256" }, { headers: { authorization: `Bearer ${reader}` } }),
    ).rejects.toMatchObject({ code: Code.PermissionDenied, rawMessage: "RotateKeys needs scope keys:admin" });
    expect(existsSync(nextKeyFile(keyFile))).toBe(false);

    const admin = { headers: { authorization: `Bearer ${await token(["keys:admin"])}` } };
    await expect(client.rotateKeys({ algorithm: "RS256" }, admin)).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    const r = await client.rotateKeys({ algorithm: "ES256" }, admin);
    expect(r.currentKeyId).toBe(first);
    expect(r.nextKeyId).not.toBe(first);
    expect(timestampDate(r.activatesAt!)).toEqual(new Date(T0.getTime() + 900_000));
    expect(timestampDate(r.retiresAt!)).toEqual(new Date(T0.getTime() + 1_200_000));
    expect(ring.published().keys.map((k) => k.kid)).toEqual([first, r.nextKeyId]);
    // A second rotation while the first is under way: refused, the ring unchanged.
    await expect(client.rotateKeys({}, admin)).rejects.toMatchObject({ code: Code.FailedPrecondition });
    expect(ring.published().keys.map((k) => k.kid)).toEqual([first, r.nextKeyId]);
  });

  it("is what `camino keys rotate` calls, printing the keys and times", async () => {
    const server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = {
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: (s: string) => err.push(s) },
        env: {},
      };
      const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const code = await main(["keys", "rotate", "--server", serverUrl, "--token", await token(["keys:admin"])], io);
      expect(err.join("")).toBe("");
      expect(code).toBe(0);
      const next = ring.rotation()!.nextKeyId;
      expect(out.join("")).toBe(
        `announced next key ${next} (EdDSA)\n` +
          `  key ${ring.current().kid} signs until 2026-12-02T12:15:00.000Z\n` +
          `  key ${next} signs from 2026-12-02T12:15:00.000Z\n` +
          `  key ${ring.current().kid} retires at 2026-12-02T12:20:00.000Z\n`,
      );
      // A second rotation: the CLI reports the refusal and fails.
      const again = await main(["keys", "rotate", "--server", serverUrl, "--token", await token(["keys:admin"])], io);
      expect(again).not.toBe(0);
      expect(err.join("")).toMatch(/rotation is under way/);
    } finally {
      server.close();
    }
  });
});
