/**
 * Drift (agent/orchestration/drift.ts) as GetDeployment's `drift` and `drift_unknown` (camino.v1 ObjectDrift,
 * FieldDrift): one message per object that differs, its fields with the repository's and the edge's values as JSON.
 */
import { create } from "@bufbuild/protobuf";
import { FieldDriftSchema, ObjectDriftSchema, type ObjectDrift } from "../../gen/camino/v1/types_pb.js";
import type { DriftReport } from "../orchestration/drift.js";

/** GetDeploymentResponse's drift fields. */
export function driftToProto(report: DriftReport): { drift: ObjectDrift[]; driftUnknown: string[] } {
  return {
    drift: report.drift.map((d) =>
      create(ObjectDriftSchema, {
        edge: d.edge,
        package: d.package,
        repository: d.repository,
        path: d.path,
        apiVersion: d.apiVersion,
        kind: d.kind,
        namespace: d.namespace,
        name: d.name,
        change: d.change,
        fields: d.fields.map((f) => create(FieldDriftSchema, { path: f.path, want: f.want, have: f.have })),
      }),
    ),
    driftUnknown: [...report.unknown],
  };
}
