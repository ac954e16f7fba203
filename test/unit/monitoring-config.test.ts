/** The `monitoring` config section's sources, admission and policy: defaults, paths, and every bad value named. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../agent/config/config.js";
import { ConfigError } from "../../agent/errors.js";

const base = { domain: { id: "domain-x" }, auth: { signingKeyFile: "keys/k.jwk" } };

function issues(monitoring: unknown): string[] {
  try {
    parseConfig({ ...base, monitoring }, { baseDir: "/etc/camino" });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe("the monitoring section", () => {
  it("defaults to the direct scrape every 15 s, admission on Kubernetes figures, detail only by scope", () => {
    const m = parseConfig(base, { baseDir: "/etc/camino" }).monitoring;
    expect(m).toMatchObject({
      source: "scrape",
      intervalMs: 15_000,
      timeoutMs: 5_000,
      scrape: [],
      admission: { capacity: "kubernetes", fallback: "kubernetes", maxAgeMs: 60_000 },
      policy: { northbound: "scoped", peers: "aggregates" },
    });
    expect(m.prometheus).toBeUndefined();
  });

  it("reads a Prometheus source with auth files resolved against the config's folder, and scrape endpoints", () => {
    const m = parseConfig(
      {
        ...base,
        monitoring: {
          source: "prometheus",
          interval: "5s",
          prometheus: {
            url: "https://thanos:9090",
            rateWindow: "2m",
            basicAuth: { username: "u", passwordFile: "p.txt" },
          },
          scrape: {
            edges: [
              {
                edge: "edge-1",
                kubeStateMetrics: "http://k:8080/metrics",
                cadvisor: "http://c/metrics/cadvisor",
                bearerTokenFile: "t",
              },
            ],
          },
          admission: { capacity: "stricter", fallback: "refuse", maxAge: "30s" },
          policy: { northbound: "aggregates", peers: "none" },
        },
      },
      { baseDir: "/etc/camino" },
    ).monitoring;
    expect(m.prometheus).toEqual({
      url: "https://thanos:9090",
      edgeLabel: "edge",
      rateWindow: "2m",
      basicAuth: { username: "u", passwordFile: "/etc/camino/p.txt" },
    });
    expect(m.scrape[0]?.bearerTokenFile).toBe("/etc/camino/t");
    expect(m.intervalMs).toBe(5000);
    expect(m.admission).toEqual({ capacity: "stricter", fallback: "refuse", maxAgeMs: 30_000 });
    expect(m.policy).toEqual({ northbound: "aggregates", peers: "none" });
  });

  it("names every bad value by its path", () => {
    expect(issues({ source: "thanos" })).toEqual(['monitoring.source: "thanos" is not one of scrape, prometheus']);
    expect(issues({ source: "prometheus" })).toEqual(["monitoring.prometheus: is required with source: prometheus"]);
    expect(issues({ prometheus: { url: "ftp://x" } })[0]).toMatch(/^monitoring\.prometheus\.url: /);
    expect(issues({ prometheus: { url: "http://x", rateWindow: "1 minute" } })[0]).toMatch(
      /^monitoring\.prometheus\.rateWindow: .*PromQL duration/,
    );
    expect(
      issues({
        prometheus: { url: "http://x", bearerTokenFile: "a", basicAuth: { username: "u", passwordFile: "p" } },
      }),
    ).toEqual(["monitoring.prometheus: give bearerTokenFile or basicAuth, not both"]);
    expect(issues({ admission: { capacity: "prometheus" } })[0]).toMatch(/^monitoring\.admission\.capacity: /);
    expect(issues({ policy: { peers: "detail" } })[0]).toMatch(/^monitoring\.policy\.peers: /);
    const twice = { edge: "edge-1", kubeStateMetrics: "http://k/metrics", cadvisor: "http://c/metrics/cadvisor" };
    expect(issues({ scrape: { edges: [twice, twice] } })).toEqual([
      'monitoring.scrape.edges[1].edge: "edge-1" is listed twice',
    ]);
  });
});
