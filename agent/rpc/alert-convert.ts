/** Alerts as ListAlerts answers them. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Alert as AlertMessage, AlertSchema, AlertSeverity } from "../../gen/camino/v1/types_pb.js";
import type { Alert } from "../monitoring/alert-engine.js";

const SEVERITY = {
  info: AlertSeverity.INFO,
  warning: AlertSeverity.WARNING,
  critical: AlertSeverity.CRITICAL,
} as const;

export function alertToProto(a: Alert): AlertMessage {
  return create(AlertSchema, {
    id: a.id,
    intent: a.intent,
    package: a.package,
    edge: a.edge,
    severity: SEVERITY[a.severity],
    summary: a.summary,
    firing: a.firing,
    startedAt: timestampFromDate(a.since),
    ...(a.resolvedAt ? { resolvedAt: timestampFromDate(a.resolvedAt) } : {}),
    ...(a.firedAt ? { firedAt: timestampFromDate(a.firedAt) } : {}),
    rule: a.rule,
    value: a.value,
    threshold: a.threshold,
  });
}
