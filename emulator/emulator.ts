/**
 * An emulated edge cluster (docs/architecture.md, "An emulator behaviour"): the Kubernetes API over HTTP and HTTPS (bearer token
 * required on HTTPS), with the namespaces a new cluster has and the nodes of its config. Embeddable
 * in-process, or run as `camino emulator --config edge.yaml`. A test double for Kubernetes: the agent
 * reaches it only through the Kubernetes API, as it would a real cluster.
 */
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { ApiServer } from "./api-server.js";
import { ConfigSyncReconciler } from "./configsync/reconciler.js";
import { WorkloadControllers, type HighWaterMark } from "./controllers/workloads.js";
import { faultProblems, type LinkTraffic, mergeLinkTraffic, NO_FAULTS, type Faults } from "./faults.js";
import { defaultUsage, renderCadvisor, renderKubeStateMetrics, type UsageModel } from "./metrics/exposition.js";
import { MeshTraffic, renderIstio } from "./metrics/istio.js";
import { ObjectStore, type KubeObject } from "./store.js";
import { TypeRegistry } from "./type-registry.js";

export interface EmulatedNode {
  name: string;
  labels?: Record<string, string>;
  /** Allocatable CPU and memory as Kubernetes quantities, and pod slots. */
  cpu: string;
  memory: string;
  pods?: number;
}

export interface EmulatorOptions {
  /** The edge's name (for logs and the node role labels). */
  name: string;
  /** Plain HTTP listener (no auth, as kubectl sends no token over http). Omit to disable. */
  http?: { host?: string; port?: number };
  /** HTTPS listener with a bearer token. */
  https?: { host?: string; port?: number; cert: string | Buffer; key: string | Buffer; token: string };
  nodes?: EmulatedNode[];
  /**
   * The east-west gateway: its LoadBalancer address and the edge's mesh network (topology.istio.io/network).
   * Default: network `<name>-network` and an address in 192.0.2.0/24 derived from the name, as an install has.
   */
  eastWest?: { address: string; network: string };
  /**
   * Istio's install-time settings for trust between meshes: `ISTIO_MULTIROOT_MESH` and `SHARED_MESH_CONFIG` on
   * istiod, `PROXY_CONFIG_XDS_AGENT` in the mesh's default proxy metadata. Default: multi-root on, the shared
   * mesh config `camino-mesh-trust`, as an edge installed for CAMINO's cross-domain links has.
   */
  istio?: { multiRoot?: boolean; xdsAgent?: boolean; sharedMeshConfig?: string };
  /** Admin endpoint (faults, usage), plain HTTP on loopback. Omit to disable. */
  admin?: { host?: string; port?: number };
  /**
   * Metrics listener: kube-state-metrics at /metrics, cAdvisor at /metrics/cadvisor, the mesh's sidecars (Istio's
   * standard metrics) at /metrics/istio. Omit to disable.
   */
  metrics?: { host?: string; port?: number };
  /** Share of its requests a workload uses (cAdvisor series). Default 0.5. */
  usageFraction?: number;
  /** Faults from the start. */
  faults?: Partial<Faults>;
  /** Run the ConfigSync reconciler for RootSyncs and RepoSyncs. Default true. */
  configSync?: boolean;
  /**
   * Where the emulator's log lines go (one object each: `level`, `msg` and fields), such as a RootSync's source
   * error and its end. Default: none.
   */
  log?: (line: { level: "info" | "warn"; msg: string } & Record<string, unknown>) => void;
  /** Run the workload controllers, scheduler and kubelets. Default true. */
  controllers?: boolean;
  /** How long a scheduled pod takes to become Ready, in ms. Default 0. */
  podStartDelayMs?: number;
  /** Changes kept for watch resumption. */
  historySize?: number;
  now?: () => Date;
}

export interface Emulator {
  name: string;
  httpUrl?: string;
  httpsUrl?: string;
  adminUrl?: string;
  metricsUrl?: string;
  store: ObjectStore;
  /** Per-workload usage ("namespace/name" → share of requests) for the cAdvisor series. */
  usage: UsageModel;
  types: TypeRegistry;
  api: ApiServer;
  /** The faults in force. */
  faults(): Faults;
  /**
   * Changes faults (a partial document); takes effect at once. `links` is merged into the links in force (an
   * entry set to null is removed).
   */
  setFaults(faults: Partial<Omit<Faults, "links">> & { links?: Record<string, LinkTraffic | null> }): Promise<void>;
  /** Set by the workload controllers: called with the nodes that must be NotReady. */
  onNodesChanged?: (notReady: readonly string[]) => void;
  /** Per node, the highest sum of requests of pods bound to it ever seen (never above allocatable). */
  highWaterMarks(): Map<string, HighWaterMark>;
  close(): Promise<void>;
}

/** A gateway address in TEST-NET-1 and a network named after the edge, stable for a name. */
function defaultEastWest(name: string): { address: string; network: string } {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 250;
  return { address: `192.0.2.${h + 2}`, network: `${name}-network` };
}

/**
 * istiod's Deployment and the mesh config, as an install made for cross-domain links has them. The emulator runs
 * no control plane, so the Deployment asks for no replicas: it is there for what CAMINO reads, its settings.
 */
function istioControlPlane(
  store: ObjectStore,
  stamp: string,
  istio: { multiRoot?: boolean; xdsAgent?: boolean; sharedMeshConfig?: string },
): void {
  const labels = { app: "istiod", istio: "pilot" };
  const env = [
    { name: "ISTIO_MULTIROOT_MESH", value: String(istio.multiRoot ?? true) },
    { name: "PILOT_ENABLE_CROSS_CLUSTER_WORKLOAD_ENTRY", value: "true" },
  ];
  const shared = istio.sharedMeshConfig ?? "camino-mesh-trust";
  if (shared) env.push({ name: "SHARED_MESH_CONFIG", value: shared });
  store.put("apps/deployments", {
    metadata: {
      name: "istiod",
      namespace: "istio-system",
      uid: "deploy-istiod",
      creationTimestamp: stamp,
      generation: 1,
      labels,
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "discovery", image: "docker.io/istio/pilot:1.24.2", env }] },
      },
    },
    status: { observedGeneration: 1, replicas: 0 },
  });
  const mesh = [
    "defaultConfig:",
    "  proxyMetadata:",
    `    PROXY_CONFIG_XDS_AGENT: "${String(istio.xdsAgent ?? true)}"`,
    '    ISTIO_META_DNS_CAPTURE: "true"',
    '    ISTIO_META_DNS_AUTO_ALLOCATE: "true"',
    "",
  ].join("\n");
  store.put("/configmaps", {
    metadata: { name: "istio", namespace: "istio-system", uid: "cm-istio", creationTimestamp: stamp, generation: 1 },
    data: { mesh },
  });
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function nodeObject(n: EmulatedNode, now: string, edge: string): KubeObject {
  const allocatable = { cpu: n.cpu, memory: n.memory, pods: String(n.pods ?? 110) };
  return {
    metadata: {
      name: n.name,
      uid: `node-${n.name}`,
      creationTimestamp: now,
      labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "camino.io/edge": edge, ...n.labels },
    },
    spec: {},
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: [
        { type: "InternalIP", address: "10.0.0.1" },
        { type: "Hostname", address: n.name },
      ],
      nodeInfo: {
        kubeletVersion: "v1.32.0",
        osImage: "CAMINO edge emulator",
        kernelVersion: "emulated",
        containerRuntimeVersion: "emulated://1.0",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

/** Starts an emulated cluster. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const now = options.now ?? (() => new Date());
  const store = new ObjectStore(options.historySize !== undefined ? { historySize: options.historySize } : {});
  const types = new TypeRegistry();
  const stamp = now()
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    store.put("/namespaces", {
      metadata: {
        name: ns,
        uid: `ns-${ns}`,
        creationTimestamp: stamp,
        generation: 1,
        labels: { "kubernetes.io/metadata.name": ns },
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  }
  for (const n of options.nodes ?? []) store.put("/nodes", nodeObject(n, stamp, options.name));
  // What an edge with ConfigSync and Istio installed has.
  const ns = (name: string, labels: Record<string, string> = {}) =>
    store.put("/namespaces", {
      metadata: {
        name,
        uid: `ns-${name}`,
        creationTimestamp: stamp,
        generation: 1,
        labels: { "kubernetes.io/metadata.name": name, ...labels },
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  ns("config-management-system");
  const eastWest = options.eastWest ?? defaultEastWest(options.name);
  ns("istio-system", { "topology.istio.io/network": eastWest.network });
  store.put("/services", {
    metadata: {
      name: "istio-eastwestgateway",
      namespace: "istio-system",
      uid: "svc-istio-eastwestgateway",
      creationTimestamp: stamp,
      generation: 1,
      labels: {
        app: "istio-eastwestgateway",
        istio: "eastwestgateway",
        "topology.istio.io/network": eastWest.network,
      },
    },
    spec: {
      type: "LoadBalancer",
      selector: { app: "istio-eastwestgateway", istio: "eastwestgateway" },
      clusterIP: "10.96.0.15",
      ports: [
        { name: "status-port", port: 15021, targetPort: 15021, protocol: "TCP" },
        { name: "tls", port: 15443, targetPort: 15443, protocol: "TCP" },
        { name: "tls-istiod", port: 15012, targetPort: 15012, protocol: "TCP" },
        { name: "tls-webhook", port: 15017, targetPort: 15017, protocol: "TCP" },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: eastWest.address }] } },
  });
  istioControlPlane(store, stamp, options.istio ?? {});

  let faults: Faults = { ...NO_FAULTS, ...options.faults, links: { ...options.faults?.links } };
  const usage = defaultUsage();
  const mesh = new MeshTraffic();
  if (options.usageFraction !== undefined) usage.fraction = options.usageFraction;
  const metricsText = (path: string): string | undefined => {
    if (path === "/metrics") return renderKubeStateMetrics(store);
    if (path === "/metrics/cadvisor") return renderCadvisor(store, usage, now().getTime());
    if (path === "/metrics/istio") return renderIstio(store, mesh, faults.links, now().getTime(), options.name);
    const m = /^\/api\/v1\/nodes\/([^/]+)\/proxy\/metrics\/cadvisor$/.exec(path);
    if (m && store.get("/nodes", undefined, m[1] as string)) return renderCadvisor(store, usage, now().getTime(), m[1]);
    return undefined;
  };
  const PROM = "text/plain; version=0.0.4; charset=utf-8";
  const api = new ApiServer({ store, types, now });
  const apiWithToken = options.https ? new ApiServer({ store, types, now, token: options.https.token }) : undefined;
  // A slow API: every request waits the configured latency first. The API server also proxies each node's
  // kubelet cAdvisor endpoint, as a real one does.
  const delayed =
    (handler: http.RequestListener, token?: string): http.RequestListener =>
    (req, res) => {
      const serve = () => {
        const path = (req.url ?? "").split("?")[0] ?? "";
        if (
          req.method === "GET" &&
          path.startsWith("/api/v1/nodes/") &&
          path.endsWith("/proxy/metrics/cadvisor") &&
          (token === undefined || req.headers.authorization === `Bearer ${token}`)
        ) {
          const text = metricsText(path);
          if (text !== undefined) return void res.writeHead(200, { "content-type": PROM }).end(text);
        }
        handler(req, res);
      };
      if (faults.apiLatencyMs > 0) setTimeout(serve, faults.apiLatencyMs);
      else serve();
    };

  /** An API listener that can be closed (API unavailable) and reopened on the same port. */
  const listeners: { server: http.Server; host: string; port: number; sockets: Set<Socket>; open: boolean }[] = [];
  const add = async (server: http.Server, host: string, port: number) => {
    const entry = { server, host, port: 0, sockets: new Set<Socket>(), open: true };
    server.on("connection", (c: Socket) => {
      entry.sockets.add(c);
      c.once("close", () => entry.sockets.delete(c));
    });
    entry.port = await listen(server, host, port);
    listeners.push(entry);
    return entry.port;
  };
  const closeListener = async (l: (typeof listeners)[number]) => {
    if (!l.open) return;
    l.open = false;
    for (const c of l.sockets) c.destroy();
    await new Promise((r) => l.server.close(r));
  };
  const reconciler =
    options.configSync === false
      ? undefined
      : new ConfigSyncReconciler({
          store,
          api,
          now,
          failingObjects: () => new Set(faults.syncErrors),
          paused: () => faults.syncPaused,
          onSourceError: (sync, error) =>
            options.log?.(
              error
                ? { level: "warn", msg: "ConfigSync source error", sync, code: error.code, error: error.message }
                : { level: "info", msg: "ConfigSync source error cleared", sync },
            ),
        });
  const controllers =
    options.controllers === false
      ? undefined
      : new WorkloadControllers({
          store,
          now,
          podStartDelayMs: options.podStartDelayMs ?? 0,
          unavailable: () => new Set(faults.unavailable),
        });
  const notReady = new Set<string>();

  const usageEndpoint = usageEndpointFor(usage);
  let admin: http.Server | undefined;
  let metrics: http.Server | undefined;
  const emulator: Emulator = {
    name: options.name,
    store,
    usage,
    types,
    api,
    faults: () => ({
      ...faults,
      syncErrors: [...faults.syncErrors],
      nodesNotReady: [...faults.nodesNotReady],
      unavailable: [...faults.unavailable],
      links: Object.fromEntries(Object.entries(faults.links).map(([k, v]) => [k, { ...v }])),
    }),
    highWaterMarks: () => controllers?.highWaterMarks() ?? new Map(),
    async setFaults(change) {
      const problems = faultProblems(change);
      // Node names are checked before anything changes, so a bad document changes nothing.
      for (const n of change.nodesNotReady ?? [])
        if (!store.get("/nodes", undefined, n)) problems.push(`nodesNotReady: no node ${JSON.stringify(n)}`);
      if (problems.length > 0) throw new TypeError(problems.join("; "));
      // The links' counters have grown with the old traffic until now; the new traffic applies from now on.
      if (change.links) mesh.advance(now().getTime(), faults.links);
      const { links, ...rest } = change;
      faults = { ...faults, ...rest, links: links ? mergeLinkTraffic(faults.links, links) : faults.links };
      for (const l of listeners) {
        if (faults.apiUnavailable) await closeListener(l);
        else if (!l.open) {
          l.port = await listen(l.server, l.host, l.port);
          l.open = true;
        }
      }
      // Node loss: NotReady nodes' pods are evicted and rescheduled where they fit; recovered nodes come back.
      if (controllers) {
        for (const n of faults.nodesNotReady) if (!notReady.has(n)) controllers.setNodeReady(n, false);
        for (const n of [...notReady]) if (!faults.nodesNotReady.includes(n)) controllers.setNodeReady(n, true);
      }
      notReady.clear();
      for (const n of faults.nodesNotReady) notReady.add(n);
      // Unpaused, ConfigSync syncs at once (and applies everything, correcting what drifted meanwhile).
      if (change.syncPaused === false) reconciler?.resume();
      // Readiness follows the unavailable workloads at once (no object changed to wake the controllers).
      if (controllers && change.unavailable) controllers.reconcileAll();
      this.onNodesChanged?.(faults.nodesNotReady);
    },
    close: async () => {
      await reconciler?.stop();
      controllers?.stop();
      await Promise.all(listeners.map(closeListener));
      for (const side of [admin, metrics]) {
        if (!side) continue;
        side.closeAllConnections();
        await new Promise((r) => side.close(r));
      }
    },
  };
  if (options.http) {
    const host = options.http.host ?? "127.0.0.1";
    emulator.httpUrl = `http://${host}:${await add(http.createServer(delayed(api.handle)), host, options.http.port ?? 0)}`;
  }
  if (options.https && apiWithToken) {
    const host = options.https.host ?? "127.0.0.1";
    emulator.httpsUrl = `https://${host}:${await add(https.createServer({ cert: options.https.cert, key: options.https.key }, delayed(apiWithToken.handle, options.https.token)), host, options.https.port ?? 0)}`;
  }
  if (options.admin) {
    admin = http.createServer((req, res) => {
      const reply = (code: number, body: unknown): void =>
        void res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.url === "/usage") return usageEndpoint(req, reply);
      if (req.url !== "/faults") return reply(404, { error: "/faults and /usage are served" });
      if (req.method === "GET") return reply(200, emulator.faults());
      if (req.method !== "PUT" && req.method !== "PATCH" && req.method !== "POST")
        return reply(405, { error: "GET or PATCH /faults" });
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        let change: unknown;
        try {
          change = JSON.parse(text || "{}");
        } catch {
          reply(400, { error: "body must be JSON" });
          return;
        }
        emulator.setFaults(change as Partial<Faults>).then(
          () => reply(200, emulator.faults()),
          (err: unknown) => reply(err instanceof TypeError ? 400 : 500, { error: (err as Error).message }),
        );
      });
    });
    const host = options.admin.host ?? "127.0.0.1";
    emulator.adminUrl = `http://${host}:${await listen(admin, host, options.admin.port ?? 0)}`;
  }
  if (options.metrics) {
    metrics = http.createServer((req, res) => {
      const text = req.method === "GET" ? metricsText((req.url ?? "").split("?")[0] ?? "") : undefined;
      if (text === undefined)
        return void res
          .writeHead(404, { "content-type": "text/plain" })
          .end("GET /metrics (kube-state-metrics), /metrics/cadvisor or /metrics/istio\n");
      res.writeHead(200, { "content-type": PROM }).end(text);
    });
    const host = options.metrics.host ?? "127.0.0.1";
    emulator.metricsUrl = `http://${host}:${await listen(metrics, host, options.metrics.port ?? 0)}`;
  }
  controllers?.start();
  reconciler?.start();
  if (faults.apiUnavailable || faults.nodesNotReady.length > 0)
    await emulator.setFaults({ apiUnavailable: faults.apiUnavailable, nodesNotReady: faults.nodesNotReady });
  return emulator;
}

/**
 * `GET /usage` shows the usage model; `PATCH /usage` with `{"fraction": 0.5, "workloads": {"ns/name": {"cpu": 0.9,
 * "memory": 0.8}}}` changes it (a workload set to null goes back to the default share).
 */
function usageEndpointFor(usage: UsageModel) {
  return (req: http.IncomingMessage, reply: (code: number, body: unknown) => void): void => {
    const show = () => ({ fraction: usage.fraction, workloads: Object.fromEntries(usage.overrides) });
    if (req.method === "GET") {
      reply(200, show());
      return;
    }
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      let body: { fraction?: unknown; workloads?: Record<string, { cpu?: unknown; memory?: unknown } | null> };
      try {
        body = JSON.parse(text || "{}") as typeof body;
      } catch {
        return reply(400, { error: "body must be JSON" });
      }
      if (!body || typeof body !== "object" || Array.isArray(body))
        return reply(400, { error: "body must be a JSON object" });
      if (
        body.workloads !== undefined &&
        (!body.workloads || typeof body.workloads !== "object" || Array.isArray(body.workloads))
      )
        return reply(400, { error: "workloads: must be an object" });
      for (const v of Object.values(body.workloads ?? {}))
        if (v !== null && (typeof v !== "object" || Array.isArray(v)))
          return reply(400, { error: "workloads: each value must be an object or null" });
      const share = (v: unknown) => typeof v === "number" && v >= 0 && v <= 10;
      if (body.fraction !== undefined && !share(body.fraction))
        return reply(400, { error: "fraction: must be a number between 0 and 10" });
      for (const [k, v] of Object.entries(body.workloads ?? {})) {
        if (!/^[^/]+\/[^/]+$/.test(k))
          return reply(400, { error: `workloads: key ${JSON.stringify(k)} must be namespace/name` });
        if (v !== null && ((v.cpu !== undefined && !share(v.cpu)) || (v.memory !== undefined && !share(v.memory))))
          return reply(400, { error: `workloads.${k}: cpu and memory must be numbers between 0 and 10` });
      }
      if (typeof body.fraction === "number") usage.fraction = body.fraction;
      for (const [k, v] of Object.entries(body.workloads ?? {})) {
        if (v === null) usage.overrides.delete(k);
        else
          usage.overrides.set(k, {
            ...(typeof v.cpu === "number" ? { cpu: v.cpu } : {}),
            ...(typeof v.memory === "number" ? { memory: v.memory } : {}),
          });
      }
      reply(200, show());
    });
  };
}

/** Reads TLS material and the token for `camino emulator` from files named in its config. */
export async function readTls(
  certFile: string,
  keyFile: string,
  tokenFile: string,
): Promise<{ cert: Buffer; key: Buffer; token: string }> {
  return {
    cert: await readFile(certFile),
    key: await readFile(keyFile),
    token: (await readFile(tokenFile, "utf8")).trim(),
  };
}
