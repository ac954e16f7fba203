/**
 * Edge emulator benchmarks:
 *  - server-side apply dry run of a 3-object package (ConfigMap, Service, Deployment) from
 *    @kubernetes/client-node — the agent's admission path — against an emulator process over HTTPS, beside
 *    a plain GET of one object through the same client (the floor of the stack);
 *  - the emulator's memory with 10,000 stored objects (heap growth, measured in-process after GC).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { startEmulator } from "../emulator/emulator.js";
import { CAMINO } from "../test/helpers/agent-process.js";
import { makePki } from "../test/helpers/tls.js";
import { measure, type Summary } from "./stats.js";

export interface EmulatorFigures {
  ssaDryRun: Summary;
  get: Summary;
  memoryMiB10k: number;
}

const pkg = (i: number): KubernetesObject[] => [
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cfg-${i}`, namespace: "default" }, data: { level: "info" } } as KubernetesObject,
  { apiVersion: "v1", kind: "Service", metadata: { name: `svc-${i}`, namespace: "default" }, spec: { selector: { app: `a${i}` }, ports: [{ port: 8080 }] } } as KubernetesObject,
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `dep-${i}`, namespace: "default", labels: { "camino.io/intent": "bench" } },
    spec: { replicas: 2, selector: { matchLabels: { app: `a${i}` } }, template: { metadata: { labels: { app: `a${i}` } }, spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "100m", memory: "64Mi" } } }] } } },
  } as KubernetesObject,
];

async function memoryWith(objects: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const emulator = await startEmulator({ name: "mem" });
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < objects; i++) {
    const [, , dep] = pkg(i);
    emulator.store.put("apps/deployments", { ...(dep as Record<string, unknown>), metadata: { ...(dep as { metadata: Record<string, unknown> }).metadata, uid: `u-${i}`, creationTimestamp: "2026-11-24T00:00:00Z", generation: 1 } });
  }
  gc?.();
  const after = process.memoryUsage().heapUsed;
  await emulator.close();
  return (after - before) / 1024 / 1024;
}

export async function runEmulatorBenchmarks(quick: boolean): Promise<EmulatorFigures> {
  const dir = mkdtempSync(join(tmpdir(), "camino-emu-bench-"));
  const pki = makePki(dir);
  writeFileSync(join(dir, "token"), "bench-token\n");
  writeFileSync(join(dir, "edge.yaml"), `name: bench\nhttps: {host: 127.0.0.1, port: 0, certFile: ${pki.serverCertFile}, keyFile: ${pki.serverKeyFile}, tokenFile: ${join(dir, "token")}}\nnodes:\n  - {name: node-1, cpu: "8", memory: 16Gi}\n`);
  const child = spawn(process.execPath, [CAMINO, "emulator", "--config", join(dir, "edge.yaml")], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const line = out.split("\n").find((l) => l.includes("emulator listening"));
        if (line) resolve(JSON.parse(line).https as string);
      });
      child.once("exit", (code) => reject(new Error(`emulator exited (${code})`)));
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "e", server: url, caData: Buffer.from(pki.ca).toString("base64") }], users: [{ name: "u", token: "bench-token" }], contexts: [{ name: "c", cluster: "e", user: "u" }], currentContext: "c" });
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const core = kc.makeApiClient(CoreV1Api);
    let i = 0;
    const ssaDryRun = await measure(async () => {
      const n = i++;
      for (const o of pkg(n)) await objects.patch(o, undefined, "All", "camino-admission", true, PatchStrategy.ServerSideApply);
    }, { total: quick ? 100 : 1000, concurrency: 1, warmup: quick ? 20 : 100 });
    const get = await measure(() => core.readNamespace({ name: "default" }), { total: quick ? 300 : 3000, concurrency: 1, warmup: quick ? 20 : 100 });
    return { ssaDryRun, get, memoryMiB10k: await memoryWith(10_000) };
  } finally {
    try {
      process.kill(-(child.pid as number), "SIGTERM");
    } catch {
      // Already gone.
    }
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
    rmSync(dir, { recursive: true, force: true });
  }
}
