/**
 * The agent's configuration: a YAML file (`camino agent --config domain.yaml`), then environment overrides.
 * Every value is checked once, by the parser of its section (`domain-section.ts`, `server-section.ts`, …), and
 * every problem is reported with its path (or the environment variable it came from). Relative file paths are
 * resolved against the config file's folder. Each default is stated once, in its section's `…_DEFAULTS` and on the
 * field it fills; the parsed {@link AgentConfig} has every default filled in, so no consumer defaults a setting again.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml, YAMLError } from "yaml";
import { ConfigError } from "../errors.js";
import type { Jwks } from "../auth/keys.js";
import { DEFAULT_INTENT_LIMITS, type IntentLimits } from "../intent/model.js";
import { Checker, type Json } from "../../common/checker.js";
import { AUDIT_DEFAULTS, parseAuditSection, type AuditConfig } from "./audit-section.js";
import { AUTH_DEFAULTS, parseAuthSection, type AuthConfig } from "./auth-section.js";
import { DOMAIN_DEFAULTS, parseDomainSection, type DomainConfig } from "./domain-section.js";
import { EDGE_DEFAULTS, parseEdgesSection, type ConfiguredEdge } from "./edges-section.js";
import { FEDERATION_DEFAULTS, parseFederationSection, type FederationConfig } from "./federation-section.js";
import { LIFECYCLE_DEFAULTS, parseLifecycleSection, type LifecycleConfig } from "./lifecycle-section.js";
import { parseLimitsSection } from "./limits-section.js";
import { LOG_DEFAULTS, parseLogSection, type LogConfig } from "./log-section.js";
import { MONITORING_DEFAULTS, parseMonitoringSection, type MonitoringConfig } from "./monitoring-section.js";
import { parseRepositoriesSection, REPOSITORY_DEFAULTS, type ConfiguredRepository } from "./repositories-section.js";
import { parseServerSection, SERVER_DEFAULTS, type ServerConfig } from "./server-section.js";

export type { AuditConfig } from "./audit-section.js";
export type { AuthConfig, ConfiguredIssuer } from "./auth-section.js";
export type { DomainConfig } from "./domain-section.js";
export type { ConfiguredEdge } from "./edges-section.js";
export type { ConfiguredPeer, FederationConfig } from "./federation-section.js";
export type { LifecycleConfig } from "./lifecycle-section.js";
export type { LogConfig, LogFormat } from "./log-section.js";
export type { MonitoringConfig } from "./monitoring-section.js";
export type { ConfiguredRepository } from "./repositories-section.js";
export type { ListenerConfig, ServerConfig, TlsConfig } from "./server-section.js";

/** The whole configuration, checked and with every default filled in. */
export interface AgentConfig {
  /** The file it was read from, if any. */
  source?: string;
  domain: DomainConfig;
  server: ServerConfig;
  auth: AuthConfig;
  log: LogConfig;
  /** Limits on intents; see {@link DEFAULT_INTENT_LIMITS}. */
  limits: IntentLimits;
  /** The service lifecycle. */
  lifecycle: LifecycleConfig;
  /** Repositories the agent makes sure are registered at start. Default none. */
  repositories: ConfiguredRepository[];
  /** The domain's edges (Kubernetes clusters). Default none. */
  edges: ConfiguredEdge[];
  /** The audit log's rotation (the log is under `<domain.dataDir>/audit/`). */
  audit: AuditConfig;
  /** Peering with other domains. Absent: this agent does not federate. */
  federation?: FederationConfig;
  /** The Monitoring Service: its metrics source, interval, admission capacity source and disclosure policy. */
  monitoring: MonitoringConfig;
}

/** The defaults of every section, as each section's parser states them. */
export const DEFAULTS = {
  domain: DOMAIN_DEFAULTS,
  server: SERVER_DEFAULTS,
  auth: AUTH_DEFAULTS,
  log: LOG_DEFAULTS,
  limits: DEFAULT_INTENT_LIMITS,
  lifecycle: LIFECYCLE_DEFAULTS,
  repositories: REPOSITORY_DEFAULTS,
  edges: EDGE_DEFAULTS,
  audit: AUDIT_DEFAULTS,
  federation: FEDERATION_DEFAULTS,
  monitoring: MONITORING_DEFAULTS,
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
  CAMINO_FEDERATION_PORT: { path: "federation.listen.port", type: "integer" },
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
  const baseDir = options.baseDir ?? process.cwd();
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

  c.object(root, "", [
    "domain",
    "server",
    "auth",
    "log",
    "limits",
    "lifecycle",
    "repositories",
    "edges",
    "audit",
    "federation",
    "monitoring",
  ]);
  const domain = parseDomainSection(c, root["domain"], baseDir);
  const config: AgentConfig = {
    domain,
    server: parseServerSection(c, root["server"], baseDir),
    auth: parseAuthSection(c, root["auth"], {
      baseDir,
      domainId: domain.id,
      jwksFiles: options.jwksFiles ?? new Map(),
    }),
    log: parseLogSection(c, root["log"]),
    limits: parseLimitsSection(c, root["limits"]),
    lifecycle: parseLifecycleSection(c, root["lifecycle"]),
    repositories: parseRepositoriesSection(c, root["repositories"], { baseDir, dataDir: domain.dataDir }),
    edges: parseEdgesSection(c, root["edges"], baseDir),
    audit: parseAuditSection(c, root["audit"]),
    monitoring: parseMonitoringSection(c, root["monitoring"], baseDir),
  };
  const federation = parseFederationSection(c, root["federation"], baseDir, domain.id);
  if (federation) config.federation = federation;
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
