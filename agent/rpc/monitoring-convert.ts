/** Monitoring figures ↔ protobuf: QueryMonitoring's samples and scope, and the metrics source as a dependency. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type DependencyHealth,
  DependencyHealthSchema,
  type MetricSample,
  MetricSampleSchema,
  MetricScope,
} from "../../gen/camino/v1/types_pb.js";
import type { FederationQueryMonitoringRequest } from "../../gen/camino/v1/federation_pb.js";
import { aggregateFigures, type FigureQuery, type FigureSample } from "../monitoring/disclosure.js";
import type { MonitoringService, MonitoringStatus } from "../monitoring/monitoring-service.js";
import type { MonitoringConfig } from "../config/monitoring-section.js";

/** A figure as a MetricSample, its labels sorted by key. */
export function figureToProto(f: FigureSample): MetricSample {
  return create(MetricSampleSchema, {
    metric: f.metric,
    labels: Object.keys(f.labels)
      .sort()
      .map((key) => ({ key, value: f.labels[key] as string })),
    value: f.value,
    time: timestampFromDate(f.time),
  });
}

/** The request's scope: UNSPECIFIED means all of them. */
export function scopeFromProto(scope: MetricScope): FigureQuery["scope"] {
  switch (scope) {
    case MetricScope.INFRASTRUCTURE:
      return "infrastructure";
    case MetricScope.WORKLOAD:
      return "workload";
    case MetricScope.LINK:
      return "link";
    default:
      return "all";
  }
}

/** The metrics source as a dependency of the agent (GetDomainInfo). */
export function monitoringHealthToProto(s: MonitoringStatus): DependencyHealth {
  return create(DependencyHealthSchema, {
    name: "monitoring",
    kind: s.source === "prometheus" ? "prometheus" : `metrics-${s.source}`,
    healthy: s.healthy,
    message: s.message,
    ...(s.checkedAt ? { checkedAt: timestampFromDate(s.checkedAt) } : {}),
  });
}

/**
 * Federation/QueryMonitoring as this domain answers a peer: domain aggregates only (never a figure that names an
 * edge, an intent or a package), or nothing when `monitoring.policy.peers` is "none".
 */
export function peerMonitoring(
  monitoring: Pick<MonitoringService, "latest" | "refresh">,
  policy: MonitoringConfig["policy"]["peers"],
): (req: FederationQueryMonitoringRequest, signal: AbortSignal) => Promise<MetricSample[]> {
  return async (req, signal) => {
    if (policy === "none") return [];
    const snapshot = monitoring.latest() ?? (await monitoring.refresh(signal));
    return aggregateFigures(snapshot, { scope: scopeFromProto(req.scope), metrics: req.metrics }).map(figureToProto);
  };
}
