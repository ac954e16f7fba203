/**
 * A deployment's whole life through outside clients: Debian's python3-grpcio submits a chain and follows it to
 * READY; `camino intent submit --watch` updates it (a package dropped, one scaled), `camino intent get` shows
 * it, and `camino intent terminate` removes it — checked in the deployment repositories' trees and on the
 * emulated edges, not in the agent's own account. upf asks for `cpu: "1"`, which its pods carry as the number 1
 * (Kubernetes' int-or-string): the update's admission must still read the edge's capacity.
 */
import { execFile, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import { intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";
import { generatePythonStubs, runPython, spawnPython } from "../helpers/python-client.js";

let edges: EmulatorProcess[] = [];
let agent: AgentProcess;
let stubs: string;

const chain = (replicas: number, withSink: boolean) => `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: life}
spec:
  timeout: 60s
  packages:
    - {name: ingress, blueprint: nginx-ingress, version: "1.9.4", resources: {cpu: 100m, memory: 64Mi}, placement: {edge: edge-1}}
    - {name: upf, blueprint: upf, version: "2.1.0", replicas: ${replicas}, resources: {cpu: "1", memory: 64Mi}, after: [ingress], placement: {edgeSelector: {zone: south}}}
${withSink ? '    - {name: sink, blueprint: traffic-sink, version: "3.16.0", resources: {cpu: 50m, memory: 32Mi}, after: [upf]}\n' : ""}  links:
    - {from: ingress, to: upf, port: 8805, protocol: http}
${withSink ? "    - {from: upf, to: sink, port: 5201, protocol: tcp}\n" : ""}`;

beforeAll(async () => {
  stubs = generatePythonStubs();
  edges = await Promise.all(
    ["edge-1", "edge-2"].map((name) =>
      startEmulatorProcess({ name, nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }] }),
    ),
  );
  agent = await startAgentProcess({
    logLevel: "info",
    extraConfig: {
      lifecycle: { pollMs: 50, cleanupTimeoutSeconds: 20 },
      edges: edges.map((e, i) => ({
        name: `edge-${i + 1}`,
        server: e.url,
        repository: `edge-${i + 1}-deploy`,
        labels: { zone: i === 0 ? "north" : "south" },
        timeoutMs: 5000,
        syncPeriod: "100ms",
      })),
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await Promise.all(edges.map((e) => e.stop()));
});

function camino(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const repoDir = (edge: string) => join(agent.dir, "data", "repos", `${edge}-deploy`);
const tree = (edge: string) =>
  execFileSync("git", ["-C", repoDir(edge), "ls-tree", "-r", "--name-only", "HEAD", "life"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
const ancestor = (edge: string, older: string, newer: string) => {
  try {
    execFileSync("git", ["-C", repoDir(edge), "merge-base", "--is-ancestor", older, newer]);
    return true;
  } catch {
    return false;
  }
};
const headOf = (edge: string) =>
  execFileSync("git", ["-C", repoDir(edge), "rev-parse", "HEAD"], { encoding: "utf8" }).trim();

/** Deployments of the intent on an emulated edge, by name → available replicas. */
async function deploymentsOn(e: EmulatorProcess): Promise<Map<string, number>> {
  const res = await fetch(`${e.url}/apis/apps/v1/namespaces/life/deployments`);
  if (res.status === 404) return new Map();
  const list = (await res.json()) as {
    items?: { metadata: { name: string }; status?: { availableReplicas?: number } }[];
  };
  return new Map((list.items ?? []).map((d) => [d.metadata.name, d.status?.availableReplicas ?? 0]));
}

describe("a chain's life", () => {
  it("deploys through python3-grpcio, updates through the CLI, and terminates", async () => {
    const token = await agent.token(["intents:write", "intents:read"]);
    const env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: token };
    const before = { "edge-1": headOf("edge-1"), "edge-2": headOf("edge-2") };

    // Deploy: python submits and follows the stream to the end.
    const intentJson = JSON.stringify(toJson(DeploymentIntentSchema, intentToMessage(parseIntentText(chain(1, true)))));
    const submitted = runPython(stubs, ["submit", agent.grpcTarget, intentJson], { CAMINO_TOKEN: token });
    expect(submitted.status, submitted.stderr + submitted.stdout).toBe(0);
    expect(JSON.parse(submitted.stdout)).toMatchObject({ deploymentId: "life.1", revision: "1" });
    const follow = spawnPython(stubs, ["follow", agent.grpcTarget, "life.1"], { CAMINO_TOKEN: token });
    await follow.waitFor("END OK");
    const states = (pkg: string) => follow.lines.filter((l) => l.startsWith(`${pkg} `)).map((l) => l.split(" ")[1]);
    for (const pkg of ["ingress", "upf", "sink"])
      expect(states(pkg)).toEqual(["PENDING", "ADMITTED", "COMMITTED", "SYNCED", "READY"]);
    expect(states("intent").at(-1)).toBe("READY");

    // Placement: explicit, by selector, and sink next to upf (linked) on edge-2.
    expect(
      tree("edge-1")
        .filter((p) => !p.startsWith("life/_chain/"))
        .map((p) => p.split("/")[1]),
    ).toEqual(expect.arrayContaining(["ingress"]));
    expect(new Set(tree("edge-2").map((p) => p.split("/")[1]))).toEqual(new Set(["_chain", "upf", "sink"]));
    expect(await deploymentsOn(edges[1] as EmulatorProcess)).toEqual(
      new Map([
        ["upf", 1],
        ["sink", 1],
      ]),
    );
    for (const e of ["edge-1", "edge-2"] as const) expect(ancestor(e, before[e], headOf(e))).toBe(true);

    // Re-submitting the same intent is a no-op.
    const file = join(agent.dir, "life.yaml");
    writeFileSync(file, chain(1, true));
    const again = await camino(["intent", "submit", file], env);
    expect(again.stdout).toContain("life.1");
    expect(again.stdout).toContain("no-op");

    // Update: sink dropped, upf scaled to 2; --watch exits 0 on READY.
    writeFileSync(file, chain(2, false));
    const update = await camino(["intent", "submit", file, "--watch"], env);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain("life.2");
    expect(new Set(tree("edge-2").map((p) => p.split("/")[1]))).toEqual(new Set(["_chain", "upf"]));
    await expect
      .poll(() => deploymentsOn(edges[1] as EmulatorProcess), { timeout: 10_000 })
      .toEqual(new Map([["upf", 2]]));

    const got = await camino(["intent", "get", "life", "-o", "json"], env);
    expect(got.code, got.stderr).toBe(0);
    const deployment = JSON.parse(got.stdout) as {
      state: string;
      revision: string;
      packages: { package: string; edge: string; state: string; wave: number }[];
    };
    expect(deployment).toMatchObject({ state: "DEPLOYMENT_STATE_READY", revision: "2" });
    expect(deployment.packages.map((p) => [p.package, p.edge, p.wave])).toEqual([
      ["ingress", "edge-1", 1],
      ["upf", "edge-2", 2],
    ]);

    // Terminate: every path of the intent leaves the repositories (by new commits) and the edges.
    const headsBefore = { "edge-1": headOf("edge-1"), "edge-2": headOf("edge-2") };
    const term = await camino(["intent", "terminate", "life"], env);
    expect(term.code, term.stderr).toBe(0);
    const watch = await camino(["intent", "watch", "life"], env);
    expect(watch.code, watch.stderr).toBe(0);
    expect(tree("edge-1")).toEqual([]);
    expect(tree("edge-2")).toEqual([]);
    for (const e of ["edge-1", "edge-2"] as const) expect(ancestor(e, headsBefore[e], headOf(e))).toBe(true);
    await expect
      .poll(async () => (await fetch(`${(edges[1] as EmulatorProcess).url}/api/v1/namespaces/life`)).status, {
        timeout: 10_000,
      })
      .toBe(404);
    const ls = await camino(["intent", "ls", "-o", "json"], env);
    expect(JSON.parse(ls.stdout)).toEqual([
      expect.objectContaining({ intent: "life", state: "DEPLOYMENT_STATE_TERMINATED" }),
    ]);
  });
});
