/**
 * The operator's CLI as people and scripts run it: real `camino` processes against a real agent and one emulated
 * edge. On a terminal (a pseudo-terminal from util-linux `script`) `intent submit --watch` redraws its table in
 * place and ends on every package READY; in a pipe it prints one plain line per change, with no control
 * characters; a watch's exit code says READY (0), ROLLED_BACK (8), DEGRADED (9), TERMINATED (0) or interrupted
 * (130); `-o json|yaml` parse.
 */
import { execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEmulatorProcess, type EmulatorProcess } from "../helpers/emulator-process.js";

/** ANSI: cursor to the start of a line n up (CPL), and a colour (SGR). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the terminal's escapes is the point
const CPL = /\u001b\[\d+F/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the terminal's escapes is the point
const SGR = /\u001b\[\d+m/g;

let edge: EmulatorProcess;
let agent: AgentProcess;
let env: Record<string, string>;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

beforeAll(async () => {
  edge = await startEmulatorProcess({ name: "edge-1", podStartDelayMs: 100 });
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
  env = {
    PATH: process.env["PATH"] ?? "",
    CAMINO_SERVER: agent.grpcUrl,
    CAMINO_TOKEN: await agent.token(["intents:write", "intents:read"]),
  };
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await edge?.stop();
});

/** An intent of two packages in two waves on edge-1. */
function intentFile(name: string, cpu = "50m"): string {
  const file = join(agent.dir, `${name}.yaml`);
  const pkg = (p: string, after: string[]) =>
    `    - {name: ${p}, blueprint: traffic-sink, replicas: 1, resources: {cpu: "${cpu}", memory: 32Mi}, placement: {edge: edge-1}${after.length ? `, after: [${after.join(",")}]` : ""}}\n`;
  writeFileSync(
    file,
    `apiVersion: camino.io/v1\nkind: DeploymentIntent\nmetadata: {name: ${name}}\nspec:\n  packages:\n${pkg("front", [])}${pkg("back", ["front"])}`,
  );
  return file;
}

function camino(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { ...env, ...extraEnv }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The CLI on a pseudo-terminal: `script -qfec CMD /dev/null` (util-linux), whose exit code is the command's. */
function caminoOnTerminal(args: string[]): Promise<Result> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CAMINO, ...args].map(quote).join(" ");
  return new Promise((resolve) => {
    execFile(
      "script",
      ["-qfec", command, "/dev/null"],
      { env: { ...env, TERM: "xterm" }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Polls `camino intent get NAME -o json` until its state is `state`. */
async function untilState(name: string, state: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = "";
  while (Date.now() < deadline) {
    const got = await camino(["intent", "get", name, "-o", "json"]);
    last = got.code === 0 ? (JSON.parse(got.stdout) as { state: string }).state : got.stderr;
    if (last === `DEPLOYMENT_STATE_${state}`) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} not ${state} within 20 s (last ${last})`);
}

it("on a terminal, submit --watch redraws a table grouped by wave in place and ends on every package READY (exit 0); terminate --watch exits 0 on TERMINATED", async () => {
  const res = await caminoOnTerminal(["intent", "submit", intentFile("live"), "--watch"]);
  expect(res.code, res.stdout).toBe(0);
  // Redrawn in place: the cursor goes back up over the previous frame (CPL), lines are cleared before rewriting.
  expect(res.stdout).toMatch(CPL);
  expect(res.stdout).toContain("\u001b[2K");
  // The last frame, as the terminal shows it (the pty turns \n into \r\n).
  const frames = res.stdout.split("\u001b[J");
  const last = (frames[frames.length - 2] ?? "").split(CPL).pop() ?? "";
  const screen = last.split("\u001b[2K").join("").replace(SGR, "").replace(/\r/g, "").trimEnd().split("\n");
  expect(screen[0]).toMatch(/^intent live revision 1 {2}READY {2}\d/);
  expect(screen.slice(1).map((l) => l.replace(/ {2,}/g, "|"))).toEqual([
    "wave 1|1/1 ready",
    expect.stringMatching(/^\|front\|READY\|edge-1\|[\d.]+m?s\|workloads available on edge-1$/),
    "wave 2|1/1 ready",
    expect.stringMatching(/^\|back\|READY\|edge-1\|[\d.]+m?s\|workloads available on edge-1$/),
  ]);
  expect(res.stdout).toMatch(/live: READY in [\d.]+ s/);

  const term = await camino(["intent", "terminate", "live", "--watch"]);
  expect(term.code, term.stderr).toBe(0);
  expect(term.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} intent live TERMINATED - \(/m);
});

it("in a pipe, one plain line per change and no control characters; -o json and yaml parse; DEGRADED at the end of a watch is exit 9, Ctrl-C 130", async () => {
  const res = await camino(["intent", "submit", intentFile("plain"), "--watch"]);
  expect(res.code, res.stderr).toBe(0);
  for (let i = 0; i < res.stdout.length; i++) {
    const c = res.stdout.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) throw new Error(`control character ${c} at ${i} in ${JSON.stringify(res.stdout)}`);
  }
  const [first, ...lines] = res.stdout.trimEnd().split("\n");
  expect(first).toBe("deployment plain.1 (intent plain, revision 1) submitted");
  const event =
    /^\d\d:\d\d:\d\d\.\d{3} (wave \d+ (front|back)|intent plain) [A-Z_]+ (edge-1|-) \((-|[\d.]+m?s)\)( .+)?$/;
  for (const line of lines) expect(line).toMatch(event);
  // One line per change: no line repeats an earlier one's subject, state and reason (time and elapsed aside).
  const change = (l: string) => l.replace(/^\S+ /, "").replace(/ \((-|[\d.]+m?s)\)/, "");
  expect(new Set(lines.map(change)).size).toBe(lines.length);
  expect(lines).toContainEqual(expect.stringMatching(/ wave 1 front COMMITTED edge-1 \([\d.]+m?s\) /));
  expect(lines).toContainEqual(expect.stringMatching(/ wave 2 back READY edge-1 /));
  expect(lines[lines.length - 1]).toMatch(/ intent plain READY - \([\d.]+m?s\) /);
  expect(res.stderr).toMatch(/^plain: READY in [\d.]+ s\n$/);

  const json = await camino(["intent", "watch", "plain", "-o", "json"]);
  expect(json.code, json.stderr).toBe(0);
  const events = json.stdout
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { package: string; state: string });
  expect(events.find((e) => e.package === "")?.state).toBe("DEPLOYMENT_STATE_READY");
  const yaml = await camino(["intent", "ls", "-o", "yaml"]);
  expect(parse(yaml.stdout)).toContainEqual(expect.objectContaining({ intent: "plain", revision: "1" }));

  // Its pods never ready: DEGRADED; a watch that ends there exits 9.
  await edge.faults({ unavailable: ["plain/back"] });
  await untilState("plain", "DEGRADED");
  const degraded = await camino(["intent", "watch", "plain"]);
  expect(degraded.code, degraded.stderr).toBe(9);
  expect(degraded.stdout).toMatch(
    / wave 2 back DEGRADED edge-1 \([\d.]+m?s\) Deployment\/back 0\/1 available on edge-1$/m,
  );
  expect(degraded.stderr).toMatch(/^plain: DEGRADED: /);

  // Ctrl-C while following: 130, and the intent goes on.
  const child = spawn(process.execPath, [CAMINO, "intent", "watch", "plain", "--follow"], { env });
  let out = "";
  let interrupted = false;
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
    // Once: a second Ctrl-C ends a watch the hard way (as it should), and output after the first would send one.
    if (!interrupted && out.includes("intent plain DEGRADED")) {
      interrupted = true;
      child.kill("SIGINT");
    }
  });
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  expect(code).toBe(130);
});

it("a run that fails is ROLLED_BACK: submit --watch exits 8 naming the cause", async () => {
  // More CPU than the edge has: admission refuses it, and the run ends ROLLED_BACK.
  const res = await camino(["intent", "submit", intentFile("broken", "64"), "--watch"]);
  expect(res.code, res.stderr).toBe(8);
  expect(res.stdout).toMatch(/ wave 1 front FAILED edge-1 \(.+\) .*cpu/i);
  expect(res.stdout).toMatch(/ intent broken ROLLED_BACK - /);
  expect(res.stderr).toMatch(/^broken: ROLLED_BACK: .+/);
});
