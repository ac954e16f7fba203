/**
 * Drift as a user sees it, through real processes: an agent and an emulated edge (its own process, faults through
 * its admin endpoint, objects changed with the real kubectl), `camino intent drift` spawned as a user runs it, and
 * GetDeployment with `drift`.
 * - Deployed as its repository says, the intent has no drift, although the edge shows fields its files never set
 *   (the server's defaults: a Deployment's strategy, a Service's type).
 * - With ConfigSync paused (the `syncPaused` fault), a Deployment scaled and its image set by hand is `changed`
 *   with those fields (repository → edge), a ConfigMap deleted is `missing`, a ConfigMap labelled as the intent's
 *   is `extra`; unpaused, ConfigSync corrects what it owns and only the extra object is left.
 * - An edge that cannot be read is named, not an error (exit 5).
 * - A sync error naming one of the package's objects makes it DEGRADED naming the object; READY once it is gone.
 * - So does an object of the package that another reconciler claims (KNV1060: its `configsync.gke.io/manager`
 *   annotation, set by hand with kubectl, names another RootSync): ConfigSync leaves it alone and says so; READY
 *   once the claim is withdrawn.
 */
import { execFile, execFileSync } from "node:child_process";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Deployment, type ObjectDrift } from "../../gen/camino/v1/types_pb.js";
import { CAMINO, startAgentProcess, ROOT, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";

const S = DeploymentState;
const NAME = "drifting";
let edge: EmulatorProcess;
let kubectl: Kubectl;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let headers: Record<string, string>;
let cliEnv: Record<string, string>;

beforeAll(async () => {
  edge = await startEmulatorProcess({
    name: "edge-1",
    nodes: [
      { name: "edge-1-big", cpu: "4", memory: "8Gi" },
      { name: "edge-1-small", cpu: "1", memory: "2Gi" },
    ],
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
  await client.submitIntent(
    {
      intent: intentToMessage(
        validateIntent({
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
        }),
      ),
    },
    { headers, timeoutMs: 10_000 },
  );
  await until("READY", (d) => d.state === S.READY);
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
    last = (await client.getDeployment({ name: NAME }, { headers, timeoutMs: 5000 })).deployment;
    if (last && check(last)) return last;
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
      // Bounded, generously: a node process starting on a loaded two-core machine takes seconds.
      { env: { PATH: process.env["PATH"] ?? "", ...cliEnv }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Asks GetDeployment for drift until `check` holds (ConfigSync acts on its own time). */
async function driftUntil(what: string, check: (drift: ObjectDrift[]) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { drift } = await client.getDeployment({ name: NAME, drift: true }, { headers, timeoutMs: 10_000 });
    if (check(drift)) return drift;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms; last: ${drift.map((d) => `${d.change} ${d.kind}/${d.name}`)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ok = async (args: string[]) => {
  const r = await kubectl(args);
  expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

it("has no drift as deployed: the fields the server fills in (a Deployment's strategy, a Service's type) are not drift", async () => {
  // The repository's files do not set them (read with the git CLI from the folder the edge's RootSync follows)…
  const repo = await ok([
    "get",
    "rootsync",
    "root-sync",
    "-n",
    "config-management-system",
    "-o",
    "jsonpath={.spec.git.repo}",
  ]);
  const file = (path: string) => execFileSync("git", ["-C", repo, "show", `HEAD:${path}`], { encoding: "utf8" });
  expect(file(`${NAME}/sink/deployment.yaml`)).not.toContain("strategy");
  expect(file(`${NAME}/sink/service.yaml`)).not.toMatch(/^\s+type:/m);
  // … the edge has them …
  expect(await ok(["get", "deployment", "sink", "-n", NAME, "-o", "jsonpath={.spec.strategy.type}"])).toBe(
    "RollingUpdate",
  );
  expect(await ok(["get", "service", "sink", "-n", NAME, "-o", "jsonpath={.spec.type}"])).toBe("ClusterIP");
  // … and drift does not count them.
  const r = await camino(["intent", "drift", NAME]);
  expect(r, r.stderr).toMatchObject({
    code: 0,
    stdout: `no drift: every edge ${NAME} runs on matches its repository\n`,
  });
  const res = await client.getDeployment({ name: NAME, drift: true }, { headers, timeoutMs: 10_000 });
  expect(res.drift).toEqual([]);
  expect(res.driftUnknown).toEqual([]);
}, 90_000);

it("shows hand edits made while ConfigSync is paused as changed (with the fields), missing and extra; ConfigSync corrects what it owns once unpaused", async () => {
  await edge.faults({ syncPaused: true });
  try {
    await ok(["scale", "deployment", "sink", "-n", NAME, "--replicas=3"]);
    await ok(["set", "image", "deployment/sink", "-n", NAME, "traffic-sink=docker.io/networkstatic/iperf3:3.17"]);
    await ok(["delete", "configmap", "sink-config", "-n", NAME]);
    const stray = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "stray", namespace: NAME, labels: { "camino.io/intent": NAME, "camino.io/package": "sink" } },
      data: { a: "b" },
    };
    await ok(["apply", "-f", kubectl.file(JSON.stringify(stray))]);

    const r = await camino(["intent", "drift", NAME]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(10);
    expect(r.stdout).toBe(
      [
        "edge edge-1 (repository edge-1-deploy)",
        "  package sink",
        `    missing  ConfigMap/${NAME}/sink-config  (${NAME}/sink/configmap.yaml)`,
        `    extra    ConfigMap/${NAME}/stray`,
        `    changed  Deployment/${NAME}/sink  (${NAME}/sink/deployment.yaml)`,
        "      spec.replicas: 1 → 3",
        '      spec.template.spec.containers[name=traffic-sink].image: "docker.io/networkstatic/iperf3:3.16.0" → "docker.io/networkstatic/iperf3:3.17"',
        "",
      ].join("\n"),
    );
    // The same through the API, and as JSON from the CLI.
    const res = await client.getDeployment({ name: NAME, drift: true }, { headers, timeoutMs: 10_000 });
    expect(res.drift.map((d) => `${d.change} ${d.kind}/${d.name} ${d.fields.map((f) => f.path).join(",")}`)).toEqual([
      "missing ConfigMap/sink-config ",
      "extra ConfigMap/stray ",
      "changed Deployment/sink spec.replicas,spec.template.spec.containers[name=traffic-sink].image",
    ]);
    const json = await camino(["intent", "drift", NAME, "-o", "json"]);
    expect(json.code).toBe(10);
    expect(JSON.parse(json.stdout).drift[2]).toMatchObject({
      edge: "edge-1",
      repository: "edge-1-deploy",
      change: "changed",
      fields: [{ path: "spec.replicas", want: "1", have: "3" }, expect.anything()],
    });
  } finally {
    // Unpaused (also when a check failed: the next tests need ConfigSync).
    await edge.faults({ syncPaused: false });
  }
  // Unpaused: ConfigSync applies its objects again; the object it does not own stays extra.
  const left = await driftUntil("corrected", (x) => x.every((d) => d.change === "extra"));
  expect(left.map((d) => `${d.change} ${d.kind}/${d.name}`)).toEqual(["extra ConfigMap/stray"]);
  expect(await ok(["get", "deployment", "sink", "-n", NAME, "-o", "jsonpath={.spec.replicas}"])).toBe("1");
  await ok(["delete", "configmap", "stray", "-n", NAME]);
  expect(await driftUntil("no drift", (x) => x.length === 0)).toEqual([]);
}, 90_000);

it("names an edge that cannot be read instead of failing (exit 5)", async () => {
  await edge.faults({ apiUnavailable: true });
  try {
    const r = await camino(["intent", "drift", NAME]);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toMatch(/^unknown: edge-1: .+\nno drift on the edges that answered\n$/);
  } finally {
    await edge.faults({ apiUnavailable: false });
  }
  await until("READY once the edge answers", (d) => d.state === S.READY);
}, 90_000);

it("a sync error naming one of the package's objects makes it DEGRADED naming the object; READY once it is gone", async () => {
  await edge.faults({ syncErrors: [`Deployment/${NAME}/sink`] });
  const d = await until("DEGRADED by the sync error", (x) => x.state === S.DEGRADED);
  expect(d.packages.find((p) => p.package === "sink")?.reason).toBe(
    `sync error KNV2009 for Deployment/${NAME}/sink on edge-1`,
  );
  // The RootSync says so, as an operator reads it.
  expect(
    await ok([
      "get",
      "rootsync",
      "root-sync",
      "-n",
      "config-management-system",
      "-o",
      "jsonpath={.status.sync.errors[0].resources[0].name}",
    ]),
  ).toBe("sink");
  await edge.faults({ syncErrors: [] });
  const back = await until("READY once the error is gone", (x) => x.state === S.READY);
  expect(back.packages.find((p) => p.package === "sink")?.state).toBe(S.READY);
}, 90_000);

it("an object of the package another reconciler manages (KNV1060) makes it DEGRADED naming the object; READY once released", async () => {
  const claimed = ["configmap", "sink-config", "-n", NAME];
  // Another RootSync (platform) claims the package's ConfigMap, as ConfigSync marks the objects it manages.
  await ok(["annotate", ...claimed, "configsync.gke.io/manager=:root_platform"]);
  try {
    const d = await until("DEGRADED by the claimed object", (x) => x.state === S.DEGRADED);
    expect(d.packages.find((p) => p.package === "sink")?.reason).toBe(
      `sync error KNV1060 for ConfigMap/${NAME}/sink-config on edge-1`,
    );
    // The RootSync says why, as an operator reads it.
    expect(
      await ok([
        "get",
        "rootsync",
        "root-sync",
        "-n",
        "config-management-system",
        "-o",
        "jsonpath={.status.sync.errors[0].errorMessage}",
      ]),
    ).toBe(
      `KNV1060: ConfigMap/${NAME}/sink-config is managed by another reconciler (:root_platform), not by :root: remove it from one of the repositories`,
    );
  } finally {
    // Released (also when a check failed): this RootSync manages it again.
    await ok(["annotate", ...claimed, "configsync.gke.io/manager-"]);
  }
  const back = await until("READY once the claim is withdrawn", (x) => x.state === S.READY);
  expect(back.packages.find((p) => p.package === "sink")?.state).toBe(S.READY);
  expect(back.packages.find((p) => p.package === "sink")?.reason).not.toMatch(/KNV1060/);
}, 90_000);
