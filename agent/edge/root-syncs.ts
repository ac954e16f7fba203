/**
 * Keeping each edge's RootSync pointed at its deployment repository (docs/configuration-as-data.md: registering a
 * deployment repository (re)creates its edge's RootSync). An edge that does not take the RootSync is an error
 * the caller sees (`ERR_ROOTSYNC_NOT_WRITTEN`); the repository stays registered, so registering it again (or
 * restarting the agent) writes the RootSync again.
 */
import type { RegisteredRepository, RepositoryRegistry } from "../cad/repository-registry.js";
import { CaminoError, findError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { EdgeRegistry } from "./edge-registry.js";

/**
 * Writes the RootSync for one deployment repository, if its edge is configured. Returns whether it did (false
 * for a blueprint repository, or an edge this agent has no connection to).
 * @throws CaminoError `ERR_ROOTSYNC_NOT_WRITTEN` naming the edge and the reason, with the edge's error as cause,
 *   when the edge cannot be reached or refuses; the signal's reason when it aborts
 */
export async function registerRootSyncFor(
  repo: RegisteredRepository,
  registry: RepositoryRegistry,
  edges: EdgeRegistry,
  logger: Logger,
  signal?: AbortSignal,
): Promise<boolean> {
  if (repo.record.role !== "deployment" || !repo.record.edge) return false;
  const edge = edges.get(repo.record.edge);
  if (!edge) return false;
  const credentials = registry.credentials(repo.record.name);
  try {
    await edge.registerRootSync(
      {
        url: repo.record.url,
        branch: repo.record.branch,
        ...(edge.syncPeriod ? { period: edge.syncPeriod } : {}),
        ...(credentials ? { credentials } : {}),
      },
      signal,
    );
  } catch (err) {
    const refused = signal?.aborted
      ? undefined
      : findError(err, "ERR_EDGE_UNREACHABLE", "ERR_EDGE_TIMEOUT", "ERR_EDGE_API");
    if (!refused) throw err;
    const reason = String(refused.data["reason"] ?? refused.message);
    throw new CaminoError(
      "ERR_ROOTSYNC_NOT_WRITTEN",
      `edge ${edge.name} did not take the RootSync of repository ${repo.record.name} (${reason}); the repository stays registered, and registering it again writes the RootSync again`,
      { cause: err, data: { edge: edge.name, repository: repo.record.name, reason } },
    );
  }
  logger.info("RootSync registered", { edge: edge.name, repository: repo.record.name });
  return true;
}

/**
 * Writes the RootSyncs of every deployment repository whose edge is configured, in parallel, in the background
 * of the agent's start: each failure is logged (the edge's health shows it too), none is thrown, and the
 * signal (the agent's shutdown) aborts the calls under way.
 */
export async function registerRootSyncs(
  registry: RepositoryRegistry,
  edges: EdgeRegistry,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  await Promise.all(
    registry.list().map(async (r) => {
      try {
        await registerRootSyncFor(r, registry, edges, logger, signal);
      } catch (err) {
        if (signal?.aborted) return;
        logger.warn("RootSync not registered", { repository: r.record.name, edge: r.record.edge, error: err });
      }
    }),
  );
}
