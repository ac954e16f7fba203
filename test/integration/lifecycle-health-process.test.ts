/**
 * Degradation and recovery as a user sees them, through real processes: an agent and an emulated edge (its own
 * process, faults through its admin endpoint, objects deleted with the real kubectl). A READY intent whose
 * Deployment is deleted by hand, whose pods then never become ready, and whose edge is then made unreachable, is DEGRADED with the reason in
 * GetDeployment, in a following WatchDeployment stream, in `camino intent get` and in a running
 * `camino intent watch --follow`; and READY again in all four once the edge recovers.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Deployment, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";
import { CAMINO, startAgentProcess, ROOT, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";

const S = DeploymentState;
const NAME = "healing";
let edge: EmulatorProcess;
let kubectl: Kubectl;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
let cliEnv: Record<string, string>;

beforeAll(async () => {
  edge = await startEmulatorProcess({
    name: "edge-1",
    podStartDelayMs: 100,
    nodes: [{ name: "edge-1-node", cpu: "4", memory: "8Gi" }],
  });
  kubectl = kubectlFor(edge.url);
  agent = await startAgentProcess({
    logLevel: "info",
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: `${ROOT}/blueprints` },
      { name: "edge-1-deploy", role: "deployment", edge: "edge-1" },
    ],
    extraConfig: {
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 2000, syncPeriod: "100ms" }],
      lifecycle: { pollMs: 50, defaultTimeoutSeconds: 30, cleanupTimeoutSeconds: 20 },
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  const token = await agent.token(["intents:write", "intents:read"]);
  headers = { authorization: `Bearer ${token}` };
  cliEnv = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: token };
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
});

/** Polls GetDeployment until `check` holds, for at most `timeoutMs`. */
async function until(what: string, check: (d: Deployment) => boolean, timeoutMs = 15_000): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  let last: Deployment | undefined;
  for (;;) {
    try {
      last = (await client.getDeployment({ name: NAME }, { headers, timeoutMs: 5000 })).deployment;
      if (last && check(last)) return last;
    } catch (err) {
      if (!(err instanceof ConnectError && err.code === Code.NotFound)) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (last ${last?.state} ${last?.reason})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function camino(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...cliEnv }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `camino intent watch NAME --follow`, running until stopped; its output so far. */
function followCli(): { out: () => string; stop: () => Promise<void> } {
  let out = "";
  const child: ChildProcess = spawn(process.execPath, [CAMINO, "intent", "watch", NAME, "--follow"], {
    env: { PATH: process.env["PATH"] ?? "", ...cliEnv },
  });
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    out: () => out,
    stop: async () => {
      child.kill("SIGINT");
      await exited;
    },
  };
}

const pkg = (d: Deployment) => d.packages.find((p) => p.package === "sink");

it("a READY intent: DEGRADED when its Deployment is deleted by hand, its pods are unavailable or its edge is unreachable, READY again after each, in GetDeployment, WatchDeployment --follow and the CLI", async () => {
  const intent = validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: NAME },
    spec: {
      packages: [
        {
          name: "sink",
          blueprint: "traffic-sink",
          replicas: 1,
          resources: { cpu: "50m", memory: "32Mi" },
          placement: { edge: "edge-1" },
        },
      ],
    },
  });
  await client.submitIntent({ intent: intentToMessage(intent) }, { headers, timeoutMs: 10_000 });
  await until("READY", (d) => d.state === S.READY);

  const events: DeploymentEvent[] = [];
  const stream = new AbortController();
  const watching = (async () => {
    try {
      for await (const res of client.watchDeployment({ name: NAME, follow: true }, { headers, signal: stream.signal }))
        if (res.event) events.push(res.event);
    } catch (err) {
      if (!stream.signal.aborted) throw err;
    }
  })();
  const cli = followCli();

  // 1. The Deployment deleted by hand.
  const deleted = await kubectl(["delete", "deployment", "sink", "-n", NAME]);
  expect(deleted.code, deleted.stderr).toBe(0);
  let d = await until("DEGRADED after the deletion", (x) => x.state === S.DEGRADED);
  expect(pkg(d)?.state).toBe(S.DEGRADED);
  expect(pkg(d)?.reason).toMatch(/^Deployment\/sink (missing|0\/1 available) on edge-1$/);
  expect(d.reason).toBe(`1 of 1 packages DEGRADED: sink: ${pkg(d)?.reason}`);
  // ConfigSync re-applies the repository's objects (every 20 quiet rounds): READY again.
  d = await until("READY after ConfigSync re-applied it", (x) => x.state === S.READY);
  expect(pkg(d)?.reason).toBe("workloads available again on edge-1");

  // 2. Its pods never ready (a readiness probe failing): DEGRADED until the fault is lifted.
  await edge.faults({ unavailable: [`${NAME}/sink`] });
  d = await until("DEGRADED while unavailable", (x) => x.state === S.DEGRADED);
  expect(pkg(d)?.reason).toBe("Deployment/sink 0/1 available on edge-1");
  const get = await camino(["intent", "get", NAME]);
  expect(get.code).toBe(0);
  expect(get.stdout).toMatch(/DEGRADED: 1 of 1 packages DEGRADED: sink: Deployment\/sink 0\/1 available on edge-1/);
  expect(get.stdout).toMatch(/sink +1 +edge-1 +DEGRADED +Deployment\/sink 0\/1 available on edge-1/);
  await edge.faults({ unavailable: [] });
  d = await until("READY once available", (x) => x.state === S.READY);

  // 3. The edge unreachable.
  await edge.faults({ apiUnavailable: true });
  d = await until("DEGRADED while the edge is unreachable", (x) => x.state === S.DEGRADED);
  expect(pkg(d)?.reason).toMatch(/^edge edge-1 unreachable: .+/);
  expect((await camino(["intent", "get", NAME])).stdout).toContain("edge edge-1 unreachable");
  await edge.faults({ apiUnavailable: false });
  d = await until("READY once the edge answers", (x) => x.state === S.READY);
  expect(pkg(d)?.state).toBe(S.READY);

  // The following streams saw both rounds, for the package and the intent.
  const wanted = (list: string[]) =>
    list.filter((x, i) => x !== list[i - 1]).join(" ") === "READY DEGRADED READY DEGRADED READY DEGRADED READY";
  const intentStates = () => events.filter((e) => e.package === "").map((e) => S[e.state] as string);
  const packageStates = () => events.filter((e) => e.package === "sink").map((e) => S[e.state] as string);
  await until("the watch saw it", () => wanted(intentStates()) && wanted(packageStates()), 5000);
  await until("the CLI printed it", () => (cli.out().match(/READY/g) ?? []).length >= 4, 5000);
  await cli.stop();
  stream.abort();
  await watching;
  expect(cli.out()).toMatch(/sink.*DEGRADED.*Deployment\/sink (missing|0\/1 available)/);
  expect(cli.out()).toMatch(/sink.*DEGRADED.*edge edge-1 unreachable/);

  await client.terminateIntent({ name: NAME }, { headers, timeoutMs: 10_000 });
  await until("TERMINATED", (x) => x.state === S.TERMINATED, 30_000);
}, 90_000);
