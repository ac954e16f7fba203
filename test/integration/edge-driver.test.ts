/**
 * The agent's edge driver against emulator processes over HTTP and over HTTPS with a token: dry runs with the
 * server's causes, capacity equal to what nodes and pods say, prerequisites, idempotent RootSync registration,
 * the sync predicate with two intents on one repository, readiness, and every emulator fault surfaced as the
 * right reason within the edge's timeout.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentRepository } from "../../agent/cad/deployment-repo.js";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import type { ConfiguredEdge } from "../../agent/config/config.js";
import { EdgeClient, EdgeError } from "../../agent/edge/edge-client.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

let plain: EmulatorProcess;
let secure: EmulatorProcess;
let edgeH: EdgeClient;
let edgeS: EdgeClient;

const deployment = (name: string, ns: string, cpu = "500m", labels: Record<string, string> = {}): KubernetesObject =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: { containers: [{ name: "main", image: "nginx", resources: { requests: { cpu, memory: "256Mi" } } }] },
      },
    },
  }) as KubernetesObject;

async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, tries = 300): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await probe();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  [plain, secure] = await Promise.all([
    startEmulatorProcess({
      name: "edge-h",
      nodes: [
        { name: "node-1", cpu: "2", memory: "4Gi" },
        { name: "node-2", cpu: "2", memory: "4Gi" },
      ],
    }),
    startEmulatorProcess({ name: "edge-s", https: true }),
  ]);
  const cfg = (name: string, p: EmulatorProcess): ConfiguredEdge => ({
    name,
    server: p.url,
    labels: { zone: "north" },
    timeoutMs: 1500,
    ...(p.pki ? { caFile: p.pki.caFile } : {}),
    ...(p.tokenFile ? { tokenFile: p.tokenFile } : {}),
  });
  edgeH = await EdgeClient.fromConfig(cfg("edge-h", plain));
  edgeS = await EdgeClient.fromConfig(cfg("edge-s", secure));
});
afterAll(async () => {
  await Promise.all([plain?.stop(), secure?.stop()]);
});

describe("the edge driver", () => {
  it("dry-runs a package: ok objects, and refused ones with the server's causes (HTTP and HTTPS)", async () => {
    for (const edge of [edgeH, edgeS]) {
      const bad = deployment("bad", "default");
      (
        bad as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }
      ).spec.template.metadata.labels = { app: "other" };
      const results = await edge.dryRun([
        deployment("web", "default"),
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "cfg", namespace: "default" },
          data: { a: "1" },
        } as KubernetesObject,
        bad,
      ]);
      expect(results.map((r) => [r.kind, r.name, r.ok])).toEqual([
        ["Deployment", "web", true],
        ["ConfigMap", "cfg", true],
        ["Deployment", "bad", false],
      ]);
      expect(results[2]?.causes).toContainEqual({
        field: "spec.template.metadata.labels",
        message: expect.stringContaining("`selector` does not match template `labels`"),
      });
      // A dry run persists nothing.
      expect(await edge.workloads("default", undefined)).toMatchObject({ workloads: [] });
    }
  });

  it("reads capacity as the nodes and pods say, and checks prerequisites", async () => {
    const before = await edgeH.capacity();
    expect(before.allocatable).toEqual({ cpuMillis: 4000, memoryBytes: 8 * 2 ** 30, pods: 220 });
    // Two pods of 500m/256Mi, applied through the same API.
    const { KubernetesObjectApi, PatchStrategy } = await import("@kubernetes/client-node");
    await KubernetesObjectApi.makeApiClient(edgeH.kubeConfig).patch(
      deployment("load", "default", "500m", { "camino.io/intent": "load" }),
      undefined,
      undefined,
      "test",
      true,
      PatchStrategy.ServerSideApply,
    );
    const after = await until(
      "capacity",
      () => edgeH.capacity(),
      (c) => c.requested.pods === 2,
    );
    expect(after.requested).toEqual({ cpuMillis: 1000, memoryBytes: 512 * 2 ** 20, pods: 2 });
    expect(after.free.cpuMillis).toBe(3000);
    expect(after.nodes.map((n) => n.name)).toEqual(["node-1", "node-2"]);
    expect(
      await edgeH.prerequisites([
        { kind: "IngressClass", name: "nginx" },
        { kind: "Namespace", name: "default" },
      ]),
    ).toEqual([
      { kind: "IngressClass", name: "nginx", present: false },
      { kind: "Namespace", name: "default", present: true },
    ]);
  });

  it("registers the RootSync idempotently, re-registers on a repository change, and judges sync with two intents on one repository", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-edge-repo-"));
    const local = await new LocalGitRepository({ dir }).init();
    const repo = new DeploymentRepository(local);
    await repo.ensureSentinel();
    await edgeH.registerRootSync({ url: dir, branch: "main", period: "100ms" });
    const first = await edgeH.rootSync();
    await edgeH.registerRootSync({ url: dir, branch: "main", period: "100ms" });
    const again = await edgeH.rootSync();
    expect((again!["metadata"] as { generation: number }).generation).toBe(
      (first!["metadata"] as { generation: number }).generation,
    );
    expect(again?.["spec"]).toEqual(first?.["spec"]);
    const cm = (intent: string) =>
      new Map([
        [`${intent}/p/cm.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ${intent}\n`],
      ]);
    const d = (intent: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\n  namespace: ${intent}\n  labels: {camino.io/intent: ${intent}}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w, camino.io/intent: ${intent}}}\n    spec: {containers: [{name: w, image: nginx, resources: {requests: {cpu: 100m}}}]}\n`;
    const a = (
      await repo.writeWave({
        intent: "intent-a",
        revision: 1,
        wave: 1,
        packages: new Map([["p", new Map([...cm("intent-a"), ["intent-a/p/d.yaml", d("intent-a")]])]]),
      })
    ).commit;
    const b = (
      await repo.writeWave({ intent: "intent-b", revision: 1, wave: 1, packages: new Map([["p", cm("intent-b")]]) })
    ).commit;
    const isDescendant = (h: string, c: string) => local.isDescendant(h, c);
    // B moved HEAD past A: A is synced once the edge is at B (a descendant), not only at exactly A. (A slow run
    // may see the edge at A first: the wait is for the edge at B.)
    const stateA = await until(
      "intent-a synced at B",
      () => edgeH.syncState(a, "intent-a", isDescendant),
      (s) => s.synced && s.commit === b,
    );
    expect(stateA).toMatchObject({ synced: true, commit: b, errors: [] });
    expect(await edgeH.syncState(b, "intent-b", isDescendant)).toMatchObject({ synced: true });
    const ready = await until(
      "intent-a available",
      () => edgeH.workloads("intent-a", undefined),
      (w) => w.available && w.workloads.length === 1,
    );
    expect(ready.workloads).toEqual([
      { kind: "Deployment", name: "w", intent: "intent-a", package: "", desired: 1, available: 1 },
    ]);
    // A later commit is not synced until the edge reaches it; then a sync error under intent-a is reported.
    await plain.faults({ syncErrors: ["ConfigMap/intent-a/c"] });
    const c = (
      await repo.writeWave({
        intent: "intent-a",
        revision: 2,
        wave: 1,
        packages: new Map([
          [
            "p",
            new Map([
              ...cm("intent-a"),
              [
                "intent-a/p/extra.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: intent-a\n",
              ],
              ["intent-a/p/d.yaml", d("intent-a")],
            ]),
          ],
        ]),
      })
    ).commit;
    const failing = await until(
      "errors surfaced",
      () => edgeH.syncState(c, "intent-a", isDescendant),
      (s) => s.errors.length > 0 && s.commit === c,
    );
    expect(failing).toMatchObject({
      synced: false,
      failed: true,
      reason: expect.stringContaining("sync errors name objects of the intent"),
      errors: ["KNV2009: failed to apply ConfigMap/intent-a/c: injected sync fault"],
    });
    expect(await edgeH.syncState(c, "intent-b", isDescendant)).toMatchObject({ synced: true });
    await plain.faults({ syncErrors: [] });
    // A repository change re-registers.
    const other = mkdtempSync(join(tmpdir(), "camino-edge-repo2-"));
    await new DeploymentRepository(await new LocalGitRepository({ dir: other }).init()).ensureSentinel();
    await edgeH.registerRootSync({ url: other, branch: "main", period: "100ms" });
    expect((await edgeH.rootSync())?.["spec"]).toMatchObject({ git: { repo: other } });
    expect(((await edgeH.rootSync())!["metadata"] as { generation: number }).generation).toBe(
      (first!["metadata"] as { generation: number }).generation + 1,
    );
  });

  it("surfaces every emulator fault as its reason within the timeout, and keeps the edge's health", async () => {
    await secure.faults({ apiUnavailable: true });
    await expect(edgeS.capacity()).rejects.toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: expect.stringContaining("connection refused"),
    });
    expect(edgeS.health).toMatchObject({ healthy: false, reason: expect.stringContaining("connection refused") });
    await secure.faults({ apiUnavailable: false, apiLatencyMs: 5000 });
    // The edge's own deadline ends the call, whatever the edge does.
    const slow = await edgeS.capacity().catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(EdgeError);
    expect(slow).toMatchObject({
      code: "ERR_EDGE_TIMEOUT",
      message: "edge edge-s: list nodes did not answer within 1500 ms",
    });
    await secure.faults({ apiLatencyMs: 0 });
    expect(await edgeS.check()).toMatchObject({ healthy: true });
    await plain.faults({ nodesNotReady: ["node-2"] });
    const lost = await until(
      "node-2 not ready",
      () => edgeH.capacity(),
      (c) => c.nodes.some((n) => n.name === "node-2" && !n.ready),
    );
    expect(lost.allocatable.cpuMillis).toBe(2000);
    await plain.faults({ nodesNotReady: [] });
    const wrongToken = await EdgeClient.fromConfig({
      name: "edge-s",
      server: secure.url,
      caFile: secure.pki!.caFile,
      labels: {},
      timeoutMs: 1500,
    });
    await expect(wrongToken.capacity()).rejects.toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: expect.stringContaining("refused the credentials (HTTP 401)"),
    });
    // Without the edge's CA, the server's certificate does not verify: said by its TLS code.
    const noCa = await EdgeClient.fromConfig({
      name: "edge-s",
      server: secure.url,
      tokenFile: secure.tokenFile!,
      labels: {},
      timeoutMs: 1500,
    });
    await expect(noCa.capacity()).rejects.toMatchObject({
      code: "ERR_EDGE_UNREACHABLE",
      message: expect.stringMatching(/^edge edge-s: list (nodes|pods): TLS verification failed \([A-Z_]+\)$/),
    });
  });

  it("reaches an edge through a kubeconfig file and context, as for a real cluster", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-kubeconfig-"));
    const file = join(dir, "config");
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: "http://127.0.0.1:1"}\n- name: secure\n  cluster:\n    server: ${secure.url}\n    certificate-authority-data: ${Buffer.from(secure.pki!.ca).toString("base64")}\n` +
        `users:\n- name: edge-user\n  user: {token: ${readFileSync(secure.tokenFile!, "utf8").trim()}}\ncontexts:\n- name: other\n  context: {cluster: other, user: edge-user}\n- name: edge-s\n  context: {cluster: secure, user: edge-user}\ncurrent-context: other\n`,
    );
    const viaContext = await EdgeClient.fromConfig({
      name: "edge-s",
      kubeconfig: { file, context: "edge-s" },
      labels: {},
      timeoutMs: 2000,
    });
    expect((await viaContext.capacity()).nodes.map((n) => n.name)).toEqual(["node-1"]);
  });

  it("refuses a malformed kubeconfig without quoting it, and a missing context by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "camino-badkube-"));
    const bad = join(dir, "config");
    writeFileSync(bad, "apiVersion: v1\nusers:\n- name: u\n  user: {token: SUPERSECRETTOKEN123\n  broken: [\n");
    const err = await EdgeClient.fromConfig({
      name: "e",
      kubeconfig: { file: bad },
      labels: {},
      timeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toContain(`kubeconfig ${bad} of e cannot be read`);
    expect(JSON.stringify(err)).not.toContain("SUPERSECRETTOKEN123");
    expect(String((err as Error).message)).not.toContain("SUPERSECRETTOKEN123");
    const good = join(dir, "good");
    writeFileSync(
      good,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${plain.url}"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
    );
    await expect(
      EdgeClient.fromConfig({ name: "e", kubeconfig: { file: good, context: "nope" }, labels: {}, timeoutMs: 1000 }),
    ).rejects.toThrow('has no context "nope"');
  });
});
