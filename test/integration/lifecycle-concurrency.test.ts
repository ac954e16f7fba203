/**
 * Admission under contention, through real processes: 100 single-pod intents submitted at once to an agent whose
 * two emulated edges have three nodes each, with uneven, fragmented free room (odd node sizes, a node nearly
 * filled by a pod already running, a node that memory rather than CPU limits), so that each edge's free room in
 * total would take more pods than its nodes can. Exactly the admissible ones deploy — as many as fit when each pod
 * goes on the first node it fits, computed here from the Node objects and pods read with kubectl, not from the
 * agent — and the others are refused on resources and end ROLLED_BACK having written nothing.
 *
 * Witnesses independent of the agent: kubectl for the nodes' room and the pods at the end; a watch of each
 * edge's pods from before the submissions to the end (per node, the highest sum of requests of the pods bound to
 * it, which must stay within the node's allocatable; the most intent pods alive at once; any pod Pending for lack
 * of room); and the git CLI on each deployment repository (the folders at HEAD, each refused intent's history,
 * fsck).
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, RepositoryRole, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import {
  firstFit,
  holds,
  listPods,
  podRequests,
  readNodes,
  totalFit,
  watchPods,
  type NodeRoom,
  type PodTally,
} from "../helpers/edge-room.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";

const run = promisify(execFile);
const GIT_ENV = { PATH: process.env["PATH"] ?? "" };
const git = async (dir: string, args: string[]) =>
  (await run("git", ["-C", dir, ...args], { env: GIT_ENV, maxBuffer: 16 * 2 ** 20 })).stdout;

const INTENTS = 100;
/** What each intent's one pod requests. */
const POD = { cpuMillis: 100, memoryBytes: 64 * 2 ** 20, pods: 1 };

/**
 * The edges' nodes, and pods already running on some of them (bound by name, as a DaemonSet's are). By first fit
 * of 100m/64Mi pods: edge-1 takes 12 + 6 + 4 = 22, leaving 50m, 70m and 30m CPU (150m in all: room for one pod
 * more in total, on no node); edge-2 takes 0 + 3 + 14 = 17 (node a has 60m free, node b is full by memory with
 * 700m CPU left, node c leaves 50m: 8 pods more in total than on the nodes). The test reads these figures back
 * from the edges rather than trusting this comment. The emulator's scheduler spreads pods (least allocated) rather
 * than packing them first fit, but for pods of one size every placement that never leaves a fitting pod unplaced
 * fills the nodes with the same number.
 */
const EDGES = [
  {
    name: "edge-1",
    zone: "north",
    nodes: [
      { name: "edge-1-node-a", cpu: "1250m", memory: "2Gi" },
      { name: "edge-1-node-b", cpu: "2", memory: "3Gi", running: { cpu: "1330m", memory: "1Gi" } },
      { name: "edge-1-node-c", cpu: "430m", memory: "1Gi" },
    ],
  },
  {
    name: "edge-2",
    zone: "south",
    nodes: [
      { name: "edge-2-node-a", cpu: "3", memory: "8Gi", running: { cpu: "2940m", memory: "512Mi" } },
      { name: "edge-2-node-b", cpu: "1", memory: "200Mi" },
      { name: "edge-2-node-c", cpu: "1450m", memory: "6Gi" },
    ],
  },
] as const;
const EXPECTED_FIT: Record<string, number> = { "edge-1": 22, "edge-2": 17 };

/** The pods already running, bound to their nodes by name, in a namespace of their own. */
const runningManifest = (edge: (typeof EDGES)[number]) =>
  [
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: resident\n",
    ...edge.nodes.flatMap((n) =>
      "running" in n
        ? [
            `apiVersion: v1
kind: Pod
metadata:
  name: load-${n.name}
  namespace: resident
spec:
  nodeName: ${n.name}
  containers:
    - name: load
      image: registry.k8s.io/pause:3.9
      resources:
        requests: { cpu: "${n.running.cpu}", memory: "${n.running.memory}" }
`,
          ]
        : [],
    ),
  ].join("---\n");

let edges: EmulatorProcess[] = [];
let kubectl: Kubectl[] = [];
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;

beforeAll(async () => {
  const started = await Promise.allSettled(
    EDGES.map((e) =>
      startEmulatorProcess({
        name: e.name,
        nodes: e.nodes.map(({ name, cpu, memory }) => ({ name, cpu, memory })),
        podStartDelayMs: 0,
      }),
    ),
  );
  // Those that started are stopped in afterAll even when the other did not.
  edges = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  for (const s of started) if (s.status === "rejected") throw s.reason;
  kubectl = edges.map((e) => kubectlFor(e.url));
  // The resident pods run before the agent starts, so its first reading already sees them.
  await Promise.all(
    EDGES.map(async (e, i) => {
      const k = kubectl[i] as Kubectl;
      const applied = await k(["apply", "-f", k.file(runningManifest(e))]);
      if (applied.code !== 0) throw new Error(`kubectl apply on ${e.name}: ${applied.stderr}`);
      for (let tries = 0; ; tries++) {
        const pods = (await listPods(k)).filter((p) => p.metadata.namespace === "resident");
        if (pods.length > 0 && pods.every((p) => p.status?.phase === "Running")) break;
        if (tries > 50) throw new Error(`resident pods not running on ${e.name}: ${JSON.stringify(pods)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  agent = await startAgentProcess({
    logLevel: "info",
    extraConfig: {
      edges: edges.map((e, i) => ({
        name: EDGES[i]?.name,
        server: e.url,
        labels: { zone: EDGES[i]?.zone },
        repository: `${EDGES[i]?.name}-deploy`,
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
            resources: { cpu: `${POD.cpuMillis}m`, memory: `${POD.memoryBytes / 2 ** 20}Mi` },
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

/** Runs `f` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await f(items[next++] as T);
    }),
  );
}

const SETTLED = new Set([
  DeploymentState.READY,
  DeploymentState.ROLLED_BACK,
  DeploymentState.FAILED,
  DeploymentState.TERMINATED,
]);
const isIntentPod = (key: string) => key.startsWith("contend-");

it("100 intents at once for fragmented capacity that fits 39 by first fit onto nodes: exactly those deploy; refused ones write nothing; the repositories hold exactly the READY intents' folders; no node is ever asked for more than its allocatable", async () => {
  // The edges' room as kubectl shows it: each node's allocatable less what the pods bound to it request.
  const rooms = new Map<string, NodeRoom[]>();
  for (const [i, e] of EDGES.entries()) rooms.set(e.name, await readNodes(kubectl[i] as Kubectl));
  const fit = new Map<string, number>();
  for (const e of EDGES) {
    const nodes = rooms.get(e.name) as NodeRoom[];
    expect(nodes.map((n) => n.name)).toEqual(e.nodes.map((n) => n.name));
    const byNode = firstFit(nodes, POD);
    fit.set(e.name, byNode.count);
    // Fragmented: the edge's free room in total would take more than its nodes can.
    expect(totalFit(nodes, POD), `${e.name}: ${JSON.stringify(nodes)}`).toBeGreaterThan(byNode.count);
  }
  expect(Object.fromEntries(fit)).toEqual(EXPECTED_FIT);
  const admissible = [...fit.values()].reduce((a, b) => a + b, 0);

  // The agent has read both edges (their health only: what they hold is judged above, not from the agent).
  for (let i = 0; ; i++) {
    const { edges: listed } = await client.listEdges({}, { headers, timeoutMs: 10_000 });
    if (listed.length === 2 && listed.every((e) => e.healthy && e.capacity?.free)) break;
    if (i > 100)
      throw new Error(
        `the edges did not become healthy: ${JSON.stringify(listed.map((e) => [e.name, e.healthy, e.message]))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }

  const tallies: PodTally[] = await Promise.all(edges.map((e) => watchPods(e.url, isIntentPod)));
  let deployments: Deployment[] = [];
  try {
    const names = Array.from({ length: INTENTS }, (_, i) => `contend-${String(i).padStart(3, "0")}`);
    const submitted = await Promise.all(
      names.map((name) => client.submitIntent({ intent: intentMessage(name) }, { headers, timeoutMs: 30_000 })),
    );
    expect(submitted.map((s) => s.deploymentId)).toEqual(names.map((n) => `${n}.1`));
    expect(submitted.every((s) => !s.noOp)).toBe(true);

    // Until every deployment has settled (bounded).
    const deadline = Date.now() + 75_000;
    for (;;) {
      const page = await client.listDeployments({ pageSize: 1000 }, { headers, timeoutMs: 10_000 });
      deployments = page.deployments.filter((d) => d.intent.startsWith("contend-"));
      if (deployments.length === INTENTS && deployments.every((d) => SETTLED.has(d.state))) break;
      if (Date.now() > deadline) {
        const counts = groupBy(deployments, (d) => DeploymentState[d.state]);
        const noRoom = tallies.flatMap((t) => [...t.noRoom]);
        throw new Error(
          `not every deployment settled within 75 s (${[...counts].map(([s, l]) => `${s}: ${l.length}`).join(", ")}); pods Pending for lack of room: ${JSON.stringify(noRoom)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    for (const t of tallies) t.stop();
  }

  // The watch, first: it says best what went wrong when an edge was asked for more than it has.
  for (const [i, e] of EDGES.entries()) {
    const tally = tallies[i] as PodTally;
    const nodes = rooms.get(e.name) as NodeRoom[];
    // From before the submissions to the end: per node, the sum of requests of the pods bound to it
    // never exceeded the node's allocatable; no pod was ever Pending for lack of room; and never more intent
    // pods existed at once (bound or not) than the edge's nodes hold.
    expect(tally.error, `${e.name}: the pod watch`).toBeUndefined();
    expect(tally.events).toBeGreaterThan(0);
    expect([...tally.noRoom], `${e.name}: pods Pending for lack of room`).toEqual([]);
    expect(tally.countedPeak, `${e.name}: the most intent pods at once`).toBe(fit.get(e.name));
    for (const [key, r] of tally.countedRequests) expect(r, key).toEqual(POD);
    for (const [node, peak] of tally.boundPeak) {
      const n = nodes.find((x) => x.name === node);
      expect(n, `pods were bound to ${node}, not a node of ${e.name}`).toBeDefined();
      expect(peak.cpuMillis, node).toBeLessThanOrEqual(n?.allocatable.cpuMillis ?? 0);
      expect(peak.memoryBytes, node).toBeLessThanOrEqual(n?.allocatable.memoryBytes ?? 0);
      expect(peak.pods, node).toBeLessThanOrEqual(n?.allocatable.pods ?? 0);
    }
  }

  const ready = deployments.filter((d) => d.state === DeploymentState.READY);
  const refused = deployments.filter((d) => d.state !== DeploymentState.READY);
  const describe = (list: Deployment[]) =>
    list
      .filter((d) => d.admission.length === 0 || d.state !== DeploymentState.ROLLED_BACK)
      .slice(0, 5)
      .map((d) => `${d.intent} ${DeploymentState[d.state]}: ${d.reason}`)
      .join("\n");
  expect(ready.length, describe(refused)).toBe(admissible);
  expect(refused.length).toBe(INTENTS - admissible);
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
  // Each edge took exactly what its nodes hold.
  const perEdge = groupBy(ready, (d) => d.packages[0]?.edge ?? "");
  expect(Object.fromEntries([...perEdge].map(([e, l]) => [e, l.length]))).toEqual(EXPECTED_FIT);

  for (const [i, e] of EDGES.entries()) {
    const k = kubectl[i] as Kubectl;
    const nodes = rooms.get(e.name) as NodeRoom[];
    const expected = (perEdge.get(e.name) ?? []).map((d) => d.intent).sort();

    // Every READY intent's Deployment is available there; nothing of a refused one exists.
    const res = await fetch(`${edges[i]?.url}/apis/apps/v1/deployments`);
    const list = (await res.json()) as {
      items: {
        metadata: { name: string; namespace: string };
        spec: { replicas: number };
        status?: { availableReplicas?: number };
      }[];
    };
    const mine = list.items.filter((d) => d.metadata.namespace.startsWith("contend-"));
    expect(mine.map((d) => d.metadata.namespace).sort()).toEqual(expected);
    for (const d of mine) {
      expect(d.metadata.name).toBe("sink");
      expect(d.status?.availableReplicas, `${d.metadata.namespace}/${d.metadata.name}`).toBe(d.spec.replicas);
    }
    const namespaces = (await (await fetch(`${edges[i]?.url}/api/v1/namespaces`)).json()) as {
      items: { metadata: { name: string } }[];
    };
    expect(
      namespaces.items
        .map((n) => n.metadata.name)
        .filter((n) => n.startsWith("contend-"))
        .sort(),
    ).toEqual(expected);

    // kubectl at the end: every pod bound and Running (none left Pending), one per READY intent, each
    // requesting what the intent asked for, and within every node's allocatable.
    const pods = await listPods(k);
    const notRunning = pods.filter((p) => !p.spec.nodeName || p.status?.phase !== "Running");
    expect(
      notRunning.map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status?.phase} ${p.status?.reason ?? ""}`),
    ).toEqual([]);
    const intentPods = pods.filter((p) => p.metadata.namespace.startsWith("contend-"));
    expect(intentPods.map((p) => p.metadata.namespace).sort()).toEqual(expected);
    for (const p of intentPods) expect(podRequests(p), p.metadata.name).toEqual(POD);
    for (const n of nodes) {
      const bound = pods.filter((p) => holds(p) && p.spec.nodeName === n.name).map(podRequests);
      expect(
        bound.reduce((a, r) => a + r.cpuMillis, 0),
        n.name,
      ).toBeLessThanOrEqual(n.allocatable.cpuMillis);
      expect(
        bound.reduce((a, r) => a + r.memoryBytes, 0),
        n.name,
      ).toBeLessThanOrEqual(n.allocatable.memoryBytes);
    }
  }

  // The deployment repositories, with the git CLI: at HEAD a folder for exactly the READY intents placed on the
  // edge (besides CAMINO's own _camino/), no commit on any ref ever touched a refused intent's folder, and fsck
  // finds nothing wrong.
  const { repositories } = await client.listRepositories({}, { headers, timeoutMs: 10_000 });
  const deploymentRepos = repositories.filter((r) => r.role === RepositoryRole.DEPLOYMENT);
  expect(deploymentRepos.map((r) => r.edge).sort()).toEqual(EDGES.map((e) => e.name));
  for (const repo of deploymentRepos) {
    expect(statSync(repo.url).isDirectory(), `${repo.name} at ${repo.url}`).toBe(true);
    const top = (await git(repo.url, ["ls-tree", "--name-only", "-d", "HEAD"])).split("\n").filter(Boolean);
    const expected = (perEdge.get(repo.edge) ?? []).map((d) => d.intent).sort();
    expect(
      top.filter((f) => f !== "_camino"),
      repo.name,
    ).toEqual(expected);
    for (const intent of expected) {
      const files = (await git(repo.url, ["ls-tree", "-r", "--name-only", "HEAD", "--", `${intent}/`])).split("\n");
      expect(
        files.some((f) => f.startsWith(`${intent}/sink/`)),
        `${repo.name}: ${intent}/sink/`,
      ).toBe(true);
    }
    await eachLimited(refused, 8, async (d) => {
      const log = await git(repo.url, ["log", "--all", "--format=%H %s", "--", `${d.intent}/`]);
      expect(log, `${repo.name}: commits touching ${d.intent}/`).toBe("");
    });
    await git(repo.url, ["fsck", "--strict"]);
  }
}, 150_000);
