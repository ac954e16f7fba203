/**
 * The one startup file: from a validated config, build every component of the agent once, each from its own
 * config section, and pass each its dependencies explicitly; start them in order (agent/component.ts) and
 * close them in reverse. The components, in start order: repositories (cad), edges, federation, network,
 * monitoring, lifecycle (orchestration), server (rpc and listeners).
 */
import { readFileSync } from "node:fs";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { AgentConfig } from "./config/config.js";
import { loadKeyRing } from "./auth/key-ring.js";
import { bootstrapRepositories } from "./cad/bootstrap.js";
import { Catalogue } from "./cad/catalogue.js";
import { HydrationCache } from "./cad/hydration-cache.js";
import { EdgeRegistry } from "./edge/edge-registry.js";
import { registerRootSyncs } from "./edge/root-syncs.js";
import { RepositoryRegistry } from "./cad/repository-registry.js";
import { createNorthboundVerifier } from "./auth/northbound-verifier.js";
import { createLogger, type Logger } from "./log/logger.js";
import { parseFailpoints, type Failpoints } from "./failpoints.js";
import { createMetrics } from "./agent-metrics/metrics.js";
import { authInterceptor } from "./rpc/auth-interceptor.js";
import { errorMapInterceptor } from "./rpc/error-map.js";
import { registerPeerRoutes, registerRoutes, unknownRoute } from "./rpc/routes.js";
import { auditDir, createAuditLog } from "./audit/audit-log.js";
import {
  auditInterceptor,
  DOMAIN_MANAGER_AUDITED,
  northboundCaller,
  remoteAddressValues,
  FEDERATION_AUDITED,
  peerCallerOf,
} from "./rpc/audit-interceptor.js";
import { createKeysService } from "./rpc/keys-service.js";
import { verifiedPeerKey } from "../federation/call-auth.js";
import { HealthRegistry } from "./server/health-registry.js";
import { startListeners } from "./server/listeners.js";
import { startPeerListener, type PeerListener } from "./server/peer-listener.js";
import { createPeering } from "./peering.js";
import { CaminoSegmentHost } from "./segments/segment-host.js";
import { startSegmentReconciler } from "./segments/segment-reconciler.js";
import { CapacityBook } from "./orchestration/reservations.js";
import { DeploymentManager } from "./orchestration/deployment-manager.js";
import { deployableEdges } from "./orchestration/planner.js";
import { Journal } from "./orchestration/journal.js";
import { ComponentSet, type Component } from "./component.js";
import { createLocalOnlyFederation, type Federation } from "../federation/federation.js";
import { createNetworkManager, meshReaderOf } from "./network/network-manager.js";
import { createMonitoringService, sourceFromConfig } from "./monitoring/monitoring-service.js";
import { admissionCapacity } from "./monitoring/admission-capacity.js";
import { peerMonitoring } from "./rpc/monitoring-convert.js";
import { startAlerting } from "./monitoring/alerting.js";
import { createMemoryLabelCache, type LabelCache } from "./monitoring/label-cache.js";
import { createRedisLabelCache } from "./monitoring/redis-label-cache.js";
import { createInfluxExporter, type InfluxExporter } from "./monitoring/influx-exporter.js";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DependencyHealthSchema } from "../gen/camino/v1/types_pb.js";

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
  /** The label cache's Redis (a redis:// URL or a Unix socket path). Default: REDIS_URL (unset: in memory). */
  redisUrl?: string;
}

export interface RunningAgent {
  readonly domainId: string;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  /** The peer listener's URL (https), when the agent federates. */
  readonly federationUrl: string | undefined;
  readonly health: HealthRegistry;
  /**
   * Applies what can change at run time from a re-read config (SIGHUP): the federation trust list. A peer
   * removed from it is refused from then on. @throws CaminoError for an unreadable peer CA file
   */
  reload(config: AgentConfig): Promise<void>;
  /** Graceful shutdown: health turns NOT_SERVING, streams end, in-flight calls finish, listeners close. */
  close(): Promise<void>;
}

/** Starts an agent. @throws CaminoError for an unreadable key or TLS file, or a port in use. */
export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const { config } = options;
  const logger = (options.logger ?? createLogger({ level: config.log.level, format: config.log.format })).child({
    domain: config.domain.id,
  });
  const failpoints = options.failpoints ?? parseFailpoints(process.env["CAMINO_FAILPOINTS"]);
  const components = new ComponentSet();

  // auth: the domain's key ring (the key signing now, and a rotation's next and previous keys) and the northbound
  // verifier, which accepts every key the ring publishes, so tokens keep working through a rotation.
  const keyRing = await loadKeyRing({
    keyFile: config.auth.signingKeyFile,
    jwksFile: config.auth.signingKeyFile.replace(/\.jwk$/, ".jwks.json"),
    ...(config.federation ? { overlapSeconds: config.federation.keyOverlapSeconds } : {}),
  });
  // A finished rotation is made durable (the next key becomes the key file) soon after it finishes.
  let settling: NodeJS.Timeout | undefined;
  await components.start<Component>({
    name: "keys",
    start: async () => {
      settling = setInterval(
        () =>
          void keyRing.settle().catch((err: unknown) => logger.warn("key ring not settled", { error: String(err) })),
        10_000,
      );
      settling.unref();
    },
    close: async () => clearInterval(settling),
  });
  const verifier = createNorthboundVerifier({
    domainId: config.domain.id,
    jwks: () => keyRing.published(),
    audience: config.auth.audience,
    externalIssuers: config.auth.externalIssuers,
    clockToleranceSeconds: config.auth.clockToleranceSeconds,
    maxLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
  });

  // repositories: the registry, and the repositories the config names.
  const registry = await RepositoryRegistry.open({ dataDir: config.domain.dataDir, logger });
  await components.start<Component>({
    name: "repositories",
    start: () => bootstrapRepositories(config.repositories, { dataDir: config.domain.dataDir, registry, logger }),
    // Local repositories' packs may be merging in the background: a clean stop lets them end.
    close: async () => {
      await Promise.all(registry.list().map((r) => r.git.settled()));
    },
  });

  // edges: one client per edge; their RootSyncs are registered in the background (edges may be slow or down at
  // start), each within its deadline, and the registration is cancelled at shutdown.
  const edges = await EdgeRegistry.fromConfig(config.edges);
  let registering: Promise<void> = Promise.resolve();
  await components.start<Component>({
    name: "edges",
    start: async (signal) => {
      registering = registerRootSyncs(registry, edges, logger, signal).catch((err: unknown) =>
        logger.warn("RootSync registration stopped", { error: String(err) }),
      );
    },
    close: async () => {
      await registering;
      edges.close();
    },
  });

  // federation: with a `federation` section, trust, the peer registry and the Federation service (started once
  // the listeners are up, so the first Hello already carries this domain's endpoints); without it, local only.
  const catalogue = new Catalogue(registry);
  // The agent's own /metrics: made before federation (it times peer calls) and monitoring (whose label cache
  // reports its lookups to it).
  const metrics = createMetrics({ domainId: config.domain.id, version: VERSION });
  let endpoint = config.domain.endpoint ?? "";
  let peerEndpoint = config.federation?.endpoint ?? "";
  const peering = config.federation
    ? await createPeering({
        domainId: config.domain.id,
        config: config.federation,
        keys: keyRing,
        catalogue,
        edges,
        apiEndpoint: () => endpoint,
        peerEndpoint: () => peerEndpoint,
        version: VERSION,
        logger: logger.child({ component: "federation" }),
        // Peers get domain aggregates only, or nothing (monitoring.policy.peers); never per-edge or per-package.
        queryMonitoring: (req, signal) => peerMonitoring(monitoring, config.monitoring.policy.peers)(req, signal),
        clientInterceptors: (peer) => [metrics.peerCalls(peer)],
      })
    : undefined;
  const federation: Federation = peering?.federation ?? createLocalOnlyFederation({ domainId: config.domain.id });
  const hydration = new HydrationCache();
  const network = createNetworkManager({
    catalogue,
    hydration,
    mesh: meshReaderOf(edges),
    ...(config.federation ? { trustDomain: config.federation.trustDomain } : {}),
  });
  // The label cache: Redis when REDIS_URL is set, memory otherwise; the metrics source joins pods through it.
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"];
  const cacheConfig = config.monitoring.labelCache;
  const labelCache: LabelCache = redisUrl
    ? createRedisLabelCache({
        url: redisUrl,
        ttlMs: cacheConfig.ttlMs,
        commandTimeoutMs: cacheConfig.commandTimeoutMs,
        keyPrefix: cacheConfig.keyPrefix ?? `camino:${config.domain.id}:`,
      })
    : createMemoryLabelCache({ ttlMs: cacheConfig.ttlMs });
  metrics.observeCache(() => labelCache.stats());
  // Closed after monitoring, which reads through it (and before anything else, so a failed start leaves no
  // Redis connection reconnecting behind it).
  await components.start<Component>({ name: "label-cache", start: async () => {}, close: () => labelCache.close() });
  // Links are named from the intents' specs, which the lifecycle (built after monitoring) holds.
  let linkName: ((intent: string, from: string, to: string) => string | undefined) | undefined;
  const monitoring = createMonitoringService({
    source: await sourceFromConfig(config.monitoring, {
      domainId: config.domain.id,
      edges: () => config.edges.map((e) => e.name),
      labels: labelCache,
      linkName: (intent, from, to) => linkName?.(intent, from, to),
    }),
    intervalMs: config.monitoring.intervalMs,
    logger: logger.child({ component: "monitoring" }),
  });
  await components.start<Component>({
    name: "monitoring",
    start: (signal) => monitoring.start(signal),
    close: () => monitoring.close(),
  });

  // lifecycle: planning, admission with reservations, deployment, rollback, termination, recovery.
  // Free capacity from the edges' API, from monitoring, or the stricter of the two (monitoring.admission).
  const book = new CapacityBook(
    () => deployableEdges({ registry, edges }),
    admissionCapacity({ config: config.monitoring.admission, monitoring }),
  );
  const lifecycle = config.lifecycle;
  const planner = {
    domainId: config.domain.id,
    registry,
    catalogue,
    hydration,
    edges,
    book,
    federation,
    network,
    capacityMaxAgeMs: lifecycle.capacityMaxAgeMs,
  };
  const journal = new Journal(config.domain.dataDir, {
    fsync: process.env["CAMINO_JOURNAL_FSYNC"] !== "off",
    failpoints,
    onFoldError: (err) =>
      logger.error("the deployment journal's log could not be folded; it is kept and folded at the next start", {
        error: String(err),
      }),
  });
  if (!journal.fsyncs) {
    logger.warn("CAMINO_JOURNAL_FSYNC=off: the deployment journal is not fsynced; a crash of the machine may lose it");
  }
  const deployments = new DeploymentManager({
    ...planner,
    journal,
    logger: logger.child({ component: "lifecycle" }),
    failpoints,
    lifecycle,
    heal: { graceMs: lifecycle.healGraceMs },
  });
  linkName = (intent, from, to) => deployments.linkName(intent, from, to);
  metrics.observeLifecycle(deployments.events);
  metrics.observeState({
    deployments,
    edges: () => edges.list(),
    peers: () => federation.peers.list(),
    reservations: () => book.all(),
    journal: () => journal.stats,
  });
  await components.start<Component>({
    name: "lifecycle",
    start: (signal) => deployments.start(signal),
    close: () => deployments.close(),
  });

  // segments: with federation, this domain runs segments for its peers (segment-host.ts) and both sides of
  // every segment are reconciled with their peers (segment-reconciler.ts). After the lifecycle: the committed
  // segments are its deployments.
  // The trust list in force: quotas follow a SIGHUP reload with it.
  let peersNow = config.federation?.peers ?? [];
  const segmentHost =
    peering && config.federation
      ? new CaminoSegmentHost({
          domainId: config.domain.id,
          deployments,
          catalogue,
          peers: peering.federation.peers,
          meshRoot: async () => (await peering.local.info()).meshRootCertificate,
          leaseMs: config.federation.segmentLeaseSeconds * 1000,
          quotaOf: (origin) => peersNow.find((p) => p.id === origin)?.quota,
          failpoints,
          logger: logger.child({ component: "segments" }),
        })
      : undefined;
  if (segmentHost && peering && config.federation) {
    const fed = config.federation;
    peering.federation.setSegmentHost(segmentHost);
    await components.start<Component>({
      name: "segments",
      start: async (signal) => {
        segmentHost.start(signal);
        startSegmentReconciler(
          {
            deployments,
            broker: federation.segments,
            host: segmentHost,
            intervalMs: fed.segmentReconcileSeconds * 1000,
            callTimeoutMs: fed.callTimeoutMs,
            logger: logger.child({ component: "segments" }),
          },
          signal,
        );
      },
      close: async () => {},
    });
  }

  // The rest of the monitoring plane. Alerts: evaluated on every snapshot, published as events of the intents
  // they concern. The label cache: Redis when REDIS_URL is set, memory otherwise. The InfluxDB export, when
  // configured: fed every snapshot, never awaited. Closed before the lifecycle.
  const alerting = config.monitoring.alerts.enabled
    ? startAlerting({
        rules: config.monitoring.alerts.rules,
        snapshots: monitoring,
        deployments,
        logger: logger.child({ component: "alerts" }),
      })
    : undefined;
  let lake: InfluxExporter | undefined;
  const influx = config.monitoring.influxdb;
  if (influx) {
    const secret = (file: string | undefined) => (file ? readFileSync(file, "utf8").trim() : undefined);
    const password = secret(influx.passwordFile);
    const token = secret(influx.tokenFile);
    const exporter = createInfluxExporter({
      ...influx,
      ...(password !== undefined ? { password } : {}),
      ...(token !== undefined ? { token } : {}),
      domain: config.domain.id,
      onDrop: (lines, reason) => logger.warn("InfluxDB export dropped samples", { lines, reason }),
    });
    lake = exporter;
    monitoring.subscribe((s) => exporter.export(s));
  }
  await components.start<Component>({
    name: "monitoring-plane",
    start: async () => {},
    close: async () => {
      alerting?.stop();
      await lake?.close();
    },
  });
  const monitoringDependencies = () => {
    const c = labelCache.health();
    const deps = [
      create(DependencyHealthSchema, {
        name: c.name,
        kind: c.kind,
        healthy: c.healthy,
        message: c.message,
        checkedAt: timestampFromDate(c.checkedAt),
      }),
    ];
    if (lake) {
      const x = lake.stats();
      deps.push(
        create(DependencyHealthSchema, {
          name: "influxdb-export",
          kind: "influxdb",
          healthy: x.lastError === "",
          message: `${x.written} samples written, ${x.dropped} dropped, ${x.retries} retries${x.lastError ? `; ${x.lastError}` : ""}`,
        }),
      );
    }
    return deps;
  };

  // server: routes, the connect adapter and the two listeners.
  const health = new HealthRegistry({ "": "SERVING", "camino.v1.DomainManager": "SERVING" });
  // The metrics source's health has its own name: a source that is down never turns the agent NOT_SERVING.
  const monitoringHealth = () =>
    health.set("camino.monitoring", monitoring.status().healthy ? "SERVING" : "NOT_SERVING");
  monitoringHealth();
  monitoring.onStatus(monitoringHealth);
  // The label cache likewise (Redis down: this name turns NOT_SERVING, the agent stays SERVING).
  const cacheHealth = () => health.set("camino.labelcache", labelCache.health().healthy ? "SERVING" : "NOT_SERVING");
  cacheHealth();
  labelCache.onHealthChange(cacheHealth);
  // The advertised endpoint needs the bound port when port 0 was asked for, so routes read it lazily.
  const domainManager = {
    ...planner,
    get endpoint() {
      return endpoint;
    },
    version: VERSION,
    ...(peering ? { domainInfo: () => peering.local.info() } : {}),
    limits: config.limits,
    failpoints,
    deployments,
    ...(segmentHost ? { segmentHost } : {}),
    monitoring,
    monitoringPolicy: config.monitoring.policy,
    ...(alerting ? { alerts: alerting.runner } : {}),
    dependencies: monitoringDependencies,
    logger,
  };
  // audit: northbound writes, refused ones too; closed after the server, so in-flight calls are recorded.
  const audit = createAuditLog({ dir: auditDir(config.domain.dataDir), ...config.audit, logger });
  await components.start<Component>({ name: "audit", start: () => audit.open(), close: () => audit.close() });
  const routes = registerRoutes({
    domainManager,
    health,
    common: [metrics.interceptor, errorMapInterceptor(logger)],
    auth: authInterceptor(verifier),
    audit: auditInterceptor({ log: audit, caller: northboundCaller, methods: DOMAIN_MANAGER_AUDITED }),
    keys: createKeysService({ keyRing, logger }),
  });
  const adapter = connectNodeAdapter({
    routes,
    fallback: unknownRoute,
    contextValues: remoteAddressValues,
    readMaxBytes: config.server.maxMessageBytes,
    writeMaxBytes: config.server.maxMessageBytes,
    // An unknown JSON field in a Connect request is an error, as it is in a YAML intent.
    jsonOptions: { ignoreUnknownFields: false },
  });
  let listeners: Awaited<ReturnType<typeof startListeners>> | undefined;
  await components.start<Component>({
    name: "server",
    start: async () => {
      listeners = await startListeners({
        grpc: config.server.grpc,
        http: config.server.http,
        rpc: adapter,
        metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
        logger,
      });
    },
    close: async () => {
      health.shutdown();
      await listeners?.close(config.server.shutdownGraceSeconds * 1000);
    },
  });
  const bound = listeners as NonNullable<typeof listeners>;
  endpoint ||= bound.grpcUrl;

  // The peer listener (TLS; Federation, health and reflection only), then the peers' refresh loops.
  let peerListener: PeerListener | undefined;
  if (peering && config.federation) {
    const fed = config.federation;
    const peerAdapter = connectNodeAdapter({
      routes: registerPeerRoutes({
        federation: peering.federation.service,
        health,
        // Every federation call is audited, refusals too (audit outermost); health and reflection are not.
        common: [
          auditInterceptor({
            log: audit,
            caller: peerCallerOf(verifiedPeerKey),
            methods: FEDERATION_AUDITED,
            all: true,
          }),
          metrics.interceptor,
          errorMapInterceptor(logger),
        ],
        auth: peering.federation.auth,
      }),
      fallback: unknownRoute,
      contextValues: remoteAddressValues,
      readMaxBytes: config.server.maxMessageBytes,
      writeMaxBytes: config.server.maxMessageBytes,
    });
    await components.start<Component>({
      name: "peer-server",
      start: async () => {
        peerListener = await startPeerListener(fed, peerAdapter, logger);
        peerEndpoint ||= peerListener.url;
      },
      close: async () => {
        await peerListener?.close(config.server.shutdownGraceSeconds * 1000);
      },
    });
  }
  await components.start<Component>({
    name: "federation",
    start: (signal) => federation.start(signal),
    close: () => federation.close(),
  });
  logger.info("agent listening", {
    grpc: bound.grpcUrl,
    http: bound.httpUrl,
    ...(peerListener ? { federation: peerListener.url } : {}),
    version: VERSION,
  });

  let closing: Promise<void> | undefined;
  return {
    domainId: config.domain.id,
    grpcUrl: bound.grpcUrl,
    httpUrl: bound.httpUrl,
    federationUrl: peerListener?.url,
    health,
    async reload(next) {
      if (!peering) {
        if (next.federation) logger.warn("the federation section is read at start only; restart the agent to federate");
        return;
      }
      await peering.reload(next.federation?.peers ?? []);
      peersNow = next.federation?.peers ?? [];
    },
    close() {
      closing ??= (async () => {
        logger.info("shutting down", { graceSeconds: config.server.shutdownGraceSeconds });
        // The shutdown signal first (runs in flight stop, watch streams end), then each component in reverse.
        await components.close((name, err) =>
          logger.error("a component did not close cleanly", { component: name, error: String(err) }),
        );
        logger.info("stopped");
      })();
      return closing;
    },
  };
}
