/**
 * The Monitoring Service slot (DESIGN section 9): infrastructure and workload metrics from a Prometheus-compatible
 * API or the edges' own endpoints, the pod → deployment label cache, alerts published on the lifecycle's event
 * bus, and export to InfluxDB. Not to be confused with agent/agent-metrics/, the agent's own /metrics.
 * Until it lands, {@link createNoMonitoring} is the component and QueryMonitoring / ListAlerts answer
 * UNIMPLEMENTED.
 */

/** One alert about a workload of a deployment. */
export interface MonitoringAlert {
  intent: string;
  package: string;
  edge: string;
  name: string;
  message: string;
  since: Date;
}

export interface MonitoringService {
  /** Whether the service is there to answer (false: the RPCs answer UNIMPLEMENTED). */
  readonly enabled: boolean;
  alerts(): MonitoringAlert[];
  start(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The Monitoring Service until it lands. */
export function createNoMonitoring(): MonitoringService {
  return { enabled: false, alerts: () => [], async start() {}, async close() {} };
}
