/**
 * Faults of an emulated edge, seen from the outside as a real cluster's would be: an unavailable API
 * refuses connections (kubectl and client-node), a slow API answers late, a workload named unavailable never
 * becomes available, and the admin endpoint sets them.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { kubectlFor } from "../helpers/kubectl.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    name: "edge-f",
    http: {},
    admin: {},
    nodes: [{ name: "node-1", cpu: "2", memory: "4Gi" }],
  });
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
    kc.loadFromOptions({
      clusters: [{ name: "e", server: emulator.httpUrl!, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "c", cluster: "e", user: "u" }],
      currentContext: "c",
    });
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
    expect(await admin({ nodesNotReady: ["node-1", "ghost"] })).toMatchObject({
      status: 400,
      body: { error: 'nodesNotReady: no node "ghost"' },
    });
    expect(emulator.faults().nodesNotReady).toEqual([]);
    const res = await fetch(`${emulator.adminUrl}/usage`, { method: "PATCH", body: "null" });
    expect(res.status).toBe(400);
    expect((await fetch(`${emulator.adminUrl}/usage`)).status).toBe(200);
  });

  it("keeps a workload named by `unavailable` from ever becoming available: its pods run but are never Ready", async () => {
    const k = kubectlFor(emulator.httpUrl!);
    expect((await admin({ unavailable: ["default/stuck"] })).body).toMatchObject({ unavailable: ["default/stuck"] });
    const manifest = (name: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec: {containers: [{name: main, image: nginx}]}\n`;
    expect((await k(["apply", "-f", k.file(`${manifest("stuck")}---\n${manifest("fine")}`)])).code).toBe(0);
    // Reconciling is synchronous in-process: by now both Deployments' pods exist and run; only one is available.
    const pods = JSON.parse((await k(["get", "pods", "-l", "app=stuck", "-o", "json"])).stdout) as {
      items: { status: { phase: string; conditions: { type: string; status: string }[] } }[];
    };
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.status.phase).toBe("Running");
      expect(p.status.conditions.find((c) => c.type === "Ready")?.status).toBe("False");
    }
    const status = async (name: string) =>
      (
        JSON.parse((await k(["get", "deployment", name, "-o", "json"])).stdout) as {
          status: { availableReplicas?: number };
        }
      ).status;
    expect((await status("stuck")).availableReplicas).toBeUndefined();
    expect((await status("fine")).availableReplicas).toBe(2);
    // A ready workload named later loses its readiness; lifting the fault makes both available.
    await admin({ unavailable: ["default/stuck", "default/fine"] });
    expect((await status("fine")).availableReplicas).toBeUndefined();
    await admin({ unavailable: [] });
    expect((await status("stuck")).availableReplicas).toBe(2);
    expect((await status("fine")).availableReplicas).toBe(2);
    expect(await admin({ unavailable: ["stuck"] })).toMatchObject({
      status: 400,
      body: { error: 'unavailable: "stuck" is not "namespace/name"' },
    });
    expect((await k(["delete", "deployment", "stuck", "fine"])).code).toBe(0);
  });

  it("refuses a bad faults document, naming the field", async () => {
    expect(await admin({ apiLatencyMs: -1, bogus: 1 })).toMatchObject({
      status: 400,
      body: { error: "bogus: unknown field; apiLatencyMs: must be a number of milliseconds between 0 and 600000" },
    });
  });
});
