/**
 * Alerts end to end, through a real agent process scraping a real emulated edge (its kube-state-metrics and
 * cAdvisor endpoints): an intent is deployed, its workload's memory is pushed over the rule's threshold through
 * the emulator's admin `usage` endpoint, and the alert fires once the condition has held for the rule's
 * duration (1 s here), naming intent, package, edge, value, threshold and since-when; it reaches ListAlerts,
 * WatchDeployment (an "alert" event of the intent) and `camino alerts --watch`, and resolves when usage drops.
 * The same agent has its label cache in a real Redis, killed and restarted (the agent stays SERVING, the cache's
 * own health service and GetDomainInfo report it), and an InfluxDB export pointed at nothing: orchestration and
 * alerts go on, and the export's drops are counted in GetDomainInfo.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { AlertSeverity, DeploymentState, type Alert, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { redisServer, type RedisServer } from "../helpers/redis-server.js";
import { Redis } from "ioredis";

const FOR_MS = 1000;
const intent = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: hot}
spec:
  timeout: 60s
  packages:
    - {name: sink, blueprint: traffic-sink, resources: {cpu: 100m, memory: 64Mi}, placement: {edge: edge-1}}
`;

let edge: EmulatorProcess;
let redis: RedisServer;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let health: Client<typeof Health>;
let headers: Record<string, string>;
let token: string;

/** Polls `check` every 100 ms until it returns a value. @throws naming `what` after `ms` */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function usage(body: unknown): Promise<void> {
  const res = await fetch(`${edge.adminUrl}/usage`, { method: "PATCH", body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`usage: ${res.status} ${await res.text()}`);
}

/** Every event WatchDeployment replays after `since` (the deployment is settled, so the stream ends). */
async function eventsSince(since: Date): Promise<DeploymentEvent[]> {
  const out: DeploymentEvent[] = [];
  for await (const r of client.watchDeployment({ name: "hot", since: timestampFromDate(since) }, { headers }))
    if (r.event) out.push(r.event);
  return out;
}

beforeAll(async () => {
  redis = redisServer();
  await redis.start();
  edge = await startEmulatorProcess({
    name: "edge-1",
    metrics: true,
    podStartDelayMs: 50,
    nodes: [
      { name: "node-big", cpu: "4", memory: "8Gi" },
      { name: "node-small", cpu: "1", memory: "2Gi" },
    ],
  });
  const m = edge.metricsUrl as string;
  agent = await startAgentProcess({
    logLevel: "info",
    env: { REDIS_URL: redis.socket },
    extraConfig: {
      lifecycle: { pollMs: 50 },
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 5000, syncPeriod: "100ms" }],
      monitoring: {
        interval: "200ms",
        scrape: { edges: [{ edge: "edge-1", kubeStateMetrics: `${m}/metrics`, cadvisor: `${m}/metrics/cadvisor` }] },
        alerts: { rules: [{ name: "WorkloadMemoryNearLimit", for: "1s" }] },
        labelCache: { commandTimeout: "300ms" },
        // Nothing listens there: every batch fails, is retried twice, and is dropped.
        influxdb: { url: "http://127.0.0.1:9", database: "lake", attempts: 3, retryDelay: "10ms", timeout: "1s" },
      },
    },
  });
  const transport = createGrpcTransport({ baseUrl: agent.grpcUrl });
  client = createClient(DomainManager, transport);
  health = createClient(Health, transport);
  token = await agent.token(["intents:write", "intents:read", "monitoring:read", "catalogue:read"]);
  headers = { authorization: `Bearer ${token}` };
});

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
  await redis?.stop();
});

describe("alerts through a real agent", () => {
  it("fire after the rule's duration when usage is pushed over the threshold, reach ListAlerts, WatchDeployment and camino alerts --watch, and resolve", async () => {
    await client.submitIntent({ intent: intentToMessage(parseIntentText(intent)) }, { headers });
    await until("hot READY", async () =>
      (await client.getDeployment({ name: "hot" }, { headers })).deployment?.state === DeploymentState.READY
        ? true
        : undefined,
    );
    // Nothing is firing for it before the push.
    await until("a snapshot with the workload", async () =>
      (await client.listAlerts({ intent: "hot" }, { headers })).alerts.length === 0 ? true : undefined,
    );
    const tokenFile = join(agent.dir, "cli.token");
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const cli = spawn(
      process.execPath,
      [
        CAMINO,
        "alerts",
        "--watch",
        "--interval",
        "200ms",
        "--intent",
        "hot",
        "--server",
        agent.grpcUrl,
        "--token-file",
        tokenFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let cliOut = "";
    let cliErr = "";
    cli.stdout.on("data", (b: Buffer) => (cliOut += b.toString()));
    cli.stderr.on("data", (b: Buffer) => (cliErr += b.toString()));
    const cliExit = new Promise<number | null>((r) => cli.once("exit", (code) => r(code)));
    try {
      // The CLI has listed what fires now (nothing) and watches: the push comes after its first ask.
      await until("camino alerts watching", async () =>
        /^watching alerts every 200ms/m.test(cliErr) ? true : undefined,
      );
      expect(cliOut).toBe("");
      const pushed = new Date();
      await usage({ workloads: { "hot/sink": { memory: 0.95 } } });
      const fired = await until("the alert firing in ListAlerts", async () =>
        (await client.listAlerts({ intent: "hot", firingOnly: true }, { headers })).alerts.find(
          (a) => a.rule === "WorkloadMemoryNearLimit",
        ),
      );
      expect(fired).toMatchObject({
        intent: "hot",
        package: "sink",
        edge: "edge-1",
        firing: true,
        threshold: 0.9,
        severity: AlertSeverity.WARNING,
      });
      expect(fired.value).toBeCloseTo(0.95, 2);
      const since = timestampDate(fired.startedAt as NonNullable<Alert["startedAt"]>);
      const firedAt = timestampDate(fired.firedAt as NonNullable<Alert["firedAt"]>);
      // Pending first: it fired once the condition had held for the rule's duration, not before.
      expect(since.getTime()).toBeGreaterThanOrEqual(pushed.getTime() - 1000);
      expect(firedAt.getTime() - since.getTime()).toBeGreaterThanOrEqual(FOR_MS);
      expect(fired.summary).toBe("hot/sink on edge-1 memory of its limit: 95.0% ≥ 90.0%");

      // WatchDeployment: the alert is an event of the intent, on its package, in the package's state.
      const watched = (await eventsSince(pushed)).filter((e) => e.kind === "alert");
      expect(watched).toHaveLength(1);
      expect(watched[0]).toMatchObject({ intent: "hot", package: "sink", state: DeploymentState.READY });
      expect(watched[0]?.reason).toMatch(
        /^alert WorkloadMemoryNearLimit firing \(warning\): hot\/sink on edge-1 memory of its limit: 95\.0% ≥ 90\.0%, since /,
      );

      await usage({ workloads: { "hot/sink": null } });
      const resolved = await until("the alert resolved in ListAlerts", async () =>
        (await client.listAlerts({ intent: "hot" }, { headers })).alerts.find(
          (a) => a.id === fired.id && !a.firing && a.resolvedAt !== undefined,
        ),
      );
      expect(resolved.startedAt).toEqual(fired.startedAt);
      expect((await client.listAlerts({ intent: "hot", firingOnly: true }, { headers })).alerts).toEqual([]);
      expect((await client.listAlerts({ intent: "other" }, { headers })).alerts).toEqual([]);
      const after = (await eventsSince(pushed)).filter((e) => e.kind === "alert").map((e) => e.reason);
      expect(after).toHaveLength(2);
      expect(after[1]).toMatch(/^alert WorkloadMemoryNearLimit resolved: \d+\.\d% < 90\.0%, had held since /);

      // camino alerts --watch printed the firing and the resolution as they happened.
      await until("the CLI's RESOLVED line", async () => (/^RESOLVED /m.test(cliOut) ? true : undefined), 5000).catch(
        (err: Error) => {
          throw new Error(`${err.message}; camino alerts printed:\n${cliOut}\nstderr:\n${cliErr}`);
        },
      );
      const lines = cliOut.trim().split("\n");
      expect(lines[0]).toMatch(
        /^FIRING WorkloadMemoryNearLimit warning hot\/sink@edge-1 value 95\.\d% threshold 90\.0% since \S+: hot\/sink on edge-1 memory/,
      );
      expect(lines[1]).toMatch(/^RESOLVED WorkloadMemoryNearLimit warning hot\/sink@edge-1 value /);
    } finally {
      cli.kill("SIGINT");
      expect(await cliExit).toBe(0);
    }
  });

  it("keeps orchestrating while the InfluxDB export fails, and counts its drops", async () => {
    const dep = await until("the export's drops in GetDomainInfo", async () => {
      const d = (await client.getDomainInfo({}, { headers })).dependencies.find((x) => x.name === "influxdb-export");
      return d && /[1-9]\d* dropped/.test(d.message) ? d : undefined;
    });
    expect(dep).toMatchObject({ kind: "influxdb", healthy: false });
    expect(dep.message).toMatch(
      /^0 samples written, \d+ dropped, [1-9]\d* retries; InfluxDB 127\.0\.0\.1:9 unreachable/,
    );
    // The deployment above reached READY while every export failed; the agent still serves.
    expect((await client.getDeployment({ name: "hot" }, { headers })).deployment?.state).toBe(DeploymentState.READY);
  });

  it("keeps the deployed pod's labels in Redis with a TTL; reports Redis down in its own health service and GetDomainInfo, stays SERVING, and recovers", async () => {
    const cacheStatus = async () => (await health.check({ service: "camino.labelcache" })).status;
    await until("label cache SERVING", async () => ((await cacheStatus()) === Serving.SERVING ? true : undefined));
    // The metrics source joined the deployed pod through the cache: it is in Redis, seen with a client of our own.
    const witness = new Redis({ path: redis.socket });
    try {
      const keys = await witness.keys("camino:*:pod:edge-1/hot/sink-*");
      expect(keys.length).toBeGreaterThanOrEqual(1);
      expect(JSON.parse((await witness.get(keys[0] as string)) as string)).toEqual(["hot", "sink", "edge-1"]);
      expect(await witness.pttl(keys[0] as string)).toBeGreaterThan(0);
    } finally {
      witness.disconnect();
    }
    await redis.kill();
    await until("label cache NOT_SERVING", async () =>
      (await cacheStatus()) === Serving.NOT_SERVING ? true : undefined,
    );
    expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
    expect((await health.check({ service: "camino.v1.DomainManager" })).status).toBe(Serving.SERVING);
    const down = (await client.getDomainInfo({}, { headers })).dependencies.find((d) => d.name === "label-cache");
    expect(down).toMatchObject({ kind: "redis", healthy: false });
    expect(down?.message).toMatch(/Redis/);
    // Calls keep working meanwhile.
    expect((await client.getDeployment({ name: "hot" }, { headers })).deployment?.state).toBe(DeploymentState.READY);
    await redis.start();
    await until("label cache SERVING again", async () =>
      (await cacheStatus()) === Serving.SERVING ? true : undefined,
    );
    const up = (await client.getDomainInfo({}, { headers })).dependencies.find((d) => d.name === "label-cache");
    expect(up).toMatchObject({ kind: "redis", healthy: true, message: "" });
  });
});
