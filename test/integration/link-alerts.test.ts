/**
 * Link alerts end to end, through a real agent process scraping a real emulated edge (kube-state-metrics,
 * cAdvisor and the sidecars' Istio metrics): a chain with an HTTP link is deployed, a WatchDeployment with
 * `follow` stays open after it is READY, the emulator's `links` fault pushes the link's error ratio over the
 * rule's threshold, and the LinkErrorRate alert fires within the rule's duration, reaches ListAlerts and the
 * following stream, and resolves when the errors stop. QueryMonitoring's LINK scope gives per-link samples to a
 * caller holding monitoring:detail and is refused (or left out) for one without.
 */
import { execFile } from "node:child_process";
import { createClient, ConnectError, Code, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, MetricScope, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { until } from "../helpers/prometheus-server.js";

const intent = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: chain}
spec:
  timeout: 60s
  packages:
    - {name: fw, blueprint: traffic-sink, resources: {cpu: 100m, memory: 64Mi}, placement: {edge: edge-1}}
    - {name: nat, blueprint: traffic-sink, resources: {cpu: 100m, memory: 64Mi}, placement: {edge: edge-1}}
  links:
    - {from: fw, to: nat, port: 80, protocol: http}
`;

let edge: EmulatorProcess;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let detail: Record<string, string>;
let plain: Record<string, string>;

async function linkFault(body: unknown): Promise<void> {
  const res = await fetch(`${edge.adminUrl}/faults`, { method: "PATCH", body: JSON.stringify({ links: body }) });
  if (res.status !== 200) throw new Error(`faults: ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  edge = await startEmulatorProcess({
    name: "edge-1",
    metrics: true,
    podStartDelayMs: 50,
    nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }],
  });
  const m = edge.metricsUrl as string;
  agent = await startAgentProcess({
    extraConfig: {
      lifecycle: { pollMs: 50 },
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 5000, syncPeriod: "100ms" }],
      monitoring: {
        interval: "200ms",
        scrape: {
          edges: [
            {
              edge: "edge-1",
              kubeStateMetrics: `${m}/metrics`,
              cadvisor: `${m}/metrics/cadvisor`,
              istio: `${m}/metrics/istio`,
            },
          ],
        },
        alerts: { rules: [{ name: "LinkErrorRate", for: "1s" }] },
      },
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const scopes = ["intents:write", "intents:read", "monitoring:read", "catalogue:read"];
  detail = { authorization: `Bearer ${await agent.token([...scopes, "monitoring:detail"])}` };
  plain = { authorization: `Bearer ${await agent.token(scopes)}` };
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
});

describe("link alerts through a real agent", () => {
  it("fire when the link's error ratio is pushed over the threshold, reach ListAlerts and a following WatchDeployment, and resolve", async () => {
    await client.submitIntent({ intent: intentToMessage(parseIntentText(intent)) }, { headers: detail });
    await until(
      "chain READY",
      async () =>
        (await client.getDeployment({ name: "chain" }, { headers: detail })).deployment?.state === DeploymentState.READY
          ? true
          : undefined,
      30_000,
    );
    // The link's figures arrive: healthy traffic, no errors.
    const healthy = await until(
      "the link in QueryMonitoring",
      async () => {
        const { samples } = await client.queryMonitoring({ scope: MetricScope.LINK }, { headers: detail });
        const rate = samples.find((s) => s.metric === "camino_link_request_rate");
        return rate && rate.value > 0 ? samples : undefined;
      },
      20_000,
    );
    expect(healthy.every((s) => s.metric.startsWith("camino_link_"))).toBe(true);
    const labels = Object.fromEntries(healthy[0]?.labels.map((l) => [l.key, l.value]) ?? []);
    expect(labels).toMatchObject({ intent: "chain", from: "fw", to: "nat" });
    expect(healthy.find((s) => s.metric === "camino_link_error_rate")?.value).toBe(0);
    expect(healthy.map((s) => s.metric)).toContain("camino_link_latency_p99_ms");

    // camino top links: the table for monitoring:detail, refused without it.
    const top = (token: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [CAMINO, "top", "links"],
          { env: { PATH: process.env["PATH"] ?? "", CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: token } },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const shown = await top(detail["authorization"]?.slice("Bearer ".length) as string);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^INTENT +LINK +FROM +TO +REQ\/S +ERRORS +P50 +P99 +TCP CONN\/S +TCP OUT\/IN\n/);
    expect(shown.stdout).toMatch(/\nchain +fw-nat\S* +fw +nat +\d+\.\d\d +0\.0% +\d+(\.\d)?ms +\d+(\.\d)?ms +- +-\n/);
    expect((await top(plain["authorization"]?.slice("Bearer ".length) as string)).code).not.toBe(0);

    // Without monitoring:detail: LINK is refused, and the default scope has no link (nor any labelled) sample.
    const refused = await client.queryMonitoring({ scope: MetricScope.LINK }, { headers: plain }).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(refused?.code).toBe(Code.PermissionDenied);
    const aggregates = (await client.queryMonitoring({}, { headers: plain })).samples;
    expect(aggregates.length).toBeGreaterThan(0);
    expect(aggregates.filter((s) => s.metric.startsWith("camino_link_") || s.labels.length > 0)).toEqual([]);

    // A following watch of the READY intent: it stays open after the snapshot of its state.
    const following = new AbortController();
    const events: DeploymentEvent[] = [];
    const stream = (async () => {
      try {
        for await (const r of client.watchDeployment(
          { name: "chain", follow: true },
          { headers: detail, signal: following.signal },
        ))
          if (r.event) events.push(r.event);
      } catch (err) {
        if (!following.signal.aborted) throw err;
      }
      return "ended";
    })();
    await until("the watch's first events", async () => (events.length >= 3 ? true : undefined), 5000);

    const pushed = Date.now();
    await linkFault({ "chain/fw-nat-80": { requestRate: 20, errorRatio: 0.5 } });
    const fired = await until(
      "LinkErrorRate firing in ListAlerts",
      async () =>
        (await client.listAlerts({ intent: "chain", firingOnly: true }, { headers: detail })).alerts.find(
          (a) => a.rule === "LinkErrorRate",
        ),
      20_000,
    );
    expect(fired).toMatchObject({ intent: "chain", package: "fw", firing: true, threshold: 0.05 });
    expect(fired.value).toBeGreaterThan(0.3);
    expect(fired.summary).toMatch(/^chain link fw-nat\S* \(fw → nat\) error rate: \d+\.\d% ≥ 5\.0%$/);
    // Within the rule's duration plus a few snapshots (200 ms apart, each over a 1 s rate window).
    const firedAt = fired.firedAt ? Number(fired.firedAt.seconds) * 1000 : 0;
    expect(firedAt - pushed).toBeLessThan(1000 + 4000);
    const alertEvent = await until(
      "the firing alert on the following stream",
      async () => events.find((e) => e.kind === "alert" && /LinkErrorRate firing/.test(e.reason)),
      5000,
    );
    expect(alertEvent).toMatchObject({ intent: "chain", package: "fw", state: DeploymentState.READY });

    await linkFault({ "chain/fw-nat-80": null });
    await until(
      "the alert resolved in ListAlerts",
      async () =>
        (await client.listAlerts({ intent: "chain" }, { headers: detail })).alerts.find(
          (a) => a.id === fired.id && !a.firing && a.resolvedAt !== undefined,
        ),
      20_000,
    );
    await until(
      "the resolution on the following stream",
      async () => events.find((e) => e.kind === "alert" && /LinkErrorRate resolved/.test(e.reason)),
      5000,
    );
    following.abort();
    expect(await stream).toBe("ended");
  }, 120_000);

  it("without follow, a watch of the READY intent ends after its current state", async () => {
    const events: DeploymentEvent[] = [];
    for await (const r of client.watchDeployment(
      { name: "chain" },
      { headers: detail, signal: AbortSignal.timeout(10_000) },
    ))
      if (r.event) events.push(r.event);
    expect(events[0]?.state).toBe(DeploymentState.READY);
  });
});
