/**
 * What an update would change, before it is submitted (PlanIntent with `diff`): the intent is planned as
 * PlanIntent plans it (nothing reserved, proposed or committed), and the files each deployment repository would
 * receive are compared with the intent's paths at that repository's head — what the deployed revision left
 * there. A file only the plan has is added, one only the repository has is deleted (a package the update
 * drops, or moves to another edge), one whose text differs is modified; each comes with its unified diff.
 */
import { unifiedDiff } from "../util/unified-diff.js";
import type { DeploymentRecord } from "./journal.js";
import { planIntent, type IntentPlan, type PlannerDeps } from "./planner.js";
import type { Intent } from "../intent/model.js";
import { deployedRevision } from "./revision-history.js";

/** One file the update would add, change or delete in a deployment repository. */
export interface FileChange {
  repository: string;
  /** The repository's edge ("" for a repository that serves none). */
  edge: string;
  path: string;
  change: "added" | "modified" | "deleted";
  /** The change as a unified diff (agent/util/unified-diff.ts). */
  unified: string;
}

/** A plan and how its files differ from what the repositories hold. */
export interface PlanDiff {
  plan: IntentPlan;
  /** Per repository (by name), then per path. */
  diffs: FileChange[];
  /** The revision the repositories hold (revision-history.ts `deployedRevision`); 0 when none. */
  deployedRevision: number;
}

/**
 * Plans `intent` and compares its files with the deployment repositories' heads. A package the plan keeps but
 * could not place or hydrate has no files to compare: its paths are left out (not shown as deleted), and the
 * plan's admission says why.
 * @param deployed the intent's deployment record, if it has one
 * @throws what planIntent throws (IntentError naming the field, CaminoError precondition)
 */
export async function planDiff(
  intent: Intent,
  deps: PlannerDeps,
  deployed: DeploymentRecord | undefined,
  signal: AbortSignal,
): Promise<PlanDiff> {
  const plan = await planIntent(intent, deps, { signal });
  const wanted = new Map<string, Map<string, string>>();
  for (const f of plan.files) {
    const files = wanted.get(f.repository) ?? new Map<string, string>();
    files.set(f.path, f.content);
    wanted.set(f.repository, files);
  }
  const unknown = plan.packages
    .filter((p) => p.domain === deps.domainId && !p.hydrated)
    .map((p) => `${intent.name}/${p.package}/`);
  const diffs: FileChange[] = [];
  const repos = deps.registry
    .list()
    .filter((r) => r.record.role === "deployment")
    .sort((a, b) => a.record.name.localeCompare(b.record.name));
  for (const repo of repos) {
    signal.throwIfAborted();
    const have = await repo.git.readFiles(undefined, intent.name);
    const want = wanted.get(repo.record.name) ?? new Map<string, string>();
    const paths = [...new Set([...have.keys(), ...want.keys()])].sort();
    for (const path of paths) {
      const before = have.get(path);
      const after = want.get(path);
      if (before === after || (after === undefined && unknown.some((u) => path.startsWith(u)))) continue;
      diffs.push({
        repository: repo.record.name,
        edge: repo.record.edge ?? "",
        path,
        change: before === undefined ? "added" : after === undefined ? "deleted" : "modified",
        unified: unifiedDiff(path, before, after),
      });
    }
  }
  return { plan, diffs, deployedRevision: deployedRevision(deployed) };
}
