/**
 * Edges through a real agent: the agent registers its deployment repositories' RootSyncs on the emulated
 * edges (which then sync them), and `camino edge ls` shows each edge's health, capacity and synced commit —
 * with an unreachable edge shown down with its reason.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LocalGitRepository } from "../../agent/cad/git/repository.js";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

let edge: EmulatorProcess;
let agent: AgentProcess;

beforeAll(async () => {
  edge = await startEmulatorProcess({ name: "edge-1", nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }] });
  agent = await startAgentProcess({
    extraConfig: {
      edges: [
        { name: "edge-1", server: edge.url, repository: "edge-1-deploy", labels: { zone: "north" }, timeoutMs: 2000 },
        { name: "edge-2", server: "http://127.0.0.1:1", repository: "edge-2-deploy", timeoutMs: 1000 },
      ],
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
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

it("registers the RootSync on the edge, which syncs the deployment repository; edge ls shows health, capacity and the commit", async () => {
  const env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: await agent.token(["catalogue:read"]) };
  const head = await new LocalGitRepository({ dir: join(agent.dir, "data", "repos", "edge-1-deploy") }).head();
  type EdgeRow = {
    name: string;
    healthy: boolean;
    message: string;
    cpuAllocatableMillis: number;
    repository: string;
    rootSyncCommit: string;
    labels: Record<string, string>;
  };
  let rows: EdgeRow[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await camino(["edge", "ls", "-o", "json"], env);
    expect(res.code, res.stderr).toBe(0);
    rows = JSON.parse(res.stdout) as EdgeRow[];
    if (rows[0]?.rootSyncCommit === head) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(rows[0]).toMatchObject({
    name: "edge-1",
    healthy: true,
    cpuAllocatableMillis: 4000,
    repository: "edge-1-deploy",
    rootSyncCommit: head,
    labels: { zone: "north" },
  });
  expect(rows[1]).toMatchObject({
    name: "edge-2",
    healthy: false,
    message: expect.stringContaining("connection refused"),
  });
  const table = await camino(["edge", "ls"], env);
  expect(table.stdout).toMatch(/edge-1\s+ok\s+4\/4\s+8.0Gi\/8.0Gi\s+edge-1-deploy\s+[0-9a-f]{12}/);
  expect(table.stdout).toMatch(/edge-2\s+down: .*connection refused/);
  // The RootSync registration at start logged edge-2's refusal with its reason, and the agent kept serving.
  expect(agent.logs.find((l) => l["msg"] === "RootSync not registered" && l["edge"] === "edge-2")).toMatchObject({
    repository: "edge-2-deploy",
    error: { code: "ERR_ROOTSYNC_NOT_WRITTEN", message: expect.stringContaining("connection refused") },
  });
  expect(agent.child.exitCode).toBeNull();
});
