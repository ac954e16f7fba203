/**
 * Keeping each edge's RootSync pointed at its deployment repository (DESIGN.md section 4: registering a
 * deployment repository (re)creates its edge's RootSync). An edge that cannot be reached is logged and shows
 * in its health; the repository stays registered.
 */
import type { RegisteredRepository, RepositoryRegistry } from "../cad/repository-registry.js";
import type { Logger } from "../log/logger.js";
import type { EdgeRegistry } from "./edge-registry.js";

/** Registers the RootSync for one deployment repository, if its edge is configured. Returns whether it did. */
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
    logger.info("RootSync registered", { edge: edge.name, repository: repo.record.name });
    return true;
  } catch (err) {
    logger.warn("RootSync not registered: the edge did not take it", {
      edge: edge.name,
      repository: repo.record.name,
      error: err,
    });
    return false;
  }
}

/** Registers the RootSyncs of every deployment repository whose edge is configured, in parallel. */
export async function registerRootSyncs(
  registry: RepositoryRegistry,
  edges: EdgeRegistry,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  await Promise.all(registry.list().map((r) => registerRootSyncFor(r, registry, edges, logger, signal)));
}
