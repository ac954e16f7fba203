/**
 * What monitoring discloses: a federation peer (through the Federation service's QueryMonitoring) and a
 * northbound caller without monitoring:detail get domain aggregates that name no edge, intent or package; the
 * exposition parser refuses bodies that are not the text format; CPU rates survive a counter reset.
 */
import { create, toJsonString } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createPeeringService } from "../../federation/peering-service.js";
import type { PeerTrust } from "../../federation/trust.js";
import { FederationQueryMonitoringRequestSchema } from "../../gen/camino/v1/federation_pb.js";
import { MetricSampleSchema, MetricScope } from "../../gen/camino/v1/types_pb.js";
import { aggregateFigures, detailFigures } from "../../agent/monitoring/disclosure.js";
import { parseExposition } from "../../agent/monitoring/exposition-parser.js";
import { cpuRates } from "../../agent/monitoring/scrape-source.js";
import type { MonitoringSnapshot } from "../../agent/monitoring/snapshot.js";
import { peerMonitoring } from "../../agent/rpc/monitoring-convert.js";

const u = (cpuMillis: number, memoryBytes: number) => ({ cpuMillis, memoryBytes });
const SNAPSHOT: MonitoringSnapshot = {
  at: new Date("2026-01-01T00:00:00Z"),
  source: "prometheus",
  edges: [
    {
      edge: "edge-secret-1",
      reachable: true,
      allocatable: u(4000, 8e9),
      requested: u(1000, 2e9),
      used: u(500, 1e9),
      free: u(3000, 6e9),
    },
    {
      edge: "edge-secret-2",
      reachable: true,
      allocatable: u(2000, 4e9),
      requested: u(500, 1e9),
      used: u(250, 5e8),
      free: u(1500, 3e9),
    },
    { edge: "edge-secret-3", reachable: false, allocatable: u(0, 0), requested: u(0, 0), used: u(0, 0), free: u(0, 0) },
  ],
  workloads: [
    {
      intent: "intent-secret",
      package: "pkg-secret",
      edge: "edge-secret-1",
      domain: "d",
      used: u(300, 7e8),
      limits: u(1000, 2e9),
      replicasAvailable: 2,
      replicasDesired: 3,
    },
  ],
  links: [],
};
const monitoring = { latest: () => SNAPSHOT, refresh: async () => SNAPSHOT };
const NAMES = /secret/;

describe("a federation peer", () => {
  const service = (peers: "aggregates" | "none") =>
    createPeeringService({
      trust: {} as PeerTrust,
      localInfo: async () => {
        throw new Error("not called");
      },
      exportedCatalogue: async () => {
        throw new Error("not called");
      },
      queryMonitoring: peerMonitoring(monitoring, peers),
    });
  const ask = async (peers: "aggregates" | "none", scope = MetricScope.UNSPECIFIED) => {
    const handler = service(peers).queryMonitoring as (
      req: unknown,
      ctx: Pick<HandlerContext, "signal">,
    ) => Promise<{ samples: ReturnType<typeof create<typeof MetricSampleSchema>>[] }>;
    return (
      await handler(create(FederationQueryMonitoringRequestSchema, { scope }), { signal: new AbortController().signal })
    ).samples;
  };

  it("gets domain totals over the reachable edges, and nothing that names an edge, intent or package", async () => {
    const samples = await ask("aggregates");
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.labels).toEqual([]);
      expect(toJsonString(MetricSampleSchema, s)).not.toMatch(NAMES);
    }
    const v = (m: string) => samples.find((s) => s.metric === m)?.value;
    expect(v("camino_domain_allocatable_cpu_millicores")).toBe(6000);
    expect(v("camino_domain_free_memory_bytes")).toBe(9e9);
    expect(v("camino_domain_edges")).toBe(3);
    expect(v("camino_domain_edges_reachable")).toBe(2);
    expect(v("camino_domain_workload_replicas_desired")).toBe(3);
  });

  it("gets one scope when it asks for one, and nothing when the policy says none", async () => {
    const infra = await ask("aggregates", MetricScope.INFRASTRUCTURE);
    expect(infra.some((s) => s.metric.startsWith("camino_domain_workload"))).toBe(false);
    expect(infra.some((s) => s.metric === "camino_domain_used_cpu_millicores")).toBe(true);
    expect(await ask("none")).toEqual([]);
  });
});

describe("northbound figures", () => {
  it("aggregates carry no labels; detail names edges and packages and honours the filters", () => {
    expect(aggregateFigures(SNAPSHOT, { scope: "all" }).every((s) => Object.keys(s.labels).length === 0)).toBe(true);
    const detail = detailFigures(SNAPSHOT, { scope: "workload", package: "pkg-secret" });
    expect(detail.map((s) => s.metric)).toContain("camino_workload_replicas_available");
    expect(detail.every((s) => s.labels["package"] === "pkg-secret" && s.labels["edge"] === "edge-secret-1")).toBe(
      true,
    );
    const edges = detailFigures(SNAPSHOT, {
      scope: "infrastructure",
      edge: "edge-secret-3",
      metrics: ["camino_edge_reachable"],
    });
    expect(edges).toEqual([
      { metric: "camino_edge_reachable", labels: { edge: "edge-secret-3" }, value: 0, time: SNAPSHOT.at },
    ]);
  });
});

describe("the exposition parser", () => {
  it("reads gauges and counters, and refuses a body that is not the text format", () => {
    const e = parseExposition('# TYPE a counter\na{x="1"} 2.5\nb NaN\nc +Inf\n');
    expect(e.get("a")).toEqual([{ labels: { x: "1" }, value: 2.5 }]);
    expect(e.get("b")?.[0]?.value).toBeNaN();
    expect(e.get("c")?.[0]?.value).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseExposition("<html><body>login</body></html>\n")).toThrow(/not Prometheus text format/);
    expect(() => parseExposition('a{x="1"} abc\n')).toThrow(/has the value "abc"/);
  });
});

describe("CPU rates", () => {
  it("per pod from two counter readings; a counter that went down was reset", () => {
    const reading = (atMs: number, a: number, b: number) => ({
      atMs,
      counters: new Map([
        ["ns/p1/c1/x", { pod: "ns/p1", seconds: a }],
        ["ns/p1/c2/y", { pod: "ns/p1", seconds: b }],
      ]),
    });
    const rates = cpuRates(reading(0, 10, 100), reading(2000, 11, 1));
    // c1: +1 s of CPU in 2 s; c2 restarted and used 1 s since: 0.5 + 0.5 cores.
    expect(rates.get("ns/p1")).toBeCloseTo(1, 9);
  });
});
