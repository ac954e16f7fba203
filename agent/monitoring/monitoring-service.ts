/**
 * The Monitoring Service: periodic snapshots of the domain from one {@link MetricsSource} (the edges' own
 * endpoints, or a Prometheus-compatible API), the latest one kept for others (QueryMonitoring, admission, the
 * alert rules through {@link MonitoringService.subscribe}), and the source's health. A source that cannot be read
 * degrades only this service: its status turns unhealthy (GetDomainInfo's dependencies, the `camino.monitoring`
 * health service), the last good snapshot is kept, and snapshots resume when the source answers again. Not to be
 * confused with agent/agent-metrics/, the agent's own /metrics.
 */
import { readFile } from "node:fs/promises";
import { CaminoError } from "../../common/errors.js";
import type { MonitoringConfig } from "../config/monitoring-section.js";
import type { Logger } from "../log/logger.js";
import { createPrometheusClient, type PrometheusAuth } from "./prometheus-client.js";
import { createPrometheusSource } from "./prometheus-source.js";
import { createScrapeSource } from "./scrape-source.js";
import type { LabelCache } from "./label-cache.js";
import type { MetricsSource, MonitoringSnapshot } from "./snapshot.js";

/** The health of the metrics source. */
export interface MonitoringStatus {
  /** "scrape", "prometheus", or "none". */
  source: string;
  healthy: boolean;
  /** Why it is unhealthy, or what the last snapshot held. */
  message: string;
  /** When the source was last asked. */
  checkedAt?: Date;
}

/** The Monitoring Service as the agent starts and stops it, and as the other components read it. */
export interface MonitoringService {
  start(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
  /** The newest snapshot, if any was taken. */
  latest(): MonitoringSnapshot | undefined;
  /** Calls `listener` with every new snapshot; returns the unsubscribe function. */
  subscribe(listener: (s: MonitoringSnapshot) => void): () => void;
  /** The source's health now. */
  status(): MonitoringStatus;
  /** Calls `listener` whenever the source turns healthy or unhealthy; returns the unsubscribe function. */
  onStatus(listener: (s: MonitoringStatus) => void): () => void;
  /** Takes a snapshot now (shared with one in flight). @throws CaminoError when the source cannot be read */
  refresh(signal?: AbortSignal): Promise<MonitoringSnapshot>;
}

export interface MonitoringServiceOptions {
  source: MetricsSource;
  /** Between snapshots, in ms. */
  intervalMs: number;
  logger: Logger;
}

/** A Monitoring Service over `source`, taking a snapshot every `intervalMs` once started. */
export function createMonitoringService(options: MonitoringServiceOptions): MonitoringService {
  const { source, logger } = options;
  const listeners = new Set<(s: MonitoringSnapshot) => void>();
  const statusListeners = new Set<(s: MonitoringStatus) => void>();
  let latest: MonitoringSnapshot | undefined;
  let status: MonitoringStatus = { source: source.name, healthy: false, message: "no snapshot taken yet" };
  let inFlight: Promise<MonitoringSnapshot> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = new AbortController();
  let running: Promise<unknown> = Promise.resolve();

  const setStatus = (next: MonitoringStatus) => {
    const changed = next.healthy !== status.healthy;
    status = next;
    if (changed) {
      if (next.healthy) logger.info("metrics source readable", { source: source.name });
      else logger.warn("metrics source unavailable", { source: source.name, error: next.message });
      for (const l of statusListeners) l(next);
    }
  };

  async function take(signal: AbortSignal): Promise<MonitoringSnapshot> {
    try {
      const s = await source.snapshot(signal);
      latest = s;
      const reachable = s.edges.filter((e) => e.reachable).length;
      setStatus({
        source: source.name,
        healthy: true,
        message: `${reachable} of ${s.edges.length} edges read, ${s.workloads.length} workloads, ${s.links.length} links`,
        checkedAt: new Date(),
      });
      for (const l of listeners) {
        try {
          l(s);
        } catch (err) {
          logger.warn("a snapshot listener failed", { error: String(err) });
        }
      }
      return s;
    } catch (err) {
      if (!signal.aborted)
        setStatus({ source: source.name, healthy: false, message: (err as Error).message, checkedAt: new Date() });
      throw err;
    }
  }

  const service: MonitoringService = {
    async start(signal) {
      stopped = new AbortController();
      const both = AbortSignal.any([signal, stopped.signal]);
      const tick = () => {
        running = service.refresh(both).catch(() => undefined);
        void running.then(() => {
          if (!both.aborted) timer = setTimeout(tick, options.intervalMs);
        });
      };
      // The first snapshot is taken in the background: a source that is down must not hold the agent's start.
      tick();
    },
    async close() {
      stopped.abort();
      clearTimeout(timer);
      await running;
    },
    latest: () => latest,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    refresh(signal) {
      // Shared by every caller, so no one caller's signal may cancel it; a caller that gives up stops waiting.
      inFlight ??= take(stopped.signal).finally(() => {
        inFlight = undefined;
      });
      const shared = inFlight;
      if (!signal) return shared;
      // A rejection, never a throw: the periodic tick calls this from a timer, where a throw would end the process.
      if (signal.aborted) return Promise.reject(signal.reason as Error);
      return new Promise<MonitoringSnapshot>((resolve, reject) => {
        const abort = () => reject(signal.reason);
        signal.addEventListener("abort", abort, { once: true });
        shared.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
      });
    },
  };
  return service;
}

/** The source the `monitoring` section configures; credentials are read from their files now. */
export async function sourceFromConfig(
  config: MonitoringConfig,
  domain: {
    domainId: string;
    edges: () => readonly string[];
    labels?: LabelCache;
    /** A link's CAMINO name from the intent's links; without it links are named `<from>-<to>`. */
    linkName?: (intent: string, from: string, to: string) => string | undefined;
  },
): Promise<MetricsSource> {
  const labels = {
    ...(domain.labels ? { labels: domain.labels } : {}),
    ...(domain.linkName ? { linkName: domain.linkName } : {}),
  };
  const secret = async (file: string) => (await readFile(file, "utf8")).trim();
  if (config.source === "prometheus" && config.prometheus) {
    const p = config.prometheus;
    const auth: PrometheusAuth = p.bearerTokenFile
      ? { kind: "bearer", token: await secret(p.bearerTokenFile) }
      : p.basicAuth
        ? { kind: "basic", username: p.basicAuth.username, password: await secret(p.basicAuth.passwordFile) }
        : { kind: "none" };
    return createPrometheusSource({
      domainId: domain.domainId,
      client: createPrometheusClient({ url: p.url, auth, timeoutMs: config.timeoutMs }),
      edges: domain.edges,
      edgeLabel: p.edgeLabel,
      rateWindow: p.rateWindow,
      ...labels,
    });
  }
  const targets = await Promise.all(
    config.scrape.map(async (e) => ({
      edge: e.edge,
      kubeStateMetrics: e.kubeStateMetrics,
      cadvisor: e.cadvisor,
      ...(e.istio ? { istio: e.istio } : {}),
      ...(e.bearerTokenFile ? { bearerToken: await secret(e.bearerTokenFile) } : {}),
    })),
  );
  return createScrapeSource({
    domainId: domain.domainId,
    targets: () => targets,
    timeoutMs: config.timeoutMs,
    ...labels,
  });
}

/** A Monitoring Service with no source: no snapshots, reported as such (tests and tools that need none). */
export function createNoMonitoring(): MonitoringService {
  const status: MonitoringStatus = { source: "none", healthy: false, message: "no metrics source" };
  return {
    async start() {},
    async close() {},
    latest: () => undefined,
    subscribe: () => () => false,
    status: () => status,
    onStatus: () => () => false,
    async refresh() {
      throw new CaminoError("ERR_MONITORING_UNAVAILABLE", "no metrics source is configured");
    },
  };
}
