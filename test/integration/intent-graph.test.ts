/**
 * `camino intent graph` as a user runs it: the DOT output through Debian's real Graphviz (`dot -Tsvg`, installed
 * by the global setup), and the compiled CLI against a real agent process, for an intent file (planned by the
 * agent) and for a deployed intent (read back by name, with its packages' states).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildChainGraph, type PackagePlacement } from "../../agent/graph/chain-graph.js";
import { renderDot } from "../../agent/graph/render-dot.js";
import { parseIntentText } from "../../agent/intent/load.js";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with `input` on stdin, in its own process group, and waits for it to exit. */
function run(command: string, args: string[], input?: string, env?: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env["PATH"] ?? "", ...env }, detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

const camino = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
  run(process.execPath, [CAMINO, ...args], stdin, env);

const chainFile = join(ROOT, "test", "fixtures", "intents", "graph-chain.yaml");
const paperChain = join(ROOT, "scenarios", "paper-chain.yaml");
const tmp = mkdtempSync(join(tmpdir(), "camino-graph-"));

/** Every value of attribute `attr` in the SVG text. */
const attrValues = (svg: string, attr: string) =>
  [...svg.matchAll(new RegExp(`${attr}="([^"]*)"`, "g"))].map((m) => m[1]);

describe("the DOT output under Graphviz", () => {
  it("renders with dot -Tsvg, without an error or warning, every package, endpoint and link in it", async () => {
    const intent = parseIntentText(readFileSync(chainFile, "utf8"));
    const placements: PackagePlacement[] = [
      { package: "ingress", domain: "domain-x", edge: "edge-1" },
      { package: "upf", domain: "domain-x", edge: "edge-1" },
      { package: "smf", domain: "domain-x", edge: "edge-2" },
      { package: "analytics", domain: "domain-y", edge: "edge-3" },
      { package: "sink", domain: "domain-x", edge: "edge-2" },
      { package: "pcrf", domain: "domain-x" },
      { package: "db", domain: "domain-y" },
      { package: "audit", domain: "domain-x", edge: "edge-1" },
    ];
    const graph = buildChainGraph({
      intent,
      placements,
      states: new Map([["upf", "FAILED"]]),
      source: "deployment",
    });
    const res = await run("dot", ["-Tsvg"], renderDot(graph));
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(XMLValidator.validate(res.stdout)).toBe(true);
    // Graphviz titles each node with its id and each edge with "from->to", escaping "-" as &#45;.
    const gv = (text: string) =>
      text.replace(/&/g, "&amp;").replace(/-/g, "&#45;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    for (const p of graph.packages) expect(res.stdout).toContain(`<title>${gv(p.name)}</title>`);
    for (const x of graph.externals) expect(res.stdout).toContain(`<title>${gv(x.id)}</title>`);
    for (const l of graph.links) {
      expect(res.stdout).toContain(`<title>${gv(`${l.from}->${l.to}`)}</title>`);
      expect(res.stdout).toContain(`>${gv(l.label)}</text>`);
    }
    for (const title of ["domain domain-x", "domain domain-y", "edge edge-1", "edge edge-2", "edge edge-3"])
      expect(res.stdout).toContain(`>${gv(title)}</text>`);
  });
});

describe("camino intent graph against an agent", () => {
  let agent: AgentProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    agent = await startAgentProcess();
    env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: await agent.token(["intents:write", "intents:read"]) };
  });
  afterAll(async () => {
    await agent.stop();
  });

  it("draws an intent file with the agent's placement, as SVG on stdout", async () => {
    const res = await camino(["intent", "graph", paperChain], env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(XMLValidator.validate(res.stdout)).toBe(true);
    expect(attrValues(res.stdout, "data-package").sort()).toEqual(["cnf1", "cnf2", "cnf3", "cnf4"]);
    // The agent placed cnf3 in the peer domain named by the intent, and the others on this domain's edges.
    expect(attrValues(res.stdout, "data-domain").sort()).toEqual(["domain-x", "domain-y"]);
    expect(attrValues(res.stdout, "data-edge").sort()).toEqual(["domain-x/edge-1", "domain-x/edge-2"]);
    expect(attrValues(res.stdout, "data-kind")).toEqual(["intra-edge", "cross-domain", "inter-edge"]);
    // This agent has no edge to deploy on, so its plan admits nothing, and the picture says so.
    expect(new Set(attrValues(res.stdout, "data-state"))).toEqual(new Set(["NOT_ADMITTED"]));
  });

  it("writes DOT or Mermaid to a file, the format from --format or the file's extension", async () => {
    const dot = join(tmp, "chain.gv");
    const res = await camino(["intent", "graph", paperChain, "-o", dot], env);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`wrote ${dot}: 4 packages, 3 links (dot)`);
    expect(readFileSync(dot, "utf8")).toMatch(/^digraph "paper-chain" \{/);
    const mmd = await camino(["intent", "graph", "-", "--format", "mermaid"], env, readFileSync(paperChain, "utf8"));
    expect(mmd.code).toBe(0);
    expect(mmd.stdout).toMatch(/^flowchart LR$/m);
    expect(mmd.stdout.match(/-->\|/g)).toHaveLength(3);
  });

  it("draws a deployed intent by name, each package with its state", async () => {
    const file = join(tmp, "two.yaml");
    const intent = `apiVersion: camino.io/v1
kind: DeploymentIntent
metadata: {name: two}
spec:
  packages:
    - {name: web, blueprint: nginx-ingress, placement: {edge: edge-1}}
    - {name: sink, blueprint: traffic-sink, after: [web], placement: {edge: edge-2}}
  links:
    - {from: web, to: sink, port: 5201, protocol: tcp}
`;
    writeFileSync(file, intent);
    // No edge is reachable, so the deployment settles ROLLED_BACK; what matters is that it exists.
    const submitted = await camino(["intent", "submit", file, "--watch"], env);
    expect(submitted.stdout).toContain("ROLLED_BACK");
    const get = await camino(["intent", "get", "two", "-o", "json"], env);
    const recorded = JSON.parse(get.stdout) as { packages: { package: string; state: string; edge: string }[] };

    const res = await camino(["intent", "graph", "two", "--format", "mermaid"], env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('title: "two (deployment)"');
    expect(res.stdout).toMatch(/^\s*pkg_web -->\|"inter-edge 5201\/tcp"\| pkg_sink$/m);
    for (const p of recorded.packages) {
      const state = p.state.replace("DEPLOYMENT_STATE_", "");
      expect(res.stdout).toMatch(new RegExp(`pkg_${p.package}\\["${p.package}<br/>[^"]*· ${state}"\\]`));
      expect(res.stdout).toMatch(new RegExp(`class [^\\n]*pkg_${p.package}[^\\n]* state_${state.toLowerCase()}`));
    }
    expect(recorded.packages.map((p) => p.package).sort()).toEqual(["sink", "web"]);
  });

  it("exits 3 for an unknown intent or an unreadable file, and 2 for an unknown format", async () => {
    const unknown = await camino(["intent", "graph", "nothing-here"], env);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("nothing-here");
    expect(unknown.stdout).toBe("");
    const missing = await camino(["intent", "graph", join(tmp, "missing.yaml")], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`cannot read ${join(tmp, "missing.yaml")} (ENOENT)`);
    const format = await camino(["intent", "graph", paperChain, "--format", "png"], env);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format must be svg, dot or mermaid (is "png")');
    const nowhere = await camino(["intent", "graph", paperChain, "-o", join(tmp, "no", "such", "dir.svg")], env);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("cannot write");
  });
});
