/**
 * An emulated edge cluster (DESIGN.md section 5): the Kubernetes API over HTTP and HTTPS (bearer token
 * required on HTTPS), with the namespaces a new cluster has and the nodes of its config. Embeddable
 * in-process, or run as `camino emulator --config edge.yaml`. A test double for Kubernetes: the agent
 * reaches it only through the Kubernetes API, as it would a real cluster.
 */
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { ApiServer } from "./api-server.js";
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
  /** Changes kept for watch resumption. */
  historySize?: number;
  now?: () => Date;
}

export interface Emulator {
  name: string;
  httpUrl?: string;
  httpsUrl?: string;
  store: ObjectStore;
  types: TypeRegistry;
  close(): Promise<void>;
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
    metadata: { name: n.name, uid: `node-${n.name}`, creationTimestamp: now, labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "camino.io/edge": edge, ...n.labels } },
    spec: {},
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }, { type: "Hostname", address: n.name }],
      nodeInfo: { kubeletVersion: "v1.32.0", osImage: "CAMINO edge emulator", kernelVersion: "emulated", containerRuntimeVersion: "emulated://1.0", operatingSystem: "linux", architecture: "amd64" },
    },
  };
}

/** Starts an emulated cluster. */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const now = options.now ?? (() => new Date());
  const store = new ObjectStore(options.historySize !== undefined ? { historySize: options.historySize } : {});
  const types = new TypeRegistry();
  const stamp = now().toISOString().replace(/\.\d{3}Z$/, "Z");
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    store.put("/namespaces", { metadata: { name: ns, uid: `ns-${ns}`, creationTimestamp: stamp, generation: 1, labels: { "kubernetes.io/metadata.name": ns } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
  }
  for (const n of options.nodes ?? []) store.put("/nodes", nodeObject(n, stamp, options.name));

  const servers: http.Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: http.Server) => {
    servers.push(s);
    s.on("connection", (c: Socket) => {
      sockets.add(c);
      c.once("close", () => sockets.delete(c));
    });
  };
  const emulator: Emulator = {
    name: options.name,
    store,
    types,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
  if (options.http) {
    const server = http.createServer(new ApiServer({ store, types, now }).handle);
    track(server);
    const host = options.http.host ?? "127.0.0.1";
    emulator.httpUrl = `http://${host}:${await listen(server, host, options.http.port ?? 0)}`;
  }
  if (options.https) {
    const server = https.createServer({ cert: options.https.cert, key: options.https.key }, new ApiServer({ store, types, now, token: options.https.token }).handle);
    track(server);
    const host = options.https.host ?? "127.0.0.1";
    emulator.httpsUrl = `https://${host}:${await listen(server, host, options.https.port ?? 0)}`;
  }
  return emulator;
}

/** Reads TLS material and the token for `camino emulator` from files named in its config. */
export async function readTls(certFile: string, keyFile: string, tokenFile: string): Promise<{ cert: Buffer; key: Buffer; token: string }> {
  return { cert: await readFile(certFile), key: await readFile(keyFile), token: (await readFile(tokenFile, "utf8")).trim() };
}
