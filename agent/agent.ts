/**
 * The one startup file: from a validated config, build every part of the agent once and pass each its
 * dependencies explicitly — keys, verifier, metrics, health, routes, listeners — then serve until closed.
 */
import { readFileSync } from "node:fs";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { AgentConfig } from "./config/config.js";
import { loadSigningKey } from "./auth/keys.js";
import { bootstrapRepositories } from "./cad/bootstrap.js";
import { Catalogue } from "./cad/catalogue.js";
import { HydrationCache } from "./cad/hydration-cache.js";
import { EdgeRegistry } from "./edge/edge-registry.js";
import { registerRootSyncs } from "./edge/root-syncs.js";
import { RepositoryRegistry } from "./cad/repository-registry.js";
import { createNorthboundVerifier } from "./auth/northbound-verifier.js";
import { createLogger, type Logger } from "./log/logger.js";
import { parseFailpoints, type Failpoints } from "./failpoints.js";
import { createMetrics } from "./metrics/metrics.js";
import { authInterceptor } from "./rpc/auth-interceptor.js";
import { errorMapInterceptor } from "./rpc/error-map.js";
import { registerRoutes, unknownRoute } from "./rpc/routes.js";
import { HealthRegistry } from "./server/health-registry.js";
import { startListeners } from "./server/listeners.js";
import { CapacityBook } from "./orchestration/reservations.js";
import { DeploymentManager } from "./orchestration/deployments.js";
import { deployableEdges } from "./orchestration/planner.js";
import { Journal } from "./orchestration/journal.js";

/** The agent's version, from the nearest package.json above this file (in dist/ when built, in the source tree under test). */
export const VERSION: string = ((): string => {
  for (let dir = new URL(".", import.meta.url); ; dir = new URL("..", dir)) {
    try {
      return (JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { version: string }).version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || dir.pathname === "/") throw err;
    }
  }
})();

export interface StartAgentOptions {
  config: AgentConfig;
  /** Default: a logger built from config.log, on stderr. */
  logger?: Logger;
  /** Default: parsed from CAMINO_FAILPOINTS (unset: none). */
  failpoints?: Failpoints;
}

export interface RunningAgent {
  readonly domainId: string;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  readonly health: HealthRegistry;
  /** Graceful shutdown: health turns NOT_SERVING, streams end, in-flight calls finish, listeners close. */
  close(): Promise<void>;
}

/** Starts an agent. @throws CaminoError for an unreadable key or TLS file, or a port in use. */
export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const { config } = options;
  const logger = (options.logger ?? createLogger({ level: config.log.level, format: config.log.format })).child({
    domain: config.domain.id,
  });

  const key = await loadSigningKey(config.auth.signingKeyFile);
  const verifier = createNorthboundVerifier({
    domainId: config.domain.id,
    jwks: { keys: [key.publicJwk] },
    audience: config.auth.audience,
    externalIssuers: config.auth.externalIssuers,
    clockToleranceSeconds: config.auth.clockToleranceSeconds,
    maxLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
  });
  const registry = await RepositoryRegistry.open({ dataDir: config.domain.dataDir, logger });
  await bootstrapRepositories(config.repositories, { dataDir: config.domain.dataDir, registry, logger });
  const catalogue = new Catalogue(registry);
  const edges = await EdgeRegistry.fromConfig(config.edges);
  // Edges may be slow or down at start: their RootSyncs are registered in the background, within their deadlines.
  void registerRootSyncs(registry, edges, logger);
  const metrics = createMetrics({ domainId: config.domain.id, version: VERSION });
  const health = new HealthRegistry({ "": "SERVING", "camino.v1.DomainManager": "SERVING" });

  // The advertised endpoint needs the bound port when port 0 was asked for, so routes are built lazily.
  let endpoint = config.domain.endpoint ?? "";
  const failpoints = options.failpoints ?? parseFailpoints(process.env["CAMINO_FAILPOINTS"]);
  const hydration = new HydrationCache();
  const book = new CapacityBook(() => deployableEdges({ registry, edges }));
  const lifecycle = config.lifecycle;
  const deployments = new DeploymentManager({
    domainId: config.domain.id,
    registry,
    catalogue,
    hydration,
    edges,
    book,
    capacityMaxAgeMs: lifecycle.capacityMaxAgeMs,
    journal: new Journal(config.domain.dataDir),
    logger: logger.child({ component: "lifecycle" }),
    failpoints,
    defaultTimeoutMs: lifecycle.defaultTimeoutMs,
    pollMs: lifecycle.pollMs,
    cleanupTimeoutMs: lifecycle.cleanupTimeoutMs,
    maxConcurrentRuns: lifecycle.maxConcurrentRuns,
  });
  await deployments.init();
  const domainManager = {
    domainId: config.domain.id,
    get endpoint() {
      return endpoint;
    },
    version: VERSION,
    limits: config.limits,
    failpoints,
    registry,
    catalogue,
    hydration,
    edges,
    book,
    deployments,
    capacityMaxAgeMs: lifecycle.capacityMaxAgeMs,
    logger,
  };
  const routes = registerRoutes({
    domainManager,
    health,
    common: [metrics.interceptor, errorMapInterceptor(logger)],
    auth: authInterceptor(verifier),
  });
  const adapter = connectNodeAdapter({
    routes,
    fallback: unknownRoute,
    readMaxBytes: config.server.maxMessageBytes,
    writeMaxBytes: config.server.maxMessageBytes,
    // An unknown JSON field in a Connect request is an error, as it is in a YAML intent.
    jsonOptions: { ignoreUnknownFields: false },
  });
  const listeners = await startListeners({
    grpc: config.server.grpc,
    http: config.server.http,
    rpc: adapter,
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    logger,
  });
  endpoint ||= listeners.grpcUrl;
  logger.info("agent listening", { grpc: listeners.grpcUrl, http: listeners.httpUrl, version: VERSION });

  let closing: Promise<void> | undefined;
  return {
    domainId: config.domain.id,
    grpcUrl: listeners.grpcUrl,
    httpUrl: listeners.httpUrl,
    health,
    close() {
      closing ??= (async () => {
        logger.info("shutting down", { graceSeconds: config.server.shutdownGraceSeconds });
        health.shutdown();
        await Promise.all([listeners.close(config.server.shutdownGraceSeconds * 1000), deployments.close()]);
        logger.info("stopped");
      })();
      return closing;
    },
  };
}
