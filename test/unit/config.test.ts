/** The agent config: defaults, relative paths, environment overrides, and every bad value named. */
import { describe, expect, it } from "vitest";
import { parseConfig, DEFAULTS } from "../../agent/config/config.js";
import { ConfigError } from "../../agent/errors.js";

const minimal = { domain: { id: "domain-x" }, auth: { signingKeyFile: "keys/k.jwk" } };

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
  it("fills defaults and resolves paths against the config's folder", () => {
    const c = parseConfig(minimal, { baseDir: "/etc/camino" });
    expect(c.server.grpc).toEqual({ host: DEFAULTS.grpcHost, port: DEFAULTS.grpcPort });
    expect(c.server.http.port).toBe(DEFAULTS.httpPort);
    expect(c.auth.signingKeyFile).toBe("/etc/camino/keys/k.jwk");
    expect(c.auth.audience).toBe("domain-x");
    expect(c.domain.dataDir).toBe("/etc/camino/.camino/domain-x");
    expect(c.log).toEqual({ level: "info", format: "json" });
    expect(c.limits.maxPackages).toBe(500);
  });

  it("takes environment overrides, typed", () => {
    const c = parseConfig(minimal, {
      baseDir: "/",
      env: { CAMINO_GRPC_PORT: "6000", CAMINO_LOG_LEVEL: "debug", CAMINO_DOMAIN_ID: "domain-q" },
    });
    expect(c.server.grpc.port).toBe(6000);
    expect(c.log.level).toBe("debug");
    expect(c.domain.id).toBe("domain-q");
  });

  it("names each bad value, and the variable for values from the environment", () => {
    expect(
      issues(
        { domain: { id: "x_y" }, auth: {}, server: { grpc: { tls: { certFile: "c.pem", requireClientCert: true } } } },
        { CAMINO_HTTP_PORT: "99999" },
      ),
    ).toEqual([
      `domain.id: "x_y" must consist of lower-case letters, digits and '-' (found "_")`,
      "server.grpc.tls.keyFile: is required",
      "server.grpc.tls.requireClientCert: needs tls.clientCaFile to check client certificates against",
      "CAMINO_HTTP_PORT (server.http.port): must be between 0 and 65535 (is 99999)",
      "auth.signingKeyFile: is required",
    ]);
  });

  it("refuses external issuers without exactly one key source", () => {
    expect(
      issues({
        ...minimal,
        auth: {
          ...minimal.auth,
          externalIssuers: [{ issuer: "p" }, { issuer: "q", jwksUrl: "ftp://x", jwks: { keys: [] } }],
        },
      }),
    ).toEqual([
      "auth.externalIssuers[0]: give exactly one of jwks, jwksFile and jwksUrl",
      'auth.externalIssuers[1].jwksUrl: "ftp://x" must be an http(s) URL',
      "auth.externalIssuers[1]: give exactly one of jwks, jwksFile and jwksUrl",
      "auth.externalIssuers[1].jwks: must be a JWKS with a non-empty keys list",
    ]);
  });

  it("refuses the same port for both listeners, and a document that is not a mapping", () => {
    expect(issues({ ...minimal, server: { grpc: { port: 7000 }, http: { port: 7000 } } })).toEqual([
      "server.http.port: 7000 is already the gRPC port",
    ]);
    expect(issues("just text")[0]).toBe(": the configuration must be a YAML mapping");
  });
});
