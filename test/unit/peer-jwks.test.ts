/**
 * readPeerJwks: a peer's JWKS URL is fetched over https trusting only the CA pinned for that peer, bounded in
 * time and size, and what it serves must be public EdDSA/ES256 keys. A real local https server serves it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../agent/auth/keys.js";
import { readPeerJwks } from "../../federation/peer-jwks.js";
import { makePki, type TestPki } from "../helpers/tls.js";

describe("readPeerJwks", () => {
  let dir: string;
  let pki: TestPki;
  let otherPki: TestPki;
  let server: Server;
  let base: string;
  let publicJwk: Record<string, unknown>;
  let privateJwk: Record<string, unknown>;
  /** Path → what the server answers; a path missing here is never answered (a stalled peer). */
  const routes = new Map<string, () => [number, string]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "camino-peer-jwks-"));
    const sub = (name: string) => {
      mkdirSync(join(dir, name));
      return join(dir, name);
    };
    pki = makePki(sub("a"));
    otherPki = makePki(sub("b"));
    const key = await generateSigningKey();
    publicJwk = key.publicJwk as Record<string, unknown>;
    privateJwk = key.privateJwk as Record<string, unknown>;
    routes.set("/jwks.json", () => [200, JSON.stringify({ keys: [publicJwk] })]);
    routes.set("/private.json", () => [200, JSON.stringify({ keys: [privateJwk] })]);
    routes.set("/hs256.json", () => [200, JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "h" }] })]);
    routes.set("/huge.json", () => [200, JSON.stringify({ keys: [publicJwk], pad: "x".repeat(200_000) })]);
    routes.set("/missing.json", () => [404, "not found"]);
    server = createServer(
      { cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile) },
      (req, res) => {
        const route = routes.get(req.url ?? "");
        if (!route) return; // never answered
        const [status, body] = route();
        res.writeHead(status, { "content-type": "application/json" }).end(body);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const signal = () => AbortSignal.timeout(10_000);

  it("fetches the keys over https with the peer's pinned CA", async () => {
    const jwks = await readPeerJwks({ jwksUrl: `${base}/jwks.json`, caPem: pki.ca }, signal());
    expect(jwks.keys.map((k) => k.kid)).toEqual([publicJwk["kid"]]);
  });

  it("refuses a server whose certificate another CA issued", async () => {
    await expect(readPeerJwks({ jwksUrl: `${base}/jwks.json`, caPem: otherPki.ca }, signal())).rejects.toMatchObject({
      code: "ERR_PEER_UNREACHABLE",
      message: expect.stringMatching(/could not be fetched/),
    });
  });

  it("refuses plain http, a missing CA, and several sources at once", async () => {
    const http = base.replace("https:", "http:");
    await expect(readPeerJwks({ jwksUrl: `${http}/jwks.json`, caPem: pki.ca }, signal())).rejects.toMatchObject({
      code: "ERR_PEER_KEYS_INVALID",
    });
    await expect(readPeerJwks({ jwksUrl: `${base}/jwks.json` }, signal())).rejects.toMatchObject({
      code: "ERR_PEER_KEYS_INVALID",
    });
    await expect(
      readPeerJwks({ jwks: { keys: [publicJwk] }, jwksUrl: `${base}/jwks.json`, caPem: pki.ca }, signal()),
    ).rejects.toMatchObject({ code: "ERR_PEER_KEYS_INVALID" });
  });

  it.each([
    ["a private key", "/private.json", "ERR_PEER_KEYS_INVALID", /private member d/],
    ["a symmetric key", "/hs256.json", "ERR_PEER_KEYS_INVALID", /private member k/],
    ["an oversized answer", "/huge.json", "ERR_PEER_UNREACHABLE", /more than/],
    ["an HTTP error", "/missing.json", "ERR_PEER_UNREACHABLE", /HTTP 404/],
  ])("refuses %s", async (_name, path, code, message) => {
    await expect(readPeerJwks({ jwksUrl: `${base}${path}`, caPem: pki.ca }, signal())).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
  });

  it("gives up on a peer that never answers within its bound", async () => {
    await expect(
      readPeerJwks({ jwksUrl: `${base}/stalls.json`, caPem: pki.ca, timeoutMs: 300 }, signal()),
    ).rejects.toMatchObject({ code: "ERR_PEER_UNREACHABLE", message: expect.stringMatching(/timed out/) });
  });

  it("reads a JWKS file and inline keys with the same checks", async () => {
    const file = join(dir, "peer.jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [publicJwk] }));
    expect((await readPeerJwks({ jwksFile: file }, signal())).keys).toHaveLength(1);
    await expect(readPeerJwks({ jwks: { keys: [privateJwk] } }, signal())).rejects.toMatchObject({
      code: "ERR_PEER_KEYS_INVALID",
    });
    await expect(readPeerJwks({ jwksFile: join(dir, "absent.json") }, signal())).rejects.toMatchObject({
      code: "ERR_PEER_KEYS_INVALID",
      message: expect.stringMatching(/ENOENT/),
    });
  });
});
