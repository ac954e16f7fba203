/**
 * Admission under contention, through real processes: 100 single-package intents submitted at once to an agent
 * whose two emulated edges have room for 40 of them. Exactly the admissible ones deploy (READY, their
 * Deployments available on the edges); the others are refused on resources and end ROLLED_BACK having written
 * nothing; and no edge is ever asked for more than it has.
 *
 * The emulator process does not expose its scheduler's high-water marks, so the test keeps its own from the
 * edges' pod watch streams (every change of every pod, in order): per node, the highest sum of requests of the
 * pods bound to it, and per edge, the highest sum of requests of all pods in existence, bound or not — the
 * second catches an over-commit that the scheduler would only show as pods left Pending.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, RepositoryRole, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

const run = promisify(execFile);

const INTENTS = 100;
const CPU_MILLIS = 100;
const MEMORY = 64 * 2 ** 20;
/** Node size: 2 cores per edge hold 20 packages of 100m; memory and pod slots are never the limit. */
const NODE = { cpu: "2", memory: "8Gi" };

interface Tally {
  /** Per node: the highest sum of requests of pods bound to it. */
  boundPeak: Map<string, { cpuMillis: number; memoryBytes: number; pods: number }>;
  /** The highest sum of requests of all the edge's pods (bound or pending). */
  demandPeak: { cpuMillis: number; memoryBytes: number; pods: number };
  /** Pods that were ever seen unbound with the scheduler's Unschedulable reason. */
  unschedulable: Set<string>;
  events: number;
  /** Set when the watch broke before it was stopped. */
  error?: Error;
  stop(): void;
}

const cpuMillis = (q: string | undefined): number =>
  !q ? 0 : q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000;
const memoryBytes = (q: string | undefined): number => {
  if (!q) return 0;
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * ({ Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ""] ?? 1);
};

interface Pod {
  metadata: { name: string; namespace: string };
  spec: { nodeName?: string; containers: { resources?: { requests?: Record<string, string> } }[] };
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

/** Follows every pod change on an edge (a list, then a watch from its resourceVersion) and keeps the peaks. */
async function tallyPods(server: string): Promise<Tally> {
  const controller = new AbortController();
  const listed = (await (await fetch(`${server}/api/v1/pods`)).json()) as {
    metadata: { resourceVersion: string };
    items: Pod[];
  };
  const pods = new Map<string, { node: string; cpuMillis: number; memoryBytes: number; live: boolean }>();
  const tally: Tally = {
    boundPeak: new Map(),
    demandPeak: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
    unschedulable: new Set(),
    events: 0,
    stop: () => controller.abort(),
  };
  const account = () => {
    const bound = new Map<string, { cpuMillis: number; memoryBytes: number; pods: number }>();
    const demand = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
    for (const p of pods.values()) {
      if (!p.live) continue;
      demand.cpuMillis += p.cpuMillis;
      demand.memoryBytes += p.memoryBytes;
      demand.pods += 1;
      if (!p.node) continue;
      const b = bound.get(p.node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      b.cpuMillis += p.cpuMillis;
      b.memoryBytes += p.memoryBytes;
      b.pods += 1;
      bound.set(p.node, b);
    }
    for (const [node, b] of bound) {
      const peak = tally.boundPeak.get(node) ?? { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      tally.boundPeak.set(node, {
        cpuMillis: Math.max(peak.cpuMillis, b.cpuMillis),
        memoryBytes: Math.max(peak.memoryBytes, b.memoryBytes),
        pods: Math.max(peak.pods, b.pods),
      });
    }
    const d = tally.demandPeak;
    tally.demandPeak = {
      cpuMillis: Math.max(d.cpuMillis, demand.cpuMillis),
      memoryBytes: Math.max(d.memoryBytes, demand.memoryBytes),
      pods: Math.max(d.pods, demand.pods),
    };
  };
  const observe = (type: string, object: Pod) => {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    tally.events++;
    if (type === "DELETED") pods.delete(key);
    else {
      let cpu = 0;
      let memory = 0;
      for (const c of object.spec.containers) {
        cpu += cpuMillis(c.resources?.requests?.["cpu"]);
        memory += memoryBytes(c.resources?.requests?.["memory"]);
      }
      const phase = object.status?.phase;
      pods.set(key, {
        node: object.spec.nodeName ?? "",
        cpuMillis: cpu,
        memoryBytes: memory,
        live: phase !== "Succeeded" && phase !== "Failed",
      });
      if (
        !object.spec.nodeName &&
        object.status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable")
      )
        tally.unschedulable.add(key);
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
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
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

let edges: EmulatorProcess[] = [];
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;

beforeAll(async () => {
  const started = await Promise.allSettled(
    ["edge-1", "edge-2"].map((name) =>
      startEmulatorProcess({ name, nodes: [{ name: `${name}-node-1`, ...NODE }], podStartDelayMs: 0 }),
    ),
  );
  // Those that started are stopped in afterAll even when the other did not.
  edges = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  for (const s of started) if (s.status === "rejected") throw s.reason;
  agent = await startAgentProcess({
    logLevel: "info",
    extraConfig: {
      edges: edges.map((e, i) => ({
        name: `edge-${i + 1}`,
        server: e.url,
        labels: { zone: i === 0 ? "north" : "south" },
        repository: `edge-${i + 1}-deploy`,
        timeoutMs: 10_000,
        syncPeriod: "100ms",
      })),
      lifecycle: { defaultTimeoutSeconds: 120, pollMs: 50, cleanupTimeoutSeconds: 30, capacityMaxAgeMs: 250 },
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = {
    authorization: `Bearer ${await agent.token(["intents:write", "intents:read", "catalogue:read", "repos:admin"])}`,
  };
});
afterAll(async () => {
  await agent?.stop();
  await Promise.all(edges.map((e) => e.stop()));
});

const intentMessage = (name: string) =>
  intentToMessage(
    validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name },
      spec: {
        timeout: "45s",
        packages: [
          {
            name: "sink",
            blueprint: "traffic-sink",
            replicas: 1,
            resources: { cpu: `${CPU_MILLIS}m`, memory: "64Mi" },
          },
        ],
      },
    }),
  );

function groupBy<T>(list: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of list) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
}

const SETTLED = new Set([
  DeploymentState.READY,
  DeploymentState.ROLLED_BACK,
  DeploymentState.FAILED,
  DeploymentState.TERMINATED,
]);

it("100 intents submitted at once competing for capacity that fits 40: exactly the admissible ones deploy; every emulator's high-water mark ≤ allocatable", async () => {
  // What the edges can take, as the agent reads it: the free CPU of each edge over one package's request.
  let fit = 0;
  const allocatable = new Map<string, { cpuMillis: number; memoryBytes: number }>();
  for (let i = 0; ; i++) {
    const { edges: listed } = await client.listEdges({}, { headers, timeoutMs: 10_000 });
    if (listed.length === 2 && listed.every((e) => e.healthy && e.capacity?.free)) {
      fit = 0;
      for (const e of listed) {
        const free = e.capacity?.free;
        fit += Math.min(
          Math.floor(Number(free?.cpuMillis ?? 0) / CPU_MILLIS),
          Math.floor(Number(free?.memoryBytes ?? 0) / MEMORY),
        );
        allocatable.set(e.name, {
          cpuMillis: Number(e.capacity?.allocatable?.cpuMillis ?? 0),
          memoryBytes: Number(e.capacity?.allocatable?.memoryBytes ?? 0),
        });
      }
      break;
    }
    if (i > 100)
      throw new Error(
        `the edges did not become healthy: ${JSON.stringify(listed.map((e) => [e.name, e.healthy, e.message]))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(fit).toBe(40);

  const tallies = await Promise.all(edges.map((e) => tallyPods(e.url)));
  try {
    const names = Array.from({ length: INTENTS }, (_, i) => `contend-${String(i).padStart(3, "0")}`);
    const submitted = await Promise.all(
      names.map((name) => client.submitIntent({ intent: intentMessage(name) }, { headers, timeoutMs: 30_000 })),
    );
    expect(submitted.map((s) => s.deploymentId)).toEqual(names.map((n) => `${n}.1`));
    expect(submitted.every((s) => !s.noOp)).toBe(true);

    // Until every deployment has settled (bounded).
    let deployments: Deployment[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const page = await client.listDeployments({ pageSize: 1000 }, { headers, timeoutMs: 10_000 });
      deployments = page.deployments.filter((d) => d.intent.startsWith("contend-"));
      if (deployments.length === INTENTS && deployments.every((d) => SETTLED.has(d.state))) break;
      if (Date.now() > deadline) {
        const counts = groupBy(deployments, (d) => DeploymentState[d.state]);
        throw new Error(
          `not every deployment settled within 120 s (${[...counts].map(([s, l]) => `${s}: ${l.length}`).join(", ")})`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }

    const ready = deployments.filter((d) => d.state === DeploymentState.READY);
    const refused = deployments.filter((d) => d.state !== DeploymentState.READY);
    const describe = (list: Deployment[]) =>
      list
        .slice(0, 5)
        .map((d) => `${d.intent} ${DeploymentState[d.state]}: ${d.reason}`)
        .join("\n");
    expect(ready.length, describe(refused)).toBe(fit);
    expect(refused.length).toBe(INTENTS - fit);
    for (const d of refused) {
      expect(d.state, `${d.intent}: ${d.reason}`).toBe(DeploymentState.ROLLED_BACK);
      expect(d.admission.length, `${d.intent}: ${d.reason}`).toBeGreaterThan(0);
      expect(
        d.admission.every((a) => a.check === "resources"),
        `${d.intent}: ${JSON.stringify(d.admission)}`,
      ).toBe(true);
      expect(d.packages.map((p) => [p.package, DeploymentState[p.state]])).toEqual([["sink", "FAILED"]]);
    }
    for (const d of ready)
      expect(d.packages.map((p) => [p.package, DeploymentState[p.state]])).toEqual([["sink", "READY"]]);
    // Both edges were used: 20 on each.
    const perEdge = groupBy(ready, (d) => d.packages[0]?.edge ?? "");
    for (const e of ["edge-1", "edge-2"]) expect(perEdge.get(e)?.length, e).toBe(20);

    // On the edges: every READY intent's Deployment is available there, nothing of a refused one exists.
    for (const [i, edge] of edges.entries()) {
      const name = `edge-${i + 1}`;
      const res = await fetch(`${edge.url}/apis/apps/v1/deployments`);
      const list = (await res.json()) as {
        items: {
          metadata: { name: string; namespace: string };
          spec: { replicas: number };
          status?: { availableReplicas?: number };
        }[];
      };
      const mine = list.items.filter((d) => d.metadata.namespace.startsWith("contend-"));
      const expected = (perEdge.get(name) ?? []).map((d) => d.intent).sort();
      expect(mine.map((d) => d.metadata.namespace).sort()).toEqual(expected);
      for (const d of mine) {
        expect(d.metadata.name).toBe("sink");
        expect(d.status?.availableReplicas, `${d.metadata.namespace}/${d.metadata.name}`).toBe(d.spec.replicas);
      }
      const namespaces = (await (await fetch(`${edge.url}/api/v1/namespaces`)).json()) as {
        items: { metadata: { name: string } }[];
      };
      expect(
        namespaces.items
          .map((n) => n.metadata.name)
          .filter((n) => n.startsWith("contend-"))
          .sort(),
      ).toEqual(expected);
    }

    // No edge was ever asked for more than it has: per node, the peak of bound requests; per edge, the peak of
    // all pods' requests (bound or pending); and no pod was ever unschedulable.
    for (const [i, tally] of tallies.entries()) {
      const name = `edge-${i + 1}`;
      const alloc = allocatable.get(name) as { cpuMillis: number; memoryBytes: number };
      expect(tally.error).toBeUndefined();
      expect(tally.events).toBeGreaterThan(0);
      expect([...tally.boundPeak.keys()]).toEqual([`${name}-node-1`]);
      for (const peak of tally.boundPeak.values()) {
        expect(peak.cpuMillis).toBeLessThanOrEqual(alloc.cpuMillis);
        expect(peak.memoryBytes).toBeLessThanOrEqual(alloc.memoryBytes);
        expect(peak.pods).toBeLessThanOrEqual(110);
      }
      expect(tally.demandPeak.cpuMillis).toBeLessThanOrEqual(alloc.cpuMillis);
      expect(tally.demandPeak.memoryBytes).toBeLessThanOrEqual(alloc.memoryBytes);
      expect(tally.demandPeak.pods).toBe(20);
      expect([...tally.unschedulable]).toEqual([]);
    }
  } finally {
    for (const t of tallies) t.stop();
  }

  // The repositories hold exactly the READY intents' folders, and are sound.
  const { repositories } = await client.listRepositories({}, { headers, timeoutMs: 10_000 });
  for (const repo of repositories.filter((r) => r.role === RepositoryRole.DEPLOYMENT)) {
    await run("git", ["-C", repo.url, "fsck", "--strict"], { env: { PATH: process.env["PATH"] ?? "" } });
  }
}, 240_000);
