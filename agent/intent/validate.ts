/**
 * Validation of a deployment intent document (docs/intent-format.md) into the {@link Intent} model.
 * The input is the plain JSON form: what YAML/JSON parsing gives, or the proto3 JSON mapping of the
 * DeploymentIntent message. Every problem is collected with its field path (`spec.packages[1].after[0]`),
 * so one rejection tells the user everything that is wrong.
 */
import { IntentError } from "../errors.js";
import { Checker, joinPath, nestingDepth, typeName, type Json } from "../../common/checker.js";
import {
  DEFAULT_INTENT_LIMITS,
  HEAL_POLICIES,
  INTENT_API_VERSION,
  INTENT_KIND,
  LINK_PROTOCOLS,
  LOAD_BALANCERS,
  type HealPolicy,
  type Intent,
  type IntentLimits,
  type LinkIntent,
  type LinkProtocol,
  type LoadBalancer,
  type PackageIntent,
  type PackageResources,
  type PlacementRequest,
  type ResourceAmounts,
} from "./model.js";
import {
  dns1035LabelProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  gitRevisionProblem,
  imageTagProblem,
  labelKeyProblem,
  labelValueProblem,
  setterNameProblem,
} from "../../common/names.js";
import { isIPv4 } from "node:net";
import { orderPackages } from "./order.js";
import { parseQuantity, QuantityError, toMilli, toUnits } from "../../common/quantity.js";

/** Namespaces an intent (whose name is its chain's namespace) must not take. */
const RESERVED_NAMESPACES = new Set([
  "camino-system",
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "istio-system",
  "config-management-system",
]);
/** Null and undefined both mean "not given" (see {@link validateIntent} on absent, null and empty). */
function absent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

/**
 * A quantity field: absent (undefined or null) gives undefined; an empty string is refused, since it is not a
 * Kubernetes quantity and, unlike leaving the field out, says nothing (the API never sees one: see validateIntent).
 */
function quantity(
  c: Checker,
  v: unknown,
  path: string,
  unit: "milli" | "bytes",
): { text: string; amount: number } | undefined {
  if (v === "") {
    c.add(path, 'must not be empty: "" is not a Kubernetes quantity; to give none, leave the field out');
    return undefined;
  }
  const text = c.string(v, path, { max: 64 });
  if (text === undefined) return undefined;
  try {
    const q = parseQuantity(text);
    const amount = unit === "milli" ? toMilli(q) : toUnits(q);
    const max = unit === "milli" ? 1_000_000_000n : BigInt(Number.MAX_SAFE_INTEGER);
    if (amount < 0n) c.add(path, `${JSON.stringify(text)} must not be negative`);
    else if (amount > max) c.add(path, `${JSON.stringify(text)} is larger than any edge`);
    else return { text, amount: Number(amount) };
  } catch (err) {
    if (!(err instanceof QuantityError)) throw err;
    c.add(path, err.message);
  }
  return undefined;
}

function resourceAmounts(c: Checker, v: Json, path: string): ResourceAmounts {
  const out: ResourceAmounts = {};
  const cpu = quantity(c, v["cpu"], joinPath(path, "cpu"), "milli");
  if (cpu) out.cpu = { text: cpu.text, millis: cpu.amount };
  const memory = quantity(c, v["memory"], joinPath(path, "memory"), "bytes");
  if (memory) out.memory = { text: memory.text, bytes: memory.amount };
  return out;
}

function resources(c: Checker, v: unknown, path: string): PackageResources {
  const o = c.object(v, path, ["cpu", "memory", "limits"]);
  if (!o) return {};
  const requests: PackageResources = resourceAmounts(c, o, path);
  const lo = c.object(o["limits"], joinPath(path, "limits"), ["cpu", "memory"]);
  if (lo) {
    const limits = resourceAmounts(c, lo, joinPath(path, "limits"));
    if (limits.cpu && requests.cpu && limits.cpu.millis < requests.cpu.millis) {
      c.add(
        joinPath(path, "limits", "cpu"),
        `${JSON.stringify(limits.cpu.text)} must not be less than the request ${JSON.stringify(requests.cpu.text)}`,
      );
    }
    if (limits.memory && requests.memory && limits.memory.bytes < requests.memory.bytes) {
      c.add(
        joinPath(path, "limits", "memory"),
        `${JSON.stringify(limits.memory.text)} must not be less than the request ${JSON.stringify(requests.memory.text)}`,
      );
    }
    requests.limits = limits;
  }
  return requests;
}

function stringMap(
  c: Checker,
  v: unknown,
  path: string,
  max: number,
  keyProblem: (k: string) => string | undefined,
  valueProblem: (v: string) => string | undefined,
  maxValue: number,
): Record<string, string> {
  // A Map, then Object.fromEntries: a key such as "__proto__" becomes an own property, not a prototype.
  const out = new Map<string, string>();
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    c.add(path, `must be an object, not ${typeName(v)}`);
    return {};
  }
  const entries = Object.entries(v as Json);
  if (entries.length > max) c.add(path, `has ${entries.length} entries; at most ${max} are allowed`);
  for (const [k, raw] of entries.slice(0, max)) {
    const p = joinPath(path, k);
    const kp = keyProblem(k);
    if (kp) {
      c.add(p, `key ${JSON.stringify(k)} ${kp}`);
      continue;
    }
    // YAML turns `LOG_LEVEL: 5` into a number; a setter value is text, so scalars are taken as text.
    const value = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
    if (typeof value !== "string") {
      c.add(p, `must be a string, number or boolean, not ${typeName(raw)}`);
      continue;
    }
    if (value.length > maxValue) {
      c.add(p, `must be at most ${maxValue} characters (has ${value.length})`);
      continue;
    }
    const vp = valueProblem(value);
    if (vp) c.add(p, `${JSON.stringify(value)} ${vp}`);
    else out.set(k, value);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function placement(c: Checker, v: unknown, path: string): PlacementRequest {
  const o = c.object(v, path, ["edge", "domain", "edgeSelector"]);
  if (!o) return { kind: "auto" };
  const given = ["edge", "domain", "edgeSelector"].filter(
    (k) =>
      o[k] !== undefined &&
      o[k] !== null &&
      o[k] !== "" &&
      !(typeof o[k] === "object" && Object.keys(o[k] as object).length === 0),
  );
  if (given.length > 1) {
    c.add(path, `give at most one of edge, domain and edgeSelector (has ${given.join(" and ")})`);
    return { kind: "auto" };
  }
  const edge = c.string(o["edge"], joinPath(path, "edge"), { max: 63, check: dns1123LabelProblem });
  if (edge) return { kind: "edge", edge };
  const domain = c.string(o["domain"], joinPath(path, "domain"), { max: 63, check: dns1123LabelProblem });
  if (domain) return { kind: "domain", domain };
  const selector = stringMap(
    c,
    o["edgeSelector"],
    joinPath(path, "edgeSelector"),
    16,
    labelKeyProblem,
    labelValueProblem,
    63,
  );
  if (Object.keys(selector).length > 0) return { kind: "selector", selector };
  return { kind: "auto" };
}

function packageSpec(
  c: Checker,
  limits: IntentLimits,
  v: unknown,
  path: string,
  index: number,
): PackageIntent | undefined {
  const o = c.object(v, path, [
    "name",
    "blueprint",
    "blueprintRevision",
    "version",
    "replicas",
    "resources",
    "qos",
    "after",
    "placement",
    "config",
  ]);
  if (!o) {
    if (v === undefined || v === null) c.add(path, "must be an object, not null");
    return undefined;
  }
  const name = c.string(o["name"], joinPath(path, "name"), { required: true, max: 63, check: dns1035LabelProblem });
  const blueprint = c.string(o["blueprint"], joinPath(path, "blueprint"), {
    required: true,
    max: 63,
    check: dns1123LabelProblem,
  });
  const blueprintRevision = c.string(o["blueprintRevision"], joinPath(path, "blueprintRevision"), {
    max: 128,
    check: gitRevisionProblem,
  });
  const version = c.string(o["version"], joinPath(path, "version"), { max: 128, check: imageTagProblem });
  const replicas = c.integer(o["replicas"], joinPath(path, "replicas"), 0, limits.maxReplicas) ?? 1;
  const res = resources(c, o["resources"], joinPath(path, "resources"));
  const qos = c.string(o["qos"], joinPath(path, "qos"), { max: 63, check: labelValueProblem });
  const after: string[] = [];
  c.list(o["after"], joinPath(path, "after"), limits.maxPackages).forEach((a, i) => {
    const s = c.string(a, joinPath(path, "after", i), { required: true, max: 63 });
    if (s === undefined) return;
    if (after.includes(s)) c.add(joinPath(path, "after", i), `${JSON.stringify(s)} is listed twice`);
    else after.push(s);
  });
  const place = placement(c, o["placement"], joinPath(path, "placement"));
  const config = stringMap(
    c,
    o["config"],
    joinPath(path, "config"),
    limits.maxConfigEntries,
    setterNameProblem,
    () => undefined,
    limits.maxValueLength,
  );
  if (name === undefined || blueprint === undefined) return undefined;
  const pkg: PackageIntent = { name, index, blueprint, replicas, resources: res, after, placement: place, config };
  if (blueprintRevision !== undefined) pkg.blueprintRevision = blueprintRevision;
  if (version !== undefined) pkg.version = version;
  if (qos !== undefined) pkg.qos = qos;
  return pkg;
}

function hostProblem(host: string): string | undefined {
  // An IPv4 literal is allowed as well as a DNS name.
  if (isIPv4(host)) return undefined;
  if (host.toLowerCase() !== host) return "must be lower-case";
  return dns1123SubdomainProblem(host);
}

function linkSpec(c: Checker, v: unknown, path: string, names: ReadonlySet<string>): LinkIntent | undefined {
  const o = c.object(v, path, ["from", "to", "external", "port", "protocol", "policy"]);
  if (!o) {
    if (v === undefined || v === null) c.add(path, "must be an object, not null");
    return undefined;
  }
  const from = c.string(o["from"], joinPath(path, "from"), { required: true, max: 63 });
  if (from !== undefined && !names.has(from))
    c.add(joinPath(path, "from"), `${JSON.stringify(from)} is not a package of this intent`);
  const to = c.string(o["to"], joinPath(path, "to"), { max: 63 });
  const ext = c.object(o["external"], joinPath(path, "external"), ["host", "port"]);
  let external: { host: string; port: number } | undefined;
  if (to !== undefined && ext) c.add(path, "give either to or external, not both");
  else if (to === undefined && !ext) c.add(joinPath(path, "to"), "is required (or give external)");
  if (to !== undefined) {
    if (!names.has(to)) c.add(joinPath(path, "to"), `${JSON.stringify(to)} is not a package of this intent`);
    else if (to === from) c.add(joinPath(path, "to"), `a package cannot link to itself (${JSON.stringify(to)})`);
  }
  if (ext) {
    const host = c.string(ext["host"], joinPath(path, "external", "host"), {
      required: true,
      max: 253,
      check: hostProblem,
    });
    const port = c.integer(ext["port"], joinPath(path, "external", "port"), 1, 65535);
    if (absent(ext["port"])) c.add(joinPath(path, "external", "port"), "is required");
    if (host !== undefined && port !== undefined) external = { host, port };
  }
  let port = c.integer(o["port"], joinPath(path, "port"), 1, 65535);
  if (absent(o["port"])) {
    if (external) port = external.port;
    else if (to !== undefined) c.add(joinPath(path, "port"), "is required");
  } else if (port !== undefined && external && port !== external.port) {
    c.add(joinPath(path, "port"), `${port} differs from external.port ${external.port}; give the port once`);
  }
  const protocol = c.oneOf<LinkProtocol>(o["protocol"], joinPath(path, "protocol"), LINK_PROTOCOLS, true);
  const po = c.object(o["policy"], joinPath(path, "policy"), ["timeout", "retries", "loadBalancer"]);
  const policy: LinkIntent["policy"] = {};
  if (po) {
    const t = c.duration(po["timeout"], joinPath(path, "policy", "timeout"), 3_600_000);
    // Istio refuses a route timeout under 1ms, and keeps no finer precision.
    if (t && (t.ms < 1 || !Number.isInteger(t.ms))) {
      c.add(joinPath(path, "policy", "timeout"), `${JSON.stringify(t.text)} must be whole milliseconds, at least 1ms`);
    } else if (t) {
      policy.timeout = t.text;
      policy.timeoutMs = t.ms;
    }
    const r = c.integer(po["retries"], joinPath(path, "policy", "retries"), 0, 10);
    if (r !== undefined) policy.retries = r;
    const lb = c.oneOf<LoadBalancer>(po["loadBalancer"], joinPath(path, "policy", "loadBalancer"), LOAD_BALANCERS);
    if (lb) policy.loadBalancer = lb;
  }
  if (protocol !== undefined && po) {
    // Timeouts and retries are HTTP routing; a load balancer needs the mesh. Given elsewhere, they would be dropped.
    const http = protocol === "http" || protocol === "http2" || protocol === "grpc";
    for (const f of ["timeout", "retries"] as const)
      if (!http && !absent(po[f]))
        c.add(joinPath(path, "policy", f), `applies to http, http2 and grpc links only (this link is ${protocol})`);
    if ((protocol === "udp" || protocol === "sctp") && !absent(po["loadBalancer"]))
      c.add(joinPath(path, "policy", "loadBalancer"), `needs the mesh, which cannot carry ${protocol}`);
  }
  if (from === undefined || protocol === undefined || port === undefined || (to === undefined && !external))
    return undefined;
  const link: LinkIntent = { from, port, protocol, policy };
  if (to !== undefined) link.to = to;
  if (external) link.external = external;
  return link;
}

/**
 * Validates an intent document and returns the model.
 *
 * One validator serves every surface — the CLI's YAML or JSON text (`parseIntentText` in load.ts) and the
 * DeploymentIntent message of the API (`intentFromMessage`, through its proto3 JSON form) — so the same
 * document gets the same answer. How absent, `null` and empty values read:
 * - `null` means absent, everywhere, as the proto3 JSON mapping reads it (a message cannot carry a null at all):
 *   an optional field takes its default, and a required one is refused as `is required`, which is what the API
 *   says when the field is not set (`port: null` on a link is `spec.links[0].port: is required` on every surface).
 * - proto/camino/v1/intent.proto declares the scalar fields without presence (plain `string` and `uint32`; only
 *   `replicas` and `retries` are wrappers), so a message never carries an empty string or a 0 there: on the API,
 *   they read as absent. The text surfaces can say more, and where the empty value is not a value of the field they
 *   refuse it: a quantity `""` (`resources.cpu`, `.memory` and their limits) is not a Kubernetes quantity and is
 *   refused naming its path; a port of 0 is out of range there, and unset on the API (so `is required`, or for a
 *   link to an external endpoint, that endpoint's port).
 * - Other strings read empty as absent on every surface: the proto gives empty a meaning for `timeout`,
 *   `blueprintRevision` and `placement`, and the rest (`heal`, `version`, `qos`, the link's `to` and policy) are
 *   optional text whose empty form was never a value.
 * @param doc the plain JSON form of the document
 * @throws IntentError listing every problem with its field path (code ERR_INTENT_CYCLE for a cycle).
 */
export function validateIntent(doc: unknown, limits: IntentLimits = DEFAULT_INTENT_LIMITS): Intent {
  const c = new Checker();
  if (nestingDepth(doc, limits.maxDepth) > limits.maxDepth) {
    throw new IntentError([{ path: "", message: `the document nests deeper than ${limits.maxDepth} levels` }]);
  }
  if (doc === undefined || doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new IntentError([{ path: "", message: `the document must be an object, not ${typeName(doc)}` }]);
  }
  const root = c.object(doc, "", ["apiVersion", "kind", "metadata", "spec"]) as Json;
  const apiVersion = c.string(root["apiVersion"], "apiVersion", { required: true, max: 64 });
  if (apiVersion !== undefined && apiVersion !== INTENT_API_VERSION)
    c.add("apiVersion", `must be ${JSON.stringify(INTENT_API_VERSION)} (is ${JSON.stringify(apiVersion)})`);
  const kind = c.string(root["kind"], "kind", { required: true, max: 64 });
  if (kind !== undefined && kind !== INTENT_KIND)
    c.add("kind", `must be ${JSON.stringify(INTENT_KIND)} (is ${JSON.stringify(kind)})`);
  const meta = c.object(root["metadata"], "metadata", ["name"]);
  if (!meta && (root["metadata"] === undefined || root["metadata"] === null)) c.add("metadata.name", "is required");
  const name = meta
    ? c.string(meta["name"], "metadata.name", {
        required: true,
        max: 63,
        check: (n) => dns1123LabelProblem(n) ?? (RESERVED_NAMESPACES.has(n) ? "is reserved" : undefined),
      })
    : undefined;
  const spec = c.object(root["spec"], "spec", ["timeout", "heal", "packages", "links"]);
  if (!spec && (root["spec"] === undefined || root["spec"] === null)) c.add("spec.packages", "is required");
  const timeout = spec ? c.duration(spec["timeout"], "spec.timeout", limits.maxTimeoutMs) : undefined;
  const heal: HealPolicy = (spec && c.oneOf<HealPolicy>(spec["heal"], "spec.heal", HEAL_POLICIES)) || "none";

  const packages: PackageIntent[] = [];
  const seen = new Map<string, number>();
  const rawPackages = spec ? c.list(spec["packages"], "spec.packages", limits.maxPackages) : [];
  if (spec && rawPackages.length === 0 && !c.issues.some((i) => i.path === "spec.packages"))
    c.add("spec.packages", "must list at least one package");
  rawPackages.forEach((raw, i) => {
    const pkg = packageSpec(c, limits, raw, `spec.packages[${i}]`, i);
    if (!pkg) return;
    const first = seen.get(pkg.name);
    if (first !== undefined) {
      c.add(`spec.packages[${i}].name`, `${JSON.stringify(pkg.name)} is already the name of spec.packages[${first}]`);
      return;
    }
    seen.set(pkg.name, i);
    packages.push(pkg);
  });
  // References are checked against every name given, valid or not, so one bad name is reported once.
  const names = new Set(
    rawPackages
      .map((p) => (p && typeof p === "object" ? (p as Json)["name"] : undefined))
      .filter((n): n is string => typeof n === "string"),
  );
  for (const pkg of packages) {
    pkg.after.forEach((a, j) => {
      const path = `spec.packages[${pkg.index}].after[${j}]`;
      if (a === pkg.name) c.add(path, `package ${JSON.stringify(a)} cannot come after itself`);
      else if (!names.has(a)) c.add(path, `unknown package ${JSON.stringify(a)}`);
    });
  }

  const links: LinkIntent[] = [];
  const linkKeys = new Map<string, number>();
  const rawLinks = spec ? c.list(spec["links"], "spec.links", limits.maxLinks) : [];
  rawLinks.forEach((raw, i) => {
    const link = linkSpec(c, raw, `spec.links[${i}]`, names);
    if (!link) return;
    const key = `${link.from}→${link.to ?? `${link.external?.host}`}:${link.port}`;
    const first = linkKeys.get(key);
    if (first !== undefined) {
      c.add(`spec.links[${i}]`, `duplicates spec.links[${first}] (same from, to and port)`);
    } else {
      linkKeys.set(key, i);
      links.push(link);
    }
  });

  if (c.issues.length > 0) throw new IntentError(c.issues);
  // Ordering throws ERR_INTENT_CYCLE naming the cycle: an intent with a cycle is invalid.
  const { order, waves } = orderPackages(packages);
  const intent: Intent = { name: name as string, heal, packages, links, order, waves };
  if (timeout) {
    intent.timeout = timeout.text;
    intent.timeoutMs = timeout.ms;
  }
  return intent;
}
