/**
 * Network Manager benchmark: a 50-package chain with 100 links over 10 edges (package i on edge i mod 10, links
 * between pseudo-random pairs from a seed: http, grpc and tcp across edges, udp as well within one), its network
 * objects generated and validated (every unit hydrated from blueprints/network/ and schema-checked), against
 * hydrating the same chain's 50 CNF packages in the same run: network planning must not dominate planning.
 * A fresh hydration cache each round, so nothing is reused; the edges' meshes are given (no I/O is timed).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readBlueprint, type Blueprint } from "../agent/cad/blueprint.js";
import type { ResolvedBlueprint } from "../agent/cad/catalogue.js";
import { readFolder } from "../agent/cad/folder.js";
import { HydrationCache } from "../agent/cad/hydration-cache.js";
import { hydratePackage } from "../agent/cad/hydrate.js";
import { buildIesd, serviceHost } from "../agent/cad/iesd.js";
import type { EdgeMesh } from "../agent/edge/mesh-install.js";
import type { LinkProtocol, PackageIntent } from "../agent/intent/model.js";
import { createNetworkManager, type NetworkPlan, type PlacedLink } from "../agent/network/network-manager.js";
import { ROOT } from "../test/helpers/agent-process.js";
import { summarise, type Summary } from "./stats.js";

export interface NetworkFigures {
  packages: number;
  links: number;
  edges: number;
  rounds: number;
  /** Network generation + validation per chain, ms. */
  network: Summary;
  /** Hydration + validation of the chain's CNF packages, ms. */
  cnf: Summary;
  /** Median network time over median CNF time. */
  ratio: number;
  objects: number;
  /** Objects of the chain's CNF packages, for scale. */
  cnfObjects: number;
  files: number;
  /** Objects per link kind. */
  placements: Record<string, number>;
}

const CNFS = ["nginx-ingress", "upf", "video-analytics", "traffic-sink"];

async function readGroup(group: string): Promise<Map<string, Blueprint>> {
  const out = new Map<string, Blueprint>();
  for (const name of readdirSync(join(ROOT, "blueprints", group)))
    out.set(name, readBlueprint(`${group}/${name}`, await readFolder(join(ROOT, "blueprints", group, name))));
  return out;
}

/** The chain: packages, their edges, and 100 distinct links (xorshift from a seed: every run the same). */
function chainOf(packages: number, links: number, edges: number, seed = 7) {
  let x = seed;
  const rand = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  const edgeOf = (i: number) => `edge-${i % edges}`;
  const out: PlacedLink[] = [];
  const seen = new Set<string>();
  while (out.length < links) {
    const a = Math.floor(rand() * packages);
    const b = Math.floor(rand() * packages);
    if (a === b || seen.has(`${a}-${b}`)) continue;
    seen.add(`${a}-${b}`);
    const same = edgeOf(a) === edgeOf(b);
    const protocols: LinkProtocol[] = same ? ["http", "grpc", "tcp", "udp"] : ["http", "grpc", "tcp"];
    const protocol = protocols[Math.floor(rand() * protocols.length)] as LinkProtocol;
    const port = 8000 + Math.floor(rand() * 100);
    out.push({
      name: `p${a}-p${b}-${port}`,
      from: { package: `p${a}`, domain: "domain-x", edge: edgeOf(a), serviceAccount: "default" },
      to: { package: `p${b}`, domain: "domain-x", edge: edgeOf(b), targetPort: port },
      port,
      protocol,
      policy: protocol === "http" || protocol === "grpc" ? { timeout: "2s", retries: 2 } : {},
    });
  }
  return { links: out, edgeOf };
}

export async function runNetworkBenchmark(quick: boolean): Promise<NetworkFigures> {
  const packages = 50;
  const edges = 10;
  const rounds = quick ? 5 : 30;
  const network = await readGroup("network");
  const cnf = await readGroup("cnf");
  const { links, edgeOf } = chainOf(packages, 100, edges);
  const resolve = (b: Blueprint): ResolvedBlueprint => ({
    blueprint: b,
    repository: { record: { name: "catalogue", url: "file:///catalogue" } } as never,
    revision: "main",
    commit: "c".repeat(40),
  });
  const catalogue = { resolve: async (name: string) => resolve(network.get(name) as Blueprint) };
  const meshes = new Map<string, EdgeMesh>(
    Array.from({ length: edges }, (_, i) => [
      `edge-${i}`,
      {
        edge: `edge-${i}`,
        network: `net-${i}`,
        gateway: { address: `192.0.2.${i + 10}`, port: 15443, hostname: false },
        multiRoot: true,
        xdsAgent: true,
        dnsProxy: true,
        problems: [],
      },
    ]),
  );
  const repositories = new Map([...meshes.keys()].map((e) => [e, `${e}-deploy`]));
  const input = { intent: "bench", revision: 1, domain: "domain-x", links, repositories };

  const netMs: number[] = [];
  let last: NetworkPlan | undefined;
  for (let r = 0; r < rounds + 1; r++) {
    const nm = createNetworkManager({
      catalogue,
      hydration: new HydrationCache(4096),
      mesh: async (e) => meshes.get(e) as EdgeMesh,
    });
    const t = performance.now();
    last = await nm.planLinks(input);
    if (r > 0) netMs.push(performance.now() - t); // the first round warms the JIT
  }

  const cnfMs: number[] = [];
  let cnfObjects = 0;
  for (let r = 0; r < rounds + 1; r++) {
    const t = performance.now();
    for (let i = 0; i < packages; i++) {
      const bp = cnf.get(CNFS[i % CNFS.length] as string) as Blueprint;
      const pkg: PackageIntent = {
        name: `p${i}`,
        index: i,
        blueprint: bp.name,
        version: "1.0.0",
        replicas: 1,
        resources: { cpu: { text: "100m", millis: 100 }, memory: { text: "64Mi", bytes: 64 * 2 ** 20 } },
        after: [],
        placement: { kind: "edge", edge: edgeOf(i) },
        config: {},
      };
      const inputs = links
        .filter((l) => l.from.package === pkg.name && !("external" in l.to))
        .map((l) => {
          const to = l.to as { package: string };
          return {
            link: l.name,
            package: to.package,
            host: serviceHost(to.package, "bench"),
            port: l.port,
            protocol: l.protocol,
          };
        });
      const iesd = buildIesd(
        {
          intent: "bench",
          revision: 1,
          pkg,
          domain: "domain-x",
          edge: edgeOf(i),
          namespace: "bench",
          blueprint: {
            name: bp.name,
            repository: "catalogue",
            url: "file:///c",
            path: bp.path,
            revision: "main",
            commit: "c".repeat(40),
          },
          deployment: { repository: `${edgeOf(i)}-deploy`, path: `bench/${pkg.name}` },
          inputs,
        },
        bp,
      );
      const h = hydratePackage(bp, iesd);
      if (r === 0) cnfObjects += h.objects.length;
    }
    if (r > 0) cnfMs.push(performance.now() - t);
  }

  const plan = last as NetworkPlan;
  const placements: Record<string, number> = {};
  const kindOf = new Map(plan.links.map((l) => [l.link, l.placement]));
  for (const o of plan.objects) {
    const k = o.link ? (kindOf.get(o.link) ?? "?") : "shared";
    placements[k] = (placements[k] ?? 0) + 1;
  }
  const network_ = summarise(
    netMs,
    netMs.reduce((a, b) => a + b, 0),
  );
  const cnf_ = summarise(
    cnfMs,
    cnfMs.reduce((a, b) => a + b, 0),
  );
  return {
    packages,
    links: links.length,
    edges,
    rounds,
    network: network_,
    cnf: cnf_,
    ratio: network_.p50Ms / cnf_.p50Ms,
    objects: plan.objects.length,
    cnfObjects,
    files: [...plan.files.values()].reduce((n, f) => n + f.size, 0),
    placements,
  };
}

/** The figures as the bench prints them. */
export function formatNetworkFigures(f: NetworkFigures): string {
  const kinds = Object.entries(f.placements)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return [
    `Network Manager, a ${f.packages}-package chain with ${f.links} links over ${f.edges} edges (${f.rounds} rounds)`,
    `  network generation + validation: p50 ${f.network.p50Ms.toFixed(1)} ms, p99 ${f.network.p99Ms.toFixed(1)} ms; ${f.objects} objects (${kinds}), ${f.files} files`,
    `  hydrating the chain's ${f.packages} CNF packages:  p50 ${f.cnf.p50Ms.toFixed(1)} ms, p99 ${f.cnf.p99Ms.toFixed(1)} ms; ${f.cnfObjects} objects`,
    `  ratio network / CNF hydration: ${f.ratio.toFixed(2)} (per object: ${(f.network.p50Ms / f.objects / (f.cnf.p50Ms / f.cnfObjects)).toFixed(2)})`,
  ].join("\n");
}
