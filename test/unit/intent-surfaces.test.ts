/**
 * One validator, one answer, whatever the surface: an intent read by the CLI (YAML text, `parseIntentText`) and the
 * same document sent to the API (the DeploymentIntent message a JSON client's request decodes to, over the wire as
 * binary, then `intentFromMessage`) are accepted or refused alike, with the same field paths and messages — except
 * where proto3 cannot carry what the text says (an empty string or a 0 is "not set" in a message), as validateIntent
 * documents.
 */
import { readFileSync } from "node:fs";
import { fromBinary, fromJson, toBinary, type JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { DeploymentIntentSchema, type DeploymentIntent } from "../../gen/camino/v1/intent_pb.js";
import { IntentError, type FieldIssue } from "../../agent/errors.js";
import { intentFromMessage, intentToMessage, parseIntentText } from "../../agent/intent/load.js";
import type { Intent } from "../../agent/intent/model.js";

// biome-ignore lint/suspicious/noExplicitAny: the cases write deliberately wrong values at arbitrary depths
type Doc = Record<string, any>;

/** What validation made of a document. */
type Verdict = { intent: Intent } | { issues: FieldIssue[] };
/** … or, on the API, a request its decoding refused before validation. */
type Answer = Verdict | { undecodable: string };

const fixtureText = (name: string): string =>
  readFileSync(new URL(`../fixtures/intents/${name}`, import.meta.url), "utf8");

const VIDEO_CHAIN: Doc = parseYaml(fixtureText("video-chain.yaml"));

function answer(read: () => Intent): Verdict {
  try {
    return { intent: read() };
  } catch (err) {
    if (err instanceof IntentError) return { issues: [...err.issues] };
    throw err;
  }
}

/** What `camino intent plan FILE` makes of the text. */
const viaCli = (text: string): Verdict => answer(() => parseIntentText(text));

/** What the API makes of the document sent as the JSON of a request (proto3 JSON mapping), then carried as binary. */
function viaApi(doc: unknown): Answer {
  let message: DeploymentIntent;
  try {
    const decoded = fromJson(DeploymentIntentSchema, doc as JsonValue);
    message = fromBinary(DeploymentIntentSchema, toBinary(DeploymentIntentSchema, decoded));
  } catch (err) {
    // Refused by the RPC layer's decoding, before any validation (a null inside a list, a number for a string).
    return { undecodable: (err as Error).message };
  }
  return answer(() => intentFromMessage(message));
}

const EMPTY_QUANTITY = 'must not be empty: "" is not a Kubernetes quantity; to give none, leave the field out';

describe("the fixtures of refused intents", () => {
  it.each([
    ["link-port-null.yaml", [{ path: "spec.links[0].port", message: "is required" }]],
    ["external-port-null.yaml", [{ path: "spec.links[0].external.port", message: "is required" }]],
  ])("%s: the CLI and the API give the same issues", (file, issues) => {
    const text = fixtureText(file);
    expect(viaCli(text)).toEqual({ issues });
    expect(viaApi(parseYaml(text))).toEqual({ issues });
  });

  it("cpu-empty.yaml: the CLI refuses the empty quantity by its path; a message can only say it is not set", () => {
    const text = fixtureText("cpu-empty.yaml");
    expect(viaCli(text)).toEqual({ issues: [{ path: "spec.packages[0].resources.cpu", message: EMPTY_QUANTITY }] });
    const api = viaApi(parseYaml(text));
    expect(api).toHaveProperty("intent");
    expect((api as { intent: Intent }).intent.packages[0]?.resources).toEqual({
      memory: { text: "256Mi", bytes: 256 * 1024 * 1024 },
    });
  });
});

const EMPTY_TEXT = { version: "", qos: "", blueprintRevision: "" };

/** [what, change to the video chain, the issues both surfaces report (none: both accept, reading the same intent)]. */
const SAME: [string, (d: Doc) => void, FieldIssue[]][] = [
  [
    "a link's port: null",
    (d) => (d.spec.links[0].port = null),
    [{ path: "spec.links[0].port", message: "is required" }],
  ],
  [
    "a link without a port",
    (d) => delete d.spec.links[0].port,
    [{ path: "spec.links[0].port", message: "is required" }],
  ],
  [
    "an external endpoint's port: null",
    (d) => (d.spec.links[0] = { from: "ingress", external: { host: "api.example", port: null }, protocol: "tls" }),
    [{ path: "spec.links[0].external.port", message: "is required" }],
  ],
  [
    "an external endpoint's host: null",
    (d) => (d.spec.links[0] = { from: "ingress", external: { host: null, port: 443 }, protocol: "tls" }),
    [{ path: "spec.links[0].external.host", message: "is required" }],
  ],
  ["an intent name: null", (d) => (d.metadata.name = null), [{ path: "metadata.name", message: "is required" }]],
  ["an empty intent name", (d) => (d.metadata.name = ""), [{ path: "metadata.name", message: "is required" }]],
  [
    "a blueprint: null",
    (d) => (d.spec.packages[1].blueprint = null),
    [{ path: "spec.packages[1].blueprint", message: "is required" }],
  ],
  [
    "a protocol: null",
    (d) => (d.spec.links[0].protocol = null),
    [{ path: "spec.links[0].protocol", message: "is required" }],
  ],
  [
    "a link's to: null",
    (d) => (d.spec.links[0].to = null),
    [{ path: "spec.links[0].to", message: "is required (or give external)" }],
  ],
  ["spec: null", (d) => (d.spec = null), [{ path: "spec.packages", message: "is required" }]],
  ["replicas: null (one replica)", (d) => (d.spec.packages[0].replicas = null), []],
  ["replicas: 0 (kept: a wrapper has presence)", (d) => (d.spec.packages[0].replicas = 0), []],
  ["retries: null", (d) => (d.spec.links[0].policy.retries = null), []],
  ["retries: 0", (d) => (d.spec.links[0].policy.retries = 0), []],
  ["a cpu request: null (the blueprint's default)", (d) => (d.spec.packages[0].resources.cpu = null), []],
  ["resources and limits: null", (d) => (d.spec.packages[0].resources = { cpu: "1", limits: null }), []],
  ["placement: null (automatic)", (d) => (d.spec.packages[0].placement = null), []],
  ["an empty placement edge (automatic)", (d) => (d.spec.packages[0].placement = { edge: "" }), []],
  ["timeout and heal: null (the domain's defaults)", (d) => ((d.spec.timeout = null), (d.spec.heal = null)), []],
  ["an empty timeout and heal", (d) => ((d.spec.timeout = ""), (d.spec.heal = "")), []],
  ["an empty version, qos and blueprint revision", (d) => Object.assign(d.spec.packages[0], EMPTY_TEXT), []],
  ["policy: null", (d) => (d.spec.links[0].policy = null), []],
  ["config and after: null", (d) => ((d.spec.packages[0].config = null), (d.spec.packages[1].after = null)), []],
  ["an empty config value (kept)", (d) => (d.spec.packages[0].config = { LOG_LEVEL: "" }), []],
];

describe("one answer on every surface", () => {
  it.each(SAME)("%s", (_, change, issues) => {
    const doc = structuredClone(VIDEO_CHAIN);
    change(doc);
    const cli = viaCli(stringifyYaml(doc));
    expect(viaApi(doc)).toEqual(cli);
    if (issues.length > 0) expect(cli).toEqual({ issues });
    else expect(cli).toHaveProperty("intent");
  });

  it("refuses a port of 0 on both, by the same path: out of range in text, not set in a message", () => {
    const doc = structuredClone(VIDEO_CHAIN);
    doc.spec.links[0].port = 0;
    expect(viaCli(stringifyYaml(doc))).toEqual({
      issues: [{ path: "spec.links[0].port", message: "must be between 1 and 65535 (is 0)" }],
    });
    expect(viaApi(doc)).toEqual({ issues: [{ path: "spec.links[0].port", message: "is required" }] });
  });

  it("refuses an empty quantity in text, request or limit; in a message it is not set", () => {
    const doc = structuredClone(VIDEO_CHAIN);
    doc.spec.packages[0].resources = { cpu: "", memory: "256Mi", limits: { cpu: "1", memory: "" } };
    expect(viaCli(stringifyYaml(doc))).toEqual({
      issues: [
        { path: "spec.packages[0].resources.cpu", message: EMPTY_QUANTITY },
        { path: "spec.packages[0].resources.limits.memory", message: EMPTY_QUANTITY },
      ],
    });
    const api = viaApi(doc) as { intent: Intent };
    expect(api.intent.packages[0]?.resources).toEqual({
      memory: { text: "256Mi", bytes: 268_435_456 },
      limits: { cpu: { text: "1", millis: 1000 } },
    });
  });
});

// ---- every absent, null and empty value at once, at random ----------------------------------------------------

const ABSENT = Symbol("absent");
type Value = typeof ABSENT | null | "" | 0 | Record<string, never> | never[];

/** Fields of the video chain (with an external link added), and the absent, null and empty values each can take. */
const FIELDS: [string[], Value[]][] = [
  ...[
    "metadata.name",
    "spec.timeout",
    "spec.heal",
    "spec.packages.0.name",
    "spec.packages.0.blueprint",
    "spec.packages.0.blueprintRevision",
    "spec.packages.0.version",
    "spec.packages.0.qos",
    "spec.packages.0.resources.cpu",
    "spec.packages.0.resources.memory",
    "spec.packages.0.resources.limits.cpu",
    "spec.packages.0.placement.edge",
    "spec.packages.0.config.LOG_LEVEL",
    "spec.packages.1.after.0",
    "spec.packages.1.placement.domain",
    "spec.links.0.from",
    "spec.links.0.to",
    "spec.links.0.protocol",
    "spec.links.0.policy.timeout",
    "spec.links.0.policy.loadBalancer",
    "spec.links.1.external.host",
  ].map((p): [string[], Value[]] => [p.split("."), [ABSENT, null, ""]]),
  ...[
    "spec.packages.0.replicas",
    "spec.links.0.port",
    "spec.links.0.policy.retries",
    "spec.links.1.port",
    "spec.links.1.external.port",
  ].map((p): [string[], Value[]] => [p.split("."), [ABSENT, null, 0]]),
  ...[
    "metadata",
    "spec",
    "spec.packages.0.resources",
    "spec.packages.0.resources.limits",
    "spec.packages.0.placement",
    "spec.packages.0.config",
    "spec.links.0.policy",
    "spec.links.1.external",
  ].map((p): [string[], Value[]] => [p.split("."), [ABSENT, null, {}]]),
  ...["spec.packages", "spec.links", "spec.packages.1.after"].map((p): [string[], Value[]] => [
    p.split("."),
    [ABSENT, null, []],
  ]),
];

/** Sets (or, for ABSENT, deletes) the field at `path`, making the objects and lists on the way where needed. */
function setField(doc: Doc, path: readonly string[], value: Value): void {
  let at: Doc = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    if (at[key] === null || typeof at[key] !== "object") {
      if (value === ABSENT) return;
      at[key] = /^\d+$/.test(path[i + 1] as string) ? [] : {};
    }
    at = at[key];
  }
  const last = path[path.length - 1] as string;
  if (value === ABSENT) delete at[last];
  else at[last] = structuredClone(value);
}

const changes = fc.array(
  fc
    .constantFrom(...FIELDS)
    .chain(([path, values]) => fc.constantFrom(...values).map((value) => [path, value] as const)),
  { maxLength: 4 },
);

/** An issue only text can raise: proto3 reads an empty string or a 0 as "not set" (see validateIntent). */
const textOnly = (i: FieldIssue): boolean =>
  i.message === EMPTY_QUANTITY || i.message === "must be between 1 and 65535 (is 0)";

describe("any mix of absent, null and empty values", () => {
  it("is accepted by the CLI only when the API accepts it too, read as the same intent, with nothing dropped", () => {
    fc.assert(
      fc.property(changes, (list) => {
        const doc = structuredClone(VIDEO_CHAIN);
        doc.spec.links.push({
          from: "analytics",
          external: { host: "api.partner.example", port: 443 },
          protocol: "tls",
        });
        for (const [path, value] of list) setField(doc, path, value);
        const cli = viaCli(stringifyYaml(doc));
        const api = viaApi(doc);
        if ("intent" in cli) {
          expect(api).toEqual(cli);
          // What the CLI sends is what it read.
          expect(intentFromMessage(intentToMessage(cli.intent))).toEqual(cli.intent);
          if (Array.isArray(doc.spec?.links)) expect(cli.intent.links).toHaveLength(doc.spec.links.length);
          expect(cli.intent.packages).toHaveLength(doc.spec.packages.length);
        } else if ("intent" in api) {
          // Only for what a message cannot carry: an empty quantity or a port of 0 is "not set" there.
          expect(cli.issues.filter((i) => !textOnly(i))).toEqual([]);
        } else if ("issues" in api) {
          // Both refuse, by the same paths (leaving out what only text can say).
          const said = new Set(cli.issues.filter(textOnly).map((i) => i.path));
          expect(cli.issues.filter((i) => !textOnly(i)).map((i) => i.path)).toEqual(
            api.issues.filter((i) => !said.has(i.path)).map((i) => i.path),
          );
        }
      }),
      { numRuns: 100 },
    );
    // A run takes ~10 ms of parsing on these machines; the bound is for a loaded one.
  }, 30_000);
});
