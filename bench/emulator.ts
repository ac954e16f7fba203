/**
 * Edge emulator benchmarks:
 *  - server-side apply dry run of a 3-object package (ConfigMap, Service, Deployment) from
 *    @kubernetes/client-node — the agent's admission path — against an emulator process over HTTPS, beside
 *    a plain GET of one object through the same client (the floor of the stack);
 *  - the emulator's memory with 10,000 stored objects (heap growth, measured in-process after GC).
 */
import { readFileSync } from "node:fs";
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { startEmulator } from "../emulator/emulator.js";
import { startEmulatorProcess } from "../test/helpers/emulator-process.js";
import { measure, type Summary } from "./stats.js";

export interface EmulatorFigures {
  ssaDryRun: Summary;
  get: Summary;
  memoryMiB10k: number;
}

const pkg = (i: number): KubernetesObject[] => [
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cfg-${i}`, namespace: "default" },
    data: { level: "info" },
  } as KubernetesObject,
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: "default" },
    spec: { selector: { app: `a${i}` }, ports: [{ port: 8080 }] },
  } as KubernetesObject,
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `dep-${i}`, namespace: "default", labels: { "camino.io/intent": "bench" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: `a${i}` } },
      template: {
        metadata: { labels: { app: `a${i}` } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx:1.27",
              ports: [{ containerPort: 8080 }],
              resources: { requests: { cpu: "100m", memory: "64Mi" } },
            },
          ],
        },
      },
    },
  } as KubernetesObject,
];

async function memoryWith(objects: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const emulator = await startEmulator({ name: "mem" });
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < objects; i++) {
    const [, , dep] = pkg(i);
    emulator.store.put("apps/deployments", {
      ...(dep as Record<string, unknown>),
      metadata: {
        ...(dep as { metadata: Record<string, unknown> }).metadata,
        uid: `u-${i}`,
        creationTimestamp: "2026-11-24T00:00:00Z",
        generation: 1,
      },
    });
  }
  gc?.();
  const after = process.memoryUsage().heapUsed;
  await emulator.close();
  return (after - before) / 1024 / 1024;
}

export async function runEmulatorBenchmarks(quick: boolean): Promise<EmulatorFigures> {
  const edge = await startEmulatorProcess({
    name: "bench",
    https: true,
    nodes: [{ name: "node-1", cpu: "8", memory: "16Gi" }],
  });
  try {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "e", server: edge.url, caData: Buffer.from(edge.pki!.ca).toString("base64") }],
      users: [{ name: "u", token: readFileSync(edge.tokenFile!, "utf8").trim() }],
      contexts: [{ name: "c", cluster: "e", user: "u" }],
      currentContext: "c",
    });
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const core = kc.makeApiClient(CoreV1Api);
    let i = 0;
    const ssaDryRun = await measure(
      async () => {
        const n = i++;
        for (const o of pkg(n))
          await objects.patch(o, undefined, "All", "camino-admission", true, PatchStrategy.ServerSideApply);
      },
      { total: quick ? 100 : 1000, concurrency: 1, warmup: quick ? 20 : 100 },
    );
    const get = await measure(() => core.readNamespace({ name: "default" }), {
      total: quick ? 300 : 3000,
      concurrency: 1,
      warmup: quick ? 20 : 100,
    });
    return { ssaDryRun, get, memoryMiB10k: await memoryWith(10_000) };
  } finally {
    await edge.stop();
  }
}
