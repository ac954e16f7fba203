/**
 * The catalogue: every blueprint (kpt package) in the domain's blueprint repositories, with its revisions
 * (tags and the head commit). Read from git at each repository's head and cached by that commit, so a
 * listing costs nothing until a repository moves. A blueprint is resolved for an intent by name and an
 * optional revision (tag or commit); the commit it resolves to is recorded in the IESD either way.
 */
import { CaminoError } from "../errors.js";
import { readBlueprint, type Blueprint, type BlueprintInfo } from "./blueprint.js";
import { subfolder } from "./folder.js";
import { RemoteGitRepository } from "./git/remote.js";
import type { RegisteredRepository, RepositoryRegistry } from "./repository-registry.js";

export interface CatalogueEntry extends BlueprintInfo {
  repository: string;
  path: string;
  revisions: { tag: string; commit: string }[];
}

/** A blueprint resolved to a commit. */
export interface ResolvedBlueprint {
  blueprint: Blueprint;
  repository: RegisteredRepository;
  /** What the intent asked for, or the branch name. */
  revision: string;
  commit: string;
}

interface RepoSnapshot {
  head: string;
  /** When the head was last read (ms since the epoch). */
  checkedAt: number;
  blueprints: Map<string, Blueprint>;
  revisions: { tag: string; commit: string }[];
}

export interface CatalogueOptions {
  /** How long a repository's head, once read, is trusted when resolving blueprints (ms). Default 1000. */
  headCheckMs?: number;
  now?: () => number;
}

/** A blueprint or repository the catalogue had to leave out, and why. */
export interface CatalogueProblem {
  repository: string;
  path?: string;
  message: string;
}

export class Catalogue {
  readonly #registry: RepositoryRegistry;
  /** What the last reads had to skip (a broken Kptfile, an unreachable remote). */
  readonly problems = new Map<string, CatalogueProblem>();
  readonly #snapshots = new Map<string, RepoSnapshot>();
  readonly #atCommit = new Map<string, Map<string, Blueprint>>();
  readonly #headCheckMs: number;
  readonly #now: () => number;

  constructor(registry: RepositoryRegistry, options: CatalogueOptions = {}) {
    this.#registry = registry;
    this.#headCheckMs = options.headCheckMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async #read(repo: RegisteredRepository, commit: string): Promise<Map<string, Blueprint>> {
    const key = `${repo.record.name}@${commit}`;
    const cached = this.#atCommit.get(key);
    if (cached) return cached;
    const files = await repo.git.readFiles(commit);
    const folders = [...files.keys()]
      .filter((p) => p === "Kptfile" || p.endsWith("/Kptfile"))
      .map((p) => p.slice(0, -"Kptfile".length).replace(/\/$/, ""));
    const out = new Map<string, Blueprint>();
    for (const folder of folders.sort()) {
      // One broken package leaves only itself out of the catalogue.
      const problemKey = `${repo.record.name}/${folder}`;
      try {
        const bp = readBlueprint(folder || ".", folder ? subfolder(files, folder) : files);
        if (!out.has(bp.name)) out.set(bp.name, bp);
        this.problems.delete(problemKey);
      } catch (err) {
        this.problems.set(problemKey, { repository: repo.record.name, path: folder, message: (err as Error).message });
      }
    }
    this.#atCommit.set(key, out);
    return out;
  }

  /** The repository's blueprints at its head. `refresh` fetches a remote and always re-reads the head. */
  async #snapshot(repo: RegisteredRepository, refresh: boolean): Promise<RepoSnapshot | undefined> {
    const known = this.#snapshots.get(repo.record.name);
    // Resolving the blueprints of one intent reads each head once, not once per package.
    if (!refresh && known && this.#now() - known.checkedAt < this.#headCheckMs) return known;
    if (refresh && repo.git instanceof RemoteGitRepository) {
      // An unreachable remote keeps what was last read of it, and says so.
      try {
        await repo.git.fetch();
        this.problems.delete(repo.record.name);
      } catch (err) {
        this.problems.set(repo.record.name, { repository: repo.record.name, message: (err as Error).message });
      }
    }
    const head = await repo.git.head();
    if (!head) return undefined;
    if (known && known.head === head) {
      known.checkedAt = this.#now();
      return known;
    }
    const snap = {
      head,
      checkedAt: this.#now(),
      blueprints: await this.#read(repo, head),
      revisions: [...(await repo.git.tags()), { tag: "", commit: head }],
    };
    this.#snapshots.set(repo.record.name, snap);
    return snap;
  }

  #blueprintRepos(): RegisteredRepository[] {
    return this.#registry.list().filter((r) => r.record.role === "blueprint");
  }

  /** Every blueprint, sorted by name; the first repository to name a blueprint wins. */
  async list(options: { refresh?: boolean; exportedOnly?: boolean } = {}): Promise<CatalogueEntry[]> {
    const out = new Map<string, CatalogueEntry>();
    for (const repo of this.#blueprintRepos()) {
      const snap = await this.#snapshot(repo, options.refresh ?? false);
      if (!snap) continue;
      for (const bp of snap.blueprints.values()) {
        if (out.has(bp.name) || (options.exportedOnly && !bp.exported)) continue;
        const { files: _f, resources: _r, defaults: _d, settersFile: _s, ...info } = bp;
        out.set(bp.name, { ...info, repository: repo.record.name, path: bp.path, revisions: snap.revisions });
      }
    }
    return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Resolves a blueprint by name at a revision (a tag, a commit, or — when absent — the branch head).
   * @throws CaminoError not-found naming what is missing
   */
  async resolve(name: string, revision?: string): Promise<ResolvedBlueprint> {
    for (const repo of this.#blueprintRepos()) {
      const snap = await this.#snapshot(repo, false);
      if (!snap?.blueprints.has(name)) continue;
      if (!revision)
        return {
          blueprint: snap.blueprints.get(name) as Blueprint,
          repository: repo,
          revision: repo.record.branch,
          commit: snap.head,
        };
      let commit: string;
      try {
        commit = await repo.git.resolve(/^[0-9a-f]{40}$/.test(revision) ? revision : `refs/tags/${revision}`);
      } catch {
        throw new CaminoError(
          "ERR_REVISION_NOT_FOUND",
          `blueprint ${name} has no revision ${JSON.stringify(revision)} (tags: ${
            snap.revisions
              .filter((r) => r.tag)
              .map((r) => r.tag)
              .join(", ") || "none"
          })`,
        );
      }
      const bp = (await this.#read(repo, commit)).get(name);
      if (!bp)
        throw new CaminoError("ERR_REVISION_NOT_FOUND", `blueprint ${name} does not exist at revision ${revision}`);
      return { blueprint: bp, repository: repo, revision, commit };
    }
    const known = (await this.list()).map((e) => e.name);
    throw new CaminoError(
      "ERR_BLUEPRINT_NOT_FOUND",
      `unknown blueprint ${JSON.stringify(name)} (the catalogue has ${known.join(", ") || "nothing"})`,
    );
  }
}
