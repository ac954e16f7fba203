/**
 * The `camino` command line as a script uses it: real processes, real agent, stdout/stderr and exit codes.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAMINO, ROOT, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function camino(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CAMINO, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const paperChain = join(ROOT, "scenarios", "paper-chain.yaml");
const tmp = mkdtempSync(join(tmpdir(), "camino-cli-"));

describe("camino keys and token", () => {
  it("generates a key with a private file only its owner can read, and refuses to overwrite it", async () => {
    const keyFile = join(tmp, "k1", "signing-key.jwk");
    const first = await camino(["keys", "generate", "--key-file", keyFile]);
    expect(first.code).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(readFileSync(join(tmp, "k1", "signing-key.jwks.json"), "utf8"));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(jwks.keys[0].d).toBeUndefined();
    const again = await camino(["keys", "generate", "--key-file", keyFile]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain("exists; pass --force");
    expect((await camino(["keys", "generate", "--key-file", keyFile, "--alg", "ES256", "--force"])).code).toBe(0);
    expect(JSON.parse(readFileSync(keyFile, "utf8"))).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
  });

  it("mints a northbound token with the scopes asked for", async () => {
    const keyFile = join(tmp, "k2", "key.jwk");
    await camino(["keys", "generate", "--key-file", keyFile]);
    const res = await camino([
      "token",
      "--key-file",
      keyFile,
      "--issuer",
      "domain-z",
      "--scope",
      "intents:read,catalogue:read",
      "--scope",
      "monitoring:read",
      "--ttl",
      "15m",
      "--subject",
      "alice",
    ]);
    expect(res.code).toBe(0);
    const token = res.stdout.trim();
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: "camino-nb+jwt", alg: "EdDSA" });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: "domain-z",
      aud: "domain-z",
      sub: "alice",
      scope: "intents:read catalogue:read monitoring:read",
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(res.stderr).toBe("");
  });

  it("refuses unknown scopes and flags as usage errors (exit 2)", async () => {
    const keyFile = join(tmp, "k2", "key.jwk");
    const bad = await camino(["token", "--key-file", keyFile, "--issuer", "d", "--scope", "everything"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown scope everything");
    const flag = await camino(["token", "--frobnicate"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--frobnicate");
    expect((await camino(["nonsense"])).code).toBe(2);
    expect((await camino(["intent"])).stderr).toContain("give a subcommand: plan");
  });

  it("prints help for every command", async () => {
    for (const cmd of [
      [],
      ["agent"],
      ["keys", "generate"],
      ["token"],
      ["intent", "plan"],
      ["health"],
      ["catalogue"],
      ["repo", "ls"],
      ["repo", "add"],
      ["repo", "rm"],
    ]) {
      const res = await camino([...cmd, "--help"]);
      expect(res.code, cmd.join(" ")).toBe(0);
      expect(res.stdout).toMatch(/Usage: camino/);
    }
  });
});

describe("camino agent configuration errors", () => {
  it("names every bad value, and the environment variable that set it (exit 3)", async () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(
      file,
      "domain: {id: Domain_X}\nserver: {grpc: {port: 70000}, colour: blue}\nauth: {}\nlog: {level: loud}\n",
    );
    const res = await camino(["agent", "--config", file], { CAMINO_HTTP_PORT: "eighty" });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`domain.id: "Domain_X" must consist of lower-case letters`);
    expect(res.stderr).toContain("server.grpc.port: must be between 0 and 65535 (is 70000)");
    expect(res.stderr).toContain("server.colour: unknown field");
    expect(res.stderr).toContain("auth.signingKeyFile: is required");
    expect(res.stderr).toContain(`log.level: "loud" is not one of debug, info, warn, error`);
    expect(res.stderr).toContain(`CAMINO_HTTP_PORT (server.http.port): must be an integer, not a string "eighty"`);
  });

  it("says when the config file or the signing key is missing", async () => {
    const missing = await camino(["agent", "--config", join(tmp, "nope.yaml")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("cannot read");
    const file = join(tmp, "nokey.yaml");
    writeFileSync(
      file,
      "domain: {id: domain-x}\nauth: {signingKeyFile: missing.jwk}\nserver: {grpc: {port: 0}, http: {port: 0}}\n",
    );
    const nokey = await camino(["agent", "--config", file]);
    expect(nokey.code).toBe(3);
    expect(nokey.stderr).toContain("does not exist (create it with `camino keys generate`)");
  });
});

describe("camino intent plan and health against an agent", () => {
  let agent: AgentProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    agent = await startAgentProcess();
    env = { CAMINO_SERVER: agent.grpcUrl, CAMINO_TOKEN: await agent.token(["intents:write"]) };
  });
  afterAll(async () => {
    await agent.stop();
  });

  it("prints the order and waves as a table", async () => {
    const res = await camino(["intent", "plan", paperChain], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("intent paper-chain: 4 packages in 3 waves, 33 files");
    const lines = res.stdout.trim().split("\n");
    const header = lines.findIndex((l) => l.startsWith("ORDER"));
    const rows = lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ["1", "1", "cnf1", "-", "edge edge-1", "edge-1-deploy", "5", "no"],
      ["2", "2", "cnf2", "cnf1", "edge edge-1", "edge-1-deploy", "5", "no"],
      ["3", "3", "cnf3", "cnf2", "domain domain-y", "-", "0", "no"],
      ["4", "3", "cnf4", "cnf2", "edge edge-2", "edge-2-deploy", "5", "no"],
    ]);
    expect(res.stdout).toContain("not admitted:");
    expect(res.stdout).toContain(
      'cnf1@edge-1 [placement] spec.packages[0].placement.edge: edge "edge-1" is unhealthy (no Kubernetes connection is configured for it',
    );
    // Every link, with the network objects each edge gets, and why the udp one gets NetworkPolicy only.
    expect(res.stdout).toMatch(/\nlinks \(2 network objects\):\nLINK +PLACEMENT +PROTOCOL +EDGE +OBJECTS\n/);
    expect(res.stdout).toMatch(/\ncnf1-cnf2-8805 +intra-edge +8805\/udp +edge-1 +NetworkPolicy,NetworkPolicy\n/);
    expect(res.stdout).toMatch(/\ncnf2-cnf3-8080 +cross-domain +8080\/grpc +- +-\n/);
    expect(res.stdout).toContain(
      "  cnf1-cnf2-8805: udp: Istio cannot carry udp, so this link gets NetworkPolicy rules only",
    );
  });

  it("prints JSON and YAML for scripts, and reads stdin", async () => {
    const json = await camino(["intent", "plan", paperChain, "-o", "json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      intent: "paper-chain",
      networkObjects: [
        { edge: "edge-1", link: "cnf1-cnf2-8805", kind: "NetworkPolicy", name: "cnf1-cnf2-8805-egress" },
        { edge: "edge-1", link: "cnf1-cnf2-8805", kind: "NetworkPolicy", name: "cnf1-cnf2-8805" },
      ],
      links: [
        { link: "cnf1-cnf2-8805", placement: "intra-edge", protocol: "udp", meshed: false, edges: ["edge-1"] },
        { link: "cnf2-cnf3-8080", placement: "cross-domain", protocol: "grpc", meshed: true, edges: [] },
        { link: "cnf2-cnf4-5201", placement: "inter-edge", protocol: "tcp", meshed: true, edges: [] },
      ],
      order: ["cnf1", "cnf2", "cnf3", "cnf4"],
      waves: [
        { index: 1, packages: ["cnf1"] },
        { index: 2, packages: ["cnf2"] },
        { index: 3, packages: ["cnf3", "cnf4"] },
      ],
    });
    const yaml = await camino(["intent", "plan", "-", "--output", "yaml"], env, readFileSync(paperChain, "utf8"));
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });

  it("exits 3 for an invalid intent, naming the field, without calling the agent", async () => {
    const file = join(tmp, "cycle.yaml");
    writeFileSync(
      file,
      "apiVersion: camino.io/v1\nkind: DeploymentIntent\nmetadata: {name: loop}\nspec:\n  packages:\n    - {name: a, blueprint: x, after: [b]}\n    - {name: b, blueprint: x, after: [a]}\n",
    );
    const res = await camino(["intent", "plan", file], { CAMINO_SERVER: "http://127.0.0.1:1" });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('spec.packages[0].after: the after lists form a cycle: "a" after "b" after "a"');
  });

  it("exits 4 when refused: no token, or a token without the scope", async () => {
    const none = await camino(["intent", "plan", paperChain], { CAMINO_SERVER: agent.grpcUrl });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain("missing authorization header");
    const tokenFile = join(tmp, "read-only.token");
    writeFileSync(tokenFile, await agent.token(["intents:read"]));
    const scoped = await camino(["intent", "plan", paperChain, "--server", agent.grpcUrl, "--token-file", tokenFile]);
    expect(scoped.code).toBe(4);
    expect(scoped.stderr).toContain("PlanIntent needs scope intents:write");
  });

  it("exits 5 when the agent cannot be reached", async () => {
    const res = await camino(["intent", "plan", paperChain], { ...env, CAMINO_SERVER: "http://127.0.0.1:1" });
    expect(res.code).toBe(5);
    const health = await camino(["health", "--server", "http://127.0.0.1:1", "--timeout", "2s"]);
    expect(health.code).toBe(5);
  });

  it("reports health without a token", async () => {
    const res = await camino(["health", "--server", agent.grpcUrl]);
    expect(res).toMatchObject({ code: 0, stdout: "SERVING\n" });
    const named = await camino(["health", "--server", agent.grpcUrl, "--service", "camino.v1.DomainManager"]);
    expect(named.stdout).toBe("SERVING\n");
  });
});
