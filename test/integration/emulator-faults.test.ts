/**
 * Faults of an emulated edge, seen from the outside as a real cluster's would be: an unavailable API
 * refuses connections (kubectl and client-node), a slow API answers late, and the admin endpoint sets them.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { kubectlFor } from "../helpers/kubectl.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ name: "edge-f", http: {}, admin: {}, nodes: [{ name: "node-1", cpu: "2", memory: "4Gi" }] });
});
afterAll(async () => {
  await emulator.close();
});

async function admin(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emulator.adminUrl}/faults`, { method: "PATCH", body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("faults", () => {
  it("makes the API refuse connections, and come back on the same address", async () => {
    const k = kubectlFor(emulator.httpUrl!);
    expect((await admin({ apiUnavailable: true })).body).toMatchObject({ apiUnavailable: true });
    const down = await k(["get", "nodes", "--request-timeout=5s"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("connection refused");
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "e", server: emulator.httpUrl!, skipTLSVerify: true }], users: [{ name: "u" }], contexts: [{ name: "c", cluster: "e", user: "u" }], currentContext: "c" });
    await expect(kc.makeApiClient(CoreV1Api).listNode()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await admin({ apiUnavailable: false });
    const up = await k(["get", "nodes", "-o", "name"]);
    expect(up).toMatchObject({ code: 0, stdout: "node/node-1\n" });
  });

  it("adds latency to every request, so a short client timeout expires", async () => {
    await admin({ apiLatencyMs: 1500 });
    const k = kubectlFor(emulator.httpUrl!);
    const slow = await k(["get", "nodes", "--request-timeout=500ms"]);
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(/Timeout|deadline exceeded|context deadline/i);
    await admin({ apiLatencyMs: 0 });
    expect((await k(["get", "nodes", "-o", "name", "--request-timeout=5s"])).code).toBe(0);
  });

  it("refuses an unknown node without changing anything, and a usage body that is not an object", async () => {
    expect(await admin({ nodesNotReady: ["node-1", "ghost"] })).toMatchObject({ status: 400, body: { error: 'nodesNotReady: no node "ghost"' } });
    expect(emulator.faults().nodesNotReady).toEqual([]);
    const res = await fetch(`${emulator.adminUrl}/usage`, { method: "PATCH", body: "null" });
    expect(res.status).toBe(400);
    expect((await fetch(`${emulator.adminUrl}/usage`)).status).toBe(200);
  });

  it("refuses a bad faults document, naming the field", async () => {
    expect(await admin({ apiLatencyMs: -1, bogus: 1 })).toMatchObject({ status: 400, body: { error: "bogus: unknown field; apiLatencyMs: must be a number of milliseconds between 0 and 600000" } });
  });
});
