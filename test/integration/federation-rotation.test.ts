/**
 * Key rotation between two running domains while their calls keep flowing: `camino keys rotate` on domain-y
 * announces the next key at once (domain-x learns it from y's signed announcement, not from any file), y signs
 * with it after the overlap, and no call is refused on either side at any moment. Every federation call is in
 * the audit trail with the peer as its caller.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import type { Peer } from "../../gen/camino/v1/types_pb.js";
import { loadKeyRing } from "../../agent/auth/key-ring.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const run = promisify(execFile);
let x: AgentProcess;
let y: AgentProcess;

async function peerOf(agent: AgentProcess, id: string): Promise<Peer | undefined> {
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const headers = { authorization: `Bearer ${await agent.token(["catalogue:read"])}` };
  return (await client.listPeers({}, { headers, timeoutMs: 5000 })).peers.find((p) => p.id === id);
}

const refusals = (a: AgentProcess) => a.logs.filter((l) => l["msg"] === "federation call refused").length;
const failures = (a: AgentProcess) => a.logs.filter((l) => l["msg"] === "peer call failed").length;

beforeAll(async () => {
  const federation = { refreshIntervalSeconds: 1, keyOverlapSeconds: 3 };
  [x, y] = await Promise.all([
    startAgentProcess({ domainId: "domain-x", federation }),
    startAgentProcess({ domainId: "domain-y", federation }),
  ]);
  await Promise.all([x.setPeers([y]), y.setPeers([x])]);
  const end = Date.now() + 20_000;
  while (!((await peerOf(x, "domain-y"))?.reachable && (await peerOf(y, "domain-x"))?.reachable)) {
    if (Date.now() > end) throw new Error("the two domains never saw each other");
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([x, y].map((a) => a?.stop()));
});

describe("key rotation without downtime", () => {
  it("the next key is announced, learned by the peer, used after the overlap, and no call fails meanwhile", async () => {
    const refusedBefore = refusals(x) + refusals(y);
    const failedBefore = failures(x) + failures(y);
    const oldKid = y.key.kid;
    const token = await y.token(["keys:admin"]);
    const { stdout } = await run(process.execPath, [CAMINO, "keys", "rotate", "--server", y.grpcUrl, "-o", "json"], {
      env: { ...process.env, CAMINO_TOKEN: token },
    });
    const rotation = JSON.parse(stdout) as { nextKeyId: string; currentKeyId: string; activatesAt: string };
    expect(rotation.currentKeyId).toBe(oldKid);
    expect(rotation.nextKeyId).not.toBe(oldKid);

    // x learns the next key from y's signed announcement, and keeps accepting y all along.
    const seen: Peer[] = [];
    const activation = Date.parse(rotation.activatesAt);
    const end = activation + 20_000;
    for (;;) {
      const p = (await peerOf(x, "domain-y")) as Peer;
      seen.push(p);
      const afterActivation = p.lastSeen && Number(p.lastSeen.seconds) * 1000 > activation + 1500;
      if (afterActivation && p.keyIds.includes(rotation.nextKeyId)) break;
      if (Date.now() > end) throw new Error(`x never saw y's rotation through: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.some((p) => p.keyIds.includes(oldKid) && p.keyIds.includes(rotation.nextKeyId))).toBe(true);
    // y signs with the next key now, and it is the key its ring reads back from disk.
    const ring = await loadKeyRing({ keyFile: `${y.dir}/keys/signing-key.jwk`, readOnly: true });
    expect(ring.current().kid).toBe(rotation.nextKeyId);
    // Not one call refused or failed on either side, from the rotation to now.
    expect(refusals(x) + refusals(y)).toBe(refusedBefore);
    expect(failures(x) + failures(y)).toBe(failedBefore);
    expect((await peerOf(y, "domain-x"))?.lastError).toBe("");
  });

  it("every federation call is in the audit trail with the peer as its caller", async () => {
    const { stdout } = await run(
      process.execPath,
      [CAMINO, "audit", "--config", x.configFile, "--peer", "domain-y", "--since", "10m", "-o", "json"],
      { env: process.env },
    );
    const records = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { caller: { kind: string; domain: string }; method: string; outcome: string });
    const hellos = records.filter((r) => r.method === "camino.v1.Federation/Hello");
    expect(hellos.length).toBeGreaterThan(2);
    expect(hellos.every((r) => r.caller.kind === "peer" && r.caller.domain === "domain-y" && r.outcome === "ok")).toBe(
      true,
    );
    expect(records.some((r) => r.method === "camino.v1.Federation/GetKeys")).toBe(true);
  });
});
