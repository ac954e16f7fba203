/**
 * The sync-error health check (agent/orchestration/sync-error-check.ts): a package is DEGRADED by the RootSync's
 * sync errors that name its objects, and by no one else's.
 */
import { describe, expect, it } from "vitest";
import type { RootSyncStatus } from "../../agent/edge/root-sync.js";
import type { DeploymentRecord, PackageRecord } from "../../agent/orchestration/journal.js";
import { syncErrorCheck } from "../../agent/orchestration/sync-error-check.js";

const record = { intent: "shop" } as DeploymentRecord;
const pkg = (name: string) => ({ package: name }) as PackageRecord;
const sync = (errors: RootSyncStatus["errors"]): RootSyncStatus => ({ readAt: 0, syncing: false, errors });
const check = (name: string, s?: RootSyncStatus) =>
  syncErrorCheck({ record, pkg: pkg(name), edge: "edge-1", report: { workloads: [], ...(s ? { sync: s } : {}) } });

const knv2009 = (path: string | undefined, namespace = "shop") => ({
  phase: "sync" as const,
  code: "2009",
  message: "KNV2009: failed to apply",
  resources: [{ kind: "Deployment", namespace, name: "web", ...(path ? { sourcePath: path } : {}) }],
});

describe("syncErrorCheck", () => {
  it("names the object of a sync error in the package's folder, and only for that package", () => {
    const s = sync([knv2009("shop/web/deployment.yaml")]);
    expect(check("web", s)).toEqual(["sync error KNV2009 for Deployment/shop/web"]);
    expect(check("db", s)).toEqual([]);
  });

  it("without a file, counts an object in the intent's namespace against the package; not another intent's", () => {
    expect(check("web", sync([knv2009(undefined)]))).toEqual(["sync error KNV2009 for Deployment/shop/web"]);
    expect(check("web", sync([knv2009(undefined, "other")]))).toEqual([]);
  });

  it("says nothing without a RootSync read, or for source errors (they name no object)", () => {
    expect(check("web")).toEqual([]);
    expect(check("web", { readAt: 0, syncing: false, errors: [], error: "unreachable" })).toEqual([]);
    expect(check("web", sync([{ phase: "source", code: "2004", message: "KNV2004", resources: [] }]))).toEqual([]);
  });
});
