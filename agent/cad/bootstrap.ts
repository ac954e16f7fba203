/**
 * Making sure the repositories the config names exist and are registered: a local repository without a URL
 * is created under the data directory (a deployment repository with its sentinel, a blueprint repository
 * seeded from a folder of kpt packages and tagged v1); a remote one is registered with its credentials file.
 */
import * as fs from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";
import type { ConfiguredRepository } from "../config/config.js";
import { CaminoError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { DeploymentRepository } from "./deployment-repo.js";
import { readFolder } from "./folder.js";
import { LocalGitRepository } from "./git/repository.js";
import type { RepositoryRegistry } from "./repository-registry.js";

export interface BootstrapOptions {
  dataDir: string;
  registry: RepositoryRegistry;
  logger: Logger;
}

/** Creates and registers every configured repository not registered yet. */
export async function bootstrapRepositories(
  configured: readonly ConfiguredRepository[],
  options: BootstrapOptions,
): Promise<void> {
  for (const repo of configured) {
    if (options.registry.get(repo.name)) continue;
    let credentials: string | undefined;
    if (repo.credentialsFile) {
      try {
        credentials = (await readFile(repo.credentialsFile, "utf8")).trim();
      } catch (err) {
        throw new CaminoError(
          "ERR_CONFIG_INVALID",
          `repositories: credentials file of ${repo.name} cannot be read (${(err as NodeJS.ErrnoException).code})`,
          { cause: err },
        );
      }
    }
    const url = repo.url ?? join(options.dataDir, "repos", repo.name);
    if (!/^https?:\/\//.test(url)) await createLocal(repo, url, options.logger);
    await options.registry.register(
      { name: repo.name, role: repo.role, url, branch: repo.branch, ...(repo.edge ? { edge: repo.edge } : {}) },
      credentials,
    );
  }
}

async function createLocal(repo: ConfiguredRepository, dir: string, logger: Logger): Promise<void> {
  const local = await new LocalGitRepository({ dir, branch: repo.branch }).init();
  if (await local.head()) return;
  if (repo.role === "deployment") {
    await new DeploymentRepository(local).ensureSentinel();
  } else {
    const files = repo.seedFrom ? await readFolder(repo.seedFrom) : new Map<string, string>();
    const { commit } = await local.commit({
      write: files,
      message: repo.seedFrom ? "camino: seed the catalogue from the sample blueprints" : "camino: an empty catalogue",
    });
    if (repo.seedFrom) await git.tag({ fs, dir, ref: "v1", object: commit });
  }
  logger.info("created local repository", { repository: repo.name, dir });
}
