/**
 * The edge's RootSync (Config Sync's pointer to the deployment repository) and the token secret it reads the
 * repository with: built as objects, written by server-side apply (idempotent; a changed repository updates
 * it), and read back as the edge reports it.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { httpCodeOf } from "./edge-errors.js";
import { applyServerSide, type EdgeTransport } from "./edge-transport.js";

export const ROOTSYNC_NAMESPACE = "config-management-system";
export const ROOTSYNC_NAME = "root-sync";
/** The Secret holding the repository's credentials, next to the RootSync. */
export const ROOTSYNC_SECRET = "camino-git-creds";

/** The repository a RootSync follows. */
export interface RootSyncSource {
  /** The repository's URL (or local folder, for the emulator). */
  url: string;
  branch: string;
  /** The folder synced; default the whole repository. */
  dir?: string;
  /** How often the edge polls the repository (`spec.git.period`); default "15s". */
  period?: string;
  /** Sent as a token secret; never logged. */
  credentials?: { username: string; password: string };
}

/** The RootSync for `source`, and the Secret it needs when the repository has credentials. Pure. */
export function rootSyncObjects(source: RootSyncSource): { secret?: KubernetesObject; rootSync: KubernetesObject } {
  const git: Record<string, unknown> = {
    repo: source.url,
    branch: source.branch,
    dir: source.dir ?? ".",
    period: source.period ?? "15s",
    auth: source.credentials ? "token" : "none",
  };
  if (source.credentials) git["secretRef"] = { name: ROOTSYNC_SECRET };
  const rootSync = {
    apiVersion: "configsync.gke.io/v1beta1",
    kind: "RootSync",
    metadata: { name: ROOTSYNC_NAME, namespace: ROOTSYNC_NAMESPACE },
    spec: { sourceType: "git", sourceFormat: "unstructured", git },
  } as KubernetesObject;
  if (!source.credentials) return { rootSync };
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: ROOTSYNC_SECRET, namespace: ROOTSYNC_NAMESPACE },
    type: "Opaque",
    data: {
      username: Buffer.from(source.credentials.username).toString("base64"),
      token: Buffer.from(source.credentials.password).toString("base64"),
    },
  } as KubernetesObject;
  return { secret, rootSync };
}

/**
 * Writes the secret (when there are credentials), then the RootSync, by server-side apply.
 * @throws EdgeError when the edge cannot be reached or refuses either; the signal's reason when it aborts
 */
export async function writeRootSync(
  transport: EdgeTransport,
  source: RootSyncSource,
  signal?: AbortSignal,
): Promise<void> {
  const { secret, rootSync } = rootSyncObjects(source);
  if (secret) await transport.call("apply the RootSync secret", (api) => applyServerSide(api, secret), signal);
  await transport.call("apply the RootSync", (api) => applyServerSide(api, rootSync), signal);
}

/**
 * The RootSync as the edge reports it, status included; undefined when there is none.
 * @throws EdgeError when the edge cannot be reached or refuses the read
 */
export async function readRootSync(
  transport: EdgeTransport,
  signal?: AbortSignal,
): Promise<Record<string, unknown> | undefined> {
  try {
    return (await transport.call(
      "read the RootSync",
      (api) =>
        api.custom.getNamespacedCustomObject({
          group: "configsync.gke.io",
          version: "v1beta1",
          namespace: ROOTSYNC_NAMESPACE,
          plural: "rootsyncs",
          name: ROOTSYNC_NAME,
        }),
      signal,
    )) as Record<string, unknown>;
  } catch (err) {
    if (httpCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** An object a RootSync error names (ConfigSync's `resources[]` entry, or `Kind/namespace/name` in its message). */
export interface RootSyncErrorResource {
  kind: string;
  /** Absent for a cluster-scoped object. */
  namespace?: string;
  name: string;
  /** The file of the repository it came from, when the edge says. */
  sourcePath?: string;
}

/** One error a RootSync reports, in `status.source`, `status.rendering` or `status.sync`. */
export interface RootSyncError {
  /** Where ConfigSync reports it. */
  phase: "source" | "rendering" | "sync";
  /** ConfigSync's code, e.g. "2009" (shown as KNV2009). */
  code: string;
  message: string;
  /** The objects it names; empty when it names none (a source error, an unknown kind). */
  resources: RootSyncErrorResource[];
}

/**
 * What an edge's RootSync reports now, as the edge observer last read it (`EdgeObserver.lastSync()`), for
 * "why is it not READY" and the sync-error health check. `readAt` says how fresh it is; `error` is set (and the
 * rest empty) when the edge did not answer or has no RootSync.
 */
export interface RootSyncStatus {
  /** When it was read (ms since the epoch). */
  readAt: number;
  /** Why it could not be read (the edge unreachable, no RootSync); the other fields are then empty. */
  error?: string;
  /** The commit the edge's sync is at (`status.sync.commit`). */
  commit?: string;
  /** The last commit synced without errors (`status.lastSyncedCommit`). */
  lastSyncedCommit?: string;
  /** Whether a sync is under way (condition Syncing True) or the spec's generation is not observed yet. */
  syncing: boolean;
  /** Every error of source, rendering and sync, in that order. */
  errors: RootSyncError[];
}

/** `"Kind/namespace/name"` (or `"Kind/name"` for a cluster-scoped object): how errors and reasons name an object. */
export function resourceLabel(r: Pick<RootSyncErrorResource, "kind" | "namespace" | "name">): string {
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}

/**
 * The status of a RootSync object as the edge reports it. Pure; a malformed status gives empty fields, never a
 * throw. An error's objects are its `resources[]` (ConfigSync's `ResourceRef`: `name`, `namespace`, `gvk.kind`,
 * `sourcePath`); without them, the `Kind/namespace/name` its message names after "failed to apply".
 * @example rootSyncStatusOf(await edge.rootSync(), Date.now()).errors[0] // { phase: "sync", code: "2009", … }
 */
export function rootSyncStatusOf(rs: Record<string, unknown>, readAt: number): RootSyncStatus {
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
  const status = obj(rs["status"]);
  const generation = obj(rs["metadata"])["generation"];
  const conditions = Array.isArray(status["conditions"]) ? (status["conditions"] as unknown[]).map(obj) : [];
  const syncing =
    conditions.some((c) => c["type"] === "Syncing" && c["status"] === "True") ||
    (generation !== undefined && status["observedGeneration"] !== generation);
  const errors: RootSyncError[] = [];
  for (const phase of ["source", "rendering", "sync"] as const) {
    const list = obj(status[phase])["errors"];
    if (!Array.isArray(list)) continue;
    for (const e of list.map(obj)) {
      const message = str(e["errorMessage"]) ?? "unknown error";
      const refs = Array.isArray(e["resources"]) ? (e["resources"] as unknown[]).map(obj) : [];
      const resources: RootSyncErrorResource[] = refs.flatMap((r) => {
        const kind = str(obj(r["gvk"])["kind"]) ?? str(r["kind"]);
        const name = str(r["name"]);
        if (!kind || !name) return [];
        const out: RootSyncErrorResource = { kind, name };
        const ns = str(r["namespace"]);
        if (ns) out.namespace = ns;
        const path = str(r["sourcePath"]);
        if (path) out.sourcePath = path;
        return [out];
      });
      if (resources.length === 0) {
        const m = /failed to apply ([A-Z][A-Za-z0-9]*)\/([a-z0-9][a-z0-9.-]*)(?:\/([a-z0-9][a-z0-9.-]*))?/.exec(
          message,
        );
        const [, kind, first, second] = m ?? [];
        if (kind && first) resources.push(second ? { kind, namespace: first, name: second } : { kind, name: first });
      }
      errors.push({ phase, code: str(e["code"]) ?? String(e["code"] ?? ""), message, resources });
    }
  }
  const out: RootSyncStatus = { readAt, syncing, errors };
  const commit = str(obj(status["sync"])["commit"]);
  if (commit) out.commit = commit;
  const last = str(status["lastSyncedCommit"]);
  if (last) out.lastSyncedCommit = last;
  return out;
}
