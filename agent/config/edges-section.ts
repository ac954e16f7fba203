/** The `edges` section of the agent config: the domain's Kubernetes clusters and how to reach them. */
import { resolve } from "node:path";
import { dns1123LabelProblem } from "../intent/names.js";
import { joinPath, type Checker, type Json } from "../validation/checker.js";
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
  /** Labels for placement (edgeSelector). Default none. */
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
    const server = c.string(o["server"], joinPath(path, "server"), { max: 2048, check: httpUrlProblem });
    if (!kc && !server) c.add(path, "give kubeconfig or server");
    if (kc && server) c.add(path, "give kubeconfig or server, not both");
    const file = (k: string, from: Json, at: string) => {
      const f = c.string(from[k], joinPath(at, k), { max: 4096 });
      return f ? resolve(base, f) : undefined;
    };
    const labels = o["labels"];
    const labelMap: Record<string, string> = {};
    if (labels !== undefined) {
      if (!labels || typeof labels !== "object" || Array.isArray(labels))
        c.add(joinPath(path, "labels"), "must be a map of label keys to values");
      else for (const [k, val] of Object.entries(labels)) labelMap[k] = String(val);
    }
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
      if (!f) c.add(joinPath(path, "kubeconfig.file"), "is required");
      else out.kubeconfig = { file: f, ...(typeof kc["context"] === "string" ? { context: kc["context"] } : {}) };
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
