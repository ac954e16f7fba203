/** Placement: explicit edges, selectors, the automatic policy (co-location, least loaded), packing pods onto nodes. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  afterPlacing,
  fits,
  formatAmount,
  placePackages,
  type Demand,
  type EdgeState,
  type PackageToPlace,
  type PlacementRequest,
} from "../../agent/orchestration/placement.js";

const Mi = 2 ** 20;
const Gi = 2 ** 30;

/** An edge with `nodes` equal nodes, `used` of each node's CPU and memory already requested. */
function edge(
  name: string,
  o: {
    cpu?: number;
    memory?: number;
    nodes?: number;
    pods?: number;
    used?: number;
    labels?: Record<string, string>;
    healthy?: boolean;
    reason?: string;
  } = {},
): EdgeState {
  const nodes = o.nodes ?? 1;
  const cpu = o.cpu ?? 4000;
  const memory = o.memory ?? 8 * Gi;
  const used = o.used ?? 0;
  const node = {
    cpuMillis: Math.round((cpu / nodes) * (1 - used)),
    memoryBytes: Math.round((memory / nodes) * (1 - used)),
  };
  return {
    name,
    labels: o.labels ?? {},
    healthy: o.healthy ?? true,
    ...(o.reason ? { reason: o.reason } : {}),
    allocatable: { cpuMillis: cpu, memoryBytes: memory, pods: o.pods ?? 110 },
    free: { cpuMillis: node.cpuMillis * nodes, memoryBytes: node.memoryBytes * nodes, pods: o.pods ?? 110 },
    nodeFree: Array.from({ length: nodes }, () => ({ ...node })),
  };
}

/** `pods` equal pods of `cpu` millicores and `memory` bytes each. */
const demand = (cpu: number, memory: number, pods = 1): Demand => ({
  total: { cpuMillis: cpu * pods, memoryBytes: memory * pods, pods },
  largestPod: { cpuMillis: cpu, memoryBytes: memory },
});

function pkg(
  name: string,
  index: number,
  request: PlacementRequest = { kind: "auto" },
  d: Demand = demand(500, 256 * Mi),
  linked: string[] = [],
): PackageToPlace {
  return { name, index, request, demand: d, linked };
}

const placedOn = (r: ReturnType<typeof placePackages>) =>
  Object.fromEntries(r.decisions.map((d) => [d.package, d.edge]));

describe("formatAmount", () => {
  it("prints whole cores, millicores and exact binary units, else bytes", () => {
    expect(formatAmount({ cpuMillis: 500, memoryBytes: 256 * Mi })).toBe("500m CPU, 256Mi memory");
    expect(formatAmount({ cpuMillis: 2000, memoryBytes: 3 * Gi })).toBe("2 CPU, 3Gi memory");
    expect(formatAmount({ cpuMillis: 1500, memoryBytes: 1536 * Mi })).toBe("1500m CPU, 1536Mi memory");
    expect(formatAmount({ cpuMillis: 0, memoryBytes: 0 })).toBe("0 CPU, 0 memory");
    expect(formatAmount({ cpuMillis: 250, memoryBytes: 1000 })).toBe("250m CPU, 1000 memory");
    expect(formatAmount({ cpuMillis: 1, memoryBytes: 3 * 1024 })).toBe("1m CPU, 3Ki memory");
  });
});

describe("explicit placement.edge", () => {
  it("places on the named edge even when another is less loaded", () => {
    const r = placePackages(
      [pkg("web", 0, { kind: "edge", edge: "edge-b" })],
      [edge("edge-a"), edge("edge-b", { used: 0.5 })],
    );
    expect(r).toEqual({ decisions: [{ package: "web", edge: "edge-b", reason: "placement.edge" }], issues: [] });
  });

  it("names an unknown edge and lists at most ten known ones, sorted", () => {
    const edges = Array.from({ length: 25 }, (_, i) => edge(`edge-${String(24 - i).padStart(2, "0")}`));
    const r = placePackages([pkg("web", 3, { kind: "edge", edge: "edge-99" })], edges);
    expect(r.decisions).toEqual([]);
    expect(r.issues).toEqual([
      {
        path: "spec.packages[3].placement.edge",
        message:
          'unknown edge "edge-99" (known: edge-00, edge-01, edge-02, edge-03, edge-04, edge-05, edge-06, edge-07, edge-08, edge-09, … (25 in all))',
      },
    ]);
  });

  it("refuses an unhealthy edge with its reason and never moves the package", () => {
    const r = placePackages(
      [pkg("web", 0, { kind: "edge", edge: "edge-a" })],
      [edge("edge-a", { healthy: false, reason: "capacity not read yet" }), edge("edge-b")],
    );
    expect(r.decisions).toEqual([]);
    expect(r.issues).toEqual([
      {
        path: "spec.packages[0].placement.edge",
        message:
          'edge "edge-a" is unhealthy (capacity not read yet); an explicit placement is never moved to another edge',
      },
    ]);
  });

  it("states demand against free in people's units when the edge has no room", () => {
    const small: EdgeState = {
      ...edge("edge-1"),
      free: { cpuMillis: 200, memoryBytes: Gi, pods: 10 },
      nodeFree: [{ cpuMillis: 200, memoryBytes: Gi }],
    };
    const r = placePackages([pkg("web", 1, { kind: "edge", edge: "edge-1" })], [small, edge("edge-2")]);
    expect(r.decisions).toEqual([]);
    expect(r.issues).toEqual([
      {
        path: "spec.packages[1].resources",
        message: "needs 500m CPU, 256Mi memory; edge-1 has 200m CPU, 1Gi memory free",
      },
    ]);
  });

  it("names pods when they are what is missing", () => {
    const r = placePackages(
      [pkg("web", 0, { kind: "edge", edge: "edge-1" }, demand(100, 64 * Mi, 5))],
      [edge("edge-1", { pods: 3 })],
    );
    expect(r.issues[0]?.message).toBe(
      "needs 500m CPU, 320Mi memory, 5 pods; edge-1 has 4 CPU, 8Gi memory, 3 pods free",
    );
  });
});

describe("edgeSelector", () => {
  const edges = [
    edge("a-1", { labels: { zone: "a" } }),
    edge("b-1", { labels: { zone: "b", tier: "gold" } }),
    edge("b-2", { labels: { zone: "b" }, used: 0.5 }),
  ];

  it("places on a matching edge, not a less loaded one that does not match", () => {
    const r = placePackages(
      [pkg("web", 0, { kind: "selector", selector: { zone: "b", tier: "gold" } })],
      [...edges, edge("c-1", { labels: { zone: "b" } })],
    );
    expect(placedOn(r)).toEqual({ web: "b-1" });
    expect(r.decisions[0]?.reason).toBe(
      "the only edge matching edgeSelector {tier=gold, zone=b} (cpu 13%, memory 3% after placement)",
    );
  });

  it("picks the least loaded of the matching edges", () => {
    const r = placePackages(
      [pkg("web", 0, { kind: "selector", selector: { zone: "b" } })],
      [
        edge("b-2", { labels: { zone: "b" }, used: 0.5 }),
        edge("b-0", { labels: { zone: "b" }, used: 0.25 }),
        edge("a-1", { labels: { zone: "a" } }),
      ],
    );
    expect(r.decisions).toEqual([
      {
        package: "web",
        edge: "b-0",
        reason:
          "least loaded fitting edge of 2 edges matching edgeSelector {zone=b} (cpu 38%, memory 28% after placement)",
      },
    ]);
  });

  it("says which selector matched no healthy edge", () => {
    const r = placePackages(
      [pkg("web", 2, { kind: "selector", selector: { zone: "c" } })],
      [...edges, edge("c-1", { labels: { zone: "c" }, healthy: false })],
    );
    expect(r.issues).toEqual([
      {
        path: "spec.packages[2].placement.edgeSelector",
        message: "no healthy edge matches edgeSelector {zone=c} (matching but unhealthy: c-1)",
      },
    ]);
  });

  it("says which edges matched when none has room", () => {
    const r = placePackages([pkg("big", 0, { kind: "selector", selector: { zone: "b" } }, demand(5000, Gi))], edges);
    expect(r.decisions).toEqual([]);
    expect(r.issues).toEqual([
      {
        path: "spec.packages[0].resources",
        message:
          "needs 5 CPU, 1Gi memory; none of the edges matching edgeSelector {zone=b} has room (b-1, b-2); closest: b-1 has 4 CPU, 8Gi memory free",
      },
    ]);
  });

  it("co-locates only on an edge the selector matches", () => {
    const r = placePackages(
      [
        pkg("db", 0, { kind: "edge", edge: "a-1" }),
        pkg("web", 1, { kind: "selector", selector: { zone: "b" } }, undefined, ["db"]),
      ],
      edges,
    );
    expect(placedOn(r)).toEqual({ db: "a-1", web: "b-1" });
  });
});

describe("automatic placement", () => {
  it("chooses the least loaded edge, ties by name whatever the input order", () => {
    const edges = [edge("zeta"), edge("mu"), edge("alpha", { used: 0.5 })];
    const r = placePackages([pkg("web", 0)], edges);
    expect(r.decisions).toEqual([
      {
        package: "web",
        edge: "mu",
        reason: "least loaded fitting edge of 3 healthy edges (cpu 13%, memory 3% after placement)",
      },
    ]);
    expect(placePackages([pkg("web", 0)], [...edges].reverse())).toEqual(r);
  });

  it("takes load as the larger of the CPU and memory fractions", () => {
    // cpu-rich is nearly idle on CPU but 90% used on memory; even is half used on both.
    const cpuRich: EdgeState = {
      ...edge("cpu-rich"),
      free: { cpuMillis: 4000, memoryBytes: 0.1 * 8 * Gi, pods: 110 },
      nodeFree: [{ cpuMillis: 4000, memoryBytes: 0.1 * 8 * Gi }],
    };
    const r = placePackages([pkg("web", 0)], [cpuRich, edge("even", { used: 0.5 })]);
    expect(placedOn(r)).toEqual({ web: "even" });
  });

  it("co-locates a package with what it is linked to when it fits there", () => {
    const edges = [edge("busy", { used: 0.5 }), edge("idle")];
    const r = placePackages(
      [pkg("db", 0, { kind: "edge", edge: "busy" }), pkg("web", 1, { kind: "auto" }, undefined, ["db"])],
      edges,
    );
    expect(r.decisions).toEqual([
      { package: "db", edge: "busy", reason: "placement.edge" },
      { package: "web", edge: "busy", reason: "co-located with db" },
    ]);
  });

  it("falls back to the least loaded edge when the linked package's edge has no room", () => {
    const edges = [edge("small", { cpu: 1000 }), edge("large", { used: 0.5 })];
    const r = placePackages(
      [
        pkg("db", 0, { kind: "edge", edge: "small" }, demand(800, Gi)),
        pkg("web", 1, { kind: "auto" }, demand(500, Gi), ["db"]),
      ],
      edges,
    );
    expect(r.decisions[1]).toEqual({
      package: "web",
      edge: "large",
      reason: "least loaded fitting edge of 2 healthy edges (cpu 63%, memory 63% after placement)",
    });
  });

  it("prefers the edge holding the most linked packages", () => {
    const edges = [edge("a"), edge("b", { used: 0.5 }), edge("c")];
    const r = placePackages(
      [
        pkg("x", 0, { kind: "edge", edge: "a" }),
        pkg("y", 1, { kind: "edge", edge: "b" }),
        pkg("z", 2, { kind: "edge", edge: "b" }),
        pkg("w", 3, { kind: "auto" }, undefined, ["x", "y", "z"]),
      ],
      edges,
    );
    expect(r.decisions[3]).toEqual({ package: "w", edge: "b", reason: "co-located with y, z" });
  });

  it("spreads packages that together overfill one edge", () => {
    const edges = [edge("a"), edge("b")];
    const r = placePackages(
      [pkg("p", 0, { kind: "auto" }, demand(3000, Gi)), pkg("q", 1, { kind: "auto" }, demand(3000, Gi), ["p"])],
      edges,
    );
    expect(placedOn(r)).toEqual({ p: "a", q: "b" });
    expect(r.issues).toEqual([]);
  });

  it("counts earlier packages of the intent against an explicit edge", () => {
    const r = placePackages(
      [
        pkg("p", 0, { kind: "edge", edge: "a" }, demand(3000, Gi)),
        pkg("q", 1, { kind: "edge", edge: "a" }, demand(3000, Gi)),
      ],
      [edge("a"), edge("b")],
    );
    expect(placedOn(r)).toEqual({ p: "a" });
    expect(r.issues).toEqual([
      {
        path: "spec.packages[1].resources",
        message: "needs 3 CPU, 1Gi memory; a has 1 CPU, 7Gi memory free after earlier packages of this intent",
      },
    ]);
  });

  it("refuses an edge with enough in total when the largest pod fits no single node", () => {
    const fragmented = edge("fragmented", { cpu: 4000, nodes: 4 });
    const whole = edge("whole", { cpu: 4000, used: 0.4 });
    const d = demand(2000, Gi);
    expect(fits(d, fragmented)).toBe(false);
    expect(fits(d, whole)).toBe(true);
    const r = placePackages([pkg("big", 0, { kind: "auto" }, d)], [fragmented, whole]);
    expect(placedOn(r)).toEqual({ big: "whole" });
    const refused = placePackages([pkg("big", 0, { kind: "edge", edge: "fragmented" }, d)], [fragmented]);
    expect(refused.issues[0]?.message).toBe(
      "needs 2 CPU, 1Gi memory; fragmented has 4 CPU, 8Gi memory free in total, but its pod does not fit on its nodes (free per node: 1 CPU, 2Gi memory; 1 CPU, 2Gi memory; 1 CPU, 2Gi memory; 1 CPU, 2Gi memory)",
    );
  });

  it("packs every pod onto nodes by first fit, and takes them from the nodes", () => {
    const two = edge("two", { cpu: 3000, nodes: 2 });
    expect(fits(demand(1000, Mi, 2), two)).toBe(true);
    expect(fits(demand(1000, Mi, 3), two)).toBe(false); // 3 CPU free in total, but 1500m per node holds one pod each
    expect(fits(demand(1000, Mi, 3), edge("three", { cpu: 3000, nodes: 3 }))).toBe(true);
    // Two 1000m pods take one node each; a third still fits the totals (1000m free) but no node (500m each).
    const one = (name: string, index: number) => pkg(name, index, { kind: "edge", edge: "two" }, demand(1000, Mi));
    const r = placePackages([one("p", 0), one("q", 1), one("s", 2)], [two]);
    expect(placedOn(r)).toEqual({ p: "two", q: "two" });
    expect(r.issues.map((i) => i.path)).toEqual(["spec.packages[2].resources"]);
  });

  it("carries an edge from one call to the next as a single call would", () => {
    const two = edge("two", { cpu: 3000, nodes: 2 });
    const p = pkg("p", 0, { kind: "edge", edge: "two" }, demand(1000, Mi));
    const after = afterPlacing(p.demand, two);
    expect(after.free).toEqual({ cpuMillis: 2000, memoryBytes: two.free.memoryBytes - Mi, pods: 109 });
    expect(after.nodeFree).toEqual([
      { cpuMillis: 500, memoryBytes: 4 * Gi - Mi },
      { cpuMillis: 1500, memoryBytes: 4 * Gi },
    ]);
    expect(two.free.cpuMillis).toBe(3000);
    for (const q of [demand(1000, Mi), demand(1000, Mi, 2), demand(500, Mi, 3)]) {
      const together = placePackages([p, pkg("q", 1, { kind: "edge", edge: "two" }, q)], [two]);
      expect(together.decisions.length === 2).toBe(fits(q, after));
    }
  });

  it("says when there is no healthy edge", () => {
    const r = placePackages([pkg("web", 0)], [edge("a", { healthy: false }), edge("b", { healthy: false })]);
    expect(r.issues).toEqual([
      { path: "spec.packages[0].placement", message: "no healthy edge to place on (2 edges, none healthy)" },
    ]);
    expect(placePackages([pkg("web", 0)], []).issues).toEqual([
      { path: "spec.packages[0].placement", message: "no healthy edge to place on (the domain has no edge)" },
    ]);
  });

  it("names the edge closest to having room when none fits", () => {
    const r = placePackages(
      [pkg("huge", 0, { kind: "auto" }, demand(6000, Gi))],
      [edge("a", { cpu: 2000 }), edge("b", { cpu: 5000 }), edge("c", { healthy: false, cpu: 64000 })],
    );
    expect(r.issues).toEqual([
      {
        path: "spec.packages[0].resources",
        message: "needs 6 CPU, 1Gi memory; no healthy edge has room (2 healthy); closest: b has 5 CPU, 8Gi memory free",
      },
    ]);
  });
});

describe("placePackages", () => {
  const edges = [edge("a", { labels: { zone: "a" } }), edge("b", { labels: { zone: "b" }, used: 0.5 })];
  const packages = [
    pkg("lost", 0, { kind: "edge", edge: "nowhere" }),
    pkg("ok", 1, { kind: "auto" }),
    pkg("nozone", 2, { kind: "selector", selector: { zone: "z" } }),
    pkg("huge", 3, { kind: "auto" }, demand(64000, Gi)),
    pkg("near", 4, { kind: "selector", selector: { zone: "b" } }, demand(100, Mi), ["ok"]),
  ];

  it("collects every issue and places the rest", () => {
    const r = placePackages(packages, edges);
    expect(r.issues.map((i) => i.path)).toEqual([
      "spec.packages[0].placement.edge",
      "spec.packages[2].placement.edgeSelector",
      "spec.packages[3].resources",
    ]);
    expect(placedOn(r)).toEqual({ ok: "a", near: "b" });
  });

  it("is deterministic and leaves its inputs unchanged", () => {
    const deepFreeze = <T>(v: T): T => {
      if (v && typeof v === "object") {
        for (const x of Object.values(v)) deepFreeze(x);
        Object.freeze(v);
      }
      return v;
    };
    const before = structuredClone({ packages, edges });
    const frozen = deepFreeze(structuredClone({ packages, edges }));
    const first = placePackages(frozen.packages, frozen.edges);
    expect(placePackages(frozen.packages, frozen.edges)).toEqual(first);
    expect(placePackages(packages, edges)).toEqual(first);
    expect({ packages, edges }).toEqual(before);
  });
});

describe("placement property", () => {
  const names = ["e0", "e1", "e2", "e3", "e4"];
  const anEdge = (name: string) =>
    fc
      .record({
        zone: fc.constantFrom("a", "b"),
        healthy: fc.boolean(),
        // Few distinct sizes, so that loads tie and the name decides.
        nodes: fc.array(
          fc.record({
            cpuMillis: fc.constantFrom(0, 500, 1000, 2000, 4000),
            memoryBytes: fc.constantFrom(0, 1, 2, 4, 8).map((g) => g * Gi),
          }),
          { maxLength: 3 },
        ),
        reservedCpu: fc.constantFrom(0, 0, 500, 1000),
        pods: fc.integer({ min: 0, max: 12 }),
      })
      .map(({ zone, healthy, nodes, reservedCpu, pods }): EdgeState => {
        const cpu = nodes.reduce((s, n) => s + n.cpuMillis, 0);
        const memory = nodes.reduce((s, n) => s + n.memoryBytes, 0);
        // Reservations are not per node: free may be below what the nodes show.
        return {
          name,
          labels: { zone },
          healthy,
          allocatable: { cpuMillis: cpu + 1000, memoryBytes: memory + Gi, pods: 20 },
          free: { cpuMillis: Math.max(0, cpu - reservedCpu), memoryBytes: memory, pods },
          nodeFree: nodes,
        };
      });
  const request: fc.Arbitrary<PlacementRequest> = fc.oneof(
    fc.constant({ kind: "auto" as const }),
    fc.constantFrom("a", "b", "c").map((zone) => ({ kind: "selector" as const, selector: { zone } })),
    fc.constantFrom(...names, "e9").map((edge) => ({ kind: "edge" as const, edge })),
  );
  const aPackage = fc.record({
    request,
    pods: fc.integer({ min: 0, max: 4 }),
    cpu: fc.constantFrom(0, 250, 500, 1000, 2000),
    memory: fc.constantFrom(0, 256, 1024, 4096),
    extra: fc.constantFrom(0, 0, 250),
    links: fc.array(fc.nat({ max: 11 }), { maxLength: 3 }),
  });
  // The edges in any order: placement must not depend on it.
  const shuffledEdges = fc
    .tuple(...names.map(anEdge))
    .chain((edges) => fc.shuffledSubarray(edges, { minLength: edges.length, maxLength: edges.length }));
  const scenario = fc.tuple(shuffledEdges, fc.array(aPackage, { minLength: 1, maxLength: 12 })).map(([edges, raw]) => {
    const packages = raw.map((r, i): PackageToPlace => {
      const largest = { cpuMillis: r.pods === 0 ? 0 : r.cpu + r.extra, memoryBytes: r.memory * Mi };
      const total = {
        cpuMillis: r.pods * r.cpu + (r.pods === 0 ? 0 : r.extra),
        memoryBytes: r.pods * r.memory * Mi,
        pods: r.pods,
      };
      return {
        name: `p${i}`,
        index: i,
        request: r.request,
        demand: { total, largestPod: largest },
        linked: r.links.filter((l) => l < raw.length).map((l) => `p${l}`),
      };
    });
    return { edges, packages };
  });

  it("never places more on an edge than it has free, and decides or explains every package", () => {
    fc.assert(
      fc.property(scenario, ({ edges, packages }) => {
        const r = placePackages(packages, edges);
        expect(placePackages(packages, edges)).toEqual(r);
        const decided = new Map(r.decisions.map((d) => [d.package, d.edge]));
        const explained = new Map(r.issues.map((i) => [Number(/^spec\.packages\[(\d+)\]/.exec(i.path)?.[1]), i]));
        expect(r.decisions.length + r.issues.length).toBe(packages.length);
        const used = new Map(edges.map((e) => [e.name, { cpuMillis: 0, memoryBytes: 0, pods: 0 }]));
        for (const p of packages) {
          const on = decided.get(p.name);
          expect(on === undefined).toBe(explained.has(p.index));
          if (on === undefined) continue;
          const e = edges.find((x) => x.name === on) as EdgeState;
          expect(e.healthy).toBe(true);
          if (p.request.kind === "edge") expect(on).toBe(p.request.edge);
          if (p.request.kind === "selector") expect(e.labels["zone"]).toBe(p.request.selector["zone"]);
          const u = used.get(on)!;
          u.cpuMillis += p.demand.total.cpuMillis;
          u.memoryBytes += p.demand.total.memoryBytes;
          u.pods += p.demand.total.pods;
        }
        for (const e of edges) {
          const u = used.get(e.name)!;
          expect(u.cpuMillis).toBeLessThanOrEqual(e.free.cpuMillis);
          expect(u.memoryBytes).toBeLessThanOrEqual(e.free.memoryBytes);
          expect(u.pods).toBeLessThanOrEqual(e.free.pods);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("follows the stated policy, replayed one package at a time with fits and afterPlacing", () => {
    const load = (e: EdgeState, d: Demand) => {
      const f = (used: number, all: number) => (all > 0 ? used / all : used > 0 ? Infinity : 0);
      return Math.max(
        f(e.allocatable.cpuMillis - e.free.cpuMillis + d.total.cpuMillis, e.allocatable.cpuMillis),
        f(e.allocatable.memoryBytes - e.free.memoryBytes + d.total.memoryBytes, e.allocatable.memoryBytes),
      );
    };
    fc.assert(
      fc.property(scenario, ({ edges, packages }) => {
        const r = placePackages(packages, edges);
        const decided = new Map(r.decisions.map((d) => [d.package, d]));
        const working = new Map(edges.map((e) => [e.name, e]));
        const placed = new Map<string, string>();
        for (const p of packages) {
          const req = p.request;
          const allowed = [...working.values()].filter(
            (e) =>
              e.healthy &&
              (req.kind !== "selector" || e.labels["zone"] === req.selector["zone"]) &&
              (req.kind !== "edge" || e.name === req.edge),
          );
          const fitting = allowed.filter((e) => fits(p.demand, e));
          const d = decided.get(p.name);
          if (!d) {
            // No decision: nothing allowed fits.
            expect(fitting).toEqual([]);
            continue;
          }
          const chosen = working.get(d.edge) as EdgeState;
          expect(fitting).toContain(chosen);
          const linkedHere = p.linked.filter(
            (l) => placed.get(l) !== undefined && fitting.some((e) => e.name === placed.get(l)),
          );
          if (req.kind !== "edge" && linkedHere.length > 0) {
            expect(d.reason).toMatch(/^co-located with /);
            expect(linkedHere.map((l) => placed.get(l))).toContain(d.edge);
          } else if (req.kind !== "edge") {
            for (const other of fitting) {
              const [a, b] = [load(chosen, p.demand), load(other, p.demand)];
              expect(a < b || (a === b && chosen.name <= other.name)).toBe(true);
            }
          }
          working.set(d.edge, afterPlacing(p.demand, chosen));
          placed.set(p.name, d.edge);
        }
      }),
      { numRuns: 500 },
    );
  });
});
