/**
 * Termination with conflict checks (agent/orchestration/dependants.ts), and `camino intent why`, as a user meets
 * them through real processes: an agent and an emulated edge. Intent edge-ingress provides the edge's IngressClass
 * nginx (test/fixtures/blueprints/ingress-class); intent web's ingress-rule declares it as its prerequisite
 * (`camino.io/prerequisites: IngressClass/nginx`). Terminating edge-ingress is refused with FAILED_PRECONDITION
 * naming web's package; with force but without scope intents:force, PERMISSION_DENIED; with the scope, it is
 * terminated (the IngressClass gone, as kubectl shows), and web's package becomes DEGRADED with the reason — in
 * GetDeployment and in `camino intent why web` — until the IngressClass is back (edge-ingress submitted again).
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState as S, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { kubectlFor, type Kubectl } from "../helpers/kubectl.js";

let edge: EmulatorProcess;
let kubectl: Kubectl;
let agent: AgentProcess;
let client: Client<typeof DomainManager>;
let blueprints: string;
const auth: Record<"write" | "force", { headers: Record<string, string>; token: string }> = {
  write: { headers: {}, token: "" },
  force: { headers: {}, token: "" },
};

beforeAll(async () => {
  // The sample blueprints and the fixture that provides the IngressClass ingress-rule needs.
  blueprints = mkdtempSync(join(tmpdir(), "camino-conflicts-"));
  cpSync(join(ROOT, "blueprints"), blueprints, { recursive: true });
  cpSync(join(ROOT, "test/fixtures/blueprints/ingress-class"), join(blueprints, "cnf", "ingress-class"), {
    recursive: true,
  });
  edge = await startEmulatorProcess({
    name: "edge-1",
    podStartDelayMs: 50,
    nodes: [
      { name: "edge-1-big", cpu: "4", memory: "8Gi" },
      { name: "edge-1-small", cpu: "1", memory: "2Gi" },
    ],
  });
  kubectl = kubectlFor(edge.url);
  agent = await startAgentProcess({
    logLevel: "info",
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: blueprints },
      { name: "edge-1-deploy", role: "deployment", edge: "edge-1" },
    ],
    extraConfig: {
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 2000, syncPeriod: "100ms" }],
      lifecycle: { pollMs: 50, defaultTimeoutSeconds: 30, cleanupTimeoutSeconds: 20 },
    },
  });
  client = createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl }));
  for (const [who, scopes] of [
    ["write", ["intents:write", "intents:read"]],
    ["force", ["intents:write", "intents:read", "intents:force"]],
  ] as const) {
    const token = await agent.token([...scopes]);
    auth[who] = { token, headers: { authorization: `Bearer ${token}` } };
  }
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
  if (blueprints) rmSync(blueprints, { recursive: true, force: true });
});

async function submit(name: string, pkg: Record<string, unknown>): Promise<void> {
  const intent = validateIntent({
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name },
    spec: { packages: [{ ...pkg, placement: { edge: "edge-1" } }] },
  });
  await client.submitIntent({ intent: intentToMessage(intent) }, { headers: auth.write.headers, timeoutMs: 10_000 });
}

/** Polls GetDeployment until `check` holds. */
async function until(name: string, what: string, check: (d: Deployment) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = (await client.getDeployment({ name }, { headers: auth.write.headers, timeoutMs: 5000 })).deployment;
    if (d && check(d)) return d;
    if (Date.now() > deadline)
      throw new Error(`${name} ${what}: not within ${timeoutMs} ms (${d?.state} ${d?.reason})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The error a call fails with (undefined when it succeeds). */
async function refusal(call: Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

function camino(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAMINO, ...args],
      {
        env: { PATH: process.env["PATH"] ?? "", CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: auth.write.token },
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ingressClass = () => kubectl(["get", "ingressclass", "nginx", "-o", "name"]);
const REASON = "prerequisite IngressClass/nginx was provided by intent edge-ingress, terminated";

it("terminating what another intent relies on: refused naming it, refused without intents:force, forced with it (the dependant DEGRADED with the reason, in GetDeployment and camino intent why) until the prerequisite is back", async () => {
  await submit("edge-ingress", { name: "class", blueprint: "ingress-class" });
  await until("edge-ingress", "READY", (d) => d.state === S.READY);
  expect((await ingressClass()).stdout.trim()).toBe("ingressclass.networking.k8s.io/nginx");
  await submit("web", {
    name: "rule",
    blueprint: "ingress-rule",
    config: { host: "web.example.com", backend: "site" },
  });
  await until("web", "READY", (d) => d.state === S.READY);

  // Refused, naming the dependant; nothing is removed.
  const refused = await refusal(client.terminateIntent({ name: "edge-ingress" }, { headers: auth.write.headers }));
  expect(refused?.code).toBe(Code.FailedPrecondition);
  expect(refused?.rawMessage).toContain(
    "intent web package rule needs IngressClass/nginx on edge-1 (provided by package class)",
  );
  // force without the scope.
  const denied = await refusal(
    client.terminateIntent({ name: "edge-ingress", force: true }, { headers: auth.write.headers }),
  );
  expect(denied?.code).toBe(Code.PermissionDenied);
  expect(denied?.rawMessage).toContain("intents:force");
  expect((await until("edge-ingress", "still READY", () => true)).state).toBe(S.READY);
  expect((await ingressClass()).code).toBe(0);

  // Forced with the scope: terminated, the IngressClass gone from the edge, the dependant DEGRADED with the reason.
  await client.terminateIntent({ name: "edge-ingress", force: true }, { headers: auth.force.headers });
  await until("edge-ingress", "TERMINATED", (d) => d.state === S.TERMINATED);
  const gone = await ingressClass();
  expect(gone.code, gone.stdout).not.toBe(0);
  expect(gone.stderr).toMatch(/NotFound|not found/);
  const web = await until("web", "DEGRADED", (d) => d.state === S.DEGRADED);
  const rule = web.packages.find((p) => p.package === "rule");
  expect(rule?.state).toBe(S.DEGRADED);
  expect(rule?.reason).toBe(`${REASON} on edge-1`);
  expect(rule?.waitingOn.map((b) => [b.kind, b.resource])).toEqual([["dependency", "IngressClass/nginx"]]);

  const why = await camino(["intent", "why", "web"]);
  expect(why.code, why.stderr).toBe(0);
  expect(why.stdout).toBe(
    [
      `web  DEGRADED: 1 of 1 packages DEGRADED: rule: ${REASON} on edge-1`,
      "└─ rule  DEGRADED on edge-1",
      `   └─ dependency: DEGRADED: ${REASON} on edge-1`,
      "",
    ].join("\n"),
  );

  // The prerequisite back on the edge (edge-ingress submitted again): READY again, waiting on nothing.
  await submit("edge-ingress", { name: "class", blueprint: "ingress-class" });
  await until("edge-ingress", "READY again", (d) => d.state === S.READY);
  const again = await until("web", "READY again", (d) => d.state === S.READY);
  expect(again.packages.map((p) => [p.package, p.waitingOn])).toEqual([["rule", []]]);
});
