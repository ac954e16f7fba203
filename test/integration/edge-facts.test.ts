/**
 * The edge facts "why is it not READY" reads from the edge observer, against an embedded emulator: a workload short
 * of replicas comes with its pods' reasons (a pod no node has room for: Unschedulable with the scheduler's message),
 * pods are listed only while some workload is short, and lastSync() gives the RootSync as last read, with the
 * objects its errors name (one it fails to apply, KNV2009; one another reconciler manages, KNV1060).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EdgeClient } from "../../agent/edge/edge-client.js";
import type { WorkloadStatus } from "../../agent/edge/readiness.js";
import { EdgeObserver } from "../../agent/orchestration/edge-observer.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";

let emulator: Emulator;
let edge: EdgeClient;
let observer: EdgeObserver;

const deployment = (name: string, cpu: string): KubernetesObject & Record<string, unknown> => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "facts", labels: { "camino.io/intent": "facts", "camino.io/package": name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, "camino.io/intent": "facts", "camino.io/package": name } },
      spec: { containers: [{ name: "main", image: "nginx", resources: { requests: { cpu, memory: "64Mi" } } }] },
    },
  },
});

beforeAll(async () => {
  emulator = await startEmulator({
    name: "edge-f",
    http: { port: 0 },
    nodes: [
      { name: "big", cpu: "2", memory: "4Gi" },
      { name: "small", cpu: "500m", memory: "1Gi" },
    ],
  });
  edge = await EdgeClient.fromConfig({ name: "edge-f", server: emulator.httpUrl ?? "", labels: {}, timeoutMs: 5000 });
  observer = new EdgeObserver(edge, 20);
  emulator.api.applyObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "facts" } }, "test");
});

afterAll(async () => {
  observer?.close();
  await emulator?.close();
});

it("gives a workload short of replicas its pods' reasons, listing pods only while one is short", async () => {
  let pods = 0;
  const podsOf = edge.podsOf.bind(edge);
  edge.podsOf = (intents, signal) => {
    pods++;
    return podsOf(intents, signal);
  };
  emulator.api.applyObject(deployment("fits", "100m"), "test");
  await observer.waitAvailable("facts", "fits", AbortSignal.timeout(10_000), () => {});
  const before = pods;

  emulator.api.applyObject(deployment("huge", "8"), "test");
  const seen: WorkloadStatus[] = [];
  const waiting = observer.waitAvailable("facts", "huge", AbortSignal.timeout(10_000), (_, short) => {
    if (short?.[0]?.pods?.length) seen.push(short[0]);
  });
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (seen.length > 0) {
        clearInterval(check);
        resolve();
      }
    }, 10);
    waiting.catch((err: unknown) => {
      clearInterval(check);
      reject(err);
    });
  });
  expect(before).toBe(0);
  expect(seen[0]).toMatchObject({ kind: "Deployment", name: "huge", desired: 1, available: 0 });
  expect(seen[0]?.pods).toEqual([
    {
      pod: expect.stringMatching(/^huge-/),
      phase: "Pending",
      reasons: ["Unschedulable: 0/2 nodes are available: 2 Insufficient cpu."],
    },
  ]);
  expect(pods).toBeGreaterThan(0);
});

it("keeps the RootSync as last read: the commit it is at, and the object its error names", async () => {
  // A repository of one ConfigMap (the plain git CLI), which the edge fails to apply.
  const repo = mkdtempSync(join(tmpdir(), "camino-facts-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      encoding: "utf8",
    }).trim();
  git("init", "-q", "-b", "main");
  mkdirSync(join(repo, "facts"));
  writeFileSync(
    join(repo, "facts", "cm.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: facts\ndata:\n  a: b\n",
  );
  git("add", ".");
  git("commit", "-q", "-m", "one ConfigMap");
  const head = git("rev-parse", "HEAD");
  await emulator.setFaults({ syncErrors: ["ConfigMap/facts/cm"] });
  emulator.api.applyObject(
    {
      apiVersion: "configsync.gke.io/v1beta1",
      kind: "RootSync",
      metadata: { name: "root-sync", namespace: "config-management-system" },
      spec: {
        sourceType: "git",
        sourceFormat: "unstructured",
        git: { repo, branch: "main", dir: ".", period: "100ms", auth: "none" },
      },
    },
    "test",
  );
  expect(observer.lastSync()).toBeUndefined();
  // Each wait is one tick, one read of the RootSync; ConfigSync reports on its own time.
  const deadline = Date.now() + 10_000;
  while (!observer.lastSync()?.errors.length && Date.now() < deadline) {
    const state = await observer.waitSynced(
      { commit: head, intent: "facts", isDescendant: async () => false, timeoutMs: 0 },
      AbortSignal.timeout(10_000),
    );
    expect(state.synced).toBe(false);
  }
  expect(observer.lastSync()).toMatchObject({
    commit: head,
    syncing: false,
    errors: [
      {
        phase: "sync",
        code: "2009",
        resources: [{ kind: "ConfigMap", namespace: "facts", name: "cm", sourcePath: "facts/cm.yaml" }],
      },
    ],
  });

  // Once the fault is lifted it applies; an object another reconciler claims (a RepoSync of team-b) is left
  // alone — neither applied over nor pruned — and reported (KNV1060), naming it.
  await emulator.setFaults({ syncErrors: [] });
  await lastSyncUntil("applied", () => observer.lastSync()?.errors.length === 0, head);
  emulator.api.applyObject(
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm", namespace: "facts", annotations: { "configsync.gke.io/manager": "team-b" } },
      data: { a: "theirs" },
    },
    "team-b",
  );
  await lastSyncUntil("KNV1060", () => observer.lastSync()?.errors[0]?.code === "1060", head);
  expect(observer.lastSync()?.errors).toEqual([
    {
      phase: "sync",
      code: "1060",
      message:
        "KNV1060: ConfigMap/facts/cm is managed by another reconciler (team-b), not by :root: remove it from one of the repositories",
      resources: [{ kind: "ConfigMap", namespace: "facts", name: "cm", sourcePath: "facts/cm.yaml" }],
    },
  ]);
  expect(emulator.store.get("/configmaps", "facts", "cm")?.["data"]).toEqual({ a: "theirs" });
  rmSync(repo, { recursive: true, force: true });
});

/** Waits (one observer tick per try, bounded) until `check` holds of what the observer last read. */
async function lastSyncUntil(what: string, check: () => boolean, commit: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s: ${JSON.stringify(observer.lastSync())}`);
    await observer.waitSynced(
      { commit, intent: "facts", isDescendant: async () => false, timeoutMs: 0 },
      AbortSignal.timeout(10_000),
    );
  }
}
