/**
 * The emulator's Istio standard metrics (`/metrics/istio` on its metrics listener): served for the meshed
 * workloads of the links it can see (the DestinationRule / AuthorizationPolicy CAMINO commits per link), with
 * Istio's labels; counters that grow at the traffic the `links` fault sets (through the admin endpoint), so the
 * rates, error ratio and latency percentiles computed from two readings are what the fault said. A fake clock
 * makes the readings exact. Parsed with the agent's strict parser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSamples, type RawSample } from "../../agent/monitoring/exposition-parser.js";
import { histogramQuantile } from "../../agent/monitoring/link-figures.js";
import { startEmulator, type Emulator } from "../../emulator/emulator.js";
import { ISTIO_DURATION_BUCKETS } from "../../emulator/metrics/istio.js";
import { meshChain, runningPods } from "../helpers/mesh-chain.js";

let clock = Date.parse("2026-01-01T00:00:00Z");
let a: Emulator;
let b: Emulator;

async function scrape(e: Emulator): Promise<Map<string, RawSample[]>> {
  const res = await fetch(`${e.metricsUrl}/metrics/istio`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseSamples(await res.text());
}

async function faults(e: Emulator, body: unknown): Promise<Response> {
  return fetch(`${e.adminUrl}/faults`, { method: "PATCH", body: JSON.stringify(body) });
}

const where = (samples: RawSample[] | undefined, labels: Record<string, string>) =>
  (samples ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const sum = (samples: RawSample[]) => samples.reduce((n, s) => n + s.value, 0);

beforeAll(async () => {
  const now = () => new Date(clock);
  a = await startEmulator({
    name: "edge-a",
    http: {},
    metrics: {},
    admin: {},
    now,
    nodes: [{ name: "a-1", cpu: "8", memory: "16Gi" }],
  });
  b = await startEmulator({
    name: "edge-b",
    http: {},
    metrics: {},
    admin: {},
    now,
    nodes: [{ name: "b-1", cpu: "8", memory: "16Gi" }],
  });
  await meshChain(a, b, "chain", true);
  await meshChain(a, b, "plain", false);
  await runningPods([a, b], 6);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
});

describe("the emulator's Istio metrics", () => {
  it("serve each side of the meshed links with Istio's standard labels, and nothing for unmeshed namespaces", async () => {
    const first = await scrape(a);
    const requests = first.get("istio_requests_total") ?? [];
    expect(requests.every((s) => s.labels["source_workload_namespace"] === "chain")).toBe(true);
    // fw → nat seen by both sidecars on edge a; HTTP.
    const fwNat = where(requests, { source_workload: "fw", destination_workload: "nat" });
    expect(fwNat.map((s) => s.labels["reporter"]).sort()).toEqual(["destination", "source"]);
    expect(fwNat[0]?.labels).toMatchObject({
      source_workload_namespace: "chain",
      destination_workload_namespace: "chain",
      destination_service: "nat.chain.svc.cluster.local",
      destination_service_name: "nat",
      request_protocol: "http",
      response_code: "200",
      grpc_response_status: "",
      source_app: "fw",
      destination_app: "nat",
    });
    expect(where(fwNat, { reporter: "destination" })[0]?.labels["connection_security_policy"]).toBe("mutual_tls");
    for (const l of [
      "source_principal",
      "destination_principal",
      "source_version",
      "destination_version",
      "source_canonical_service",
      "destination_canonical_service",
      "response_flags",
    ])
      expect(Object.keys(fwNat[0]?.labels ?? {})).toContain(l);
    // fw → db is TCP: the client side on edge a, the server side on edge b.
    expect(where(requests, { destination_workload: "db" })).toEqual([]);
    const tcpA = where(first.get("istio_tcp_connections_opened_total"), { destination_workload: "db" });
    expect(tcpA.map((s) => s.labels["reporter"])).toEqual(["source"]);
    expect(tcpA[0]?.labels["request_protocol"]).toBe("tcp");
    const tcpB = where((await scrape(b)).get("istio_tcp_connections_opened_total"), { destination_workload: "db" });
    expect(tcpB.map((s) => s.labels["reporter"])).toEqual(["destination"]);
    expect(tcpB[0]?.labels).toMatchObject({ source_workload: "fw", source_workload_namespace: "chain" });
    // Histogram series stay apart per label set: every bucket of the le list, then +Inf.
    const buckets = where(first.get("istio_request_duration_milliseconds_bucket"), {
      reporter: "source",
      destination_workload: "nat",
    });
    expect(buckets.map((s) => s.labels["le"])).toEqual([...ISTIO_DURATION_BUCKETS.map(String), "+Inf"]);
  });

  it("grow at the rate, error ratio and latency the links fault sets", async () => {
    expect((await faults(a, { links: { "chain/fw-nat-80": { errorRatio: 2 } } })).status).toBe(400);
    expect((await faults(a, { links: { "chain/fw-nat-80": { speed: 1 } } })).status).toBe(400);
    expect((await faults(a, { links: { nope: {} } })).status).toBe(400);
    const set = await faults(a, {
      links: { "chain/fw-nat-80": { requestRate: 50, errorRatio: 0.2, latencyMs: 40, p99LatencyMs: 200 } },
    });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { links: unknown }).links).toEqual({
      "chain/fw-nat-80": { requestRate: 50, errorRatio: 0.2, latencyMs: 40, p99LatencyMs: 200 },
    });
    const before = await scrape(a);
    clock += 10_000;
    const after = await scrape(a);
    const side = { reporter: "source", destination_workload: "nat" };
    const total = (e: Map<string, RawSample[]>) => sum(where(e.get("istio_requests_total"), side));
    const failed = (e: Map<string, RawSample[]>) =>
      sum(where(e.get("istio_requests_total"), { ...side, response_code: "503" }));
    expect(total(after) - total(before)).toBeCloseTo(500, 3);
    expect(failed(after) - failed(before)).toBeCloseTo(100, 3);
    // The percentiles from the bucket increases, as histogram_quantile computes them: within the bucket.
    const increase = (le: string) =>
      sum(where(after.get("istio_request_duration_milliseconds_bucket"), { ...side, le })) -
      sum(where(before.get("istio_request_duration_milliseconds_bucket"), { ...side, le }));
    const bounds = [...ISTIO_DURATION_BUCKETS.map(String), "+Inf"];
    const b2 = bounds.map((le) => [le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), increase(le)] as const);
    const p50 = histogramQuantile(0.5, b2) as number;
    const p99 = histogramQuantile(0.99, b2) as number;
    expect(p50).toBeGreaterThan(25);
    expect(p50).toBeLessThanOrEqual(50);
    expect(p99).toBeGreaterThan(100);
    expect(p99).toBeLessThanOrEqual(250);
    // The other link kept the defaults: 10 connections a second.
    const opened = (e: Map<string, RawSample[]>) =>
      sum(where(e.get("istio_tcp_connections_opened_total"), { destination_workload: "db" }));
    expect(opened(after) - opened(before)).toBeCloseTo(100, 3);

    // A change applies from when it is made: 5 s at the old traffic, then 5 s with no errors.
    clock += 5_000;
    expect((await faults(a, { links: { "chain/fw-nat-80": { requestRate: 50 } } })).status).toBe(200);
    clock += 5_000;
    const later = await scrape(a);
    expect(total(later) - total(after)).toBeCloseTo(500, 3);
    expect(failed(later) - failed(after)).toBeCloseTo(50, 3);
    // null removes the entry: back to the defaults.
    expect((await faults(a, { links: { "chain/fw-nat-80": null } })).status).toBe(200);
    expect(a.faults().links).toEqual({});
  });
});
