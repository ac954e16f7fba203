/** An emulated edge's metrics endpoints: kube-state-metrics, cAdvisor (also through the API server's node proxy), and usage set through the admin endpoint. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    name: "edge-m",
    http: {},
    admin: {},
    metrics: {},
    nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }],
  });
  const started = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  emulator.store.put("/pods", {
    metadata: { name: "web-1", namespace: "default", uid: "p1", creationTimestamp: started, labels: { app: "web" } },
    spec: {
      nodeName: "node-1",
      containers: [{ name: "web", image: "nginx", resources: { requests: { cpu: "500m", memory: "256Mi" } } }],
    },
    status: {
      phase: "Running",
      startTime: started,
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "web", ready: true, restartCount: 0, state: { running: { startedAt: started } } }],
    },
  });
});
afterAll(async () => {
  await emulator.close();
});

const sample = (text: string, name: string, labels: string) => {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && labels.split(",").every((kv) => l.includes(kv)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
};

it("serves kube-state-metrics and cAdvisor, the latter also at the node proxy path", async () => {
  const ksm = await (await fetch(`${emulator.metricsUrl}/metrics`)).text();
  expect(sample(ksm, "kube_node_status_allocatable", 'node="node-1",resource="cpu"')).toBe(4);
  expect(sample(ksm, "kube_pod_container_resource_requests", 'pod="web-1",resource="memory"')).toBe(268435456);
  const viaApi = await fetch(`${emulator.httpUrl}/api/v1/nodes/node-1/proxy/metrics/cadvisor`);
  expect(viaApi.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  expect(sample(await viaApi.text(), "container_memory_working_set_bytes", 'pod="web-1"')).toBe(134217728);
});

it("changes a workload's usage through the admin endpoint, and refuses a bad document", async () => {
  const res = await fetch(`${emulator.adminUrl}/usage`, {
    method: "PATCH",
    body: JSON.stringify({ workloads: { "default/web-1": { memory: 0.9 } } }),
  });
  expect(await res.json()).toEqual({ fraction: 0.5, workloads: { "default/web-1": { memory: 0.9 } } });
  const cad = await (await fetch(`${emulator.metricsUrl}/metrics/cadvisor`)).text();
  expect(sample(cad, "container_memory_working_set_bytes", 'pod="web-1"')).toBe(Math.round(0.9 * 268435456));
  const bad = await fetch(`${emulator.adminUrl}/usage`, {
    method: "PATCH",
    body: JSON.stringify({ workloads: { web: { cpu: -1 } } }),
  });
  expect(bad.status).toBe(400);
});
