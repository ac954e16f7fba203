/**
 * A real agent as a child process (the compiled CLI, `camino agent --config`), on free loopback ports, in its
 * own process group; its JSON log lines are kept for assertions. `stop` signals the group and waits for exit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { generateSigningKey, loadSigningKey, writeKeyFiles, type SigningKey } from "../../agent/auth/keys.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { makePki, type TestPki } from "./tls.js";

/** The project root, from the source tree (vitest) or from dist/ (benchmarks). */
export const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || dir.endsWith("dist")) dir = dirname(dir);
  return dir;
})();
export const CAMINO = join(ROOT, "bin", "camino.js");

export interface AgentProcessOptions {
  domainId?: string;
  /** Serve the gRPC and HTTP ports over TLS; "mtls" also asks for client certificates. */
  tls?: false | "tls" | "mtls";
  /** Merged into the generated config's `auth` section. */
  auth?: Record<string, unknown>;
  /** Extra environment (CAMINO_FAILPOINTS, …). */
  env?: Record<string, string>;
  /** The config's `repositories`; default a catalogue seeded from blueprints/ and deployment repositories for edge-1 and edge-2. */
  repositories?: Record<string, unknown>[];
  /** Merged into the generated config (e.g. `edges`). */
  extraConfig?: Record<string, unknown>;
  /** Log level of the agent. Default "debug". */
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface AgentProcess {
  domainId: string;
  dir: string;
  configFile: string;
  key: SigningKey;
  pki?: TestPki;
  grpcUrl: string;
  httpUrl: string;
  /** host:port of the gRPC listener. */
  grpcTarget: string;
  child: ChildProcess;
  /** Parsed log lines so far. */
  logs: Record<string, unknown>[];
  /** A token signed by the domain key. */
  token(scopes: string[], ttlSeconds?: number): Promise<string>;
  /** Sends `signal` to the process group and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live)
    if (c.pid)
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
});

/** Starts an agent and resolves once it logs where it listens. */
export async function startAgentProcess(options: AgentProcessOptions = {}): Promise<AgentProcess> {
  const domainId = options.domainId ?? "domain-x";
  const dir = mkdtempSync(join(tmpdir(), "camino-agent-"));
  const keyFile = join(dir, "keys", "signing-key.jwk");
  await writeKeyFiles(await generateSigningKey(), { keyFile, jwksFile: join(dir, "keys", "jwks.json") });
  const key = await loadSigningKey(keyFile);
  const pki = options.tls ? makePki(dir) : undefined;
  const tls = pki
    ? {
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        ...(options.tls === "mtls" ? { clientCaFile: pki.caFile, requireClientCert: true } : {}),
      }
    : undefined;
  const config = {
    domain: { id: domainId, dataDir: join(dir, "data") },
    server: {
      grpc: { host: "127.0.0.1", port: 0, ...(tls ? { tls } : {}) },
      http: { host: "127.0.0.1", port: 0, ...(tls ? { tls } : {}) },
      shutdownGraceSeconds: 5,
    },
    auth: { signingKeyFile: keyFile, ...options.auth },
    log: { level: options.logLevel ?? "debug" },
    repositories: options.repositories ?? [
      { name: "catalogue", role: "blueprint", seedFrom: join(ROOT, "blueprints") },
      { name: "edge-1-deploy", role: "deployment", edge: "edge-1" },
      { name: "edge-2-deploy", role: "deployment", edge: "edge-2" },
    ],
    ...options.extraConfig,
  };
  const configFile = join(dir, "domain.yaml");
  writeFileSync(configFile, stringify(config));

  const child = spawn(process.execPath, [CAMINO, "agent", "--config", configFile], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...options.env },
  });
  live.add(child);
  const logs: Record<string, unknown>[] = [];
  let raw = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  void exited.then(() => live.delete(child));

  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      raw += chunk;
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry["msg"] === "agent listening") resolve(entry);
        } catch {
          logs.push({ text: line });
        }
      }
    });
    void exited.then((e) => reject(new Error(`agent exited (${e.code ?? e.signal}) before listening:\n${raw}`)));
    setTimeout(() => reject(new Error(`agent did not listen within 15s:\n${raw}`)), 15_000).unref();
  });
  const entry = await listening;
  const grpcUrl = entry["grpc"] as string;
  const agent: AgentProcess = {
    domainId,
    dir,
    configFile,
    key,
    grpcUrl,
    httpUrl: entry["http"] as string,
    grpcTarget: new URL(grpcUrl).host,
    child,
    logs,
    token: (scopes, ttlSeconds = 600) =>
      mintNorthboundToken({ key, issuer: domainId, audience: domainId, subject: "test", scopes, ttlSeconds }),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-(child.pid as number), signal);
        } catch {
          // Already gone.
        }
      }
      const result = await exited;
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
  if (pki) agent.pki = pki;
  return agent;
}
