/**
 * The paper's chain across two domains, each a real agent process with its own emulated edges (separate
 * processes too): domain-x (edge-1, edge-2) places cnf3 in domain-y (edge-3) as a segment; both sides wire the
 * cross-domain link (the consumer's ServiceEntry and DestinationRule on edge-1, the provider's AUTO_PASSTHROUGH
 * Gateway and ServiceEntry on edge-3, with matching hosts, SNI and ports), each edge with a cross-domain link
 * trusts the other domain's mesh root, domain-y shows the segment as a deployment of its own, an unchanged
 * re-submission proposes nothing, and terminating the intent cleans all three edges. Also: a link whose
 * consumer is in the peer, and a package brokered to the peer because no edge of the origin fits it. And a
 * package whose consumer is in the peer, healed off a lost edge (`heal: replace`), moving with a new generation
 * of its segment, and the peer then calls its new edge. And `camino intent why` of an intent whose package waits
 * on its segment (the peer's pods not ready): the segment blocker, naming the peer and the segment's state there.
 * Witnesses: each emulator's Kubernetes API, each agent's API and audit trail, and the git CLI.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { domainAgentOptions, peerUp } from "../helpers/federated-domains.js";

const run = promisify(execFile);
let x: AgentProcess;
let y: AgentProcess;
let z: AgentProcess;
const edges = new Map<string, EmulatorProcess>();
const SCOPES = ["intents:write", "intents:read", "catalogue:read", "repos:admin"];

async function api(agent: AgentProcess) {
  const headers = { authorization: `Bearer ${await agent.token(SCOPES)}` };
  const client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  return { client, headers, call: { headers, timeoutMs: 10_000 } };
}

/** An object list from an emulated edge's Kubernetes API. */
async function list(edge: string, path: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${edges.get(edge)?.url}${path}`);
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Record<string, unknown>[] }).items;
}
const names = (items: Record<string, unknown>[]) =>
  items.map((o) => String((o["metadata"] as { name: string }).name)).sort();

/** Submits an intent to `agent` and waits until it settles; returns the final deployment. */
async function deploy(agent: AgentProcess, intent: ReturnType<typeof validateIntent>): Promise<Deployment> {
  const { client, headers, call } = await api(agent);
  const r = await client.submitIntent({ intent: intentToMessage(intent) }, call);
  for await (const { event } of client.watchDeployment({ name: r.deploymentId }, { headers })) void event;
  return (await client.getDeployment({ name: intent.name }, call)).deployment as Deployment;
}

async function terminate(agent: AgentProcess, name: string): Promise<Deployment> {
  const { client, headers, call } = await api(agent);
  await client.terminateIntent({ name }, call);
  for await (const { event } of client.watchDeployment({ name }, { headers })) void event;
  return (await client.getDeployment({ name }, call)).deployment as Deployment;
}

/** How often domain-y's audit trail recorded `method` called by domain-x. */
async function calls(method: string): Promise<number> {
  const { stdout } = await run(process.execPath, [CAMINO, "audit", "--config", y.configFile, "-o", "json"], {
    cwd: y.dir,
    env: { ...process.env, HOME: y.dir },
  });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method?: string; caller?: string })
    .filter((r) => r.method?.endsWith(method)).length;
}

/** The camino CLI against `agent`'s API, as a user runs it: its exit code, stdout and stderr. */
async function camino(agent: AgentProcess, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return run(process.execPath, [CAMINO, ...args, "--server", agent.grpcUrl], {
    env: { ...process.env, CAMINO_TOKEN: await agent.token(SCOPES) },
  }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );
}

/** Polls `check` until it returns a value, bounded. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const started = await Promise.all([
    startEmulatorProcess({
      name: "edge-1",
      eastWestAddress: "192.0.2.11",
      nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }],
    }),
    startEmulatorProcess({
      name: "edge-2",
      eastWestAddress: "192.0.2.12",
      nodes: [{ name: "n1", cpu: "4", memory: "8Gi" }],
    }),
    startEmulatorProcess({
      name: "edge-3",
      eastWestAddress: "192.0.2.13",
      nodes: [{ name: "n1", cpu: "16", memory: "32Gi" }],
    }),
    startEmulatorProcess({ name: "edge-4", eastWestAddress: "192.0.2.14" }),
  ]);
  for (const [i, e] of started.entries()) edges.set(`edge-${i + 1}`, e);
  const on = (...names: string[]) => names.map((name) => ({ name, url: edges.get(name)?.url as string }));
  const federation = { segmentLeaseSeconds: 10, segmentReconcileSeconds: 1 };
  const origin = domainAgentOptions({ domainId: "domain-x", edges: on("edge-1", "edge-2"), federation, pollMs: 50 });
  // Healing after 1 s (only intents with heal: replace heal).
  (origin.extraConfig?.["lifecycle"] as Record<string, unknown>)["healGraceSeconds"] = 1;
  [x, y, z] = await Promise.all([
    startAgentProcess(origin),
    startAgentProcess(domainAgentOptions({ domainId: "domain-y", edges: on("edge-3"), federation, pollMs: 50 })),
    startAgentProcess(domainAgentOptions({ domainId: "domain-z", edges: on("edge-4"), federation, pollMs: 50 })),
  ]);
  // A star: domain-x trusts both; domain-y and domain-z trust domain-x only.
  await Promise.all([x.setPeers([y, z]), y.setPeers([x]), z.setPeers([x])]);
  // Each has seen the other answer Hello (its trust domain, mesh root and catalogue).
  await Promise.all([peerUp(x, y), peerUp(y, x), peerUp(x, z), peerUp(z, x)]);
}, 90_000);

afterAll(async () => {
  if (process.env["DUMP_LOGS"]) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync("/tmp/x.log", x.logs.map((l) => JSON.stringify(l)).join("\n"));
    writeFileSync("/tmp/y.log", y.logs.map((l) => JSON.stringify(l)).join("\n"));
  }
  await Promise.all([x, y, z].map((a) => a?.stop()));
  await Promise.all([...edges.values()].map((e) => e.stop()));
});

describe("the paper's chain across two domains", () => {
  const paper = parseIntentText(readFileSync(join(ROOT, "scenarios", "paper-chain.yaml"), "utf8"));

  it("reaches READY with cnf3 running in domain-y, both sides wired and trusting each other's roots", async () => {
    const d = await deploy(x, paper);
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    const cnf3 = d.packages.find((p) => p.package === "cnf3");
    expect(cnf3?.domain).toBe("domain-y");
    expect(DeploymentState[cnf3?.state ?? 0]).toBe("READY");
    expect(d.segments).toHaveLength(1);
    const seg = d.segments[0];
    expect(seg?.id).toBe("domain-x.paper-chain.domain-y");
    expect(seg?.phase).toBe("COMMITTED");
    const ns = seg?.namespace as string;
    expect(ns).toBe("paper-chain-domain-x");

    // The workloads run where the plan put them: cnf1 and cnf2 on edge-1, cnf4 on edge-2, cnf3 on edge-3.
    expect(names(await list("edge-1", "/apis/apps/v1/namespaces/paper-chain/deployments"))).toEqual(
      expect.arrayContaining([expect.stringContaining("cnf1"), expect.stringContaining("cnf2")]),
    );
    expect(names(await list("edge-3", `/apis/apps/v1/namespaces/${ns}/deployments`))).toEqual([
      expect.stringContaining("cnf3"),
    ]);

    // Consumer side on edge-1: a ServiceEntry for cnf3's cross-domain host through domain-y's gateway on 15443.
    const host = "cnf3.paper-chain.domain-y.camino";
    const entries = await list("edge-1", "/apis/networking.istio.io/v1/namespaces/paper-chain/serviceentries");
    const consumer = entries.find((o) => (o["spec"] as { hosts: string[] }).hosts.includes(host));
    expect(consumer, JSON.stringify(entries)).toBeDefined();
    const cs = consumer?.["spec"] as {
      location: string;
      ports: { number: number; protocol: string }[];
      endpoints: { address: string; ports?: Record<string, number>; network?: string }[];
      subjectAltNames: string[];
      addresses?: string[];
    };
    expect(cs.location).toBe("MESH_INTERNAL");
    expect(cs.ports[0]?.number).toBe(8080);
    expect(cs.ports[0]?.protocol).toBe("GRPC");
    expect(cs.endpoints[0]?.address).toBe("192.0.2.13");
    expect(Object.values(cs.endpoints[0]?.ports ?? {})).toEqual([15443]);
    expect(cs.endpoints[0]?.network).toBeUndefined();
    expect(cs.addresses).toBeUndefined();
    expect(cs.subjectAltNames).toEqual([`spiffe://domain-y.camino/ns/${ns}/sa/default`]);
    const rules = await list("edge-1", "/apis/networking.istio.io/v1/namespaces/paper-chain/destinationrules");
    const dr = rules.find((o) => (o["spec"] as { host: string }).host === host)?.["spec"] as {
      trafficPolicy: { tls: { mode: string; sni?: string } };
    };
    expect(dr.trafficPolicy.tls.mode).toBe("ISTIO_MUTUAL");
    expect(dr.trafficPolicy.tls.sni).toBeUndefined();

    // Provider side on edge-3: an AUTO_PASSTHROUGH Gateway for exactly that host, and its ServiceEntry on the same port.
    const gateways = await list("edge-3", `/apis/networking.istio.io/v1/namespaces/${ns}/gateways`);
    const gw = gateways[0]?.["spec"] as {
      servers: { port: { number: number }; tls: { mode: string }; hosts: string[] }[];
    };
    expect(gw.servers[0]?.port.number).toBe(15443);
    expect(gw.servers[0]?.tls.mode).toBe("AUTO_PASSTHROUGH");
    expect(gw.servers[0]?.hosts).toEqual([`./${host}`]);
    const provided = (await list("edge-3", `/apis/networking.istio.io/v1/namespaces/${ns}/serviceentries`)).find((o) =>
      (o["spec"] as { hosts: string[] }).hosts.includes(host),
    )?.["spec"] as { ports: { number: number }[] };
    expect(provided.ports[0]?.number).toBe(8080);
    // Only domain-x's consumer, by its exact principal, may call cnf3.
    const authz = await list("edge-3", `/apis/security.istio.io/v1/namespaces/${ns}/authorizationpolicies`);
    expect(JSON.stringify(authz)).toContain("domain-x.camino/ns/paper-chain/sa/default");

    // Each edge with a cross-domain link trusts the other domain's mesh root, in the ConfigMap istiod reads.
    const rootOf = (a: AgentProcess) => readFileSync(a.federationFiles?.meshRootFile as string, "utf8").trim();
    for (const [edge, peer] of [
      ["edge-1", y],
      ["edge-3", x],
    ] as const) {
      const maps = await list(edge, "/api/v1/namespaces/istio-system/configmaps");
      const trust = maps.find((o) => names([o])[0] === "camino-mesh-trust");
      expect(trust, `${edge} trusts ${peer.domainId}`).toBeDefined();
      const text = JSON.stringify(trust);
      expect(text).toContain(rootOf(peer).split("\n")[1]);
      expect(text).toContain(`${peer.domainId}.camino`);
    }
    // edge-2 has no cross-domain link, so it trusts no peer.
    expect(names(await list("edge-2", "/api/v1/namespaces/istio-system/configmaps"))).not.toContain(
      "camino-mesh-trust",
    );
  }, 60_000);

  it("shows the segment on domain-y as a deployment of its own, marked with its origin, and on both sides' segment lists", async () => {
    const { client, call } = await api(y);
    const listed = (await client.listDeployments({}, call)).deployments;
    const seg = listed.find((d) => d.intent === "paper-chain-domain-x");
    expect(seg?.origin).toBe("domain-x");
    expect(seg?.segmentId).toBe("domain-x.paper-chain.domain-y");
    expect(DeploymentState[seg?.state ?? 0]).toBe("READY");
    const hosted = (await client.listSegments({}, call)).segments;
    expect(hosted.map((s) => [s.id, s.role, s.origin, s.phase])).toEqual([
      ["domain-x.paper-chain.domain-y", "host", "domain-x", "COMMITTED"],
    ]);
    const own = (await (await api(x)).client.listSegments({}, (await api(x)).call)).segments;
    expect(own.map((s) => [s.id, s.role, s.domain, s.phase])).toEqual([
      ["domain-x.paper-chain.domain-y", "origin", "domain-y", "COMMITTED"],
    ]);
    // domain-y's own users cannot change or terminate it: only its origin does.
    await expect(client.terminateIntent({ name: "paper-chain-domain-x" }, call)).rejects.toThrow(
      /segment domain-x\.paper-chain\.domain-y, run here for domain-x/,
    );

    // The CLI on domain-y's side: the segment, its origin, its namespace; intent ls marks it.
    const cli = (...args: string[]) => camino(y, ...args);
    const segLs = await cli("segment", "ls");
    expect(segLs.code, segLs.err).toBe(0);
    expect(segLs.out).toMatch(
      /domain-x\.paper-chain\.domain-y\s+host\s+domain-x\s+paper-chain-domain-x\s+1\s+COMMITTED\s+READY/,
    );
    expect((await cli("intent", "ls")).out).toContain("paper-chain-domain-x (segment of domain-x)");
    // A committed segment whose origin is still there is not removed without --force.
    const rm = await cli("segment", "rm", "domain-x.paper-chain.domain-y");
    expect(rm.code).toBe(3);
    expect(rm.err).toContain("add --force");
  });

  it("re-submitting the unchanged intent is a no-op on both domains: no new ProposeSegment", async () => {
    const before = await calls("ProposeSegment");
    expect(before).toBe(1);
    const { client, call } = await api(x);
    const r = await client.submitIntent({ intent: intentToMessage(paper) }, call);
    expect(r.noOp).toBe(true);
    expect(await calls("ProposeSegment")).toBe(before);
  });

  it("an update of the remote package is a new generation of its segment, proposed and committed", async () => {
    const doc = intentToMessage(paper);
    const cnf3 = doc.spec?.packages.find((p) => p.name === "cnf3");
    if (!cnf3) throw new Error("the scenario has no cnf3");
    cnf3.replicas = 2;
    const { client, headers, call } = await api(x);
    const r = await client.submitIntent({ intent: doc }, call);
    expect(r.noOp).toBe(false);
    for await (const { event } of client.watchDeployment({ name: r.deploymentId }, { headers })) void event;
    const d = (await client.getDeployment({ name: "paper-chain" }, call)).deployment as Deployment;
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    expect(d.segments[0]?.generation).toBe(2n);
    expect(d.segments[0]?.phase).toBe("COMMITTED");
    // domain-y runs the new generation: its deployment's second revision, with two cnf3 replicas on edge-3.
    const seg = (await (await api(y)).client.getDeployment({ name: "paper-chain-domain-x" }, (await api(y)).call))
      .deployment;
    expect(DeploymentState[seg?.state ?? 0]).toBe("READY");
    expect(seg?.revision).toBe(2n);
    const deployments = await list("edge-3", "/apis/apps/v1/namespaces/paper-chain-domain-x/deployments");
    expect(deployments.map((o) => (o["spec"] as { replicas: number }).replicas)).toEqual([2]);
    expect(await calls("ProposeSegment")).toBe(2);
  }, 60_000);

  it("terminating the intent removes both sides from all three edges, and the trust with them", async () => {
    const d = await terminate(x, "paper-chain");
    expect(DeploymentState[d.state], d.reason).toBe("TERMINATED");
    expect(d.segments[0]?.phase).toBe("TERMINATED");
    for (const [edge, ns] of [
      ["edge-1", "paper-chain"],
      ["edge-2", "paper-chain"],
      ["edge-3", "paper-chain-domain-x"],
    ] as const) {
      await eventually(
        async () => (names(await list(edge, "/api/v1/namespaces")).includes(ns) ? undefined : true),
        `namespace ${ns} to leave ${edge}`,
      );
      expect(names(await list(edge, "/api/v1/namespaces/istio-system/configmaps"))).not.toContain("camino-mesh-trust");
    }
    const { client, call } = await api(y);
    const seg = (await client.getDeployment({ name: "paper-chain-domain-x" }, call)).deployment;
    expect(DeploymentState[seg?.state ?? 0]).toBe("TERMINATED");
    expect((await client.listSegments({}, call)).segments).toEqual([]);
  }, 60_000);
});

describe("other shapes of cross-domain chains", () => {
  it("spans three domains: one segment in each peer, each wired to the origin and trusted on the origin's edge", async () => {
    const intent = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "tri" },
      spec: {
        packages: [
          {
            name: "hub",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            placement: { edge: "edge-1" },
          },
          {
            name: "west",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            after: ["hub"],
            placement: { domain: "domain-y" },
          },
          {
            name: "east",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            after: ["hub"],
            placement: { domain: "domain-z" },
          },
        ],
        links: [
          { from: "hub", to: "west", port: 5201, protocol: "tcp" },
          { from: "east", to: "hub", port: 5201, protocol: "tcp" },
        ],
      },
    });
    const d = await deploy(x, intent);
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    expect(d.segments.map((s) => [s.domain, s.namespace, s.phase]).sort()).toEqual([
      ["domain-y", "tri-domain-x", "COMMITTED"],
      ["domain-z", "tri-domain-x", "COMMITTED"],
    ]);
    expect(names(await list("edge-3", "/apis/apps/v1/namespaces/tri-domain-x/deployments"))).toEqual([
      expect.stringContaining("west"),
    ]);
    expect(names(await list("edge-4", "/apis/apps/v1/namespaces/tri-domain-x/deployments"))).toEqual([
      expect.stringContaining("east"),
    ]);
    // hub consumes west through domain-y's gateway, and is offered to east through edge-1's own gateway.
    const se = JSON.stringify(await list("edge-1", "/apis/networking.istio.io/v1/namespaces/tri/serviceentries"));
    expect(se).toContain("west.tri.domain-y.camino");
    expect(se).toContain("192.0.2.13");
    expect(JSON.stringify(await list("edge-1", "/apis/networking.istio.io/v1/namespaces/tri/gateways"))).toContain(
      "./hub.tri.domain-x.camino",
    );
    // edge-1 trusts both peers' roots, each limited to its own trust domain.
    const trust = JSON.stringify(await list("edge-1", "/api/v1/namespaces/istio-system/configmaps"));
    expect(trust).toContain("domain-y.camino");
    expect(trust).toContain("domain-z.camino");
    const t = await terminate(x, "tri");
    expect(DeploymentState[t.state], t.reason).toBe("TERMINATED");
    for (const e of ["edge-3", "edge-4"])
      await eventually(
        async () => (names(await list(e, "/api/v1/namespaces")).includes("tri-domain-x") ? undefined : true),
        `tri-domain-x to leave ${e}`,
      );
  }, 60_000);

  it("wires a link whose consumer is in the peer: the provider side on the origin's edge", async () => {
    const intent = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "callback" },
      spec: {
        packages: [
          {
            name: "store",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            placement: { edge: "edge-2" },
          },
          {
            name: "probe",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            after: ["store"],
            placement: { domain: "domain-y" },
          },
        ],
        links: [{ from: "probe", to: "store", port: 5201, protocol: "tcp" }],
      },
    });
    const d = await deploy(x, intent);
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    const host = "store.callback.domain-x.camino";
    const gw = await list("edge-2", "/apis/networking.istio.io/v1/namespaces/callback/gateways");
    expect(JSON.stringify(gw)).toContain(`./${host}`);
    expect(
      JSON.stringify(await list("edge-2", "/apis/security.istio.io/v1/namespaces/callback/authorizationpolicies")),
    ).toContain("domain-y.camino/ns/callback-domain-x/sa/default");
    const entries = await list("edge-3", "/apis/networking.istio.io/v1/namespaces/callback-domain-x/serviceentries");
    const se = entries.find((o) => (o["spec"] as { hosts: string[] }).hosts.includes(host))?.["spec"] as {
      endpoints: { address: string }[];
    };
    expect(se.endpoints[0]?.address).toBe("192.0.2.12");
    expect(DeploymentState[(await terminate(x, "callback")).state]).toBe("TERMINATED");
  }, 60_000);

  it("brokers a package to the peer when no edge here fits it and the peer exports its blueprint with room", async () => {
    const intent = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "big" },
      spec: { packages: [{ name: "crunch", blueprint: "traffic-sink", resources: { cpu: "6", memory: "1Gi" } }] },
    });
    const d = await deploy(x, intent);
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    expect(d.packages[0]?.domain).toBe("domain-y");
    expect(d.segments[0]?.domain).toBe("domain-y");
    expect(names(await list("edge-3", "/apis/apps/v1/namespaces/big-domain-x/deployments"))).toEqual([
      expect.stringContaining("crunch"),
    ]);
    expect(DeploymentState[(await terminate(x, "big")).state]).toBe("TERMINATED");
  }, 60_000);
});

describe("why an intent is not READY yet, when its package waits on its segment", () => {
  it("reports the segment blocker, naming the peer and the segment's state there, until the peer's pods are ready", async () => {
    const intent = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "held" },
      spec: {
        packages: [
          {
            name: "hub",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            placement: { edge: "edge-1" },
          },
          {
            name: "far",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            after: ["hub"],
            placement: { domain: "domain-y" },
          },
        ],
      },
    });
    const segment = "domain-x.held.domain-y";
    // far's pods on domain-y's edge never become ready: domain-y's run of the segment waits on them.
    const edge3 = edges.get("edge-3") as EmulatorProcess;
    await edge3.faults({ unavailable: ["held-domain-x/far"] });
    const { client, call } = await api(x);
    const { client: peer, call: peerCall } = await api(y);
    try {
      await client.submitIntent({ intent: intentToMessage(intent) }, call);
      // Until domain-y's run waits on far's pods and domain-x has domain-y's word on the segment.
      const { held, there } = await eventually(async () => {
        const there = (await peer.listSegments({}, peerCall)).segments.find((s) => s.id === segment);
        const d = (await client.getDeployment({ name: "held" }, call)).deployment;
        const far = d?.packages.find((p) => p.package === "far");
        const waiting = there?.packageStates.find((p) => p.package === "far")?.state === DeploymentState.SYNCED;
        const told =
          far?.waitingOn[0]?.message ===
          `segment ${segment} in domain-y: ${DeploymentState[there?.state ?? 0]} (${there?.reason})`;
        return waiting && told && far?.state === DeploymentState.SYNCED ? { held: d as Deployment, there } : undefined;
      }, "far to wait on its segment, in domain-y's words");
      expect(DeploymentState[there.state], there.reason).toBe("COMMITTED");
      expect(DeploymentState[held.state], held.reason).toBe("COMMITTED");
      // Exactly one blocker, on far: its segment, in domain-y, in the state domain-y gives it.
      expect(held.waitingOn).toEqual([]);
      const hub = held.packages.find((p) => p.package === "hub");
      expect([DeploymentState[hub?.state ?? 0], hub?.waitingOn]).toEqual(["READY", []]);
      const far = held.packages.find((p) => p.package === "far");
      expect(far?.domain).toBe("domain-y");
      expect(far?.waitingOn.map((b) => [b.kind, b.peer, b.segmentState, b.edge])).toEqual([
        ["segment", "domain-y", "COMMITTED", ""],
      ]);
      expect(far?.waitingOn[0]?.message).toBe(`segment ${segment} in domain-y: COMMITTED (${there.reason})`);

      // Why, on domain-y's side: far's pods on edge-3 are not ready.
      const hosted = (await peer.getDeployment({ name: "held-domain-x" }, peerCall)).deployment;
      expect(
        hosted?.packages.find((p) => p.package === "far")?.waitingOn.map((b) => [b.kind, b.edge, b.replicasAvailable]),
      ).toEqual([["rollout", "edge-3", 0]]);

      // As the user reads it: camino intent why, its tree and its JSON.
      const tree = await camino(x, "intent", "why", "held");
      expect(tree.code, tree.err).toBe(0);
      expect(tree.out).toMatch(/^held {2}COMMITTED {2}\(wave 2 of 2\)/);
      expect(tree.out).toContain("├─ hub  READY on edge-1\n");
      expect(tree.out).toContain(
        `└─ far  SYNCED in domain-y\n   └─ segment: segment ${segment} in domain-y: COMMITTED (`,
      );
      const json = await camino(x, "intent", "why", "held", "-o", "json");
      expect(json.code, json.err).toBe(0);
      const why = JSON.parse(json.out) as { packages: { package: string; waitingOn: Record<string, unknown>[] }[] };
      expect(why.packages.find((p) => p.package === "far")?.waitingOn).toEqual([
        expect.objectContaining({ kind: "segment", peer: "domain-y", segmentState: "COMMITTED" }),
      ]);
    } finally {
      await edge3.faults({ unavailable: [] });
    }
    // The pods ready: the segment READY in domain-y, the intent READY, waiting on nothing.
    const { headers } = await api(x);
    for await (const { event } of client.watchDeployment({ name: "held" }, { headers })) void event;
    const ready = (await client.getDeployment({ name: "held" }, call)).deployment as Deployment;
    expect(DeploymentState[ready.state], ready.reason).toBe("READY");
    expect(ready.waitingOn).toEqual([]);
    for (const p of ready.packages)
      expect([p.package, DeploymentState[p.state], p.waitingOn]).toEqual([p.package, "READY", []]);
    expect(ready.segments.map((s) => [s.id, s.phase, DeploymentState[s.state]])).toEqual([
      [segment, "COMMITTED", "READY"],
    ]);
    const after = await camino(x, "intent", "why", "held");
    // A READY intent is one line: no package left to wait on anything.
    expect(after.out).toMatch(/^held {2}READY: [^\n]*\n$/);
    expect(DeploymentState[(await terminate(x, "held")).state]).toBe("TERMINATED");
  }, 60_000);
});

describe("healing across domains", () => {
  const GATEWAYS: Record<string, string> = { "edge-1": "192.0.2.11", "edge-2": "192.0.2.12" };
  const HOST = "store.relay.domain-x.camino";

  /** The addresses domain-y's edge-3 sends the segment's calls for store to: its ServiceEntry's endpoints. */
  const peerCallsStoreAt = async () =>
    (await list("edge-3", "/apis/networking.istio.io/v1/namespaces/relay-domain-x/serviceentries"))
      .map((o) => o["spec"] as { hosts: string[]; endpoints: { address: string }[] })
      .filter((spec) => spec.hosts.includes(HOST))
      .flatMap((spec) => spec.endpoints.map((e) => e.address));

  it("a provider whose consumer is in the peer moves with a new generation of its segment: the peer calls its new edge", async () => {
    const intent = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "relay" },
      spec: {
        heal: "replace",
        packages: [
          // Placed by the planner (not pinned by the intent), so healing may move it.
          { name: "store", blueprint: "traffic-sink", resources: { cpu: "50m", memory: "32Mi" } },
          {
            name: "probe",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            after: ["store"],
            placement: { domain: "domain-y" },
          },
        ],
        links: [{ from: "probe", to: "store", port: 5201, protocol: "tcp" }],
      },
    });
    const d = await deploy(x, intent);
    expect(DeploymentState[d.state], d.reason).toBe("READY");
    const lost = d.packages.find((p) => p.package === "store")?.edge as string;
    const other = lost === "edge-1" ? "edge-2" : "edge-1";
    expect(Object.keys(GATEWAYS)).toContain(lost);
    expect(d.segments.map((s) => [s.id, s.generation, s.phase])).toEqual([
      ["domain-x.relay.domain-y", 1n, "COMMITTED"],
    ]);
    expect(await peerCallsStoreAt()).toEqual([GATEWAYS[lost]]);

    const { client, call } = await api(x);
    const lostEdge = edges.get(lost) as EmulatorProcess;
    await lostEdge.faults({ nodesNotReady: ["n1"] });
    try {
      // The grace period passes; the move is revision 2, which proposes generation 2 of the segment.
      const healed = await eventually(
        async () => {
          const r = (await client.getDeployment({ name: "relay" }, call)).deployment;
          const settled = ["READY", "DEGRADED", "FAILED", "ROLLED_BACK"].includes(DeploymentState[r?.state ?? 0]);
          return r?.revision === 2n && settled ? r : undefined;
        },
        "the heal revision settled",
        30_000,
      );
      expect(DeploymentState[healed.state], healed.reason).toBe("READY");
      expect(healed.packages.find((p) => p.package === "store")?.edge).toBe(other);
      expect(healed.segments.map((s) => [s.id, s.generation, s.phase])).toEqual([
        ["domain-x.relay.domain-y", 2n, "COMMITTED"],
      ]);
      // The provider side is on the new edge: its Gateway for the host, domain-y's caller allowed.
      expect(JSON.stringify(await list(other, "/apis/networking.istio.io/v1/namespaces/relay/gateways"))).toContain(
        `./${HOST}`,
      );
      expect(
        JSON.stringify(await list(other, "/apis/security.istio.io/v1/namespaces/relay/authorizationpolicies")),
      ).toContain("domain-y.camino/ns/relay-domain-x/sa/default");
      // domain-y runs generation 2, and its consumer's side leads to the new edge's gateway, no longer the lost one's.
      const { client: peer, call: peerCall } = await api(y);
      const seg = (await peer.getDeployment({ name: "relay-domain-x" }, peerCall)).deployment;
      expect(DeploymentState[seg?.state ?? 0]).toBe("READY");
      expect((await peer.listSegments({}, peerCall)).segments.map((s) => [s.id, s.generation])).toEqual([
        ["domain-x.relay.domain-y", 2n],
      ]);
      expect(await peerCallsStoreAt()).toEqual([GATEWAYS[other]]);
    } finally {
      await lostEdge.faults({ nodesNotReady: [] });
    }
    // The lost edge back: its ConfigSync removes the old copy, as its repository says.
    await eventually(
      async () => ((await list(lost, "/apis/apps/v1/namespaces/relay/deployments")).length === 0 ? true : undefined),
      `store to leave ${lost}`,
    );
    expect(DeploymentState[(await terminate(x, "relay")).state]).toBe("TERMINATED");
  }, 60_000);
});
