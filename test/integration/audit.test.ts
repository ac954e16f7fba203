/**
 * The audit trail through a real agent and the real CLI: a submitted intent and refused writes (no token, a
 * missing scope) appear in `camino audit` with their caller, method, target and outcome; reads do not; and
 * neither a token nor a repository's credentials are anywhere in the audit files.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAMINO, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

let edge: EmulatorProcess;
let agent: AgentProcess;

beforeAll(async () => {
  edge = await startEmulatorProcess({ name: "edge-1", nodes: [{ name: "node-1", cpu: "4", memory: "8Gi" }] });
  agent = await startAgentProcess({
    logLevel: "info",
    extraConfig: {
      edges: [{ name: "edge-1", server: edge.url, repository: "edge-1-deploy", timeoutMs: 5000 }],
    },
  });
});
afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function camino(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const INTENT = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: audited}
spec:
  packages:
    - {name: sink, blueprint: traffic-sink, version: "3.16.0", resources: {cpu: 50m, memory: 32Mi}, placement: {edge: edge-1}}
`;
const CREDENTIALS = "glpat-AUDITcredSECRET42";

interface Row {
  time: string;
  caller: Record<string, string>;
  method: string;
  target: string;
  outcome: string;
  error?: string;
  address?: string;
}

/** `camino audit -o json` until it shows `count` records (the agent writes them just after answering). */
async function auditUntil(count: number, extra: string[] = []): Promise<Row[]> {
  let rows: Row[] = [];
  // Bounded well inside the test's timeout, so a missing record fails on the rows seen, not on the clock.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await camino(["audit", "--config", agent.configFile, "-o", "json", ...extra]);
    expect(res.code, res.stderr).toBe(0);
    rows = res.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
    if (rows.length >= count) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
}

describe("camino audit", () => {
  const tokens: string[] = [];

  it("shows a submitted intent and refused writes with caller, method, target and outcome", async () => {
    const intentFile = join(agent.dir, "audited.yaml");
    writeFileSync(intentFile, INTENT);
    const writer = await agent.token(["intents:write"]);
    const reader = await agent.token(["catalogue:read", "repos:admin"]);
    tokens.push(writer, reader);
    const server = { CAMINO_SERVER: agent.grpcUrl };

    const submitted = await camino(["intent", "submit", intentFile], { ...server, CAMINO_TOKEN: writer });
    expect(submitted.code, submitted.stderr).toBe(0);
    // Refused: a token without intents:write, then no token at all (with credentials in the request).
    const denied = await camino(["intent", "terminate", "audited"], { ...server, CAMINO_TOKEN: reader });
    expect(denied.code, denied.stderr).toBe(4);
    const credentialsFile = join(agent.dir, "credentials");
    writeFileSync(credentialsFile, `${CREDENTIALS}\n`);
    const anonymous = await camino(
      [
        "repo",
        "add",
        "private",
        "https://git.example/private.git",
        "--role",
        "blueprint",
        "--credentials-file",
        credentialsFile,
      ],
      server,
    );
    expect(anonymous.code, anonymous.stderr).toBe(4);
    // A read is not a write: not audited.
    expect((await camino(["repo", "ls"], { ...server, CAMINO_TOKEN: reader })).code).toBe(0);

    const rows = await auditUntil(3);
    expect(rows.map(({ time: _t, address: _a, ...r }) => ({ ...r, durationMs: undefined }))).toEqual([
      {
        caller: { kind: "user", subject: "test", issuer: "domain-x" },
        method: "camino.v1.DomainManager/SubmitIntent",
        target: "audited",
        outcome: "ok",
        durationMs: undefined,
      },
      {
        caller: { kind: "user", subject: "test", issuer: "domain-x" },
        method: "camino.v1.DomainManager/TerminateIntent",
        target: "audited",
        outcome: "PERMISSION_DENIED",
        error: "ERR_SCOPE_MISSING",
        durationMs: undefined,
      },
      {
        caller: { kind: "unknown" },
        method: "camino.v1.DomainManager/RegisterRepository",
        target: "private",
        outcome: "UNAUTHENTICATED",
        error: "ERR_TOKEN_MISSING",
        durationMs: undefined,
      },
    ]);
    for (const r of rows) {
      expect(Date.now() - Date.parse(r.time)).toBeLessThan(60_000);
      expect(r.address).toMatch(/^127\.0\.0\.1:\d+$/);
    }

    // The table a person reads.
    const table = await camino(["audit", "--data-dir", join(agent.dir, "data")]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME\s+CALLER\s+METHOD\s+TARGET\s+OUTCOME$/);
    expect(lines.slice(1)).toHaveLength(3);
    expect(lines[1]).toMatch(/test@domain-x\s+DomainManager\/SubmitIntent\s+audited\s+ok$/);
    expect(lines[2]).toMatch(
      /test@domain-x\s+DomainManager\/TerminateIntent\s+audited\s+PERMISSION_DENIED ERR_SCOPE_MISSING$/,
    );
    expect(lines[3]).toMatch(
      /unknown\s+DomainManager\/RegisterRepository\s+private\s+UNAUTHENTICATED ERR_TOKEN_MISSING$/,
    );
  });

  it("filters by method, time and peer", async () => {
    expect((await auditUntil(1, ["--method", "SubmitIntent"])).map((r) => r.target)).toEqual(["audited"]);
    expect(await auditUntil(3, ["--since", "1h"])).toHaveLength(3);
    const none = await camino(["audit", "--config", agent.configFile, "--peer", "domain-y", "-o", "json"]);
    expect(none).toMatchObject({ code: 0, stdout: "" });
  });

  it("keeps tokens and credentials out of every audit file", async () => {
    expect(tokens).toHaveLength(2);
    const dir = join(agent.dir, "data", "audit");
    const files = readdirSync(dir);
    expect(files).toContain("audit.log");
    for (const f of files) {
      const text = readFileSync(join(dir, f), "utf8");
      for (const secret of [...tokens, CREDENTIALS, "git.example"]) expect(text, f).not.toContain(secret);
      // Not even a piece of a token (a record's strings are cut at 256 characters): no part of any JWT, and
      // nothing that starts like one (every JWT's header begins "eyJ", base64url of '{"').
      for (const t of tokens) for (const part of t.split(".")) expect(text, f).not.toContain(part.slice(0, 16));
      expect(text, f).not.toContain("eyJ");
      expect(text, f).not.toMatch(/bearer/i);
    }
  });

  it("refuses a bad flag, and names a missing log", async () => {
    const bad = await camino(["audit", "--config", agent.configFile, "--since", "5 minutes"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since");
    expect((await camino(["audit", "--config", agent.configFile, "-o", "xml"])).code).toBe(2);
    expect((await camino(["audit"])).stderr).toContain("give --data-dir or --config");
    const missing = await camino(["audit", "--data-dir", join(agent.dir, "no-such-dir")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("no audit log");
  });
});
