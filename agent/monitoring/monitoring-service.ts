/**
 * The Monitoring Service slot: infrastructure and workload metrics from a Prometheus-compatible API or the
 * edges' own endpoints, the pod → deployment label cache, alerts published on the lifecycle's event bus, and
 * export to InfluxDB (the monitoring issue fills it). Not to be confused with agent/agent-metrics/, the agent's
 * own /metrics. Today {@link createNoMonitoring} is the component: it starts and stops with the agent and does
 * nothing else, and QueryMonitoring / ListAlerts are not served (callers get the gRPC status for a method
 * the server does not have, as the README says).
 */

/** The Monitoring Service as the agent starts and stops it. */
export interface MonitoringService {
  start(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The Monitoring Service until the monitoring issue lands: a component with no work. */
export function createNoMonitoring(): MonitoringService {
  return { async start() {}, async close() {} };
}
