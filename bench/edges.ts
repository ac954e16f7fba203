/**
 * The admission path's cost per package through the edge driver: a server-side-apply dry run of a 3-object
 * package plus a capacity read, against one emulated edge (a process, over HTTP), and the same against 10 edges
 * in parallel (one package per edge per round).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { EdgeClient } from "../agent/edge/edge-client.js";
import { startEmulatorProcess, type EmulatorProcess } from "../test/helpers/emulator-process.js";
import { measure, type Summary } from "./stats.js";

export interface EdgeFigures {
  one: Summary;
  ten: Summary;
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
    metadata: { name: `dep-${i}`, namespace: "default" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: `a${i}` } },
      template: {
        metadata: { labels: { app: `a${i}` } },
        spec: {
          containers: [{ name: "web", image: "nginx", resources: { requests: { cpu: "100m", memory: "64Mi" } } }],
        },
      },
    },
  } as KubernetesObject,
];

export async function runEdgeBenchmark(quick: boolean): Promise<EdgeFigures> {
  const edges: EmulatorProcess[] = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      startEmulatorProcess({
        name: `bench-${i}`,
        nodes: [
          { name: "node-1", cpu: "8", memory: "16Gi" },
          { name: "node-2", cpu: "8", memory: "16Gi" },
        ],
      }),
    ),
  );
  try {
    const clients = await Promise.all(
      edges.map((e, i) => EdgeClient.fromConfig({ name: `bench-${i}`, server: e.url, labels: {}, timeoutMs: 30_000 })),
    );
    let n = 0;
    const admit = async (c: EdgeClient) => {
      const results = await c.dryRun(pkg(n++));
      if (!results.every((r) => r.ok)) throw new Error(`dry run refused: ${JSON.stringify(results)}`);
      await c.capacity();
    };
    const one = await measure(() => admit(clients[0] as EdgeClient), {
      total: quick ? 50 : 300,
      concurrency: 1,
      warmup: 20,
    });
    const ten = await measure(() => Promise.all(clients.map(admit)), {
      total: quick ? 20 : 100,
      concurrency: 1,
      warmup: 5,
    });
    return { one, ten };
  } finally {
    await Promise.all(edges.map((e) => e.stop()));
  }
}
