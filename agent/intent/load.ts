/**
 * Intent documents in and out: YAML or JSON text (the CLI), the DeploymentIntent message (gRPC), and the
 * canonical document form that both map to. Size and nesting are bounded before anything else is done.
 */
import { createHash } from "node:crypto";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { parseAllDocuments, YAMLError } from "yaml";
import { DeploymentIntentSchema, type DeploymentIntent } from "../../gen/camino/v1/intent_pb.js";
import { IntentError } from "../errors.js";
import {
  DEFAULT_INTENT_LIMITS,
  INTENT_API_VERSION,
  INTENT_KIND,
  type Intent,
  type IntentLimits,
  type ResourceAmounts,
} from "./model.js";
import { validateIntent } from "./validate.js";

/**
 * Parses and validates an intent written as YAML or JSON.
 * @throws IntentError naming the line (syntax) or the field path (content).
 */
export function parseIntentText(text: string, limits: IntentLimits = DEFAULT_INTENT_LIMITS): Intent {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) {
    throw new IntentError([
      { path: "", message: `the document is ${bytes} bytes; at most ${limits.maxBytes} are allowed` },
    ]);
  }
  let parsed: ReturnType<typeof parseAllDocuments>;
  try {
    parsed = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    if (err instanceof RangeError) throw new IntentError([{ path: "", message: "the document nests too deeply" }]);
    throw err;
  }
  // An empty stream parses to an EmptyStream, not a list.
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length !== 1) {
    throw new IntentError([
      {
        path: "",
        message: docs.length === 0 ? "the document is empty" : `expected one document, found ${docs.length}`,
      },
    ]);
  }
  const doc = docs[0];
  const problem = doc.errors[0];
  if (problem) throw new IntentError([{ path: "", message: yamlMessage(problem) }]);
  let value: unknown;
  try {
    // Aliases are capped: a few lines of YAML anchors can otherwise expand into gigabytes.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof YAMLError || err instanceof ReferenceError)
      throw new IntentError([{ path: "", message: err.message }]);
    if (err instanceof RangeError) throw new IntentError([{ path: "", message: "the document nests too deeply" }]);
    throw err;
  }
  return validateIntent(value, limits);
}

function yamlMessage(err: YAMLError): string {
  const first = err.message.split("\n")[0] ?? err.message;
  return (
    first.replace(/ at line \d+, column \d+:?$/, "") +
    (err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : "")
  );
}

/**
 * Validates an intent received as a DeploymentIntent message.
 * @throws IntentError naming the field path, in the JSON names of the message.
 */
export function intentFromMessage(
  message: DeploymentIntent | undefined,
  limits: IntentLimits = DEFAULT_INTENT_LIMITS,
): Intent {
  if (!message) throw new IntentError([{ path: "intent", message: "is required" }]);
  const json = toJson(DeploymentIntentSchema, message);
  const bytes = Buffer.byteLength(JSON.stringify(json), "utf8");
  if (bytes > limits.maxBytes) {
    throw new IntentError([
      { path: "", message: `the intent is ${bytes} bytes as JSON; at most ${limits.maxBytes} are allowed` },
    ]);
  }
  return validateIntent(json, limits);
}

function amounts(r: ResourceAmounts): Record<string, string> {
  const out: Record<string, string> = {};
  if (r.cpu) out["cpu"] = r.cpu.text;
  if (r.memory) out["memory"] = r.memory.text;
  return out;
}

/** The canonical document of a validated intent: defaults filled in, keys in a fixed order. */
export function intentToDocument(intent: Intent): Record<string, JsonValue> {
  const packages = intent.packages.map((p) => {
    const pkg: Record<string, JsonValue> = { name: p.name, blueprint: p.blueprint };
    if (p.blueprintRevision) pkg["blueprintRevision"] = p.blueprintRevision;
    if (p.version) pkg["version"] = p.version;
    pkg["replicas"] = p.replicas;
    const res: Record<string, JsonValue> = amounts(p.resources);
    if (p.resources.limits) res["limits"] = amounts(p.resources.limits);
    if (Object.keys(res).length > 0) pkg["resources"] = res;
    if (p.qos) pkg["qos"] = p.qos;
    if (p.after.length > 0) pkg["after"] = [...p.after];
    const pl = p.placement;
    if (pl.kind === "edge") pkg["placement"] = { edge: pl.edge };
    else if (pl.kind === "domain") pkg["placement"] = { domain: pl.domain };
    else if (pl.kind === "selector") pkg["placement"] = { edgeSelector: { ...pl.selector } };
    if (Object.keys(p.config).length > 0) pkg["config"] = { ...p.config };
    return pkg;
  });
  const links = intent.links.map((l) => {
    const link: Record<string, JsonValue> = { from: l.from };
    if (l.to !== undefined) link["to"] = l.to;
    if (l.external) link["external"] = { ...l.external };
    link["port"] = l.port;
    link["protocol"] = l.protocol;
    const policy: Record<string, JsonValue> = {};
    if (l.policy.timeout) policy["timeout"] = l.policy.timeout;
    if (l.policy.retries !== undefined) policy["retries"] = l.policy.retries;
    if (l.policy.loadBalancer) policy["loadBalancer"] = l.policy.loadBalancer;
    if (Object.keys(policy).length > 0) link["policy"] = policy;
    return link;
  });
  const spec: Record<string, JsonValue> = {};
  if (intent.timeout) spec["timeout"] = intent.timeout;
  spec["heal"] = intent.heal;
  spec["packages"] = packages;
  if (links.length > 0) spec["links"] = links;
  return { apiVersion: INTENT_API_VERSION, kind: INTENT_KIND, metadata: { name: intent.name }, spec };
}

/** The DeploymentIntent message of a validated intent. */
export function intentToMessage(intent: Intent): DeploymentIntent {
  return fromJson(DeploymentIntentSchema, intentToDocument(intent));
}

/** Hex SHA-256 of the canonical document: equal digests mean equal specs. */
export function intentDigest(intent: Intent): string {
  return createHash("sha256")
    .update(JSON.stringify(intentToDocument(intent)))
    .digest("hex");
}
