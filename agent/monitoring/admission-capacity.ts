/**
 * Admission's free capacity from monitoring (the `monitoring.admission` config): "kubernetes" leaves admission
 * on the edges' API figures; "monitoring" uses each edge's monitoring headroom (allocatable less the larger of
 * requested and measured use); "stricter" the smaller of the two. When the source is down, or its newest
 * snapshot is older than `maxAgeMs`, the fallback applies: the Kubernetes figures, or refusal. Either way the
 * plan names the source it used. An edge the snapshot could not read keeps its Kubernetes figures.
 */
import type { MonitoringConfig } from "../config/monitoring-section.js";
import type { MonitoredCapacity } from "../orchestration/reservations.js";
import type { MonitoringService } from "./monitoring-service.js";

export interface AdmissionCapacityOptions {
  config: MonitoringConfig["admission"];
  monitoring: Pick<MonitoringService, "latest" | "status">;
  /** Clock, in ms. Default Date.now. */
  now?: () => number;
}

/** The {@link MonitoredCapacity} the CapacityBook reads, as configured. */
export function admissionCapacity(options: AdmissionCapacityOptions): MonitoredCapacity {
  const { config, monitoring } = options;
  const now = options.now ?? Date.now;
  return {
    read() {
      if (config.capacity === "kubernetes") return { source: "kubernetes", free: () => undefined };
      const snapshot = monitoring.latest();
      const status = monitoring.status();
      const age = snapshot ? now() - snapshot.at.getTime() : Number.POSITIVE_INFINITY;
      const down = !status.healthy
        ? `the metrics source is unavailable: ${status.message}`
        : age > config.maxAgeMs
          ? `the newest monitoring snapshot is ${snapshot ? `${Math.round(age / 1000)} s old` : "not taken yet"}`
          : undefined;
      if (down || !snapshot) {
        const why = down ?? "no monitoring snapshot";
        return config.fallback === "refuse"
          ? {
              source: `none (${config.capacity} refused: ${why})`,
              free: () => undefined,
              refuse: `admission needs monitoring, and ${why}`,
            }
          : { source: `kubernetes (fallback from ${config.capacity}: ${why})`, free: () => undefined };
      }
      const headroom = new Map(
        snapshot.edges.filter((e) => e.reachable && e.headroom).map((e) => [e.edge, e.headroom]),
      );
      return {
        source: config.capacity,
        mode: config.capacity === "monitoring" ? "replace" : "min",
        free: (edge) => headroom.get(edge),
      };
    },
  };
}
