/**
 * A real agent as a child process (the compiled CLI, `camino agent --config`), on free loopback ports, in its
 * own process group; its JSON log lines are kept for assertions. `stop` signals the group and waits for exit.
 */
import { agentEnvironment } from "../../agent/util/allocator.js";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { generateSigningKey, loadSigningKey, writeKeyFiles, type SigningKey } from "../../agent/auth/keys.js";
import { mintNorthboundToken } from "../../agent/auth/token.js";
import { ensureDomainPki } from "../../agent/auth/domain-pki.js";
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
  /**
   * Federate: a peer listener on a free port with certificates made for the domain (agent/auth/domain-pki.ts),
   * no peers yet (see `setPeers`), and these settings merged into the `federation` section.
   */
  federation?: Record<string, unknown>;
}

/** The federation files of an agent started with `federation`. */
export interface FederationFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  meshRootFile: string;
  /** The domain's public JWKS. */
  jwksFile: string;
}

export interface AgentProcess {
  domainId: string;
  dir: string;
  configFile: string;
  key: SigningKey;
  pki?: TestPki;
  grpcUrl: string;
  httpUrl: string;
  /** The peer listener's https URL, when started with `federation`. */
  federationUrl?: string;
  federationFiles?: FederationFiles;
  /** Rewrites the config's trust list to `peers` (their endpoints, JWKS files and CAs) and sends SIGHUP. */
  setPeers(
    peers: readonly AgentProcess[],
    extra?: (peer: AgentProcess) => Record<string, unknown>,
    more?: readonly Record<string, unknown>[],
  ): Promise<void>;
  /**
   * Stops the agent (SIGTERM, or `how.signal`; nothing when it has exited already), runs `whileDown`, and starts
   * it again with the same config, data and ports (and `how.env` instead of the first environment, if given;
   * `how.federation` merged into the config's `federation` section, kept for later restarts).
   */
  restart(
    whileDown?: () => Promise<void>,
    how?: { signal?: NodeJS.Signals; env?: Record<string, string>; federation?: Record<string, unknown> },
  ): Promise<void>;
  /** Resolves when the agent process exits (a failpoint's exit, a crash). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** host:port of the gRPC listener. */
  grpcTarget: string;
  child: ChildProcess;
  /** Parsed log lines so far (of the current run). */
  logs: Record<string, unknown>[];
  /** Parsed log lines of every run so far, each run after a restart beginning with `{msg: "(restarted)"}`. */
  allLogs(): Record<string, unknown>[];
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
  const federationFiles = options.federation
    ? {
        ...(await ensureDomainPki({
          dir: join(dir, "federation"),
          domainId,
          hosts: ["127.0.0.1", "localhost"],
          trustDomain: `${domainId}.camino`,
        })),
        jwksFile: join(dir, "keys", "jwks.json"),
      }
    : undefined;
  if (federationFiles) {
    (config as Record<string, unknown>)["federation"] = {
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: federationFiles.certFile, keyFile: federationFiles.keyFile },
      meshRootCertFile: federationFiles.meshRootFile,
      refreshIntervalSeconds: 1,
      callTimeoutMs: 2000,
      peers: [],
      ...options.federation,
    };
  }
  const configFile = join(dir, "domain.yaml");
  writeFileSync(configFile, stringify(config));

  let run = await spawnAgent(configFile, dir, options.env);
  const past: Record<string, unknown>[] = [];
  const agent: AgentProcess = {
    domainId,
    dir,
    configFile,
    key,
    grpcUrl: run.grpcUrl,
    httpUrl: run.httpUrl,
    grpcTarget: new URL(run.grpcUrl).host,
    get child() {
      return run.child;
    },
    get logs() {
      return run.logs;
    },
    allLogs: () => [...past, ...run.logs],
    token: (scopes, ttlSeconds = 600) =>
      mintNorthboundToken({ key, issuer: domainId, audience: domainId, subject: "test", scopes, ttlSeconds }),
    async setPeers(peers, extra, more = []) {
      const fed = config as unknown as { federation: { peers: unknown[] } };
      fed.federation.peers = peers.map((p) => ({
        id: p.domainId,
        endpoint: p.federationUrl,
        jwksFile: p.federationFiles?.jwksFile,
        caFile: p.federationFiles?.caFile,
        ...extra?.(p),
      }));
      fed.federation.peers.push(...more);
      writeFileSync(configFile, stringify(config));
      const before = run.logs.length;
      process.kill(run.child.pid as number, "SIGHUP");
      await until(
        () => run.logs.slice(before).some((l) => l["msg"] === "trust list reloaded"),
        () => `trust list reloaded; the agent logged since: ${JSON.stringify(run.logs.slice(before)).slice(0, 4000)}`,
      );
    },
    exited: () => run.exited,
    async restart(whileDown, how) {
      await run.stop(how?.signal ?? "SIGTERM");
      await whileDown?.();
      // The same ports again, so peers and clients find it where it was.
      const c = config as unknown as {
        server: { grpc: { port: number }; http: { port: number } };
        federation?: { listen: { port: number } };
      };
      c.server.grpc.port = Number(new URL(run.grpcUrl).port);
      c.server.http.port = Number(new URL(run.httpUrl).port);
      if (c.federation && run.federationUrl) c.federation.listen.port = Number(new URL(run.federationUrl).port);
      if (c.federation && how?.federation) Object.assign(c.federation, how.federation);
      writeFileSync(configFile, stringify(config));
      past.push(...run.logs, { msg: "(restarted)", env: how?.env ?? options.env ?? {} });
      run = await spawnAgent(configFile, dir, how?.env ?? options.env);
    },
    async stop(signal = "SIGTERM") {
      const result = await run.stop(signal);
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
  if (run.federationUrl) agent.federationUrl = run.federationUrl;
  if (federationFiles) agent.federationFiles = federationFiles;
  if (pki) agent.pki = pki;
  return agent;
}

/** Polls `check` every 20 ms until it holds, for at most 30 s. */
async function until(check: () => boolean, what: () => string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface AgentRun {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  grpcUrl: string;
  httpUrl: string;
  federationUrl?: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `camino agent --config` in its own process group and resolves once it logs where it listens. */
async function spawnAgent(configFile: string, dir: string, env: Record<string, string> | undefined): Promise<AgentRun> {
  const child = spawn(process.execPath, [CAMINO, "agent", "--config", configFile], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // With the allocator the agent's own launchers give it (jemalloc where installed: agent/util/allocator.ts).
    env: agentEnvironment({
      PATH: process.env["PATH"] ?? "",
      HOME: dir,
      ...(process.env["CAMINO_MALLOC"] ? { CAMINO_MALLOC: process.env["CAMINO_MALLOC"] } : {}),
      ...(process.env["MALLOC_CONF"] ? { MALLOC_CONF: process.env["MALLOC_CONF"] } : {}),
      ...env,
    }).env,
  });
  live.add(child);
  const logs: Record<string, unknown>[] = [];
  let raw = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  void exited.then(() => live.delete(child));

  let startTimer: NodeJS.Timeout | undefined;
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
    startTimer = setTimeout(() => {
      // An agent that never listens is not left running behind the failed test.
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // Already gone.
      }
      reject(new Error(`agent did not listen within 30s:\n${raw}`));
    }, 30_000).unref();
  });
  const entry = await listening.finally(() => clearTimeout(startTimer));
  const out: AgentRun = {
    child,
    logs,
    grpcUrl: entry["grpc"] as string,
    httpUrl: entry["http"] as string,
    exited,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-(child.pid as number), signal);
        } catch {
          // Already gone.
        }
      }
      return exited;
    },
  };
  if (typeof entry["federation"] === "string") out.federationUrl = entry["federation"];
  return out;
}
