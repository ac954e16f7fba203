/**
 * A chain's network on emulated edges, in one process (test/helpers/in-process-domain.ts: the real
 * DeploymentManager, git repositories, embedded emulators): the Network Manager's objects for an intra-edge, an
 * inter-edge and an external link are committed and synced with wave 0, before any package; they carry what the
 * edges themselves report (the provider edge's east-west gateway address); real kubectl lists them; terminating
 * the intent prunes them. Witnesses: the emulators' stores, kubectl, and the git CLI.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { toJson } from "@bufbuild/protobuf";
import { PlanSchema } from "../../gen/camino/v1/types_pb.js";
import type { Failpoints } from "../../agent/failpoints.js";
import { planIntent } from "../../agent/orchestration/planner.js";
import { planToProto } from "../../agent/rpc/convert.js";
import { validateIntent } from "../../agent/intent/validate.js";
import type { Emulator } from "../../emulator/emulator.js";
import { gitIn, startInProcessDomain, type InProcessDomain } from "../helpers/in-process-domain.js";
import { startEmulator } from "../../emulator/emulator.js";
import { EdgeRegistry } from "../../agent/edge/edge-registry.js";
import { trustInstallProblems } from "../../agent/network/mesh-trust.js";
import { kubectlFor } from "../helpers/kubectl.js";

const BEFORE_COMMIT = "deploy-before-commit";
const NETWORK_KINDS = [
  "networking.istio.io/virtualservices",
  "networking.istio.io/destinationrules",
  "networking.istio.io/serviceentries",
  "security.istio.io/authorizationpolicies",
  "networking.k8s.io/networkpolicies",
] as const;

/** Calls the test back before each wave's commit, counting the commits. */
class CommitWitness implements Failpoints {
  commits = 0;
  onBeforeCommit: ((n: number) => void) | undefined;
  async hit(name: string): Promise<void> {
    if (name === BEFORE_COMMIT) this.onBeforeCommit?.(this.commits++);
  }
}

const witness = new CommitWitness();
let domain: InProcessDomain;
const emulator = (edge: string) => domain.emulators.get(edge) as Emulator;

/** "kind name" of every network object an edge's API serves in a namespace, sorted. */
function networkOn(edge: string, namespace: string): string[] {
  return NETWORK_KINDS.flatMap((t) =>
    emulator(edge)
      .store.list(t, namespace)
      .map((o) => `${t.split("/")[1]} ${String(o.metadata["name"])}`),
  ).sort();
}
/** The LoadBalancer address an edge's own istio-eastwestgateway Service reports. */
const gatewayIp = (edge: string) =>
  (
    emulator(edge).store.get("/services", "istio-system", "istio-eastwestgateway") as unknown as {
      status: { loadBalancer: { ingress: { ip: string }[] } };
    }
  ).status.loadBalancer.ingress[0]?.ip;
const deploymentsOn = (edge: string, namespace: string) =>
  emulator(edge)
    .store.list("apps/deployments", namespace)
    .map((o) => String(o.metadata["name"]));

const chain = validateIntent({
  apiVersion: "camino.io/v1",
  kind: "DeploymentIntent",
  metadata: { name: "mesh" },
  spec: {
    timeout: "20s",
    packages: [
      {
        name: "front",
        blueprint: "traffic-sink",
        resources: { cpu: "50m", memory: "32Mi" },
        placement: { edge: "edge-1" },
      },
      {
        name: "mid",
        blueprint: "traffic-sink",
        resources: { cpu: "50m", memory: "32Mi" },
        placement: { edge: "edge-1" },
        after: ["front"],
      },
      {
        name: "back",
        blueprint: "traffic-sink",
        resources: { cpu: "50m", memory: "32Mi" },
        placement: { edge: "edge-2" },
        after: ["mid"],
      },
    ],
    links: [
      { from: "front", to: "mid", port: 5201, protocol: "http", policy: { timeout: "2s", retries: 2 } },
      { from: "mid", to: "back", port: 5201, protocol: "tcp" },
      { from: "back", external: { host: "api.partner.example", port: 443 }, protocol: "tls" },
    ],
  },
});

const EDGE_1 = [
  "destinationrules front-mid-5201",
  "destinationrules mid-back-5201",
  "networkpolicies allow-eastwest",
  "networkpolicies allow-mesh",
  "networkpolicies default-deny",
  "networkpolicies front-mid-5201",
  "networkpolicies front-mid-5201-egress",
  "networkpolicies mid-back-5201-egress",
  "serviceentries remote-back-5201",
  "authorizationpolicies front-mid-5201",
  "virtualservices front-mid-5201",
].sort();
const EDGE_2 = [
  "authorizationpolicies mid-back-5201",
  "networkpolicies allow-eastwest",
  "networkpolicies allow-mesh",
  "networkpolicies back-api.partner.example-443-egress",
  "networkpolicies default-deny",
  "networkpolicies mid-back-5201",
  "serviceentries back-api.partner.example-443",
].sort();

describe("a chain's network on two emulated edges", () => {
  beforeAll(async () => {
    domain = await startInProcessDomain({ failpoints: witness });
  }, 30_000);
  afterAll(async () => {
    await domain?.close();
  });
  afterEach(() => {
    for (const e of ["edge-1", "edge-2"])
      expect(gitIn(domain.repositoryDir(e), "fsck", "--strict", "--no-dangling"), `git fsck of ${e}`).toBe("");
    expect(domain.logged.filter((l) => l.level === "error")).toEqual([]);
  });

  it("syncs every link's objects with wave 0, before any package, lists them with kubectl, and prunes them on terminate", async () => {
    // Before wave 1 is committed: wave 0 (the chain and its links) is synced on both edges, and no workload exists.
    const atWave1: Record<string, { network: string[]; workloads: string[] }> = {};
    witness.onBeforeCommit = (n) => {
      if (n !== 1) return;
      for (const e of ["edge-1", "edge-2"])
        atWave1[e] = { network: networkOn(e, "mesh"), workloads: deploymentsOn(e, "mesh") };
    };
    await domain.manager.submit(chain, {});
    const signal = AbortSignal.timeout(20_000);
    for await (const _ of domain.manager.watch("mesh", undefined, signal));
    expect(domain.manager.get("mesh").state, domain.manager.get("mesh").reason).toBe("READY");
    expect(atWave1).toEqual({
      "edge-1": { network: EDGE_1, workloads: [] },
      "edge-2": { network: EDGE_2, workloads: [] },
    });

    // The inter-edge ServiceEntry leads to the address edge-2's own gateway Service reports.
    const se = emulator("edge-1").store.get(
      "networking.istio.io/serviceentries",
      "mesh",
      "remote-back-5201",
    ) as unknown as { spec: { hosts: string[]; endpoints: unknown[] } };
    expect(se.spec.hosts).toEqual(["back.mesh.svc.cluster.local"]);
    expect(gatewayIp("edge-2")).toMatch(/^192\.0\.2\.\d+$/);
    expect(se.spec.endpoints).toEqual([{ address: gatewayIp("edge-2"), ports: { mesh: 15443 } }]);
    // Committed under the chain's folder, with the links' network packages.
    const tree = gitIn(domain.repositoryDir("edge-1"), "ls-tree", "-r", "--name-only", "main", "--", "mesh/_chain/");
    expect(tree).toContain("mesh/_chain/links/front-mid-5201/link-route/virtualservice.yaml");
    expect(tree).toContain("mesh/_chain/remote/back-5201/serviceentry.yaml");

    // Real kubectl, through discovery of the Istio kinds, lists them in the chain's namespace.
    const listed = async (edge: string) => {
      const k = kubectlFor(emulator(edge).httpUrl as string);
      const r = await k([
        "get",
        "virtualservices,destinationrules,serviceentries,authorizationpolicies",
        "-A",
        "-o",
        "custom-columns=NS:.metadata.namespace,KIND:.kind,NAME:.metadata.name",
        "--no-headers",
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/).join(" "))
        .sort();
    };
    expect(await listed("edge-1")).toEqual([
      "mesh AuthorizationPolicy front-mid-5201",
      "mesh DestinationRule front-mid-5201",
      "mesh DestinationRule mid-back-5201",
      "mesh ServiceEntry remote-back-5201",
      "mesh VirtualService front-mid-5201",
    ]);
    expect(await listed("edge-2")).toEqual([
      "mesh AuthorizationPolicy mid-back-5201",
      "mesh ServiceEntry back-api.partner.example-443",
    ]);

    // Terminated: every network object leaves both edges, and kubectl finds none.
    await domain.manager.terminate("mesh");
    for await (const _ of domain.manager.watch("mesh", undefined, AbortSignal.timeout(20_000)));
    expect(domain.manager.get("mesh").state).toBe("TERMINATED");
    for (const e of ["edge-1", "edge-2"]) {
      expect(networkOn(e, "mesh")).toEqual([]);
      expect(await listed(e)).toEqual([]);
    }
  }, 60_000);
  it("plans the network per edge as PlanIntent (and intent plan -o json) returns it", async () => {
    const plan = await planIntent(chain, domain.planner);
    expect(plan.admitted, JSON.stringify(plan.admission)).toBe(true);
    const json = toJson(PlanSchema, planToProto(plan)) as {
      networkObjects: { edge: string; link?: string; kind: string; name: string }[];
      links: { link: string; placement: string; edges: string[]; note?: string }[];
    };
    const on = (edge: string) =>
      json.networkObjects
        .filter((o) => o.edge === edge)
        .map((o) => `${o.kind} ${o.name}`)
        .sort();
    expect(on("edge-1")).toEqual([
      "AuthorizationPolicy front-mid-5201",
      "DestinationRule front-mid-5201",
      "DestinationRule mid-back-5201",
      "NetworkPolicy allow-eastwest",
      "NetworkPolicy front-mid-5201",
      "NetworkPolicy front-mid-5201-egress",
      "NetworkPolicy mid-back-5201-egress",
      "ServiceEntry remote-back-5201",
      "VirtualService front-mid-5201",
    ]);
    expect(on("edge-2")).toEqual([
      "AuthorizationPolicy mid-back-5201",
      "NetworkPolicy allow-eastwest",
      "NetworkPolicy back-api.partner.example-443-egress",
      "NetworkPolicy mid-back-5201",
      "ServiceEntry back-api.partner.example-443",
    ]);
    expect(json.links.map((l) => [l.link, l.placement, l.edges])).toEqual([
      ["front-mid-5201", "intra-edge", ["edge-1"]],
      ["mid-back-5201", "inter-edge", ["edge-1", "edge-2"]],
      ["back-api.partner.example-443", "external", ["edge-2"]],
    ]);
    expect(json.links[1]?.note).toBe(`network edge-1-network → edge-2-network through ${gatewayIp("edge-2")}:15443`);
  });

  it("rolls the network back with wave 0 when a later wave is refused", async () => {
    const shaky = validateIntent({
      apiVersion: "camino.io/v1",
      kind: "DeploymentIntent",
      metadata: { name: "shaky" },
      spec: {
        timeout: "20s",
        packages: [
          {
            name: "a",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            placement: { edge: "edge-1" },
          },
          // Refused by the edge's dry run in wave 2: the whole revision rolls back.
          {
            name: "b",
            blueprint: "traffic-sink",
            resources: { cpu: "50m", memory: "32Mi" },
            placement: { edge: "edge-2" },
            after: ["a"],
            config: { replicas: "-1" },
          },
        ],
        links: [{ from: "a", to: "b", port: 5201, protocol: "grpc" }],
      },
    });
    const seen: Record<string, string[]> = {};
    const start = witness.commits;
    witness.onBeforeCommit = (n) => {
      if (n === start + 1) for (const e of ["edge-1", "edge-2"]) seen[e] = networkOn(e, "shaky");
    };
    await domain.manager.submit(shaky, {});
    for await (const _ of domain.manager.watch("shaky", undefined, AbortSignal.timeout(20_000)));
    expect(domain.manager.get("shaky").state).toBe("ROLLED_BACK");
    expect(seen["edge-1"]).toContain("serviceentries remote-b-5201");
    expect(seen["edge-2"]).toContain("authorizationpolicies a-b-5201");
    for (const e of ["edge-1", "edge-2"]) expect(networkOn(e, "shaky")).toEqual([]);
  }, 60_000);
  it("reads an edge's network, gateway and multi-root settings from the edge, and reports the settings an install lacks", async () => {
    const m = await domain.edges.get("edge-2")?.mesh();
    expect(m).toEqual({
      edge: "edge-2",
      network: "edge-2-network",
      gateway: { address: gatewayIp("edge-2"), port: 15443, hostname: false },
      multiRoot: true,
      xdsAgent: true,
      dnsProxy: true,
      sharedMeshConfig: "camino-mesh-trust",
      problems: [],
    });
    expect(trustInstallProblems(m as NonNullable<typeof m>)).toEqual([]);
    // An edge installed without multi-root trust: CAMINO reads and reports it, and writes nothing there.
    const plain = await startEmulator({
      name: "plain",
      http: {},
      istio: { multiRoot: false, xdsAgent: false, sharedMeshConfig: "" },
    });
    try {
      const edges = await EdgeRegistry.fromConfig([
        { name: "plain", server: plain.httpUrl as string, labels: {}, timeoutMs: 5000 },
      ] as never);
      const before = plain.store.list("apps/deployments", "istio-system").map((o) => o.metadata["resourceVersion"]);
      const read = await edges.get("plain")?.mesh();
      expect(read).toMatchObject({ multiRoot: false, xdsAgent: false, network: "plain-network" });
      expect(read?.sharedMeshConfig).toBeUndefined();
      expect(trustInstallProblems(read as NonNullable<typeof read>)).toHaveLength(3);
      expect(plain.store.list("apps/deployments", "istio-system").map((o) => o.metadata["resourceVersion"])).toEqual(
        before,
      );
    } finally {
      await plain.close();
    }
  });
});
