/** The `edges` section of the agent config: the domain's Kubernetes clusters and how to reach them. */
import { resolve } from "node:path";
import { dns1123LabelProblem, labelKeyProblem, labelValueProblem } from "../../common/names.js";
import { joinPath, typeName, type Checker, type Json } from "../../common/checker.js";
import { httpUrlProblem } from "./http-url.js";

/** An edge: a Kubernetes cluster reached by a kubeconfig context or inline (server, CA, token). */
export interface ConfiguredEdge {
  /** DNS-1123 label, unique among the edges. Required. */
  name: string;
  /** A kubeconfig file (absolute) and context (absent: the file's current context) … */
  kubeconfig?: { file: string; context?: string };
  /** … or the API server URL, its CA file and a file holding a bearer token (both absolute; each may be absent). */
  server?: string;
  caFile?: string;
  tokenFile?: string;
  /** Labels for placement (edgeSelector): Kubernetes label keys and values. Default none. */
  labels: Record<string, string>;
  /** The deployment repository the edge's RootSync reconciles. Absent: the edge has none (nothing is deployed there). */
  repository?: string;
  /** Per-call timeout in ms. Default 10000 ({@link EDGE_DEFAULTS}). */
  timeoutMs: number;
  /**
   * How often the edge's RootSync polls its repository (spec.git.period), e.g. "500ms". Absent: the RootSync
   * leaves the period out and ConfigSync applies its own default (15s), so no default is stated here.
   */
  syncPeriod?: string;
}

/** Defaults of each entry of the `edges` section. */
export const EDGE_DEFAULTS = {
  timeoutMs: 10_000,
} as const;

/** An edge's labels: Kubernetes label keys and values; YAML numbers and booleans are taken as their text. */
function labels(c: Checker, v: unknown, path: string): Record<string, string> {
  // A Map, then Object.fromEntries: a key such as "__proto__" becomes an own property, not a prototype.
  const out = new Map<string, string>();
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    c.add(path, "must be a map of label keys to values");
    return {};
  }
  for (const [k, raw] of Object.entries(v)) {
    const at = joinPath(path, k);
    const keyProblem = labelKeyProblem(k);
    if (keyProblem) {
      c.add(at, `key ${JSON.stringify(k)} ${keyProblem}`);
      continue;
    }
    const value = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
    if (typeof value !== "string") c.add(at, `must be a string, number or boolean, not ${typeName(raw)}`);
    else {
      const valueProblem = labelValueProblem(value);
      if (valueProblem) c.add(at, `${JSON.stringify(value)} ${valueProblem}`);
      else out.set(k, value);
    }
  }
  return Object.fromEntries(out);
}

/**
 * Checks the `edges` section; problems are added to `c` with their paths.
 * @param base the folder relative paths (kubeconfig, CA and token files) are resolved against
 */
export function parseEdgesSection(c: Checker, v: unknown, base: string): ConfiguredEdge[] {
  const names = new Set<string>();
  return c.list(v, "edges", 256).flatMap((raw, i) => {
    const path = `edges[${i}]`;
    const o = c.object(raw, path, [
      "name",
      "kubeconfig",
      "server",
      "caFile",
      "tokenFile",
      "labels",
      "repository",
      "timeoutMs",
      "syncPeriod",
    ]);
    if (!o) return [];
    const name = c.string(o["name"], joinPath(path, "name"), { required: true, max: 63, check: dns1123LabelProblem });
    if (name && names.has(name)) c.add(joinPath(path, "name"), `${JSON.stringify(name)} is used twice`);
    const kc = c.object(o["kubeconfig"], joinPath(path, "kubeconfig"), ["file", "context"]);
    const context = kc ? c.string(kc["context"], joinPath(path, "kubeconfig", "context"), { max: 253 }) : undefined;
    const server = c.string(o["server"], joinPath(path, "server"), { max: 2048, check: httpUrlProblem });
    if (!kc && !server) c.add(path, "give kubeconfig or server");
    if (kc && server) c.add(path, "give kubeconfig or server, not both");
    const file = (k: string, from: Json, at: string) => {
      const f = c.string(from[k], joinPath(at, k), { max: 4096 });
      return f ? resolve(base, f) : undefined;
    };
    const labelMap = labels(c, o["labels"], joinPath(path, "labels"));
    const repository = c.string(o["repository"], joinPath(path, "repository"), { max: 63, check: dns1123LabelProblem });
    const timeoutMs = c.integer(o["timeoutMs"], joinPath(path, "timeoutMs"), 100, 600_000) ?? EDGE_DEFAULTS.timeoutMs;
    const syncPeriod = c.string(o["syncPeriod"], joinPath(path, "syncPeriod"), {
      max: 32,
      check: (s) => (/^\d+(ms|s|m|h)$/.test(s) ? undefined : 'must be a duration such as "15s" or "500ms"'),
    });
    if (!name) return [];
    names.add(name);
    const out: ConfiguredEdge = { name, labels: labelMap, timeoutMs };
    if (syncPeriod) out.syncPeriod = syncPeriod;
    if (kc) {
      const f = file("file", kc, joinPath(path, "kubeconfig"));
      if (!f) c.add(joinPath(path, "kubeconfig", "file"), "is required");
      else out.kubeconfig = { file: f, ...(context ? { context } : {}) };
    }
    if (server) {
      out.server = server;
      const ca = file("caFile", o, path);
      const token = file("tokenFile", o, path);
      if (ca) out.caFile = ca;
      if (token) out.tokenFile = token;
    }
    if (repository) out.repository = repository;
    return [out];
  });
}
