/** Validation of intent documents: every bad intent is refused naming the field path; good ones are normalised. */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { IntentError } from "../../agent/errors.js";
import { intentDigest, intentFromMessage, intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import { validateIntent } from "../../agent/intent/validate.js";

// biome-ignore lint/suspicious/noExplicitAny: the table below writes deliberately wrong values at arbitrary depths
type Doc = Record<string, any>;

const VIDEO_CHAIN: Doc = parseYaml(
  readFileSync(new URL("../fixtures/intents/video-chain.yaml", import.meta.url), "utf8"),
);

/** A fresh copy of the valid intent in test/fixtures/intents/video-chain.yaml, for a row to break. */
function base(): Doc {
  return structuredClone(VIDEO_CHAIN);
}

function issuesOf(doc: unknown): { path: string; message: string }[] {
  try {
    validateIntent(doc);
  } catch (err) {
    if (err instanceof IntentError) return [...err.issues];
    throw err;
  }
  return [];
}

const deep = (levels: number): unknown => (levels === 0 ? "x" : { a: deep(levels - 1) });

/** [what, change to the base intent, the path of the issue it must raise, and that issue's whole message]. */
const BAD: [string, (d: Doc) => unknown, string, string][] = [
  ["document not an object", () => ["a"], "", "the document must be an object, not a list"],
  ["document is null", () => null, "", "the document must be an object, not null"],
  [
    "wrong apiVersion",
    (d) => ((d.apiVersion = "camino.io/v2"), d),
    "apiVersion",
    'must be "camino.io/v1" (is "camino.io/v2")',
  ],
  ["missing apiVersion", (d) => (delete d.apiVersion, d), "apiVersion", "is required"],
  ["wrong kind", (d) => ((d.kind = "Intent"), d), "kind", 'must be "DeploymentIntent" (is "Intent")'],
  [
    "unknown top-level field",
    (d) => ((d.status = {}), d),
    "status",
    "unknown field (allowed: apiVersion, kind, metadata, spec)",
  ],
  ["missing metadata", (d) => (delete d.metadata, d), "metadata.name", "is required"],
  [
    "upper-case intent name",
    (d) => ((d.metadata.name = "Video"), d),
    "metadata.name",
    '"Video" must consist of lower-case letters, digits and \'-\' (found "V")',
  ],
  [
    "a reserved intent name",
    (d) => ((d.metadata.name = "camino-system"), d),
    "metadata.name",
    '"camino-system" is reserved',
  ],
  [
    "intent name too long",
    (d) => ((d.metadata.name = "a".repeat(64)), d),
    "metadata.name",
    "must be at most 63 characters (has 64)",
  ],
  [
    "intent name ending in a dash",
    (d) => ((d.metadata.name = "video-"), d),
    "metadata.name",
    '"video-" must start and end with a lower-case letter or digit',
  ],
  [
    "intent name of the wrong type",
    (d) => ((d.metadata.name = 42), d),
    "metadata.name",
    "must be a string, not an integer",
  ],
  ["unknown metadata field", (d) => ((d.metadata.labels = {}), d), "metadata.labels", "unknown field (allowed: name)"],
  ["missing spec", (d) => (delete d.spec, d), "spec.packages", "is required"],
  [
    "no packages",
    (d) => ((d.spec.packages = []), (d.spec.links = []), d),
    "spec.packages",
    "must list at least one package",
  ],
  [
    "packages not a list",
    (d) => ((d.spec.packages = { a: 1 }), (d.spec.links = []), d),
    "spec.packages",
    "must be a list, not an object",
  ],
  [
    "bad timeout",
    (d) => ((d.spec.timeout = "5 minutes"), d),
    "spec.timeout",
    'duration "5 minutes" has an unknown unit " minutes" (ns, us, ms, s, m, h)',
  ],
  [
    "timeout without unit",
    (d) => ((d.spec.timeout = "300"), d),
    "spec.timeout",
    'duration "300" needs a unit after 300 (ns, us, ms, s, m, h)',
  ],
  [
    "negative-looking timeout",
    (d) => ((d.spec.timeout = "-5s"), d),
    "spec.timeout",
    'duration "-5s" needs a number at position 1 (e.g. "300s", "5m", "1h30m")',
  ],
  [
    "timeout over the limit",
    (d) => ((d.spec.timeout = "48h"), d),
    "spec.timeout",
    '"48h" is longer than the limit of 86400s',
  ],
  ["bad heal policy", (d) => ((d.spec.heal = "always"), d), "spec.heal", '"always" is not one of none, replace'],
  [
    "unknown spec field",
    (d) => ((d.spec.priority = 1), d),
    "spec.priority",
    "unknown field (allowed: timeout, heal, packages, links)",
  ],
  [
    "package name with upper case",
    (d) => ((d.spec.packages[0].name = "Ingress"), d),
    "spec.packages[0].name",
    '"Ingress" must consist of lower-case letters, digits and \'-\' (found "I")',
  ],
  [
    "package name starting with a digit (DNS-1035)",
    (d) => ((d.spec.packages[0].name = "1ngress"), d),
    "spec.packages[0].name",
    '"1ngress" must start with a lower-case letter',
  ],
  ["package without name", (d) => (delete d.spec.packages[0].name, d), "spec.packages[0].name", "is required"],
  [
    "package without blueprint",
    (d) => (delete d.spec.packages[1].blueprint, d),
    "spec.packages[1].blueprint",
    "is required",
  ],
  [
    "duplicate package names",
    (d) => ((d.spec.packages[1].name = "ingress"), (d.spec.packages[1].after = []), (d.spec.links = []), d),
    "spec.packages[1].name",
    '"ingress" is already the name of spec.packages[0]',
  ],
  [
    "unknown package field",
    (d) => ((d.spec.packages[0].image = "nginx"), d),
    "spec.packages[0].image",
    "unknown field (allowed: name, blueprint, blueprintRevision, version, replicas, resources, qos, after, placement, config)",
  ],
  [
    "package not an object",
    (d) => (d.spec.packages.push("db"), d),
    "spec.packages[2]",
    "must be an object, not a string",
  ],
  ["package is null", (d) => (d.spec.packages.push(null), d), "spec.packages[2]", "must be an object, not null"],
  [
    "bad version tag",
    (d) => ((d.spec.packages[0].version = "1.9 beta"), d),
    "spec.packages[0].version",
    "\"1.9 beta\" must consist of letters, digits, '_', '.' and '-' (found \" \")",
  ],
  [
    "bad blueprint revision",
    (d) => ((d.spec.packages[0].blueprintRevision = "v1..2"), d),
    "spec.packages[0].blueprintRevision",
    '"v1..2" is not a valid git tag or commit',
  ],
  [
    "replicas as a string",
    (d) => ((d.spec.packages[0].replicas = "three"), d),
    "spec.packages[0].replicas",
    'must be an integer, not a string "three"',
  ],
  [
    "fractional replicas",
    (d) => ((d.spec.packages[0].replicas = 1.5), d),
    "spec.packages[0].replicas",
    "must be an integer, not a number",
  ],
  [
    "negative replicas",
    (d) => ((d.spec.packages[0].replicas = -1), d),
    "spec.packages[0].replicas",
    "must be between 0 and 1000 (is -1)",
  ],
  [
    "bad cpu quantity",
    (d) => ((d.spec.packages[0].resources.cpu = "500 m"), d),
    "spec.packages[0].resources.cpu",
    'quantity "500 m" has an unknown suffix " m" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)',
  ],
  [
    "cpu with an unknown suffix",
    (d) => ((d.spec.packages[0].resources.cpu = "2cores"), d),
    "spec.packages[0].resources.cpu",
    'quantity "2cores" has an unknown suffix "cores" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)',
  ],
  [
    "negative memory",
    (d) => ((d.spec.packages[0].resources.memory = "-1Gi"), d),
    "spec.packages[0].resources.memory",
    '"-1Gi" must not be negative',
  ],
  [
    "memory in hex",
    (d) => ((d.spec.packages[0].resources.memory = "0x100"), d),
    "spec.packages[0].resources.memory",
    'quantity "0x100" has an unknown suffix "x100" (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)',
  ],
  [
    "malformed exponent",
    (d) => ((d.spec.packages[0].resources.memory = "1e"), d),
    "spec.packages[0].resources.memory",
    'quantity "1e" has a malformed exponent "e"',
  ],
  [
    "cpu as a number",
    (d) => ((d.spec.packages[0].resources.cpu = 0.5), d),
    "spec.packages[0].resources.cpu",
    "must be a string, not a number",
  ],
  [
    "limit below request",
    (d) => ((d.spec.packages[0].resources.limits = { cpu: "250m" }), d),
    "spec.packages[0].resources.limits.cpu",
    '"250m" must not be less than the request "500m"',
  ],
  [
    "an empty cpu request",
    (d) => ((d.spec.packages[0].resources.cpu = ""), d),
    "spec.packages[0].resources.cpu",
    'must not be empty: "" is not a Kubernetes quantity; to give none, leave the field out',
  ],
  [
    "an empty memory limit",
    (d) => ((d.spec.packages[0].resources.limits = { memory: "" }), d),
    "spec.packages[0].resources.limits.memory",
    'must not be empty: "" is not a Kubernetes quantity; to give none, leave the field out',
  ],
  [
    "unknown resource",
    (d) => ((d.spec.packages[0].resources.gpu = "1"), d),
    "spec.packages[0].resources.gpu",
    "unknown field (allowed: cpu, memory, limits)",
  ],
  [
    "qos not a label value",
    (d) => ((d.spec.packages[0].qos = "gold plus"), d),
    "spec.packages[0].qos",
    "\"gold plus\" must consist of letters, digits, '-', '_' and '.' (found \" \")",
  ],
  [
    "unknown after",
    (d) => ((d.spec.packages[1].after = ["ingres"]), d),
    "spec.packages[1].after[0]",
    'unknown package "ingres"',
  ],
  [
    "self dependency",
    (d) => ((d.spec.packages[1].after = ["analytics"]), d),
    "spec.packages[1].after[0]",
    'package "analytics" cannot come after itself',
  ],
  [
    "after listed twice",
    (d) => ((d.spec.packages[1].after = ["ingress", "ingress"]), d),
    "spec.packages[1].after[1]",
    '"ingress" is listed twice',
  ],
  [
    "after not a list",
    (d) => ((d.spec.packages[1].after = "ingress"), d),
    "spec.packages[1].after",
    "must be a list, not a string",
  ],
  [
    "two-package cycle",
    (d) => ((d.spec.packages[0].after = ["analytics"]), d),
    "spec.packages[0].after",
    'the after lists form a cycle: "ingress" after "analytics" after "ingress"',
  ],
  [
    "placement with edge and domain",
    (d) => ((d.spec.packages[0].placement = { edge: "edge-1", domain: "domain-y" }), d),
    "spec.packages[0].placement",
    "give at most one of edge, domain and edgeSelector (has edge and domain)",
  ],
  [
    "bad edge name",
    (d) => ((d.spec.packages[0].placement = { edge: "Edge_1" }), d),
    "spec.packages[0].placement.edge",
    '"Edge_1" must consist of lower-case letters, digits and \'-\' (found "E")',
  ],
  [
    "bad edge selector key",
    (d) => ((d.spec.packages[0].placement = { edgeSelector: { "zone!": "north" } }), d),
    'spec.packages[0].placement.edgeSelector["zone!"]',
    "key \"zone!\" must consist of letters, digits, '-', '_' and '.' (found \"!\")",
  ],
  [
    "unknown placement field",
    (d) => ((d.spec.packages[0].placement = { cluster: "c1" }), d),
    "spec.packages[0].placement.cluster",
    "unknown field (allowed: edge, domain, edgeSelector)",
  ],
  [
    "bad setter name",
    (d) => ((d.spec.packages[0].config = { "bad key": "x" }), d),
    'spec.packages[0].config["bad key"]',
    "key \"bad key\" must consist of letters, digits, '_', '-' and '.' (found \" \")",
  ],
  [
    "config value an object",
    (d) => ((d.spec.packages[0].config = { LOG: { level: "x" } }), d),
    "spec.packages[0].config.LOG",
    "must be a string, number or boolean, not an object",
  ],
  [
    "config value too long",
    (d) => ((d.spec.packages[0].config = { BIG: "x".repeat(5000) }), d),
    "spec.packages[0].config.BIG",
    "must be at most 4096 characters (has 5000)",
  ],
  [
    "link from an unknown package",
    (d) => ((d.spec.links[0].from = "nobody"), d),
    "spec.links[0].from",
    '"nobody" is not a package of this intent',
  ],
  [
    "link to an unknown package",
    (d) => ((d.spec.links[0].to = "nobody"), d),
    "spec.links[0].to",
    '"nobody" is not a package of this intent',
  ],
  [
    "link to itself",
    (d) => ((d.spec.links[0].to = "ingress"), d),
    "spec.links[0].to",
    'a package cannot link to itself ("ingress")',
  ],
  [
    "link with to and external",
    (d) => ((d.spec.links[0].external = { host: "api.example", port: 443 }), d),
    "spec.links[0]",
    "give either to or external, not both",
  ],
  [
    "link without a target",
    (d) => (delete d.spec.links[0].to, d),
    "spec.links[0].to",
    "is required (or give external)",
  ],
  [
    "link port out of range",
    (d) => ((d.spec.links[0].port = 70000), d),
    "spec.links[0].port",
    "must be between 1 and 65535 (is 70000)",
  ],
  ["link without a port", (d) => (delete d.spec.links[0].port, d), "spec.links[0].port", "is required"],
  ["link port null", (d) => ((d.spec.links[0].port = null), d), "spec.links[0].port", "is required"],
  [
    "link with an unknown protocol",
    (d) => ((d.spec.links[0].protocol = "quic"), d),
    "spec.links[0].protocol",
    '"quic" is not one of http, http2, grpc, tcp, tls, udp, sctp',
  ],
  ["link without a protocol", (d) => (delete d.spec.links[0].protocol, d), "spec.links[0].protocol", "is required"],
  [
    "bad load balancer",
    (d) => ((d.spec.links[0].policy.loadBalancer = "FASTEST"), d),
    "spec.links[0].policy.loadBalancer",
    '"FASTEST" is not one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, PASSTHROUGH',
  ],
  [
    "too many retries",
    (d) => ((d.spec.links[0].policy.retries = 50), d),
    "spec.links[0].policy.retries",
    "must be between 0 and 10 (is 50)",
  ],
  [
    "bad policy timeout",
    (d) => ((d.spec.links[0].policy.timeout = "2"), d),
    "spec.links[0].policy.timeout",
    'duration "2" needs a unit after 2 (ns, us, ms, s, m, h)',
  ],
  [
    "external host with upper case",
    (d) => ((d.spec.links[0] = { from: "ingress", external: { host: "API.example", port: 443 }, protocol: "tls" }), d),
    "spec.links[0].external.host",
    '"API.example" must be lower-case',
  ],
  [
    "external without port",
    (d) => ((d.spec.links[0] = { from: "ingress", external: { host: "api.example" }, protocol: "tls" }), d),
    "spec.links[0].external.port",
    "is required",
  ],
  [
    "external port null",
    (d) => ((d.spec.links[0] = { from: "ingress", external: { host: "api.example", port: null }, protocol: "tls" }), d),
    "spec.links[0].external.port",
    "is required",
  ],
  [
    "link port differing from external port",
    (d) => (
      (d.spec.links[0] = { from: "ingress", external: { host: "api.example", port: 443 }, port: 80, protocol: "tls" }),
      d
    ),
    "spec.links[0].port",
    "80 differs from external.port 443; give the port once",
  ],
  [
    "duplicate links",
    (d) => (d.spec.links.push({ ...d.spec.links[0] }), d),
    "spec.links[1]",
    "duplicates spec.links[0] (same from, to and port)",
  ],
  [
    "negative retries",
    (d) => ((d.spec.links[0].policy.retries = -1), d),
    "spec.links[0].policy.retries",
    "must be between 0 and 10 (is -1)",
  ],
  [
    "a timeout Istio refuses (under 1ms)",
    (d) => ((d.spec.links[0].policy.timeout = "500us"), d),
    "spec.links[0].policy.timeout",
    '"500us" must be whole milliseconds, at least 1ms',
  ],
  [
    "a timeout on a tcp link (Istio routes tcp by connection: it would be dropped)",
    (d) => ((d.spec.links[0].protocol = "tcp"), d),
    "spec.links[0].policy.timeout",
    "applies to http, http2 and grpc links only (this link is tcp)",
  ],
  [
    "a load balancer on a udp link (the mesh cannot carry udp)",
    (d) => ((d.spec.links[0].protocol = "udp"), (d.spec.links[0].policy = { loadBalancer: "RANDOM" }), d),
    "spec.links[0].policy.loadBalancer",
    "needs the mesh, which cannot carry udp",
  ],
  [
    "external without host",
    (d) => ((d.spec.links[0] = { from: "ingress", external: { port: 443 }, protocol: "tls" }), d),
    "spec.links[0].external.host",
    "is required",
  ],
  [
    "external host that is neither a DNS name nor an IP",
    (d) => ((d.spec.links[0] = { from: "ingress", external: { host: "api_partner!", port: 443 }, protocol: "tls" }), d),
    "spec.links[0].external.host",
    `"api_partner!" label "api_partner!" must consist of lower-case letters, digits and '-' (found "_")`,
  ],
  [
    "unknown link field",
    (d) => ((d.spec.links[0].weight = 1), d),
    "spec.links[0].weight",
    "unknown field (allowed: from, to, external, port, protocol, policy)",
  ],
  ["deep nesting", (d) => ((d.spec.packages[0].config = deep(30)), d), "", "the document nests deeper than 16 levels"],
  [
    "too many packages",
    (d) => (
      (d.spec.packages = Array.from({ length: 501 }, (_, i) => ({ name: `p${i}`, blueprint: "b" }))),
      (d.spec.links = []),
      d
    ),
    "spec.packages",
    "has 501 entries; at most 500 are allowed",
  ],
];

describe("a bad intent", () => {
  it.each(BAD)("is refused: %s", (_, change, path, message) => {
    expect(issuesOf(change(base()))).toContainEqual({ path, message });
  });

  it("reports every problem at once, each with its path", () => {
    const d = base();
    d.metadata.name = "Bad";
    d.spec.packages[0].replicas = "x";
    d.spec.links[0].protocol = "quic";
    expect(issuesOf(d).map((i) => i.path)).toEqual([
      "metadata.name",
      "spec.packages[0].replicas",
      "spec.links[0].protocol",
    ]);
  });

  it("names a three-package cycle in order, with code ERR_INTENT_CYCLE", () => {
    const d = base();
    d.spec.packages = [
      { name: "a", blueprint: "x", after: ["c"] },
      { name: "b", blueprint: "x", after: ["a"] },
      { name: "c", blueprint: "x", after: ["b"] },
      { name: "d", blueprint: "x", after: ["a"] },
    ];
    d.spec.links = [];
    try {
      validateIntent(d);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IntentError);
      expect((err as IntentError).code).toBe("ERR_INTENT_CYCLE");
      expect((err as IntentError).message).toBe(
        'invalid intent: spec.packages[0].after: the after lists form a cycle: "a" after "c" after "b" after "a"',
      );
    }
  });
});

describe("intent text", () => {
  const bad: [string, string, string][] = [
    ["YAML syntax error", "apiVersion: [", "line 1"],
    ["duplicate keys", "apiVersion: camino.io/v1\napiVersion: camino.io/v1\n", "Map keys must be unique"],
    ["several documents", "a: 1\n---\nb: 2\n", "expected one document, found 2"],
    ["an empty file", "", "the document is empty"],
    ["an oversize document", `# ${"x".repeat(1024 * 1024 + 1)}`, "at most 1048576 are allowed"],
    [
      "an alias bomb",
      `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
      "alias",
    ],
  ];
  it.each(bad)("refuses %s", (_, text, message) => {
    expect(() => parseIntentText(text)).toThrow(IntentError);
    expect(() => parseIntentText(text)).toThrow(message);
  });

  it("reads the paper's chain, with defaults filled in and quantities exact", () => {
    const intent = parseIntentText(readFileSync(new URL("../../scenarios/paper-chain.yaml", import.meta.url), "utf8"));
    expect(intent.name).toBe("paper-chain");
    expect(intent.heal).toBe("none");
    const cnf3 = intent.packages.find((p) => p.name === "cnf3")!;
    expect(cnf3.resources.cpu).toEqual({ text: "1", millis: 1000 });
    expect(cnf3.resources.memory).toEqual({ text: "512Mi", bytes: 512 * 1024 * 1024 });
    expect(cnf3.placement).toEqual({ kind: "domain", domain: "domain-y" });
    expect(intent.links.map((l) => `${l.from}->${l.to}:${l.port}/${l.protocol}`)).toEqual([
      "cnf1->cnf2:8805/udp",
      "cnf2->cnf3:8080/grpc",
      "cnf2->cnf4:5201/tcp",
    ]);
  });

  it("takes YAML scalars as setter text, and JSON as well as YAML", () => {
    const d = base();
    d.spec.packages[0].config = { WORKERS: 4, DEBUG: true };
    const intent = parseIntentText(JSON.stringify(d));
    expect(intent.packages[0]?.config).toEqual({ DEBUG: "true", WORKERS: "4" });
  });

  it("round-trips through the DeploymentIntent message with the same digest", () => {
    const intent = validateIntent(base());
    const again = intentFromMessage(intentToMessage(intent));
    expect(again).toEqual(intent);
    expect(intentDigest(again)).toBe(intentDigest(intent));
    const changed = base();
    changed.spec.packages[0].replicas = 2;
    expect(intentDigest(validateIntent(changed))).not.toBe(intentDigest(intent));
  });

  it("keeps a config key named __proto__ as an ordinary key", () => {
    const d = base();
    d.spec.packages[0].config = JSON.parse('{"__proto__": "x", "B": "y"}');
    const intent = validateIntent(d);
    expect(Object.keys(intent.packages[0]!.config)).toEqual(["B", "__proto__"]);
    expect(Object.getPrototypeOf(intent.packages[0]!.config)).toBe(Object.prototype);
  });

  it("keeps an explicit replicas: 0 over the wire (presence, not a default)", () => {
    const d = base();
    d.spec.packages[0].replicas = 0;
    expect(intentFromMessage(intentToMessage(validateIntent(d))).packages[0]?.replicas).toBe(0);
  });

  it("refuses a missing intent in a request", () => {
    expect(() => intentFromMessage(undefined)).toThrow("intent: is required");
  });
});
