/**
 * A watched edge (EdgeClient.watchEdge, agent/edge/watched-list.ts), against emulated edges over HTTP (behind a
 * counting proxy, the independent witness of what the client asks) and HTTPS with a token:
 * - capacity follows pods as they come and go, from one watch stream: a reading lists the nodes only;
 * - the observer's readings of settled intents' workloads and pods ask nothing of the edge;
 * - an edge that stops answering fails a reading even though its copy is still there, and once it answers again
 *   the copy is live again (the stream re-opened);
 * - an edge that is not watched lists as before.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfiguredEdge } from "../../agent/config/config.js";
import { EdgeClient } from "../../agent/edge/edge-client.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { waitFor } from "../helpers/in-process-domain.js";
import { startRequestCounter, type RequestCounter } from "../helpers/request-counter.js";

let plain: Emulator;
let counter: RequestCounter;
let secure: EmulatorProcess;
const clients: EdgeClient[] = [];

const cfg = (name: string, server: string, extra: Partial<ConfiguredEdge> = {}): ConfiguredEdge => ({
  name,
  server,
  labels: {},
  timeoutMs: 2000,
  ...extra,
});

async function client(c: ConfiguredEdge, watched = true): Promise<EdgeClient> {
  const e = await EdgeClient.fromConfig(c);
  clients.push(e);
  return watched ? e.watchEdge() : e;
}

/** A Deployment of CAMINO's package `intent/pkg` with `replicas` pods requesting 100m CPU each. */
function deployment(intent: string, pkg: string, replicas: number): KubernetesObject {
  const labels = { "camino.io/intent": intent, "camino.io/package": pkg };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: pkg, namespace: "default", labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: "c", image: "sink:1", resources: { requests: { cpu: "100m", memory: "16Mi" } } }],
        },
      },
    },
  } as KubernetesObject;
}

const create = (e: EdgeClient, o: KubernetesObject) => e.call("create", (api) => api.objects.create(o));
const remove = (e: EdgeClient, o: KubernetesObject) => e.call("delete", (api) => api.objects.delete(o));

/** Waits (by readings) until the edge shows `pods` pods of `intent/pkg` requesting their CPU. */
async function podsSeen(e: EdgeClient, key: string, pods: number): Promise<void> {
  let seen = -1;
  const deadline = Date.now() + 15_000;
  while (seen !== pods) {
    if (Date.now() > deadline) throw new Error(`${key}: ${seen} pods seen, ${pods} expected`);
    seen = (await e.capacity()).byPackage.get(key)?.pods ?? 0;
  }
}

beforeAll(async () => {
  plain = await startEmulator({
    name: "edge-w",
    http: {},
    nodes: [{ name: "node-1", cpu: "4", memory: "8Gi", pods: 50 }],
    podStartDelayMs: 0,
  });
  counter = await startRequestCounter({ target: plain.httpUrl as string });
  secure = await startEmulatorProcess({ name: "edge-ws", https: true });
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await counter?.close();
  await plain?.close();
  await secure?.stop();
});

describe("connections to an edge", () => {
  it("are kept alive and shared by its calls; one the edge drops is replaced at once, the call answered", async () => {
    const e = await client(cfg("edge-k", counter.url), false);
    await e.capacity();
    counter.reset();
    for (let i = 0; i < 20; i++) await e.capacity();
    expect(counter.counts().get("GET /api/v1/nodes")).toBe(20);
    expect(counter.connections()).toBe(0);

    // As an edge that restarts: every connection dropped; the next call goes out on a new one and is answered.
    counter.dropConnections();
    const after = await e.capacity();
    expect(after.nodes.map((n) => n.name)).toEqual(["node-1"]);
    // A reading of an edge not watched lists its nodes and its pods at once: two requests, two new connections.
    expect(counter.connections()).toBeGreaterThan(0);
    expect(counter.connections()).toBeLessThanOrEqual(2);
    expect(e.health.healthy).toBe(true);
  });
});

describe("a watched edge", () => {
  it("capacity follows pods from the watch: a reading lists the nodes only; settled workloads and pods are read with no request", async () => {
    const e = await client(cfg("edge-w", counter.url));
    const idle = await e.capacity();
    await waitFor("the copies live", () => e.watchedLive);
    const web = deployment("shop", "web", 3);
    await create(e, web);
    await podsSeen(e, "shop/web", 3);
    const c = await e.capacity();
    expect(c.requested.cpuMillis - idle.requested.cpuMillis).toBe(300);
    expect(c.free.cpuMillis).toBe(idle.free.cpuMillis - 300);

    counter.reset();
    for (let i = 0; i < 5; i++) await e.capacity();
    const workloads = await e.watchedWorkloadsOf(["shop", "other"]);
    const pods = await e.watchedPodsOf(["shop"]);
    expect(Object.fromEntries(counter.counts())).toEqual({ "GET /api/v1/nodes": 5 });
    expect(workloads.map((w) => [w.intent, w.package, w.kind, w.name, w.desired])).toEqual([
      ["shop", "web", "Deployment", "web", 3],
    ]);
    expect(pods).toHaveLength(3);

    await remove(e, web);
    await podsSeen(e, "shop/web", 0);
    expect((await e.capacity()).requested.cpuMillis).toBe(idle.requested.cpuMillis);
    expect(await e.watchedWorkloadsOf(["shop"])).toEqual([]);
  }, 40_000);

  it("an edge that stops answering fails the reading though its copy is there; answering again, the copy is live again", async () => {
    const e = await client(cfg("edge-w", counter.url));
    await e.capacity();
    await waitFor("the copies live", () => e.watchedLive);
    await plain.setFaults({ apiUnavailable: true });
    try {
      await expect(e.capacity()).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_EDGE_/) });
      await waitFor("the stream seen closed", () => !e.watchedLive);
    } finally {
      await plain.setFaults({ apiUnavailable: false });
    }
    await waitFor("live again", () => e.watchedLive, 15_000);
    const api = deployment("back", "api", 2);
    await create(e, api);
    await podsSeen(e, "back/api", 2);
    counter.reset();
    await e.capacity();
    expect(Object.fromEntries(counter.counts())).toEqual({ "GET /api/v1/nodes": 1 });
    await remove(e, api);
  }, 40_000);

  it("over HTTPS with a token: the watch streams verify the edge's CA and carry the token", async () => {
    const e = await client(
      cfg("edge-ws", secure.url, {
        ...(secure.pki ? { caFile: secure.pki.caFile } : {}),
        ...(secure.tokenFile ? { tokenFile: secure.tokenFile } : {}),
      }),
    );
    await e.capacity();
    await waitFor("the copies live", () => e.watchedLive, 15_000);
    const web = deployment("tls", "web", 2);
    await create(e, web);
    await podsSeen(e, "tls/web", 2);
    expect((await e.watchedWorkloadsOf(["tls"])).map((w) => w.name)).toEqual(["web"]);
    await remove(e, web);
  }, 40_000);

  it("an edge not watched lists its pods for each reading", async () => {
    const e = await client(cfg("edge-w", counter.url), false);
    counter.reset();
    await e.capacity();
    await e.capacity();
    expect(counter.counts().get("GET /api/v1/pods")).toBe(2);
    expect(e.watchedLive).toBe(false);
  });
});
