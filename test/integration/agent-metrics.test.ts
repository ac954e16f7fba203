/**
 * The agent's own /metrics, read as Prometheus reads it: a real agent process with two emulated edges, its HTTP
 * port scraped and parsed with a Prometheus text-format parser. After a deployment across both edges, an intent
 * refused at admission and a few refused calls, the figures an operator looks at are what happened:
 * - intents and packages by state, run outcomes, and admission rejections by check;
 * - the commit, sync and READY histograms: one observation per package on its edge, whose sums equal the time
 *   between the deployment's own events as WatchDeployment streams them (an independent account of the same
 *   run), and the READY one above the emulators' pod start delay;
 * - RPC counts and latencies by method and code (refusals included);
 * - edge health that follows the edge (down while its API refuses connections, up when it is back), a peer
 *   domain that is up and one that is not;
 * - the label cache's lookup counters, present from the start.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { DeploymentState, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";
import { WatchDeploymentRequestSchema } from "../../gen/camino/v1/domain_manager_pb.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

/** Pods take this long to become Ready on the emulated edges: every READY latency is at least this. */
const POD_START_DELAY_MS = 300;

let edges: EmulatorProcess[] = [];
let agent: AgentProcess;
let peer: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;

const chain = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: metered}
spec:
  timeout: 60s
  packages:
    - {name: first, blueprint: traffic-sink, resources: {cpu: 100m, memory: 64Mi}, placement: {edge: edge-1}}
    - {name: second, blueprint: traffic-sink, resources: {cpu: 100m, memory: 64Mi}, after: [first], placement: {edge: edge-2}}
`;
/** More CPU than either edge has: refused at admission by the resources check. */
const tooBig = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: too-big}
spec:
  packages:
    - {name: huge, blueprint: traffic-sink, resources: {cpu: "64", memory: 64Mi}, placement: {edge: edge-1}}
`;

beforeAll(async () => {
  edges = await Promise.all(
    ["edge-1", "edge-2"].map((name) =>
      startEmulatorProcess({
        name,
        podStartDelayMs: POD_START_DELAY_MS,
        nodes: [
          { name: "node-big", cpu: "4", memory: "8Gi" },
          { name: "node-small", cpu: "1", memory: "2Gi" },
        ],
      }),
    ),
  );
  [agent, peer] = await Promise.all([
    startAgentProcess({
      logLevel: "info",
      federation: {},
      extraConfig: {
        lifecycle: { pollMs: 50, cleanupTimeoutSeconds: 20 },
        edges: edges.map((e, i) => ({
          name: `edge-${i + 1}`,
          server: e.url,
          repository: `edge-${i + 1}-deploy`,
          timeoutMs: 5000,
          syncPeriod: "100ms",
        })),
      },
    }),
    startAgentProcess({ domainId: "domain-y", logLevel: "info", federation: {}, repositories: [] }),
  ]);
  // domain-y is a real peer; domain-z is in the trust list but nothing answers at its endpoint.
  const dead = {
    id: "domain-z",
    endpoint: "https://127.0.0.1:1",
    jwksFile: peer.federationFiles?.jwksFile,
    caFile: peer.federationFiles?.caFile,
  };
  await Promise.all([agent.setPeers([peer], undefined, [dead]), peer.setPeers([agent])]);
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  headers = { authorization: `Bearer ${await agent.token(["intents:write", "intents:read", "catalogue:read"])}` };
});

afterAll(async () => {
  await Promise.all([agent?.stop(), peer?.stop()]);
  await Promise.all(edges.map((e) => e.stop()));
});

/**
 * The agent's /metrics, parsed. Histograms are read as their three series (`_bucket`, `_sum`, `_count`), each
 * with its labels: parse-prometheus-text-format 1.1.1 merges every labelled series of a histogram family into
 * one sample without labels (its flattenMetrics), so their TYPE lines are read as untyped.
 */
async function scrape(): Promise<PrometheusFamily[]> {
  const res = await fetch(`${agent.httpUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  return parsePrometheusTextFormat(text.replace(/^(# TYPE \S+) histogram$/gm, "$1 untyped"));
}

/**
 * The samples named `name` whose labels include `labels`. A histogram's series come interleaved (bucket, sum,
 * count of one label set, then the next), so one name can head several runs of lines: every one is read.
 */
function samples(families: PrometheusFamily[], name: string, labels: Record<string, string> = {}) {
  const named = families.filter((f) => f.name === name);
  if (named.length === 0) throw new Error(`no metric ${name} in /metrics`);
  return named.flatMap((f) => f.metrics).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** The value of the one sample of `name` with `labels` (a counter or gauge). */
function value(families: PrometheusFamily[], name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return Number(found[0]?.value);
}

/** The histogram `name`'s series with `labels`: count, sum and the cumulative count of a bucket. */
function histogram(families: PrometheusFamily[], name: string, labels: Record<string, string> = {}) {
  return {
    count: value(families, `${name}_count`, labels),
    sum: value(families, `${name}_sum`, labels),
    bucket: (le: string) => value(families, `${name}_bucket`, { ...labels, le }),
  };
}

/** Polls `scrape()` until `check` holds (every 200 ms, at most `ms`). */
async function scrapeUntil(what: string, check: (f: PrometheusFamily[]) => boolean, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const f = await scrape();
    if (check(f)) return f;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Submits `yaml` and returns every event of its run, from the first, as WatchDeployment streams them. */
async function deploy(yaml: string): Promise<DeploymentEvent[]> {
  const intent = intentToMessage(parseIntentText(yaml));
  const { deploymentId } = await client.submitIntent({ intent }, { headers });
  const events: DeploymentEvent[] = [];
  const since = timestampFromDate(new Date(0));
  for await (const r of client.watchDeployment(create(WatchDeploymentRequestSchema, { name: deploymentId, since }), {
    headers,
  }))
    if (r.event) events.push(r.event);
  return events;
}

const ms = (e: DeploymentEvent | undefined) => (e?.time ? timestampDate(e.time).getTime() : Number.NaN);
const find = (events: DeploymentEvent[], pkg: string, state: DeploymentState) =>
  events.find((e) => e.package === pkg && e.state === state && e.kind === "state");

describe("the agent's /metrics", () => {
  it("counts what a deployment, an admission refusal and refused calls did", async () => {
    const before = await scrape();
    for (const s of ["READY", "ROLLED_BACK", "PENDING"]) expect(value(before, "camino_intents", { state: s })).toBe(0);
    expect(value(before, "camino_label_cache_lookups_total", { result: "hit" })).toBe(0);
    expect(value(before, "camino_label_cache_lookups_total", { result: "miss" })).toBe(0);

    const events = await deploy(chain);
    const last = events.at(-1);
    expect(last?.state, JSON.stringify(events.map((e) => [e.package, DeploymentState[e.state], e.reason]))).toBe(
      DeploymentState.READY,
    );
    const refused = await deploy(tooBig);
    expect(refused.at(-1)?.state).toBe(DeploymentState.ROLLED_BACK);
    // Refused calls: no token (UNAUTHENTICATED) and an intent without packages (INVALID_ARGUMENT).
    const err = await client.submitIntent({}).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
    const bad = intentToMessage(parseIntentText(chain));
    bad.spec!.packages = [];
    const invalid = await client.submitIntent({ intent: bad }, { headers }).catch((e: unknown) => e);
    expect(ConnectError.from(invalid).code).toBe(Code.InvalidArgument);

    const f = await scrape();
    // Intents and packages by state; how runs ended; why admission refused.
    expect(value(f, "camino_intents", { state: "READY" })).toBe(1);
    expect(value(f, "camino_intents", { state: "ROLLED_BACK" })).toBe(1);
    expect(value(f, "camino_intents", { state: "PENDING" })).toBe(0);
    expect(value(f, "camino_packages", { state: "READY" })).toBe(2);
    expect(value(f, "camino_deployment_outcomes_total", { state: "READY" })).toBe(1);
    expect(value(f, "camino_deployment_outcomes_total", { state: "ROLLED_BACK" })).toBe(1);
    expect(value(f, "camino_admission_rejections_total", { check: "resources" })).toBe(1);
    expect(value(f, "camino_admission_rejections_total", { check: "dry-run" })).toBe(0);

    // One observation per package, labelled with its edge; the sums are the times between the run's own events.
    const byPackage = { first: "edge-1", second: "edge-2" } as const;
    for (const [pkg, edge] of Object.entries(byPackage)) {
      const committed = find(events, pkg, DeploymentState.COMMITTED);
      const synced = find(events, pkg, DeploymentState.SYNCED);
      const ready = find(events, pkg, DeploymentState.READY);
      // The wave starts with the event before its first commit: wave 0 synced, or the previous wave READY.
      const waveStart = events[events.indexOf(committed as DeploymentEvent) - 1];
      const commit = histogram(f, "camino_package_commit_seconds", { edge });
      const sync = histogram(f, "camino_package_sync_seconds", { edge });
      const avail = histogram(f, "camino_package_ready_seconds", { edge });
      expect([commit.count, sync.count, avail.count]).toEqual([1, 1, 1]);
      expect(commit.sum).toBeCloseTo((ms(committed) - ms(waveStart)) / 1000, 6);
      expect(sync.sum).toBeCloseTo((ms(synced) - ms(committed)) / 1000, 6);
      expect(avail.sum).toBeCloseTo((ms(ready) - ms(synced)) / 1000, 6);
      // Pods take POD_START_DELAY_MS to be Ready, but the edge may have started them before the agent saw the
      // sync, so only a wait is asserted here, not its length (timing belongs in bench/).
      expect(avail.sum).toBeGreaterThan(0);
    }
    const deployment = await client.getDeployment({ name: "metered" }, { headers });
    const intentReady = histogram(f, "camino_intent_ready_seconds");
    expect(intentReady.count).toBe(1);
    expect(intentReady.sum).toBeCloseTo(
      (ms(find(events, "", DeploymentState.READY)) - timestampDate(deployment.deployment!.createdAt!).getTime()) / 1000,
      6,
    );

    // RPCs by method and code, counts and latencies.
    const rpc = { service: "camino.v1.DomainManager", method: "SubmitIntent" };
    expect(value(f, "camino_rpc_calls_total", { ...rpc, code: "OK" })).toBe(2);
    expect(value(f, "camino_rpc_calls_total", { ...rpc, code: "Unauthenticated" })).toBe(1);
    expect(value(f, "camino_rpc_calls_total", { ...rpc, code: "InvalidArgument" })).toBe(1);
    expect(histogram(f, "camino_rpc_duration_seconds", { ...rpc, code: "OK" }).count).toBe(2);
    expect(histogram(f, "camino_rpc_duration_seconds", { ...rpc, code: "Unauthenticated" }).count).toBe(1);
    const watch = { service: "camino.v1.DomainManager", method: "WatchDeployment", code: "OK" };
    expect(value(f, "camino_rpc_calls_total", watch)).toBe(2);

    // Every series carries the domain.
    expect(samples(f, "camino_intents").every((s) => s.labels?.["domain"] === "domain-x")).toBe(true);
  });

  it("reports each edge's health as the edge is, and each peer's", async () => {
    let f = await scrapeUntil(
      "both edges and domain-y up",
      (f) =>
        value(f, "camino_edge_up", { edge: "edge-1" }) === 1 &&
        value(f, "camino_edge_up", { edge: "edge-2" }) === 1 &&
        value(f, "camino_peer_up", { peer: "domain-y" }) === 1,
    );
    expect(value(f, "camino_peer_up", { peer: "domain-z" })).toBe(0);
    expect(value(f, "camino_peer_round_trip_seconds", { peer: "domain-y" })).toBeGreaterThan(0);
    expect(samples(f, "camino_peer_round_trip_seconds", { peer: "domain-z" })).toEqual([]);

    // edge-2's API refuses connections: the scrape finds it down (its last reading ages out), then up again.
    await edges[1]?.faults({ apiUnavailable: true });
    f = await scrapeUntil("edge-2 down", (f) => value(f, "camino_edge_up", { edge: "edge-2" }) === 0);
    expect(value(f, "camino_edge_up", { edge: "edge-1" })).toBe(1);
    await edges[1]?.faults({ apiUnavailable: false });
    await scrapeUntil("edge-2 up again", (f) => value(f, "camino_edge_up", { edge: "edge-2" }) === 1);
  });
});
