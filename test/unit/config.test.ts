/** The agent config: defaults, relative paths, environment overrides, and every bad value named. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../agent/config/config.js";
import { ConfigError } from "../../agent/errors.js";

/** A config document from test/fixtures/config. */
function fixture(name: string): unknown {
  return parseYaml(readFileSync(new URL(`../fixtures/config/${name}`, import.meta.url), "utf8"));
}

function issues(doc: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(doc, { baseDir: "/etc/camino", env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe("parseConfig", () => {
  it("fills every section's defaults and resolves paths against the config's folder", () => {
    const c = parseConfig(fixture("minimal.yaml"), { baseDir: "/etc/camino" });
    expect(c.domain).toEqual({ id: "domain-x", dataDir: "/etc/camino/.camino/domain-x" });
    expect(c.server).toEqual({
      grpc: { host: "127.0.0.1", port: 50051 },
      http: { host: "127.0.0.1", port: 8080 },
      shutdownGraceSeconds: 10,
      maxMessageBytes: 4 * 1024 * 1024,
    });
    expect(c.auth).toEqual({
      signingKeyFile: "/etc/camino/keys/k.jwk",
      audience: "domain-x",
      clockToleranceSeconds: 30,
      maxTokenLifetimeSeconds: 86_400,
      externalIssuers: [],
    });
    expect(c.log).toEqual({ level: "info", format: "json" });
    expect(c.limits).toMatchObject({ maxBytes: 1024 * 1024, maxPackages: 500, maxLinks: 2000 });
    expect(c.lifecycle).toEqual({
      defaultTimeoutMs: 300_000,
      pollMs: 200,
      cleanupTimeoutMs: 60_000,
      capacityMaxAgeMs: 250,
      maxConcurrentRuns: 32,
      healGraceMs: 60_000,
    });
    expect(c.repositories).toEqual([]);
    expect(c.edges).toEqual([]);
  });

  it("takes environment overrides, typed", () => {
    const c = parseConfig(fixture("minimal.yaml"), {
      baseDir: "/",
      env: { CAMINO_GRPC_PORT: "6000", CAMINO_LOG_LEVEL: "debug", CAMINO_DOMAIN_ID: "domain-q" },
    });
    expect(c.server.grpc.port).toBe(6000);
    expect(c.log.level).toBe("debug");
    expect(c.domain.id).toBe("domain-q");
  });

  it("names each bad value, and the variable for values from the environment", () => {
    expect(issues(fixture("bad-values.yaml"), { CAMINO_HTTP_PORT: "99999" })).toEqual([
      `domain.id: "x_y" must consist of lower-case letters, digits and '-' (found "_")`,
      "server.grpc.tls.keyFile: is required",
      "server.grpc.tls.requireClientCert: needs tls.clientCaFile to check client certificates against",
      "CAMINO_HTTP_PORT (server.http.port): must be between 0 and 65535 (is 99999)",
      "auth.signingKeyFile: is required",
    ]);
  });

  it("refuses external issuers without exactly one key source", () => {
    expect(issues(fixture("bad-issuers.yaml"))).toEqual([
      "auth.externalIssuers[0]: give exactly one of jwks, jwksFile and jwksUrl",
      'auth.externalIssuers[1].jwksUrl: "ftp://x" must be an http(s) URL',
      "auth.externalIssuers[1]: give exactly one of jwks, jwksFile and jwksUrl",
      "auth.externalIssuers[1].jwks: must be a JWKS with a non-empty keys list",
    ]);
  });

  it("refuses the same port for both listeners, and a document that is not a mapping", () => {
    expect(issues(fixture("same-port.yaml"))).toEqual(["server.http.port: 7000 is already the gRPC port"]);
    expect(issues(fixture("not-a-mapping.yaml"))[0]).toBe(": the configuration must be a YAML mapping");
  });
});

describe("loadConfig", () => {
  const at = (name: string) => fileURLToPath(new URL(`../fixtures/config/jwks-file/${name}`, import.meta.url));

  it("reads the JWKS file an external issuer names, relative to the config file", async () => {
    const c = await loadConfig(at("domain.yaml"), {});
    const jwks = JSON.parse(readFileSync(at("portal.jwks.json"), "utf8"));
    expect(c.auth.externalIssuers).toEqual([{ issuer: "https://portal.example", audience: "domain-x", jwks }]);
  });

  it("names a JWKS file it cannot read", async () => {
    const err = await loadConfig(at("missing.yaml"), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: "auth.externalIssuers[0].jwksFile", message: "gone.jwks.json cannot be read as a JWKS" },
    ]);
  });
});

describe("config sections", () => {
  it("auth: an external issuer without an audience takes the section's", () => {
    const c = parseConfig(fixture("issuers.yaml"), { baseDir: "/etc/camino" });
    expect(c.auth.externalIssuers.map((i) => [i.issuer, i.audience])).toEqual([
      ["https://portal.example", "camino-x"],
      ["https://orchestrator.example", "orch"],
    ]);
  });

  it("repositories: a repository without a URL lives under the data directory, on branch main", () => {
    const c = parseConfig(fixture("repositories.yaml"), { baseDir: "/etc/camino" });
    expect(c.repositories).toEqual([
      {
        name: "catalogue",
        role: "blueprint",
        url: "/var/lib/camino/repos/catalogue",
        branch: "main",
        seedFrom: "/etc/blueprints",
      },
      { name: "edge-1-deploy", role: "deployment", edge: "edge-1", url: "/etc/camino/repos/edge-1", branch: "main" },
      {
        name: "edge-2-deploy",
        role: "deployment",
        edge: "edge-2",
        url: "https://git.example/org/edge-2.git",
        branch: "live",
        credentialsFile: "/etc/camino/secrets/edge-2.token",
      },
    ]);
  });

  it("edges: the per-call timeout defaults to 10 s, labels to none; files resolve against the config", () => {
    const c = parseConfig(fixture("edges.yaml"), { baseDir: "/etc/camino" });
    expect(c.edges).toEqual([
      {
        name: "edge-1",
        server: "https://10.0.0.10:6443",
        caFile: "/etc/camino/edge-1/ca.pem",
        tokenFile: "/etc/camino/edge-1/token",
        labels: {},
        timeoutMs: 10_000,
      },
      {
        name: "edge-2",
        kubeconfig: { file: "/etc/camino/kube/config", context: "edge-2" },
        labels: { zone: "north", rack: "7" },
        repository: "edge-2-deploy",
        timeoutMs: 2500,
        syncPeriod: "500ms",
      },
    ]);
  });

  it("names a bad value of every section by its path", () => {
    expect(issues(fixture("bad-sections.yaml"))).toEqual([
      'domain.endpoint: "ftp://camino.example" must be an http(s) URL',
      'log.format: "xml" is not one of json, text',
      "limits.maxPackages: must be between 1 and 500 (is 0)",
      "lifecycle.pollMs: must be between 10 and 60000 (is 5)",
      "repositories[0].edge: is required for a deployment repository",
      "repositories[1].edge: only a deployment repository serves an edge",
      'repositories[1].name: "edge-1-deploy" is used twice',
      "edges[0]: give kubeconfig or server",
      "edges[1].timeoutMs: must be between 100 and 600000 (is 50)",
      'edges[1].syncPeriod: "15" must be a duration such as "15s" or "500ms"',
      "edges[2].kubeconfig.context: must be a string, not an integer",
      `edges[2].labels["zone!"]: key "zone!" must consist of letters, digits, '-', '_' and '.' (found "!")`,
      "edges[2].labels.tier: must be a string, number or boolean, not an object",
      "edges[2].kubeconfig.file: is required",
    ]);
  });
});
