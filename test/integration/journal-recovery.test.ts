/**
 * A deployment journal the agent cannot read, as an operator meets it, through real processes (an agent and an
 * emulated edge): a record truncated, and then the journal folder gone. Each time the agent refuses to start,
 * exiting non-zero with a message naming the file, what is wrong and the way to recover, and changes nothing;
 * `camino recover --from-repositories` moves the unreadable record aside (never deleted), rebuilds the intent
 * from the deployment repository, and the agent then starts and answers for it as it was. A log with a damaged
 * line is refused the same way and moved aside whole, its readable records kept.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { intentToMessage } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type Deployment } from "../../gen/camino/v1/types_pb.js";
import { CAMINO, startAgentProcess, ROOT, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

const S = DeploymentState;
let edge: EmulatorProcess;
let agent: AgentProcess;

beforeAll(async () => {
  edge = await startEmulatorProcess({
    name: "edge-1",
    podStartDelayMs: 50,
    nodes: [{ name: "edge-1-node", cpu: "4", memory: "8Gi" }],
  });
  agent = await startAgentProcess({
    logLevel: "info",
    repositories: [
      { name: "catalogue", role: "blueprint", seedFrom: `${ROOT}/blueprints` },
      { name: "edge-1-deploy", role: "deployment", edge: "edge-1" },
    ],
    extraConfig: {
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 2000, syncPeriod: "100ms" }],
      lifecycle: { pollMs: 50, defaultTimeoutSeconds: 30 },
    },
  });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
});

function camino(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "" }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function client(): Promise<{ dm: Client<typeof DomainManager>; headers: Record<string, string> }> {
  return {
    dm: createClient(DomainManager, createGrpcTransport({ baseUrl: agent.grpcUrl })),
    headers: { authorization: `Bearer ${await agent.token(["intents:write", "intents:read"])}` },
  };
}

async function get(name: string): Promise<Deployment> {
  const { dm, headers } = await client();
  return (await dm.getDeployment({ name }, { headers, timeoutMs: 5000 })).deployment as Deployment;
}

it("refuses to start on a truncated record or a missing journal folder, naming it and the way out; camino recover --from-repositories brings the intents back", async () => {
  const { dm, headers } = await client();
  const doc = {
    apiVersion: "camino.io/v1",
    kind: "DeploymentIntent",
    metadata: { name: "kept" },
    spec: {
      packages: [
        {
          name: "sink",
          blueprint: "traffic-sink",
          resources: { cpu: "20m", memory: "16Mi" },
          placement: { edge: "edge-1" },
        },
        { name: "feed", blueprint: "traffic-sink", after: ["sink"], placement: { edge: "edge-1" } },
      ],
    },
  };
  await dm.submitIntent({ intent: intentToMessage(validateIntent(doc)) }, { headers });
  for await (const _ of dm.watchDeployment({ name: "kept" }, { headers, signal: AbortSignal.timeout(30_000) }));
  const before = await get("kept");
  expect(S[before.state], before.reason).toBe("READY");

  const journal = join(agent.dir, "data", "deployments");
  const file = join(journal, "kept.json");
  const config = agent.configFile;
  await agent.restart(async () => {
    // A record cut short (a disk that lied about a flush): the agent refuses, naming it; the file is untouched.
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, text.length >> 1));
    const refused = await camino(["agent", "--config", config]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`the deployment journal cannot be read: ${file}: truncated or not JSON`);
    expect(refused.stderr).toContain("camino recover --from-repositories --config");
    expect(readFileSync(file, "utf8")).toBe(text.slice(0, text.length >> 1));

    const bad = await camino(["recover", "--config", config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from-repositories is required/);

    const recovered = await camino(["recover", "--from-repositories", "--config", config]);
    expect(recovered.stderr).toBe("");
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toMatch(/moved aside: .*kept\.json \(truncated or not JSON/);
    expect(recovered.stdout).toContain("rebuilt: kept revision 1: 2 packages on edge-1");
    // Set aside, never deleted.
    const aside = readdirSync(`${journal}.unreadable`);
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(`${journal}.unreadable`, aside[0] as string), "utf8")).toBe(
      text.slice(0, text.length >> 1),
    );
  });
  let after = await get("kept");
  expect(S[after.state]).toBe("READY");
  expect(after.revision).toBe(1n);
  expect(after.packages.map((p) => [p.package, p.edge, p.blueprintCommit])).toEqual(
    before.packages.map((p) => [p.package, p.edge, p.blueprintCommit]),
  );

  await agent.restart(async () => {
    // A log left by a crash, with a damaged line before a good one (the disk changed a byte): refused, naming the
    // log and the line; recover moves the log aside whole and writes again the records its good lines hold.
    const rec = JSON.parse(readFileSync(file, "utf8")) as { reason: string };
    const line = (r: unknown) => {
      const body = JSON.stringify(r);
      return `${createHash("sha1").update(body).digest("hex").slice(0, 16)} ${body}\n`;
    };
    const good = line({ ...rec, reason: "read from the log" });
    const damaged = line({ ...rec, reason: "changed on disk" }).replace("changed", "chAnged");
    const log = join(journal, "log-0000000007.jsonl");
    writeFileSync(log, damaged + good, { mode: 0o600 });
    const refused = await camino(["agent", "--config", config]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${log}: line 1: damaged (its checksum does not match)`);
    const recovered = await camino(["recover", "--from-repositories", "--config", config]);
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toMatch(/moved aside: .*log-0000000007\.jsonl \(line 1: damaged/);
    expect(recovered.stdout).toContain("kept:    kept (its record is readable)");
    expect(readdirSync(journal).sort()).toEqual(["kept.json"]);
    expect(JSON.parse(readFileSync(file, "utf8")).reason).toBe("read from the log");
  });
  expect((await get("kept")).reason).toBe("read from the log");

  await agent.restart(async () => {
    // The journal folder gone while the data folder had one: refused too, not re-created empty.
    rmSync(journal, { recursive: true });
    const refused = await camino(["agent", "--config", config]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${journal}: the journal folder is missing`);
    expect(existsSync(journal)).toBe(false);
    const recovered = await camino(["recover", "--from-repositories", "--config", config]);
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toContain("rebuilt: kept revision 1");
  });
  after = await get("kept");
  expect(S[after.state]).toBe("READY");
  // The rebuilt intent is live: it terminates as any other.
  const { dm: dm2, headers: h2 } = await client();
  await dm2.terminateIntent({ name: "kept" }, { headers: h2 });
  for await (const _ of dm2.watchDeployment({ name: "kept" }, { headers: h2, signal: AbortSignal.timeout(30_000) }));
  expect(S[(await get("kept")).state]).toBe("TERMINATED");
}, 120_000);
