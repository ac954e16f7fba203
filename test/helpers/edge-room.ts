/**
 * An emulated edge's room as a user would read it, independently of the agent: its Node objects and pods
 * through kubectl, quantities parsed here (not with the project's parser), and a watch of every pod change
 * that keeps, per node, the highest sum of requests of the pods bound to it.
 */
import type { Kubectl } from "./kubectl.js";

const DECIMAL: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity in its base unit (cores, bytes, pods): "250m" → 0.25, "64Mi" → 67108864. */
export function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === "number") return q;
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  const unit = m[2] ?? "";
  return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? Number.NaN);
}

/** CPU in millicores, memory in bytes, and a pod count. */
export interface Room {
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
}

const roomOf = (list: Record<string, string> | undefined, pods: number): Room => ({
  cpuMillis: Math.round(quantity(list?.["cpu"]) * 1000),
  memoryBytes: Math.round(quantity(list?.["memory"])),
  pods,
});

export interface Pod {
  metadata: { name: string; namespace: string };
  spec: { nodeName?: string; containers: { resources?: { requests?: Record<string, string> } }[] };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

interface Node {
  metadata: { name: string };
  spec?: { unschedulable?: boolean };
  status: {
    allocatable: Record<string, string>;
    conditions?: { type: string; status: string }[];
  };
}

/** What a pod requests (the sum over its containers; these tests' pods have no init containers). */
export function podRequests(pod: Pod): Room {
  const r: Room = { cpuMillis: 0, memoryBytes: 0, pods: 1 };
  for (const c of pod.spec.containers) {
    const one = roomOf(c.resources?.requests, 0);
    r.cpuMillis += one.cpuMillis;
    r.memoryBytes += one.memoryBytes;
  }
  return r;
}

/** Whether a pod still holds what it requests on its node: bound, and neither Succeeded nor Failed. */
export const holds = (p: Pod): boolean =>
  Boolean(p.spec.nodeName) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

export interface NodeRoom {
  name: string;
  allocatable: Room;
  /** Allocatable less the requests of the pods bound to the node. */
  free: Room;
}

async function getJson<T>(kubectl: Kubectl, args: string[]): Promise<T> {
  const r = await kubectl([...args, "-o", "json"]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export const listPods = async (kubectl: Kubectl): Promise<Pod[]> =>
  (await getJson<{ items: Pod[] }>(kubectl, ["get", "pods", "--all-namespaces"])).items;

/** The edge's Ready, schedulable nodes in the API's order, each with its allocatable and free room. */
export async function readNodes(kubectl: Kubectl): Promise<NodeRoom[]> {
  const nodes = (await getJson<{ items: Node[] }>(kubectl, ["get", "nodes"])).items;
  const used = new Map<string, Room>();
  for (const p of await listPods(kubectl)) {
    if (!holds(p)) continue;
    const r = podRequests(p);
    const u = used.get(p.spec.nodeName as string) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
    used.set(p.spec.nodeName as string, {
      cpuMillis: u.cpuMillis + r.cpuMillis,
      memoryBytes: u.memoryBytes + r.memoryBytes,
      pods: u.pods + 1,
    });
  }
  return nodes
    .filter(
      (n) => !n.spec?.unschedulable && n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    )
    .map((n) => {
      const allocatable = roomOf(n.status.allocatable, quantity(n.status.allocatable["pods"]));
      const u = used.get(n.metadata.name) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      return {
        name: n.metadata.name,
        allocatable,
        free: {
          cpuMillis: allocatable.cpuMillis - u.cpuMillis,
          memoryBytes: allocatable.memoryBytes - u.memoryBytes,
          pods: allocatable.pods - u.pods,
        },
      };
    });
}

const fitsIn = (free: Room, pod: Room) =>
  free.cpuMillis >= pod.cpuMillis && free.memoryBytes >= pod.memoryBytes && free.pods >= pod.pods;

/** How many pods of one size the nodes take, each pod put on the first node it fits (what is left per node, too). */
export function firstFit(nodes: readonly NodeRoom[], pod: Room): { count: number; perNode: Map<string, number> } {
  const left = nodes.map((n) => ({ name: n.name, ...n.free }));
  const perNode = new Map(nodes.map((n) => [n.name, 0]));
  let count = 0;
  for (;;) {
    const node = left.find((n) => fitsIn(n, pod));
    if (!node) return { count, perNode };
    node.cpuMillis -= pod.cpuMillis;
    node.memoryBytes -= pod.memoryBytes;
    node.pods -= pod.pods;
    perNode.set(node.name, (perNode.get(node.name) ?? 0) + 1);
    count++;
  }
}

/** How many pods of one size the edge's free room would take in total, were it one node. */
export function totalFit(nodes: readonly NodeRoom[], pod: Room): number {
  const sum = (f: (r: Room) => number) => nodes.reduce((a, n) => a + f(n.free), 0);
  return Math.min(
    Math.floor(sum((r) => r.cpuMillis) / pod.cpuMillis),
    Math.floor(sum((r) => r.memoryBytes) / pod.memoryBytes),
    Math.floor(sum((r) => r.pods) / pod.pods),
  );
}

export interface PodTally {
  /** Per node: the highest sum of requests of the pods bound to it (spec.nodeName), per dimension. */
  boundPeak: Map<string, Room>;
  /** The most pods matching `counted` that existed at one time, bound or not. */
  countedPeak: number;
  /** Every pod matching `counted` ever seen, with what it requested. */
  countedRequests: Map<string, Room>;
  /** Pods ever seen Pending for lack of room: unbound with the scheduler's Unschedulable reason, or refused by a kubelet (OutOfcpu, …). */
  noRoom: Map<string, string>;
  events: number;
  /** Set when the watch broke before it was stopped. */
  error?: Error;
  stop(): void;
}

/**
 * Follows every pod change on an edge (a list, then a watch from its resourceVersion, so no change is missed)
 * and keeps the peaks. `counted` picks the pods whose number is tallied (by "namespace/name").
 */
export async function watchPods(server: string, counted: (key: string) => boolean): Promise<PodTally> {
  const controller = new AbortController();
  const listed = (await (await fetch(`${server}/api/v1/pods`)).json()) as {
    metadata: { resourceVersion: string };
    items: Pod[];
  };
  const pods = new Map<string, { node: string; room: Room; live: boolean }>();
  const tally: PodTally = {
    boundPeak: new Map(),
    countedPeak: 0,
    countedRequests: new Map(),
    noRoom: new Map(),
    events: 0,
    stop: () => controller.abort(),
  };
  const account = () => {
    const bound = new Map<string, Room>();
    let n = 0;
    for (const [key, p] of pods) {
      if (!p.live) continue;
      if (counted(key)) n++;
      if (!p.node) continue;
      const b = bound.get(p.node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      bound.set(p.node, {
        cpuMillis: b.cpuMillis + p.room.cpuMillis,
        memoryBytes: b.memoryBytes + p.room.memoryBytes,
        pods: b.pods + 1,
      });
    }
    for (const [node, b] of bound) {
      const peak = tally.boundPeak.get(node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      tally.boundPeak.set(node, {
        cpuMillis: Math.max(peak.cpuMillis, b.cpuMillis),
        memoryBytes: Math.max(peak.memoryBytes, b.memoryBytes),
        pods: Math.max(peak.pods, b.pods),
      });
    }
    tally.countedPeak = Math.max(tally.countedPeak, n);
  };
  const observe = (type: string, pod: Pod) => {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    tally.events++;
    if (type === "DELETED") pods.delete(key);
    else {
      const room = podRequests(pod);
      const phase = pod.status?.phase;
      pods.set(key, { node: pod.spec.nodeName ?? "", room, live: phase !== "Succeeded" && phase !== "Failed" });
      if (counted(key)) tally.countedRequests.set(key, room);
      const unschedulable = pod.status?.conditions?.find(
        (c) => c.type === "PodScheduled" && c.status !== "True" && c.reason === "Unschedulable",
      );
      if (!pod.spec.nodeName && unschedulable) tally.noRoom.set(key, `Unschedulable: ${unschedulable.message ?? ""}`);
      if (phase === "Pending" && pod.status?.reason?.startsWith("OutOf")) tally.noRoom.set(key, pod.status.reason);
    }
    account();
  };
  for (const p of listed.items) observe("ADDED", p);
  // Not awaited: the emulator sends the response headers only with the first event.
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      const res = await fetch(`${server}/api/v1/pods?watch=true&resourceVersion=${listed.metadata.resourceVersion}`, {
        signal: controller.signal,
      });
      if (res.status !== 200 || !res.body) throw new Error(`pod watch: ${res.status}`);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf("\n");
          if (!line.trim()) continue;
          const { type, object } = JSON.parse(line) as { type: string; object: Pod };
          if (type === "ERROR") throw new Error(`pod watch: ${JSON.stringify(object)}`);
          observe(type, object);
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) tally.error = err as Error;
    }
  })();
  return tally;
}
