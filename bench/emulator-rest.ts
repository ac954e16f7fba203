/**
 * One emulator process hosting 200 pods across 10 nodes: resident memory and CPU at rest (3 s with nothing
 * happening), beside the same process before any workload (the peer), read from /proc.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { startEmulatorProcess } from "../test/helpers/emulator-process.js";

export interface RestFigures {
  pods: number;
  nodes: number;
  idleRssMiB: number;
  loadedRssMiB: number;
  idleCpuPercent: number;
  loadedCpuPercent: number;
}

const TICKS = 100; // USER_HZ on Linux

function sample(pid: number): { rssMiB: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { rssMiB: rss, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

/** CPU use over a quiet window, in percent of one core. The window is what "at rest" means: a wall-clock measure. */
async function cpuAtRest(pid: number, ms: number): Promise<number> {
  const a = sample(pid).cpuTicks;
  await sleep(ms);
  return ((sample(pid).cpuTicks - a) / TICKS / (ms / 1000)) * 100;
}

export async function runRestBenchmark(): Promise<RestFigures> {
  const edge = await startEmulatorProcess({
    name: "rest",
    nodes: Array.from({ length: 10 }, (_, i) => ({ name: `node-${i}`, cpu: "4", memory: "8Gi" })),
  });
  try {
    const url = edge.url;
    const pid = edge.pid;
    await sleep(500);
    const idleRssMiB = sample(pid).rssMiB;
    const idleCpuPercent = await cpuAtRest(pid, 3000);
    for (let d = 0; d < 20; d++) {
      const body = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `w${d}`, namespace: "default" },
        spec: {
          replicas: 10,
          selector: { matchLabels: { app: `w${d}` } },
          template: {
            metadata: { labels: { app: `w${d}` } },
            spec: {
              containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "100m", memory: "64Mi" } } }],
            },
          },
        },
      };
      const res = await fetch(`${url}/apis/apps/v1/namespaces/default/deployments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    }
    // Bounded wait until all 200 pods run.
    for (let i = 0; i < 400; i++) {
      const list = (await (await fetch(`${url}/api/v1/pods?fieldSelector=status.phase=Running`)).json()) as {
        items: unknown[];
      };
      if (list.items.length === 200) break;
      if (i === 399) throw new Error(`only ${list.items.length} pods running`);
      await sleep(25);
    }
    await sleep(500);
    const loadedRssMiB = sample(pid).rssMiB;
    const loadedCpuPercent = await cpuAtRest(pid, 3000);
    return { pods: 200, nodes: 10, idleRssMiB, loadedRssMiB, idleCpuPercent, loadedCpuPercent };
  } finally {
    await edge.stop();
  }
}
