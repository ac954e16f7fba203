/**
 * Commit-to-synced latency of the emulator's ConfigSync reconciler at `spec.git.period` 100 ms: 200 commits to
 * a local deployment repository, each timed from the commit to the RootSync reporting it synced (seen through
 * a watch, not a poll). ConfigSync polls git, so the expected wait is about period/2 plus the sync itself; the
 * excess over period/2 is the reconciler's own cost.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DeploymentRepository } from "../agent/cad/deployment-repo.js";
import { LocalGitRepository } from "../agent/cad/git/repository.js";
import { startEmulator } from "../emulator/emulator.js";
import type { StoreEvent } from "../emulator/store.js";
import { ROOT } from "../test/helpers/agent-process.js";
import { summarise, type Summary } from "./stats.js";

export interface SyncFigures {
  periodMs: number;
  commits: number;
  latency: Summary;
  excessP50Ms: number;
}

export async function runSyncBenchmark(commits: number, periodMs = 100): Promise<SyncFigures> {
  mkdirSync(join(ROOT, ".camino"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".camino", "bench-sync-"));
  const emulator = await startEmulator({ name: "bench-sync" });
  try {
    const repo = new DeploymentRepository(await new LocalGitRepository({ dir }).init());
    await repo.ensureSentinel();
    const waiters = new Map<string, () => void>();
    const stop = emulator.store.watch({
      typeKey: "configsync.gke.io/rootsyncs",
      filter: () => true,
      send: (e: StoreEvent) => {
        const synced = (e.object["status"] as { lastSyncedCommit?: string } | undefined)?.lastSyncedCommit;
        if (synced) waiters.get(synced)?.();
      },
    });
    emulator.api.applyObject(
      {
        apiVersion: "configsync.gke.io/v1beta1",
        kind: "RootSync",
        metadata: { name: "root-sync", namespace: "config-management-system" },
        spec: {
          sourceFormat: "unstructured",
          git: { repo: dir, branch: "main", dir: ".", period: `${periodMs}ms`, auth: "none" },
        },
      },
      "bench",
    );
    const latencies: number[] = [];
    const start = performance.now();
    // Commits arrive at random moments relative to the poll timer (a fixed-seed generator, so runs compare);
    // committing right after each sync would always wait a full period.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < commits; i++) {
      await new Promise((r) => setTimeout(r, random() * periodMs));
      const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: bench\ndata:\n  i: "${i}"\n`;
      const t0 = performance.now();
      const { commit } = await repo.writeWave({
        intent: "bench",
        revision: i + 1,
        wave: 1,
        packages: new Map([["p", new Map([["bench/p/cm.yaml", cm]])]]),
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`commit ${commit} not synced within 10 s`)), 10_000);
        waiters.set(commit, () => {
          clearTimeout(timer);
          waiters.delete(commit);
          resolve();
        });
      });
      latencies.push(performance.now() - t0);
    }
    stop();
    const latency = summarise(latencies, performance.now() - start);
    return { periodMs, commits, latency, excessP50Ms: latency.p50Ms - periodMs / 2 };
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
