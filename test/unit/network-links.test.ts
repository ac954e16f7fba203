/**
 * The Network Manager's placement table (docs/network.md): for each way a chain's packages can be placed, exactly
 * the network objects each edge gets, hydrated from the repository's own blueprints/network/ packages and checked
 * here against the Kubernetes and Istio schemas, with the hosts, ports, networks and principals expected, and no
 * object that opens more than its link needs. Cross-domain links are generated from hand-made segment offers.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { KubernetesObject } from "@kubernetes/client-node";
import { readBlueprint, type Blueprint } from "../../agent/cad/blueprint.js";
import type { ResolvedBlueprint } from "../../agent/cad/catalogue.js";
import { readFolder } from "../../agent/cad/folder.js";
import { HydrationCache } from "../../agent/cad/hydration-cache.js";
import type { EdgeMesh } from "../../agent/edge/mesh-install.js";
import {
  planCrossDomainConsumer,
  planCrossDomainProvider,
  SegmentOfferError,
  type SegmentOffer,
} from "../../agent/network/cross-domain.js";
import { hydrateUnits } from "../../agent/network/network-hydrator.js";
import {
  createNetworkManager,
  type NetworkFiles,
  type NetworkPlan,
  type PlacedLink,
} from "../../agent/network/network-manager.js";
import { objectsOf } from "../../agent/orchestration/package-objects.js";
import { validateObject } from "../../common/schema.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const NS = "chain";
const DOMAIN = "domain-x";
const blueprints = new Map<string, Blueprint>();

const catalogue = {
  async resolve(name: string): Promise<ResolvedBlueprint> {
    const blueprint = blueprints.get(name);
    if (!blueprint) throw new Error(`no blueprint ${name}`);
    const record = { name: "catalogue", url: "file:///catalogue" };
    return { blueprint, repository: { record } as never, revision: "main", commit: "c".repeat(40) };
  },
};

const MESHES: Record<string, EdgeMesh> = {
  "edge-1": {
    edge: "edge-1",
    network: "net-1",
    gateway: { address: "192.0.2.11", port: 15443, hostname: false },
    multiRoot: true,
    xdsAgent: true,
    dnsProxy: true,
    sharedMeshConfig: "camino-mesh-trust",
    problems: [],
  },
  "edge-2": {
    edge: "edge-2",
    network: "net-2",
    gateway: { address: "192.0.2.22", port: 15443, hostname: false },
    multiRoot: true,
    xdsAgent: true,
    dnsProxy: true,
    sharedMeshConfig: "camino-mesh-trust",
    problems: [],
  },
};

beforeAll(async () => {
  for (const name of readdirSync(join(ROOT, "blueprints", "network")))
    blueprints.set(name, readBlueprint(`network/${name}`, await readFolder(join(ROOT, "blueprints", "network", name))));
});

function manager(meshes: Record<string, EdgeMesh> = MESHES, read: string[] = []) {
  return createNetworkManager({
    catalogue,
    hydration: new HydrationCache(),
    mesh: async (edge) => {
      read.push(edge);
      const m = meshes[edge];
      if (!m) throw new Error(`no mesh for ${edge}`);
      return m;
    },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read deep into specs whose whole shape they then assert.
type Obj = KubernetesObject & { spec: Record<string, any> };

/** The objects an edge's files hold (local config left out, as ConfigSync leaves it). */
const objectsAt = (files: NetworkFiles, edge: string) => objectsOf(files.get(edge) ?? new Map()) as Obj[];
const ids = (objects: readonly Obj[]) => objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
const find = (objects: readonly Obj[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${ids(objects).join(", ")}`);
  return o;
};

/** Every object schema-valid; every NetworkPolicy rule names its peers and its ports; every principal exact. */
function expectTight(objects: readonly Obj[]) {
  for (const o of objects) {
    expect(validateObject(o as unknown as Record<string, unknown>), `${o.kind}/${o.metadata?.name}`).toEqual([]);
    expect(o.metadata?.namespace === NS || o.kind === "Namespace", `${o.kind}/${o.metadata?.name} namespace`).toBe(
      true,
    );
    if (o.kind === "NetworkPolicy") {
      if (o.metadata?.name === "allow-eastwest") {
        // The chain's one rule for every pod: sending to the local east-west gateway's pods on 15443, nothing else.
        expect(o.spec).toEqual({
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                {
                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
                  podSelector: { matchLabels: { istio: "eastwestgateway" } },
                },
              ],
              ports: [{ protocol: "TCP", port: 15443 }],
            },
          ],
        });
        continue;
      }
      expect(o.spec.podSelector?.matchLabels, `${o.metadata?.name} selects pods by package`).toBeDefined();
      for (const rule of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
        expect(rule.ports?.length, `${o.metadata?.name}: a rule without ports opens every port`).toBeGreaterThan(0);
        const peers = rule.from ?? rule.to;
        expect(peers?.length, `${o.metadata?.name}: a rule without peers opens to everyone`).toBeGreaterThan(0);
      }
    }
    if (o.kind === "AuthorizationPolicy") {
      expect(o.spec.action).toBe("ALLOW");
      expect(o.spec.selector.matchLabels["camino.io/package"]).toBeTruthy();
      for (const r of o.spec.rules) {
        for (const f of r.from)
          for (const p of f.source.principals) expect(p).toMatch(/^[^*/]+\/ns\/[^*/]+\/sa\/[^*/]+$/);
        expect(r.to[0].operation.ports.length).toBe(1);
      }
      expect(JSON.stringify(o)).not.toContain("trustDomainAliases");
    }
    if (o.kind === "DestinationRule") {
      expect(o.spec.trafficPolicy.tls).toEqual({ mode: "ISTIO_MUTUAL" });
    }
  }
}

const end = (pkg: string, edge?: string, domain = DOMAIN) => ({ package: pkg, domain, ...(edge ? { edge } : {}) });
function link(
  from: [string, string | undefined],
  to: [string, string | undefined, number] | { external: { host: string; port: number } },
  port: number,
  protocol: PlacedLink["protocol"],
  policy: PlacedLink["policy"] = {},
): PlacedLink {
  const name = `${from[0]}-${"external" in to ? to.external.host : to[0]}-${port}`;
  return {
    name,
    from: { ...end(from[0], from[1]), serviceAccount: `${from[0]}-sa` },
    to: "external" in to ? to : { ...end(to[0], to[1]), targetPort: to[2] },
    port,
    protocol,
    policy,
  };
}

async function plan(links: PlacedLink[], meshes?: Record<string, EdgeMesh>, read?: string[]): Promise<NetworkPlan> {
  return manager(meshes, read).planLinks({
    intent: NS,
    revision: 1,
    domain: DOMAIN,
    links,
    repositories: new Map([
      ["edge-1", "edge-1-deploy"],
      ["edge-2", "edge-2-deploy"],
    ]),
  });
}

describe("all packages on one edge", () => {
  let p: NetworkPlan;
  let objects: Obj[];
  const read: string[] = [];
  beforeAll(async () => {
    p = await plan(
      [
        link(["ingress", "edge-1"], ["upf", "edge-1", 18805], 8805, "udp"),
        link(["ingress", "edge-1"], ["analytics", "edge-1", 9090], 8080, "http", {
          timeout: "2s",
          retries: 3,
          loadBalancer: "LEAST_REQUEST",
        }),
        link(["analytics", "edge-1"], ["sink", "edge-1", 5201], 5201, "tcp"),
      ],
      MESHES,
      read,
    );
    objects = objectsAt(p.files, "edge-1");
  });

  it("gives each link exactly its own objects, and reads no edge's mesh", () => {
    expect([...p.files.keys()]).toEqual(["edge-1"]);
    expect(ids(objects)).toEqual([
      "AuthorizationPolicy/analytics-sink-5201",
      "AuthorizationPolicy/ingress-analytics-8080",
      "DestinationRule/analytics-sink-5201",
      "DestinationRule/ingress-analytics-8080",
      "NetworkPolicy/analytics-sink-5201",
      "NetworkPolicy/analytics-sink-5201-egress",
      "NetworkPolicy/ingress-analytics-8080",
      "NetworkPolicy/ingress-analytics-8080-egress",
      "NetworkPolicy/ingress-upf-8805",
      "NetworkPolicy/ingress-upf-8805-egress",
      "VirtualService/ingress-analytics-8080",
    ]);
    expect(read).toEqual([]);
    expect(p.problems).toEqual([]);
    expectTight(objects);
    for (const o of objects) expect(o.metadata?.labels?.["camino.io/intent"]).toBe(NS);
  });

  it("opens the provider's pod port (the targetPort) to the consumer's pods only, and lets the consumer send there", () => {
    const np = find(objects, "NetworkPolicy", "ingress-analytics-8080");
    expect(np.spec.podSelector).toEqual({ matchLabels: { "camino.io/package": "analytics" } });
    expect(np.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { "camino.io/package": "ingress" } } }],
        ports: [{ protocol: "TCP", port: 9090 }],
      },
    ]);
    const egress = find(objects, "NetworkPolicy", "ingress-analytics-8080-egress");
    expect(egress.spec.podSelector).toEqual({ matchLabels: { "camino.io/package": "ingress" } });
    expect(egress.spec.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { "camino.io/package": "analytics" } } }],
        ports: [{ protocol: "TCP", port: 9090 }],
      },
    ]);
  });

  it("allows exactly the consumer's service account on the pod port", () => {
    const ap = find(objects, "AuthorizationPolicy", "ingress-analytics-8080");
    expect(ap.spec.selector).toEqual({ matchLabels: { "camino.io/package": "analytics" } });
    expect(ap.spec.rules).toEqual([
      {
        from: [{ source: { principals: ["cluster.local/ns/chain/sa/ingress-sa"] } }],
        to: [{ operation: { ports: ["9090"] } }],
      },
    ]);
  });

  it("carries the link's policy: timeout and retries on the route, load balancer and outlier detection on the rule", () => {
    const vs = find(objects, "VirtualService", "ingress-analytics-8080");
    expect(vs.spec.hosts).toEqual(["analytics.chain.svc.cluster.local"]);
    expect(vs.spec.http).toHaveLength(1);
    expect(vs.spec.http[0]).toMatchObject({
      match: [{ sourceLabels: { "camino.io/package": "ingress" }, port: 8080 }],
      timeout: "2s",
      retries: { attempts: 3 },
      route: [{ destination: { host: "analytics.chain.svc.cluster.local", port: { number: 8080 } } }],
    });
    const dr = find(objects, "DestinationRule", "ingress-analytics-8080");
    expect(dr.spec.host).toBe("analytics.chain.svc.cluster.local");
    expect(dr.spec.workloadSelector).toEqual({ matchLabels: { "camino.io/package": "ingress" } });
    expect(dr.spec.trafficPolicy.loadBalancer).toEqual({ simple: "LEAST_REQUEST" });
    expect(dr.spec.trafficPolicy.outlierDetection).toMatchObject({ consecutive5xxErrors: 5 });
    // A tcp link: no route (timeouts and retries are HTTP), its rule with the blueprint's default balancer.
    expect(find(objects, "DestinationRule", "analytics-sink-5201").spec.trafficPolicy.loadBalancer).toEqual({
      simple: "ROUND_ROBIN",
    });
  });

  it("gives a udp link NetworkPolicy rules only, on UDP, and says why in the plan", () => {
    const mine = objects.filter((o) => o.metadata?.name?.startsWith("ingress-upf-8805"));
    expect(mine.map((o) => o.kind)).toEqual(["NetworkPolicy", "NetworkPolicy"]);
    for (const o of mine)
      for (const r of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])])
        expect(r.ports).toEqual([{ protocol: "UDP", port: 18805 }]);
    const lp = p.links.find((l) => l.link === "ingress-upf-8805");
    expect(lp).toMatchObject({ placement: "intra-edge", meshed: false, edges: ["edge-1"] });
    expect(lp?.note).toMatch(/Istio cannot carry udp, so this link gets NetworkPolicy rules only/);
  });

  it("lists every object per edge with its link", () => {
    expect(
      p.objects
        .filter((o) => o.link === "ingress-analytics-8080")
        .map((o) => o.kind)
        .sort(),
    ).toEqual(["AuthorizationPolicy", "DestinationRule", "NetworkPolicy", "NetworkPolicy", "VirtualService"]);
    expect(new Set(p.objects.map((o) => o.edge))).toEqual(new Set(["edge-1"]));
  });
});

/** Where a consumer's call to `host:port` goes on an edge, as Istio decides: a Kubernetes Service of that name wins. */
function destination(objects: readonly Obj[], host: string, port: number) {
  const [name, ns] = host.split(".");
  const svc = objects.find((o) => o.kind === "Service" && o.metadata?.name === name && o.metadata?.namespace === ns);
  if (svc) return { via: "Service", endpoints: [] as string[] };
  const se = objects.find((o) => o.kind === "ServiceEntry" && o.spec.hosts.includes(host));
  if (!se) return { via: "nothing", endpoints: [] as string[] };
  const sp = se.spec.ports.find((x: { number: number }) => x.number === port);
  return {
    via: "ServiceEntry",
    endpoints: se.spec.endpoints.map(
      (e: { address: string; ports?: Record<string, number> }) => `${e.address}:${e.ports?.[sp.name] ?? port}`,
    ),
  };
}

describe("split over two edges", () => {
  let p: NetworkPlan;
  let consumer: Obj[];
  let provider: Obj[];
  beforeAll(async () => {
    p = await plan([
      link(["ingress", "edge-1"], ["analytics", "edge-2", 9090], 8080, "grpc", { timeout: "1.5s" }),
      link(["ingress", "edge-1"], ["sink", "edge-2", 5201], 5201, "tcp"),
      link(["probe", "edge-1"], ["analytics", "edge-2", 9090], 8080, "grpc"),
    ]);
    consumer = objectsAt(p.files, "edge-1");
    provider = objectsAt(p.files, "edge-2");
  });

  it("gives each edge exactly its side's objects", () => {
    expect(ids(consumer)).toEqual([
      "DestinationRule/ingress-analytics-8080",
      "DestinationRule/ingress-sink-5201",
      "DestinationRule/probe-analytics-8080",
      "NetworkPolicy/allow-eastwest",
      "NetworkPolicy/ingress-analytics-8080-egress",
      "NetworkPolicy/ingress-sink-5201-egress",
      "NetworkPolicy/probe-analytics-8080-egress",
      "ServiceEntry/remote-analytics-8080",
      "ServiceEntry/remote-sink-5201",
      "VirtualService/ingress-analytics-8080",
      "VirtualService/probe-analytics-8080",
    ]);
    expect(ids(provider)).toEqual([
      "AuthorizationPolicy/ingress-analytics-8080",
      "AuthorizationPolicy/ingress-sink-5201",
      "AuthorizationPolicy/probe-analytics-8080",
      "NetworkPolicy/allow-eastwest",
      "NetworkPolicy/ingress-analytics-8080",
      "NetworkPolicy/ingress-sink-5201",
      "NetworkPolicy/probe-analytics-8080",
    ]);
    expectTight(consumer);
    expectTight(provider);
    expect(p.problems).toEqual([]);
  });

  it("resolves the provider's name on the consumer's edge to the provider edge's gateway on 15443, with no network field", () => {
    // No Kubernetes Service of that name on the consumer's edge: it would win over the ServiceEntry.
    expect(destination(consumer, "analytics.chain.svc.cluster.local", 8080)).toEqual({
      via: "ServiceEntry",
      endpoints: ["192.0.2.22:15443"],
    });
    const se = find(consumer, "ServiceEntry", "remote-analytics-8080");
    expect(se.spec).toMatchObject({
      hosts: ["analytics.chain.svc.cluster.local"],
      location: "MESH_INTERNAL",
      resolution: "STATIC",
      ports: [{ number: 8080, name: "mesh", protocol: "GRPC" }],
    });
    expect(se.spec.endpoints).toEqual([{ address: "192.0.2.22", ports: { mesh: 15443 } }]);
    expect(se.spec.addresses).toBeUndefined();
    expect(find(consumer, "ServiceEntry", "remote-sink-5201").spec.ports).toEqual([
      { number: 5201, name: "mesh", protocol: "TCP" },
    ]);
  });

  it("lets the consumer reach the remote gateway's address on 15443 only, and the provider accept its local gateway on the pod port", () => {
    expect(find(consumer, "NetworkPolicy", "ingress-analytics-8080-egress").spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "192.0.2.22/32" } }], ports: [{ protocol: "TCP", port: 15443 }] },
    ]);
    expect(find(provider, "NetworkPolicy", "ingress-analytics-8080").spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
            podSelector: { matchLabels: { istio: "eastwestgateway" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 9090 }],
      },
    ]);
    expect(find(provider, "AuthorizationPolicy", "probe-analytics-8080").spec.rules[0].from).toEqual([
      { source: { principals: ["cluster.local/ns/chain/sa/probe-sa"] } },
    ]);
  });

  it("keeps each consumer's policy on its own route (every gRPC link has its VirtualService)", () => {
    const a = find(consumer, "VirtualService", "ingress-analytics-8080");
    const b = find(consumer, "VirtualService", "probe-analytics-8080");
    expect(a.spec.http[0].timeout).toBe("1.5s");
    expect(a.spec.http[0].match[0].sourceLabels).toEqual({ "camino.io/package": "ingress" });
    expect(b.spec.http[0].timeout).toBe("15s");
    expect(b.spec.http[0].match[0].sourceLabels).toEqual({ "camino.io/package": "probe" });
    // Istio applies one VirtualService per host to a sidecar: the plan says the second may not take effect.
    expect(p.links.find((l) => l.link === "ingress-analytics-8080")?.note).not.toMatch(/already routes/);
    expect(p.links.find((l) => l.link === "probe-analytics-8080")?.note).toMatch(
      /link ingress-analytics-8080 already routes analytics\.chain\.svc\.cluster\.local on edge-1; Istio applies one VirtualService per host there/,
    );
  });

  it("says which networks the link crosses", () => {
    expect(p.links.find((l) => l.link === "ingress-analytics-8080")).toMatchObject({
      placement: "inter-edge",
      edges: ["edge-1", "edge-2"],
      note: "network net-1 → net-2 through 192.0.2.22:15443",
    });
  });

  it("says when the consumer's edge does not proxy DNS, so the provider's name would not resolve there", async () => {
    const noDns = { ...MESHES, "edge-1": { ...(MESHES["edge-1"] as EdgeMesh), dnsProxy: false } };
    const q = await plan([link(["ingress", "edge-1"], ["analytics", "edge-2", 9090], 8080, "http")], noDns);
    expect(q.links[0]?.note).toContain(
      "edge edge-1's mesh does not proxy DNS (ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE): analytics.chain.svc.cluster.local will not resolve there",
    );
  });

  it("uses DNS resolution for a gateway named by a host, and says the egress rule cannot name it", async () => {
    const named = {
      ...MESHES,
      "edge-2": {
        ...(MESHES["edge-2"] as EdgeMesh),
        gateway: { address: "gw.edge-2.example", port: 15443, hostname: true },
      },
    };
    const q = await plan([link(["ingress", "edge-1"], ["analytics", "edge-2", 9090], 8080, "http")], named);
    const objects = objectsAt(q.files, "edge-1");
    expect(find(objects, "ServiceEntry", "remote-analytics-8080").spec).toMatchObject({
      resolution: "DNS",
      endpoints: [{ address: "gw.edge-2.example", ports: { mesh: 15443 } }],
    });
    expect(q.links[0]?.note).toMatch(/gw\.edge-2\.example is a DNS name, which a NetworkPolicy cannot name/);
  });

  it("refuses a udp link across edges, and a link to an edge without an east-west gateway, as placement reasons", async () => {
    const bare = { ...MESHES, "edge-2": { ...(MESHES["edge-2"] as EdgeMesh), problems: ["no gateway"] } };
    delete (bare["edge-2"] as Partial<EdgeMesh>).gateway;
    const q = await plan(
      [
        link(["ingress", "edge-1"], ["upf", "edge-2", 8805], 8805, "udp"),
        link(["ingress", "edge-1"], ["sink", "edge-2", 5201], 5201, "tcp"),
      ],
      bare,
    );
    expect(q.problems).toEqual([
      {
        package: "ingress",
        edge: "edge-1",
        message:
          "link ingress-upf-8805: a udp link cannot cross edges (the mesh cannot carry udp through the east-west gateways); place ingress and upf on one edge",
      },
      {
        package: "ingress",
        edge: "edge-1",
        message:
          "link ingress-sink-5201: edge edge-2 has no usable east-west gateway for links from other edges (no gateway)",
      },
    ]);
    expect(ids(objectsAt(q.files, "edge-1"))).toEqual([]);
  });
});

describe("an external endpoint", () => {
  it("gets only an egress rule on its protocol for a udp endpoint (no ServiceEntry: the mesh does not carry it)", async () => {
    const p = await plan([link(["upf", "edge-1"], { external: { host: "198.51.100.7", port: 2152 } }, 2152, "udp")]);
    const objects = objectsAt(p.files, "edge-1");
    expect(ids(objects)).toEqual(["NetworkPolicy/upf-198.51.100.7-2152-egress"]);
    expectTight(objects);
    expect(objects[0]?.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "198.51.100.7/32" } }], ports: [{ protocol: "UDP", port: 2152 }] },
    ]);
    expect(p.links[0]).toMatchObject({ placement: "external", meshed: false, edges: ["edge-1"] });
  });

  it("gets a MESH_EXTERNAL ServiceEntry and an egress rule on its port: the address block for an IP, any address for a name", async () => {
    const p = await plan([
      link(["analytics", "edge-1"], { external: { host: "api.partner.example", port: 443 } }, 443, "tls"),
      link(["analytics", "edge-1"], { external: { host: "203.0.113.7", port: 8443 } }, 8443, "http"),
    ]);
    const objects = objectsAt(p.files, "edge-1");
    expect(ids(objects)).toEqual([
      "NetworkPolicy/analytics-203.0.113.7-8443-egress",
      "NetworkPolicy/analytics-api.partner.example-443-egress",
      "ServiceEntry/analytics-203.0.113.7-8443",
      "ServiceEntry/analytics-api.partner.example-443",
      "VirtualService/analytics-203.0.113.7-8443",
    ]);
    expectTight(objects);
    expect(find(objects, "ServiceEntry", "analytics-api.partner.example-443").spec).toEqual({
      hosts: ["api.partner.example"],
      addresses: [],
      location: "MESH_EXTERNAL",
      resolution: "DNS",
      ports: [{ number: 443, name: "external", protocol: "TLS" }],
    });
    expect(find(objects, "ServiceEntry", "analytics-203.0.113.7-8443").spec).toMatchObject({
      hosts: ["203.0.113.7"],
      addresses: ["203.0.113.7/32"],
      resolution: "NONE",
      ports: [{ number: 8443, protocol: "HTTP" }],
    });
    expect(find(objects, "NetworkPolicy", "analytics-203.0.113.7-8443-egress").spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "203.0.113.7/32" } }], ports: [{ protocol: "TCP", port: 8443 }] },
    ]);
    expect(find(objects, "NetworkPolicy", "analytics-api.partner.example-443-egress").spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ]);
    expect(p.links.map((l) => l.placement)).toEqual(["external", "external"]);
    expect(p.links[0]?.note).toMatch(/api\.partner\.example is a DNS name, which a NetworkPolicy cannot name/);
  });
});

describe("an end in a peer domain (hand-made offers)", () => {
  const offer: SegmentOffer = {
    domain: "domain-y",
    trustDomain: "domain-y.camino",
    addresses: [
      {
        package: "cnf3",
        host: "cnf3.chain.domain-y.camino",
        port: 18080,
        gatewayAddress: "198.51.100.10",
        gatewayPort: 15443,
        network: "domain-y-net-1",
        protocol: "grpc",
        spiffeIdentity: "spiffe://domain-y.camino/ns/chain/sa/cnf3",
      },
    ],
  };
  const outgoing = link(["cnf2", "edge-1"], ["cnf3", undefined, 8080], 8080, "grpc", { timeout: "3s", retries: 1 });
  outgoing.to = { package: "cnf3", domain: "domain-y", targetPort: 8080 };
  const hydrate = async (units: Parameters<typeof hydrateUnits>[0]) =>
    hydrateUnits(
      units,
      { intent: NS, revision: 1, domain: DOMAIN, repositories: new Map([["edge-1", "edge-1-deploy"]]) },
      { catalogue, hydration: new HydrationCache() },
    );

  it("consumer side: the peer's gateway as the one endpoint, the offer's port, the link's protocol, the provider's identity, no sni", async () => {
    const { units } = planCrossDomainConsumer(outgoing, offer, NS);
    const objects = objectsAt((await hydrate(units)).files, "edge-1");
    expect(ids(objects)).toEqual([
      "DestinationRule/cnf2-cnf3-8080",
      "NetworkPolicy/cnf2-cnf3-8080-egress",
      "ServiceEntry/cnf2-cnf3-8080",
      "VirtualService/cnf2-cnf3-8080",
    ]);
    expectTight(objects);
    const se = find(objects, "ServiceEntry", "cnf2-cnf3-8080");
    expect(se.spec).toEqual({
      hosts: ["cnf3.chain.domain-y.camino"],
      location: "MESH_INTERNAL",
      resolution: "STATIC",
      ports: [{ number: 18080, name: "mesh", protocol: "GRPC" }],
      endpoints: [{ address: "198.51.100.10", ports: { mesh: 15443 } }],
      subjectAltNames: ["spiffe://domain-y.camino/ns/chain/sa/cnf3"],
    });
    const dr = find(objects, "DestinationRule", "cnf2-cnf3-8080");
    expect(dr.spec.host).toBe("cnf3.chain.domain-y.camino");
    expect(dr.spec.trafficPolicy.tls).toEqual({ mode: "ISTIO_MUTUAL" });
    expect(find(objects, "VirtualService", "cnf2-cnf3-8080").spec.http[0]).toMatchObject({
      timeout: "3s",
      route: [{ destination: { host: "cnf3.chain.domain-y.camino", port: { number: 18080 } } }],
    });
    expect(find(objects, "NetworkPolicy", "cnf2-cnf3-8080-egress").spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "198.51.100.10/32" } }], ports: [{ protocol: "TCP", port: 15443 }] },
    ]);
  });

  it("consumer side: a tls link's port is TCP (the mesh's own TLS carries it), never TLS", async () => {
    const tls = { ...outgoing, protocol: "tls" as const, policy: {} };
    const tlsOffer = {
      ...offer,
      addresses: [{ ...(offer.addresses[0] as SegmentOffer["addresses"][0]), protocol: "tls" }],
    };
    const objects = objectsAt((await hydrate(planCrossDomainConsumer(tls, tlsOffer, NS).units)).files, "edge-1");
    expect(find(objects, "ServiceEntry", "cnf2-cnf3-8080").spec.ports).toEqual([
      { number: 18080, name: "mesh", protocol: "TCP" },
    ]);
    expect(ids(objects)).not.toContain("VirtualService/cnf2-cnf3-8080");
  });

  it("consumer side: refuses an offer it cannot build a safe link from, naming the field", () => {
    const a = offer.addresses[0] as SegmentOffer["addresses"][0];
    const bad = (changes: Partial<typeof a>) => {
      try {
        planCrossDomainConsumer(outgoing, { ...offer, addresses: [{ ...a, ...changes }] }, NS);
      } catch (err) {
        expect(err).toBeInstanceOf(SegmentOfferError);
        return (err as SegmentOfferError).issues.map((i) => i.path);
      }
      return [];
    };
    expect(bad({ spiffeIdentity: "spiffe://domain-x.camino/ns/chain/sa/cnf3" })).toEqual([
      "offeredAddresses[0].spiffeIdentity",
    ]);
    expect(bad({ protocol: "tcp" })).toEqual(["offeredAddresses[0].protocol"]);
    expect(bad({ gatewayAddress: "not a host" })).toEqual(["offeredAddresses[0].gatewayAddress"]);
    expect(bad({ port: 70000 })).toEqual(["offeredAddresses[0].port"]);
    expect(() => planCrossDomainConsumer(outgoing, { ...offer, addresses: [] }, NS)).toThrow(/no address for cnf3/);
  });

  it("provider side: an AUTO_PASSTHROUGH Gateway for this host only, the host mapped to the local service, the caller's exact principal", async () => {
    const { units, offered } = planCrossDomainProvider(
      {
        name: "cnf2-cnf3-8080",
        to: { package: "cnf3", edge: "edge-1", targetPort: 9080 },
        port: 8080,
        protocol: "grpc",
        consumerPrincipal: "domain-y.camino/ns/chain/sa/cnf2",
      },
      {
        intent: NS,
        domain: DOMAIN,
        peerTrustDomain: "domain-y.camino",
        localTrustDomain: "domain-x.camino",
        mesh: MESHES["edge-1"] as EdgeMesh,
      },
    );
    const objects = objectsAt((await hydrate(units)).files, "edge-1");
    expect(ids(objects)).toEqual([
      "AuthorizationPolicy/cnf2-cnf3-8080",
      "Gateway/cnf2-cnf3-8080",
      "NetworkPolicy/allow-eastwest",
      "NetworkPolicy/cnf2-cnf3-8080",
      "ServiceEntry/cnf2-cnf3-8080",
    ]);
    expectTight(objects);
    expect(find(objects, "Gateway", "cnf2-cnf3-8080").spec).toEqual({
      selector: { istio: "eastwestgateway" },
      servers: [
        {
          port: { number: 15443, name: "tls", protocol: "TLS" },
          tls: { mode: "AUTO_PASSTHROUGH" },
          hosts: ["./cnf3.chain.domain-x.camino"],
        },
      ],
    });
    expect(find(objects, "ServiceEntry", "cnf2-cnf3-8080").spec).toEqual({
      hosts: ["cnf3.chain.domain-x.camino"],
      location: "MESH_INTERNAL",
      resolution: "DNS",
      ports: [{ number: 8080, name: "mesh", protocol: "GRPC" }],
      endpoints: [{ address: "cnf3.chain.svc.cluster.local" }],
    });
    expect(find(objects, "AuthorizationPolicy", "cnf2-cnf3-8080").spec.rules).toEqual([
      {
        from: [{ source: { principals: ["domain-y.camino/ns/chain/sa/cnf2"] } }],
        to: [{ operation: { ports: ["9080"] } }],
      },
    ]);
    expect(find(objects, "NetworkPolicy", "cnf2-cnf3-8080").spec.ingress[0].ports).toEqual([
      { protocol: "TCP", port: 9080 },
    ]);
    expect(offered).toEqual({
      package: "cnf3",
      host: "cnf3.chain.domain-x.camino",
      port: 8080,
      gatewayAddress: "192.0.2.11",
      gatewayPort: 15443,
      network: "net-1",
      protocol: "grpc",
      spiffeIdentity: "spiffe://domain-x.camino/ns/chain/sa/default",
    });
  });

  it("provider side: refuses a principal that is not exact or not the peer's, and a udp link", () => {
    const attempt = (consumerPrincipal: string, protocol: PlacedLink["protocol"] = "grpc") => {
      try {
        planCrossDomainProvider(
          { name: "l", to: { package: "cnf3", edge: "edge-1", targetPort: 1 }, port: 80, protocol, consumerPrincipal },
          {
            intent: NS,
            domain: DOMAIN,
            peerTrustDomain: "domain-y.camino",
            localTrustDomain: "domain-x.camino",
            mesh: MESHES["edge-1"] as EdgeMesh,
          },
        );
        return "accepted";
      } catch (err) {
        return (err as SegmentOfferError).issues.map((i) => i.message).join("; ");
      }
    };
    expect(attempt("*")).toMatch(/is not an exact/);
    expect(attempt("domain-y.camino/ns/*/sa/cnf2")).toMatch(/is not an exact/);
    expect(attempt("domain-x.camino/ns/chain/sa/cnf2")).toMatch(/is not in the peer's trust domain domain-y\.camino/);
    expect(attempt("domain-y.camino/ns/chain/sa/cnf2", "udp")).toMatch(/udp cannot cross a mesh gateway/);
    expect(attempt("domain-y.camino/ns/chain/sa/cnf2")).toBe("accepted");
  });

  it("through the Network Manager: nothing without the peer's offer; with it, the consumer side; a bad offer, a placement reason", async () => {
    const waiting = await plan([outgoing]);
    expect([...waiting.files.keys()]).toEqual([]);
    expect(waiting.links[0]).toMatchObject({
      placement: "cross-domain",
      edges: [],
      note: "waiting for the peer's segment offer: its objects are generated from it",
    });
    const nm = manager();
    const base = {
      intent: NS,
      revision: 1,
      domain: DOMAIN,
      links: [outgoing],
      repositories: new Map([["edge-1", "edge-1-deploy"]]),
    };
    const offered = await nm.planLinks({ ...base, offers: [offer] });
    expect(ids(objectsAt(offered.files, "edge-1"))).toEqual([
      "DestinationRule/cnf2-cnf3-8080",
      "NetworkPolicy/cnf2-cnf3-8080-egress",
      "ServiceEntry/cnf2-cnf3-8080",
      "VirtualService/cnf2-cnf3-8080",
    ]);
    expect(offered.links[0]).toMatchObject({ edges: ["edge-1"], note: "through domain-y's offer" });
    const a = offer.addresses[0] as SegmentOffer["addresses"][0];
    const bad = await nm.planLinks({
      ...base,
      offers: [{ ...offer, addresses: [{ ...a, spiffeIdentity: "spiffe://x/y" }] }],
    });
    expect([...bad.files.keys()]).toEqual([]);
    expect(bad.problems).toEqual([
      {
        package: "cnf2",
        edge: "edge-1",
        message: expect.stringMatching(
          /^link cnf2-cnf3-8080: domain-y's offer cannot be used: offeredAddresses\[0\]\.spiffeIdentity: /,
        ),
      },
    ]);
  });
});
