/**
 * The agent's configuration: a YAML file (`camino agent --config domain.yaml`), then environment overrides.
 * Every value is checked here, once, and every problem is reported with its path (or the environment
 * variable it came from). Relative file paths are resolved against the config file's folder. Defaults are
 * filled in one place: {@link DEFAULTS}.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml, YAMLError } from "yaml";
import { ConfigError } from "../errors.js";
import type { Jwks } from "../auth/keys.js";
import type { TrustedIssuer } from "../auth/northbound-verifier.js";
import { dns1123LabelProblem } from "../intent/names.js";
import { DEFAULT_INTENT_LIMITS, type IntentLimits } from "../intent/model.js";
import { LOG_LEVELS, type LogLevel } from "../log/logger.js";
import { Checker, joinPath, type Json } from "../validation/checker.js";

/** TLS files of a listener. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** CA bundle for client certificates: set it to ask clients for certificates (mTLS). */
  clientCaFile?: string;
  /** Refuse clients without a valid certificate. Default false (optional mTLS). */
  requireClientCert: boolean;
}

export interface ListenerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  tls?: TlsConfig;
}

export interface AgentConfig {
  /** The file it was read from, if any. */
  source?: string;
  domain: {
    /** DNS-1123 label, e.g. "domain-x". */
    id: string;
    /** Where the agent keeps its state. */
    dataDir: string;
    /** The API endpoint advertised to users and peers; default derived from the gRPC listener. */
    endpoint?: string;
  };
  server: {
    /** HTTP/2: gRPC (h2c or TLS), also Connect and gRPC-Web. */
    grpc: ListenerConfig;
    /** HTTP/1.1: Connect and gRPC-Web, and /metrics. */
    http: ListenerConfig;
    /** How long a graceful shutdown waits for in-flight calls, in seconds. */
    shutdownGraceSeconds: number;
    /** Largest request or response message, in bytes. */
    maxMessageBytes: number;
  };
  auth: {
    /** The domain's private signing key (a JWK file from `camino keys generate`). */
    signingKeyFile: string;
    /** The audience northbound tokens must name; default the domain id. */
    audience: string;
    clockToleranceSeconds: number;
    maxTokenLifetimeSeconds: number;
    externalIssuers: TrustedIssuer[];
  };
  log: { level: LogLevel; format: "json" | "text" };
  limits: IntentLimits;
  /** The service lifecycle. */
  lifecycle: LifecycleConfig;
  /** Repositories the agent makes sure are registered at start. */
  repositories: ConfiguredRepository[];
  /** The domain's edges (Kubernetes clusters). */
  edges: ConfiguredEdge[];
}

export interface LifecycleConfig {
  /** An intent without spec.timeout gets this, in ms. Default 300000. */
  defaultTimeoutMs: number;
  /** How often workload availability is asked while a deployment waits, in ms. Default 200. */
  pollMs: number;
  /** How long a rollback or termination waits for edges to sync it, in ms. Default 60000. */
  cleanupTimeoutMs: number;
  /** Capacity readings younger than this are reused by admission, in ms. Default 250. */
  capacityMaxAgeMs: number;
  /** Deployments running at once; more wait their turn. Default 32. */
  maxConcurrentRuns: number;
}

/** An edge: a Kubernetes cluster reached by a kubeconfig context or inline (server, CA, token). */
export interface ConfiguredEdge {
  name: string;
  /** A kubeconfig file and context … */
  kubeconfig?: { file: string; context?: string };
  /** … or the API server URL, its CA file, and a file holding a bearer token. */
  server?: string;
  caFile?: string;
  tokenFile?: string;
  /** Labels for placement (edgeSelector). */
  labels: Record<string, string>;
  /** The deployment repository the edge's RootSync reconciles. */
  repository?: string;
  /** Per-call timeout in ms. Default 10000. */
  timeoutMs: number;
  /** How often the edge's RootSync polls its repository (spec.git.period), e.g. "15s" (the default) or "500ms". */
  syncPeriod?: string;
}

/** A repository named in the config. Without `url`, a local repository is created under the data directory. */
export interface ConfiguredRepository {
  name: string;
  role: "blueprint" | "deployment";
  /** A local folder (absolute after parsing) or an http(s) URL; absent: `<dataDir>/repos/<name>`. */
  url?: string;
  branch: string;
  edge?: string;
  /** A file holding the token or user:password for a remote. */
  credentialsFile?: string;
  /** For a new local blueprint repository: a folder of kpt packages to seed it with (tagged v1). */
  seedFrom?: string;
}

/** Defaults of every optional setting. */
export const DEFAULTS = {
  grpcHost: "127.0.0.1",
  grpcPort: 50051,
  httpHost: "127.0.0.1",
  httpPort: 8080,
  shutdownGraceSeconds: 10,
  maxMessageBytes: 4 * 1024 * 1024,
  clockToleranceSeconds: 30,
  maxTokenLifetimeSeconds: 86_400,
  logLevel: "info" as LogLevel,
  logFormat: "json" as const,
} as const;

/** Environment variables that override the file, and the setting each one sets. */
export const ENV_OVERRIDES: Readonly<Record<string, { path: string; type: "string" | "integer" }>> = {
  CAMINO_DOMAIN_ID: { path: "domain.id", type: "string" },
  CAMINO_DATA_DIR: { path: "domain.dataDir", type: "string" },
  CAMINO_ENDPOINT: { path: "domain.endpoint", type: "string" },
  CAMINO_GRPC_HOST: { path: "server.grpc.host", type: "string" },
  CAMINO_GRPC_PORT: { path: "server.grpc.port", type: "integer" },
  CAMINO_HTTP_HOST: { path: "server.http.host", type: "string" },
  CAMINO_HTTP_PORT: { path: "server.http.port", type: "integer" },
  CAMINO_SIGNING_KEY_FILE: { path: "auth.signingKeyFile", type: "string" },
  CAMINO_LOG_LEVEL: { path: "log.level", type: "string" },
  CAMINO_LOG_FORMAT: { path: "log.format", type: "string" },
};

function setPath(doc: Json, path: string, value: unknown): void {
  const keys = path.split(".");
  let at: Json = doc;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    if (next === null || typeof next !== "object" || Array.isArray(next)) at[k] = {};
    at = at[k] as Json;
  }
  at[keys[keys.length - 1] as string] = value;
}

function listener(c: Checker, v: unknown, path: string, host: string, port: number, base: string): ListenerConfig {
  const o = c.object(v, path, ["host", "port", "tls"]) ?? {};
  const out: ListenerConfig = {
    host: c.string(o["host"], joinPath(path, "host"), { max: 253 }) ?? host,
    port: c.integer(o["port"], joinPath(path, "port"), 0, 65535) ?? port,
  };
  const t = c.object(o["tls"], joinPath(path, "tls"), ["certFile", "keyFile", "clientCaFile", "requireClientCert"]);
  if (t) {
    const certFile = c.string(t["certFile"], joinPath(path, "tls", "certFile"), { required: true, max: 4096 });
    const keyFile = c.string(t["keyFile"], joinPath(path, "tls", "keyFile"), { required: true, max: 4096 });
    const clientCaFile = c.string(t["clientCaFile"], joinPath(path, "tls", "clientCaFile"), { max: 4096 });
    const require = t["requireClientCert"];
    if (require !== undefined && typeof require !== "boolean")
      c.add(joinPath(path, "tls", "requireClientCert"), "must be true or false");
    if (require === true && !clientCaFile)
      c.add(joinPath(path, "tls", "requireClientCert"), "needs tls.clientCaFile to check client certificates against");
    if (certFile && keyFile) {
      out.tls = {
        certFile: resolve(base, certFile),
        keyFile: resolve(base, keyFile),
        requireClientCert: require === true,
      };
      if (clientCaFile) out.tls.clientCaFile = resolve(base, clientCaFile);
    }
  }
  return out;
}

function externalIssuers(c: Checker, v: unknown, base: string, jwksFiles: Map<string, Jwks>): TrustedIssuer[] {
  return c.list(v, "auth.externalIssuers", 32).flatMap((raw, i) => {
    const path = `auth.externalIssuers[${i}]`;
    const o = c.object(raw, path, ["issuer", "jwks", "jwksFile", "jwksUrl", "audience"]);
    if (!o) return [];
    const issuer = c.string(o["issuer"], joinPath(path, "issuer"), { required: true, max: 1024 });
    const url = c.string(o["jwksUrl"], joinPath(path, "jwksUrl"), {
      max: 2048,
      check: (s) => (/^https?:\/\//.test(s) && URL.canParse(s) ? undefined : "must be an http(s) URL"),
    });
    const file = c.string(o["jwksFile"], joinPath(path, "jwksFile"), { max: 4096 });
    const inline = o["jwks"];
    const given = [o["jwksUrl"], o["jwksFile"], inline].filter((x) => x !== undefined && x !== null).length;
    if (given !== 1) c.add(path, "give exactly one of jwks, jwksFile and jwksUrl");
    let jwks: Jwks | undefined;
    if (inline !== undefined) {
      const keys = (inline as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || keys.length === 0)
        c.add(joinPath(path, "jwks"), "must be a JWKS with a non-empty keys list");
      else jwks = { keys } as Jwks;
    }
    if (file) {
      jwks = jwksFiles.get(resolve(base, file));
      if (!jwks) c.add(joinPath(path, "jwksFile"), `${file} cannot be read as a JWKS`);
    }
    const audience = c.string(o["audience"], joinPath(path, "audience"), { max: 1024 });
    if (!issuer) return [];
    const out: TrustedIssuer = { issuer };
    if (jwks) out.jwks = jwks;
    if (url) out.jwksUrl = url;
    if (audience) out.audience = audience;
    return [out];
  });
}

function limits(c: Checker, v: unknown): IntentLimits {
  const o = c.object(v, "limits", ["maxIntentBytes", "maxPackages", "maxLinks"]) ?? {};
  return {
    ...DEFAULT_INTENT_LIMITS,
    maxBytes:
      c.integer(o["maxIntentBytes"], "limits.maxIntentBytes", 1024, 16 * 1024 * 1024) ?? DEFAULT_INTENT_LIMITS.maxBytes,
    maxPackages: c.integer(o["maxPackages"], "limits.maxPackages", 1, 500) ?? DEFAULT_INTENT_LIMITS.maxPackages,
    maxLinks: c.integer(o["maxLinks"], "limits.maxLinks", 0, 5000) ?? DEFAULT_INTENT_LIMITS.maxLinks,
  };
}

function lifecycle(c: Checker, v: unknown): LifecycleConfig {
  const o =
    c.object(v, "lifecycle", [
      "defaultTimeoutSeconds",
      "pollMs",
      "cleanupTimeoutSeconds",
      "capacityMaxAgeMs",
      "maxConcurrentRuns",
    ]) ?? {};
  return {
    defaultTimeoutMs:
      (c.integer(o["defaultTimeoutSeconds"], "lifecycle.defaultTimeoutSeconds", 1, 86_400) ?? 300) * 1000,
    pollMs: c.integer(o["pollMs"], "lifecycle.pollMs", 10, 60_000) ?? 200,
    cleanupTimeoutMs: (c.integer(o["cleanupTimeoutSeconds"], "lifecycle.cleanupTimeoutSeconds", 1, 3600) ?? 60) * 1000,
    capacityMaxAgeMs: c.integer(o["capacityMaxAgeMs"], "lifecycle.capacityMaxAgeMs", 0, 60_000) ?? 250,
    maxConcurrentRuns: c.integer(o["maxConcurrentRuns"], "lifecycle.maxConcurrentRuns", 1, 10_000) ?? 32,
  };
}

function repositories(c: Checker, v: unknown, base: string): ConfiguredRepository[] {
  const names = new Set<string>();
  return c.list(v, "repositories", 64).flatMap((raw, i) => {
    const path = `repositories[${i}]`;
    const o = c.object(raw, path, ["name", "role", "url", "branch", "edge", "credentialsFile", "seedFrom"]);
    if (!o) return [];
    const name = c.string(o["name"], joinPath(path, "name"), { required: true, max: 63, check: dns1123LabelProblem });
    const role = c.oneOf<"blueprint" | "deployment">(
      o["role"],
      joinPath(path, "role"),
      ["blueprint", "deployment"],
      true,
    );
    const url = c.string(o["url"], joinPath(path, "url"), { max: 2048 });
    const branch = c.string(o["branch"], joinPath(path, "branch"), { max: 128 }) ?? "main";
    const edge = c.string(o["edge"], joinPath(path, "edge"), { max: 63, check: dns1123LabelProblem });
    const credentialsFile = c.string(o["credentialsFile"], joinPath(path, "credentialsFile"), { max: 4096 });
    const seedFrom = c.string(o["seedFrom"], joinPath(path, "seedFrom"), { max: 4096 });
    if (role === "deployment" && !edge) c.add(joinPath(path, "edge"), "is required for a deployment repository");
    if (role === "blueprint" && edge) c.add(joinPath(path, "edge"), "only a deployment repository serves an edge");
    if (seedFrom && role !== "blueprint") c.add(joinPath(path, "seedFrom"), "only a blueprint repository is seeded");
    if (name && names.has(name)) c.add(joinPath(path, "name"), `${JSON.stringify(name)} is used twice`);
    if (!name || !role) return [];
    names.add(name);
    const out: ConfiguredRepository = { name, role, branch };
    if (url) out.url = /^https?:\/\//.test(url) ? url : resolve(base, url);
    if (edge) out.edge = edge;
    if (credentialsFile) out.credentialsFile = resolve(base, credentialsFile);
    if (seedFrom) out.seedFrom = resolve(base, seedFrom);
    return [out];
  });
}

function edges(c: Checker, v: unknown, base: string): ConfiguredEdge[] {
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
    const server = c.string(o["server"], joinPath(path, "server"), {
      max: 2048,
      check: (s) => (/^https?:\/\//.test(s) && URL.canParse(s) ? undefined : "must be an http(s) URL"),
    });
    if (!kc && !server) c.add(path, "give kubeconfig or server");
    if (kc && server) c.add(path, "give kubeconfig or server, not both");
    const file = (k: string, from: Record<string, unknown>, at: string) => {
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
    const timeoutMs = c.integer(o["timeoutMs"], joinPath(path, "timeoutMs"), 100, 600_000) ?? 10_000;
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

export interface ParseConfigOptions {
  /** Folder that relative paths are resolved against. Default the current directory. */
  baseDir?: string;
  /** Environment for overrides. Default none. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Name of the source, for messages. */
  source?: string;
  /** JWKS files the config names, already read (path → JWKS); see {@link loadConfig}. */
  jwksFiles?: Map<string, Jwks>;
}

/**
 * Validates a parsed config document with environment overrides.
 * @throws ConfigError naming every bad value by its path, or by the environment variable that set it.
 */
export function parseConfig(doc: unknown, options: ParseConfigOptions = {}): AgentConfig {
  const base = options.baseDir ?? process.cwd();
  const c = new Checker();
  const isMapping = doc !== null && typeof doc === "object" && !Array.isArray(doc);
  if (!isMapping && doc !== undefined && doc !== null) c.add("", "the configuration must be a YAML mapping");
  const root: Json = isMapping ? structuredClone(doc as Json) : {};
  const fromEnv = new Map<string, string>();
  for (const [name, { path, type }] of Object.entries(ENV_OVERRIDES)) {
    const raw = options.env?.[name];
    if (raw === undefined || raw === "") continue;
    fromEnv.set(path, name);
    setPath(root, path, type === "integer" && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw);
  }

  c.object(root, "", ["domain", "server", "auth", "log", "limits", "lifecycle", "repositories", "edges"]);
  const d = c.object(root["domain"], "domain", ["id", "dataDir", "endpoint"]) ?? {};
  const id = c.string(d["id"], "domain.id", { required: true, max: 63, check: dns1123LabelProblem }) ?? "";
  const dataDir = c.string(d["dataDir"], "domain.dataDir", { max: 4096 });
  const endpoint = c.string(d["endpoint"], "domain.endpoint", {
    max: 2048,
    check: (s) => (/^https?:\/\//.test(s) && URL.canParse(s) ? undefined : "must be an http(s) URL"),
  });

  const s = c.object(root["server"], "server", ["grpc", "http", "shutdownGraceSeconds", "maxMessageBytes"]) ?? {};
  const grpc = listener(c, s["grpc"], "server.grpc", DEFAULTS.grpcHost, DEFAULTS.grpcPort, base);
  const http = listener(c, s["http"], "server.http", DEFAULTS.httpHost, DEFAULTS.httpPort, base);
  if (grpc.port !== 0 && grpc.port === http.port && grpc.host === http.host)
    c.add("server.http.port", `${http.port} is already the gRPC port`);

  const a =
    c.object(root["auth"], "auth", [
      "signingKeyFile",
      "audience",
      "clockToleranceSeconds",
      "maxTokenLifetimeSeconds",
      "externalIssuers",
    ]) ?? {};
  const signingKeyFile = c.string(a["signingKeyFile"], "auth.signingKeyFile", { required: true, max: 4096 });
  const l = c.object(root["log"], "log", ["level", "format"]) ?? {};

  const config: AgentConfig = {
    domain: { id, dataDir: resolve(base, dataDir ?? `.camino/${id || "domain"}`) },
    server: {
      grpc,
      http,
      shutdownGraceSeconds:
        c.integer(s["shutdownGraceSeconds"], "server.shutdownGraceSeconds", 0, 600) ?? DEFAULTS.shutdownGraceSeconds,
      maxMessageBytes:
        c.integer(s["maxMessageBytes"], "server.maxMessageBytes", 64 * 1024, 64 * 1024 * 1024) ??
        DEFAULTS.maxMessageBytes,
    },
    auth: {
      signingKeyFile: signingKeyFile ? resolve(base, signingKeyFile) : "",
      audience: c.string(a["audience"], "auth.audience", { max: 1024 }) ?? id,
      clockToleranceSeconds:
        c.integer(a["clockToleranceSeconds"], "auth.clockToleranceSeconds", 0, 600) ?? DEFAULTS.clockToleranceSeconds,
      maxTokenLifetimeSeconds:
        c.integer(a["maxTokenLifetimeSeconds"], "auth.maxTokenLifetimeSeconds", 60, 31_536_000) ??
        DEFAULTS.maxTokenLifetimeSeconds,
      externalIssuers: externalIssuers(c, a["externalIssuers"], base, options.jwksFiles ?? new Map()),
    },
    log: {
      level: c.oneOf<LogLevel>(l["level"], "log.level", LOG_LEVELS) ?? DEFAULTS.logLevel,
      format: c.oneOf<"json" | "text">(l["format"], "log.format", ["json", "text"]) ?? DEFAULTS.logFormat,
    },
    limits: limits(c, root["limits"]),
    lifecycle: lifecycle(c, root["lifecycle"]),
    repositories: repositories(c, root["repositories"], base),
    edges: edges(c, root["edges"], base),
  };
  if (endpoint) config.domain.endpoint = endpoint;
  if (options.source) config.source = options.source;

  if (c.issues.length > 0) {
    // A value that came from the environment is named by its variable: that is where the user must look.
    const issues = c.issues.map((i) => {
      const env = fromEnv.get(i.path);
      return env ? { path: `${env} (${i.path})`, message: i.message } : i;
    });
    throw new ConfigError(issues, { data: options.source ? { source: options.source } : {} });
  }
  return config;
}

/**
 * Reads, parses and validates a config file, with overrides from `env`.
 * @throws ConfigError for an unreadable file, bad YAML, or bad values.
 */
export async function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
    throw new ConfigError([{ path: "", message: `cannot read ${file} (${code})` }], { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (err) {
    if (err instanceof YAMLError) {
      const pos = err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : "";
      throw new ConfigError(
        [
          {
            path: "",
            message: `${file} is not valid YAML: ${(err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}${pos}`,
          },
        ],
        { cause: err },
      );
    }
    throw err;
  }
  const baseDir = dirname(resolve(file));
  // JWKS files named by external issuers are read here, so that parseConfig stays synchronous and pure.
  const jwksFiles = new Map<string, Jwks>();
  const issuers = (doc as { auth?: { externalIssuers?: unknown } } | null)?.auth?.externalIssuers;
  if (Array.isArray(issuers)) {
    for (const i of issuers) {
      const f = (i as { jwksFile?: unknown } | null)?.jwksFile;
      if (typeof f !== "string") continue;
      const path = resolve(baseDir, f);
      try {
        const parsed = JSON.parse(await readFile(path, "utf8")) as Jwks;
        if (Array.isArray(parsed?.keys)) jwksFiles.set(path, parsed);
      } catch {
        // Reported by parseConfig as an unreadable jwksFile.
      }
    }
  }
  return parseConfig(doc ?? {}, { baseDir, env, source: file, jwksFiles });
}
