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
