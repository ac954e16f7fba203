/**
 * One answer whatever the surface, through real processes: the `camino` CLI refuses a bad intent file before it sends
 * anything, with the message a running agent's API gives when a client without checks of its own (curl, Connect
 * JSON) sends the same document.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const fixture = (name: string): string => join(ROOT, "test", "fixtures", "intents", name);

/** Nothing listens here: a CLI that tried to send would exit 5 (unreachable), not 3 (invalid). */
const NOWHERE = "http://127.0.0.1:1";

describe("a bad intent on every surface", () => {
  let agent: AgentProcess;
  let token: string;
  beforeAll(async () => {
    agent = await startAgentProcess();
    token = await agent.token(["intents:write"]);
  });
  afterAll(async () => {
    await agent.stop();
  });

  /** The agent's answer to PlanIntent with the document as the JSON of a Connect request, from curl. */
  async function planOverJson(file: string): Promise<unknown> {
    const body = JSON.stringify({ intent: parseYaml(readFileSync(file, "utf8")) });
    const res = await run("curl", [
      "-sS",
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${token}`,
      "--data-binary",
      body,
      `${agent.httpUrl}/camino.v1.DomainManager/PlanIntent`,
    ]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  }

  it.each([
    ["link-port-null.yaml", "spec.links[0].port: is required"],
    ["external-port-null.yaml", "spec.links[0].external.port: is required"],
  ])("%s: the CLI refuses it before sending, in the API's words", async (name, issue) => {
    const api = await planOverJson(fixture(name));
    expect(api).toEqual({ code: "invalid_argument", message: `invalid intent: ${issue}` });
    const cli = await run(process.execPath, [CAMINO, "intent", "plan", fixture(name)], {
      CAMINO_SERVER: NOWHERE,
      CAMINO_TOKEN: token,
    });
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toBe(`camino intent plan: invalid intent: ${issue}\n`);
  });

  it("cpu-empty.yaml: the CLI refuses the empty quantity before sending, naming its path", async () => {
    const cli = await run(process.execPath, [CAMINO, "intent", "submit", fixture("cpu-empty.yaml")], {
      CAMINO_SERVER: NOWHERE,
      CAMINO_TOKEN: token,
    });
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toBe(
      'camino intent submit: invalid intent: spec.packages[0].resources.cpu: must not be empty: "" is not a Kubernetes quantity; to give none, leave the field out\n',
    );
  });
});
