/**
 * A {@link HealthCheck} for drift ConfigSync cannot correct: a package whose workloads are available is DEGRADED
 * while its edge's RootSync reports a sync error naming one of its objects (an object it cannot apply, KNV2009;
 * one outside a RepoSync's namespace, KNV1039), e.g. "sync error KNV2009 for Deployment/shop/web". It reads the
 * RootSync the edge observer read on the same tick (`report.sync`): no request of its own. The package is READY
 * again once the RootSync no longer names the object.
 *
 * An error is the package's when the file it names (`resources[].sourcePath`) is in the package's folder of the
 * repository (`<intent>/<package>/`); an edge that gives no file names objects by namespace, and an object in the
 * intent's namespace is then counted against each of the intent's packages on that edge.
 */
import { resourceLabel, type RootSyncError } from "../edge/root-sync.js";
import type { HealthCheck } from "./health-watch.js";

/** The problems of one package in the RootSync's errors: "sync error KNV<code> for Kind/namespace/name". */
export const syncErrorCheck: HealthCheck = ({ record, pkg, report }) => {
  const sync = report.sync;
  if (!sync || sync.error) return [];
  const folder = `${record.intent}/${pkg.package}/`;
  const problems = new Set<string>();
  for (const e of sync.errors) {
    if (e.phase !== "sync") continue;
    for (const r of e.resources)
      if (r.sourcePath !== undefined ? r.sourcePath.startsWith(folder) : inIntent(r, record.intent))
        problems.add(`sync error KNV${e.code} for ${resourceLabel(r)}`);
  }
  return [...problems].sort();
};

const inIntent = (r: RootSyncError["resources"][number], intent: string): boolean =>
  r.namespace === intent || (r.kind === "Namespace" && r.name === intent);
