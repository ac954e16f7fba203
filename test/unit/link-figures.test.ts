import { describe, expect, it } from "vitest";
import { parseSamples } from "../../agent/monitoring/exposition-parser.js";
import { emptyLinkRates, histogramQuantile, isFailure, linkFiguresOf } from "../../agent/monitoring/link-figures.js";
import { detailFigures } from "../../agent/monitoring/disclosure.js";
import type { MonitoringSnapshot } from "../../agent/monitoring/snapshot.js";

describe("the strict exposition parser", () => {
  it("keeps each labelled histogram series apart, with escapes and timestamps", () => {
    const text = [
      "# HELP h a histogram",
      "# TYPE h histogram",
      'h_bucket{a="x",le="1"} 1',
      'h_bucket{a="x",le="+Inf"} 3',
      'h_bucket{a="y \\"q\\" \\\\ \\n",le="1"} 5 1700000000000',
      'h_bucket{a="y \\"q\\" \\\\ \\n",le="+Inf"} 7',
      'h_sum{a="x"} 2.5',
      'h_count{a="x",} 3',
      "",
    ].join("\n");
    const s = parseSamples(text);
    expect(s.get("h_bucket")?.map((x) => [x.labels["a"], x.labels["le"], x.value])).toEqual([
      ["x", "1", 1],
      ["x", "+Inf", 3],
      ['y "q" \\ \n', "1", 5],
      ['y "q" \\ \n', "+Inf", 7],
    ]);
    expect(s.get("h_count")?.[0]?.value).toBe(3);
  });

  it("refuses what is not the format", () => {
    for (const bad of [
      "<html>login</html>",
      'a{x="1} 2',
      'a{x="1\\t"} 2',
      "a{x=1} 2",
      'a{x="1",x="2"} 3',
      "a 12abc",
      "a 1 2 3",
      "# TYPE a gaugey",
      'a{1x="1"} 2',
    ])
      expect(() => parseSamples(`${bad}\n`), bad).toThrow(/not Prometheus text format: line 1/);
  });
});

describe("link figures", () => {
  it("histogram_quantile interpolates as Prometheus does", () => {
    const b: [number, number][] = [
      [10, 0],
      [50, 50],
      [100, 90],
      [Number.POSITIVE_INFINITY, 100],
    ];
    expect(histogramQuantile(0.5, b)).toBe(50);
    expect(histogramQuantile(0.25, b)).toBe(30);
    expect(histogramQuantile(0.99, b)).toBe(100);
    expect(histogramQuantile(0.5, [[Number.POSITIVE_INFINITY, 0]])).toBeUndefined();
  });

  it("counts 5xx and non-OK gRPC as failures, keeps the client's view, and names links", () => {
    expect(isFailure({ response_code: "503" })).toBe(true);
    expect(isFailure({ response_code: "200", grpc_response_status: "14" })).toBe(true);
    expect(isFailure({ response_code: "200", grpc_response_status: "0" })).toBe(false);
    expect(isFailure({ response_code: "404" })).toBe(false);
    const side = (reporter: string, code: string, value: number) => ({
      labels: {
        reporter,
        source_workload_namespace: "chain",
        source_workload: "fw-deploy",
        destination_workload_namespace: "chain",
        destination_workload: "nat",
        destination_service: "nat.chain.svc.cluster.local",
        response_code: code,
      },
      value,
    });
    const rates = emptyLinkRates();
    rates.requests.push(side("source", "200", 9), side("source", "503", 1), side("destination", "200", 100));
    const links = linkFiguresOf(rates, {
      packageOf: (ns, w) => (ns === "chain" && w === "fw-deploy" ? "fw" : undefined),
      linkName: (i, f, t) => (i === "chain" && f === "fw" && t === "nat" ? "fw-nat-80" : undefined),
    });
    expect(links).toEqual([
      { intent: "chain", link: "fw-nat-80", from: "fw", to: "nat", requestRate: 10, errorRate: 0.1 },
    ]);
    expect(linkFiguresOf(rates).map((l) => l.link)).toEqual(["fw-deploy-nat"]);
  });

  it("are disclosed under the link scope only", () => {
    const s: MonitoringSnapshot = {
      at: new Date(0),
      source: "scrape",
      edges: [],
      workloads: [],
      links: [{ intent: "c", link: "a-b-80", from: "a", to: "b", requestRate: 1, errorRate: 0, p99Ms: 5 }],
    };
    expect(detailFigures(s, { scope: "link" }).map((x) => x.metric)).toEqual([
      "camino_link_request_rate",
      "camino_link_error_rate",
      "camino_link_latency_p99_ms",
    ]);
    expect(detailFigures(s, { scope: "workload" })).toEqual([]);
    expect(detailFigures(s, { scope: "all" })).toHaveLength(3);
  });
});
