/**
 * The emulator through @kubernetes/client-node 1.4 (typed APIs, KubernetesObjectApi server-side apply with
 * dry run, watch) and plain HTTP: ownership and conflicts of server-side apply, optimistic concurrency,
 * watch resumption and 410 Gone, and a terminating namespace.
 */
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { makePki } from "../helpers/tls.js";

let emulator: Emulator;
let kc: KubeConfig;

/** HTTPS with the cluster's CA and a bearer token: how the agent reaches an edge. */
function kubeConfig(server: string, ca: string, token: string): KubeConfig {
  const k = new KubeConfig();
  k.loadFromOptions({
    clusters: [{ name: "edge", server, caData: Buffer.from(ca).toString("base64"), skipTLSVerify: false }],
    users: [{ name: "u", token }],
    contexts: [{ name: "c", cluster: "edge", user: "u" }],
    currentContext: "c",
  });
  return k;
}

async function http(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emulator.httpUrl}${path}`, {
    method,
    headers: { "content-type": contentType },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const pki = makePki(mkdtempSync(join(tmpdir(), "camino-emu-pki-")));
  emulator = await startEmulator({
    name: "edge-1",
    http: {},
    https: { cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile), token: "t0ken" },
    nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }],
    historySize: 50,
  });
  kc = kubeConfig(emulator.httpsUrl!, pki.ca, "t0ken");
});
afterAll(async () => {
  await emulator.close();
});

const configMap = (
  name: string,
  data: Record<string, string>,
  ns = "default",
): KubernetesObject & { data: Record<string, string> } => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data,
});

describe("@kubernetes/client-node against the emulator", () => {
  it("uses the typed APIs", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(["node-1"]);
    expect(nodes.items[0]?.status?.allocatable).toEqual({ cpu: "4", memory: "8Gi", pods: "110" });
    await core.createNamespace({ body: { metadata: { name: "typed" } } });
    const created = await core.createNamespacedConfigMap({
      namespace: "typed",
      body: { metadata: { name: "c1" }, data: { a: "1" } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const read = await core.readNamespacedConfigMap({ name: "c1", namespace: "typed" });
    expect(read.data).toEqual({ a: "1" });
    await expect(core.readNamespacedConfigMap({ name: "nope", namespace: "typed" })).rejects.toMatchObject({
      code: 404,
    });
  });

  it("server-side applies a package with KubernetesObjectApi, dry run first", async () => {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const pkg: KubernetesObject[] = [
      configMap("app-config", { level: "info" }),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "app", namespace: "default" },
        spec: { selector: { app: "app" }, ports: [{ port: 80 }] },
      } as KubernetesObject,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "app", namespace: "default" },
        spec: {
          selector: { matchLabels: { app: "app" } },
          template: { metadata: { labels: { app: "app" } }, spec: { containers: [{ name: "app", image: "nginx" }] } },
        },
      } as KubernetesObject,
    ];
    for (const o of pkg) {
      const dry = await api.patch(o, undefined, "All", "camino", true, PatchStrategy.ServerSideApply);
      expect(dry.metadata?.name).toBe(o.metadata?.name);
    }
    await expect(
      api.read({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "app", namespace: "default" } }),
    ).rejects.toMatchObject({ code: 404 });
    for (const o of pkg) await api.patch(o, undefined, undefined, "camino", true, PatchStrategy.ServerSideApply);
    const dep = await api.read({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "app", namespace: "default" },
    });
    expect(dep.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([["camino", "Apply"]]);
    const bad = {
      ...pkg[2],
      spec: {
        selector: { matchLabels: { app: "x" } },
        template: { metadata: { labels: { app: "app" } }, spec: { containers: [{ name: "app", image: "nginx" }] } },
      },
    } as KubernetesObject;
    await expect(api.patch(bad, undefined, "All", "camino", true, PatchStrategy.ServerSideApply)).rejects.toMatchObject(
      { code: 422 },
    );
  });

  it("watches: live events, then resumes from a resourceVersion, and gets 410 for one too old", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "watched" } } });
    const events: string[] = [];
    const seen = new Promise<void>((resolve) => {
      void new Watch(kc)
        .watch(
          "/api/v1/namespaces/watched/configmaps",
          {},
          (type, obj: KubernetesObject) => {
            events.push(`${type} ${obj.metadata?.name}`);
            if (events.length === 3) resolve();
          },
          () => undefined,
        )
        .then((ctl) => seen.then(() => ctl.abort()));
    });
    const first = await core.createNamespacedConfigMap({ namespace: "watched", body: { metadata: { name: "w1" } } });
    await core.createNamespacedConfigMap({ namespace: "watched", body: { metadata: { name: "w2" } } });
    await core.deleteNamespacedConfigMap({ name: "w1", namespace: "watched" });
    await seen;
    expect(events).toEqual(["ADDED w1", "ADDED w2", "DELETED w1"]);
    // Resume after the first creation: the later events are replayed.
    const replayed: string[] = [];
    const ctl = await new Watch(kc).watch(
      "/api/v1/namespaces/watched/configmaps",
      { resourceVersion: first.metadata?.resourceVersion },
      (type, obj: KubernetesObject) => void replayed.push(`${type} ${obj.metadata?.name}`),
      () => undefined,
    );
    for (let i = 0; i < 100 && replayed.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    expect(replayed).toEqual(["ADDED w2", "DELETED w1"]);
    // Push the history past its 50 changes, then ask for the old version.
    for (let i = 0; i < 60; i++)
      await core.createNamespacedConfigMap({ namespace: "watched", body: { metadata: { name: `fill-${i}` } } });
    const res = await fetch(
      `${emulator.httpUrl}/api/v1/namespaces/watched/configmaps?watch=1&resourceVersion=${first.metadata?.resourceVersion}`,
    );
    const line = JSON.parse((await res.text()).split("\n")[0]!);
    expect(line).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
  });
});

describe("server-side apply ownership over HTTP", () => {
  const path = "/api/v1/namespaces/default/configmaps/owned";
  const apply = (manager: string, data: Record<string, string>, force = false) =>
    http(
      "PATCH",
      `${path}?fieldManager=${manager}${force ? "&force=true" : ""}`,
      configMap("owned", data),
      "application/apply-patch+yaml",
    );

  it("keeps disjoint fields of two managers, refuses a conflicting change without force naming field and manager, and moves ownership with force", async () => {
    expect((await apply("alice", { a: "1" })).status).toBe(201);
    expect((await apply("bob", { b: "2" })).status).toBe(200);
    expect((await http("GET", path)).body["data"]).toEqual({ a: "1", b: "2" });
    const c = await apply("bob", { a: "9", b: "2" });
    expect(c.status).toBe(409);
    expect(c.body).toMatchObject({
      reason: "Conflict",
      message: 'Apply failed with 1 conflict: conflict with "alice": .data.a',
      details: { causes: [{ reason: "FieldManagerConflict", field: ".data.a" }] },
    });
    expect((await apply("bob", { a: "9", b: "2" }, true)).status).toBe(200);
    const after = (await http("GET", path)).body as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string }[] };
    };
    expect(after.data).toEqual({ a: "9", b: "2" });
    // alice re-applies without field a: it is bob's now, so it stays.
    await apply("alice", {});
    expect(((await http("GET", path)).body as { data: Record<string, string> }).data).toEqual({ a: "9", b: "2" });
    // bob drops b, which only he owned: it goes.
    await apply("bob", { a: "9" });
    expect(((await http("GET", path)).body as { data: Record<string, string> }).data).toEqual({ a: "9" });
  });

  it("reads a JSON apply body as YAML: a key given twice is refused, as YAML refuses it", async () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twice","name":"twice"},"data":{}}';
    const r = await http(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/twice?fieldManager=alice",
      body,
      "application/apply-patch+yaml",
    );
    expect(r.status).toBe(400);
    expect(r.body["message"]).toMatch(/could not be decoded: Map keys must be unique/);
  });

  it("refuses an apply without a field manager", async () => {
    const r = await http("PATCH", path, configMap("owned", {}), "application/apply-patch+yaml");
    expect(r.status).toBe(400);
  });
});

describe("writes", () => {
  it("refuses an update from a stale resourceVersion with 409 Conflict", async () => {
    const created = (await http("POST", "/api/v1/namespaces/default/configmaps", configMap("occ", { v: "1" })))
      .body as { metadata: { resourceVersion: string } };
    const first = await http("PUT", "/api/v1/namespaces/default/configmaps/occ", {
      ...configMap("occ", { v: "2" }),
      metadata: { name: "occ", namespace: "default", resourceVersion: created.metadata.resourceVersion },
    });
    expect(first.status).toBe(200);
    const stale = await http("PUT", "/api/v1/namespaces/default/configmaps/occ", {
      ...configMap("occ", { v: "3" }),
      metadata: { name: "occ", namespace: "default", resourceVersion: created.metadata.resourceVersion },
    });
    expect(stale).toMatchObject({
      status: 409,
      body: {
        reason: "Conflict",
        message:
          'Operation cannot be fulfilled on configmaps "occ": the object has been modified; please apply your changes to the latest version and try again',
      },
    });
  });

  it("bumps generation on a spec change only, and persists nothing on a dry run", async () => {
    const dep = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "gen", namespace: "default" },
      spec: {
        selector: { matchLabels: { a: "b" } },
        template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } },
      },
    };
    const dry = await http("POST", "/apis/apps/v1/namespaces/default/deployments?dryRun=All", dep);
    expect(dry.status).toBe(201);
    expect((await http("GET", "/apis/apps/v1/namespaces/default/deployments/gen")).status).toBe(404);
    await http("POST", "/apis/apps/v1/namespaces/default/deployments", dep);
    const labelled = await http(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/gen",
      { metadata: { labels: { x: "y" } } },
      "application/merge-patch+json",
    );
    expect((labelled.body["metadata"] as { generation: number }).generation).toBe(1);
    const scaled = await http(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/gen",
      { spec: { replicas: 3 } },
      "application/strategic-merge-patch+json",
    );
    expect((scaled.body["metadata"] as { generation: number }).generation).toBe(2);
    const moved = await http(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/gen",
      { spec: { selector: { matchLabels: { a: "c" } }, template: { metadata: { labels: { a: "c" } } } } },
      "application/merge-patch+json",
    );
    expect(moved).toMatchObject({ status: 422, body: { reason: "Invalid" } });
    expect(String(moved.body["message"])).toContain("spec.selector: Invalid value");
    expect(String(moved.body["message"])).toContain("field is immutable");
  });

  it("refuses new content in a terminating namespace, then removes it with its content", async () => {
    await http("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
    await http("POST", "/api/v1/namespaces/doomed/configmaps", configMap("x", {}, "doomed"));
    const del = await http("DELETE", "/api/v1/namespaces/doomed");
    expect(del.body["status"]).toEqual({ phase: "Terminating" });
    const refused = await http("POST", "/api/v1/namespaces/doomed/configmaps", configMap("y", {}, "doomed"));
    expect(refused).toMatchObject({ status: 403, body: { reason: "Forbidden" } });
    expect(String(refused.body["message"])).toContain(
      "unable to create new content in namespace doomed because it is being terminated",
    );
    for (let i = 0; i < 50 && (await http("GET", "/api/v1/namespaces/doomed")).status !== 404; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await http("GET", "/api/v1/namespaces/doomed")).status).toBe(404);
    expect((await http("GET", "/api/v1/namespaces/doomed/configmaps/x")).status).toBe(404);
  });
});
