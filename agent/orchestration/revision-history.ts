/**
 * The revisions of an intent, kept in its deployment record (`DeploymentRecord.history`, oldest first, at most
 * {@link MAX_REVISIONS_KEPT}): each one's digest, when it was submitted and ended, its outcome, the commits it
 * made, the blueprint commits it resolved, and its spec as submitted, so that a rollback can submit that spec
 * again pinned to those commits.
 *
 * A revision's entry is opened with its record (deployment-manager.ts, before the record is first written), a
 * chain commit is noted as it lands (deploy-steps.ts), and the entry is ended when its run settles
 * (deployment-run.ts) or the intent is terminated (termination.ts). Until it is ended, the entry is read from
 * the record itself ({@link historyOf}), so a revision rolled back by a restarted agent still shows its outcome.
 */
import { RequestError } from "../errors.js";
import type { DeploymentRecord, RevisionRecord, StateName } from "./journal.js";

/** Revisions kept per intent; older ones are dropped (and can no longer be rolled back to). */
export const MAX_REVISIONS_KEPT = 50;

/** The outcomes a revision ends with. */
const ENDS: ReadonlySet<StateName> = new Set(["READY", "ROLLED_BACK", "FAILED", "TERMINATED"]);

/**
 * Gives a new revision's record its history: the previous record's (its own revision ended as that record
 * stands, if nothing ended it) and an open entry for `record`'s revision. Call before the record is first written.
 */
export function openRevision(record: DeploymentRecord, previous: DeploymentRecord | undefined): void {
  const kept = previous ? historyOf(previous) : [];
  record.history = [...kept.filter((e) => e.revision !== record.revision), summary(record, "")].slice(
    -MAX_REVISIONS_KEPT,
  );
}

/** Notes a commit the record's revision made (the chain's, at wave 0); the packages' own are read at the end. */
export function noteCommit(record: DeploymentRecord, c: { repository: string; commit: string; wave: number }): void {
  const e = entryOf(record);
  if (!e.commits.some((x) => x.repository === c.repository && x.commit === c.commit)) e.commits.push({ ...c });
}

/**
 * Ends the record's revision with the state the record is in now (READY, ROLLED_BACK, FAILED or TERMINATED):
 * its outcome, reason, end time, commits and resolved blueprints. Does nothing in any other state, nor when a
 * termination follows a revision that already ended ROLLED_BACK or FAILED (it never ran: it keeps its failure).
 * The caller writes the record (or rides on a write it makes anyway).
 */
export function endRevision(record: DeploymentRecord, at = new Date().toISOString()): void {
  if (!ENDS.has(record.state)) return;
  const e = entryOf(record);
  if (record.state === "TERMINATED" && e.endedAt && (e.outcome === "ROLLED_BACK" || e.outcome === "FAILED")) return;
  Object.assign(e, summary(record, at, e.commits));
}

/**
 * The record's history as it should be shown: every kept entry, and the record's own revision as the record
 * stands while its entry is not ended (running, or ended by a path that does not end entries: a restart's
 * rollback). An entry is a copy: changing it changes nothing in the record.
 */
export function historyOf(record: DeploymentRecord): RevisionRecord[] {
  const kept = (record.history ?? []).filter((e) => e.revision !== record.revision).map((e) => ({ ...e }));
  const own = record.history?.find((e) => e.revision === record.revision);
  const current = own?.endedAt ? { ...own } : summary(record, "", own?.commits ?? []);
  return [...kept, current].sort((a, b) => a.revision - b.revision);
}

/**
 * The revision deployed now, as repositories hold it: the record's own while READY or DEGRADED, else (after a
 * failed update was rolled back, or while an update runs) the newest revision that ended READY; 0 when none is
 * (never deployed, or terminated).
 */
export function deployedRevision(record: DeploymentRecord | undefined): number {
  if (!record || record.state === "TERMINATED" || record.state === "TERMINATING") return 0;
  if (record.state === "READY" || record.state === "DEGRADED") return record.revision;
  const ready = historyOf(record).filter((e) => e.outcome === "READY" && e.revision < record.revision);
  return ready.at(-1)?.revision ?? 0;
}

/**
 * The spec to submit to roll the intent back to `toRevision`: that revision's DeploymentIntent (protobuf JSON)
 * with each package's `blueprintRevision` pinned to the blueprint commit the revision resolved.
 * @throws RequestError naming `to_revision` (and the revisions recorded) when it is not one of them
 */
export function rollbackSpec(record: DeploymentRecord, toRevision: number): Record<string, unknown> {
  const history = historyOf(record);
  const recorded = history.map((e) => e.revision).join(", ");
  const entry = toRevision > 0 ? history.find((e) => e.revision === toRevision) : undefined;
  if (!entry) {
    throw new RequestError([
      {
        path: "to_revision",
        message: `${toRevision > 0 ? `revision ${toRevision} is not recorded` : "is required"} for intent ${record.intent} (recorded: ${recorded})`,
      },
    ]);
  }
  const spec = structuredClone(entry.intentJson) as { spec?: { packages?: Record<string, unknown>[] } };
  const pins = new Map(entry.blueprints.filter((b) => b.commit).map((b) => [b.package, b.commit]));
  for (const p of spec.spec?.packages ?? []) {
    const commit = pins.get(String(p["name"]));
    if (commit) p["blueprintRevision"] = commit;
  }
  return spec as Record<string, unknown>;
}

/** The entry of the record's own revision, opened from the record when it has none (an older journal). */
function entryOf(record: DeploymentRecord): RevisionRecord {
  const found = record.history?.find((e) => e.revision === record.revision);
  if (found) return found;
  const e = summary(record, "");
  record.history = [...(record.history ?? []), e].slice(-MAX_REVISIONS_KEPT);
  return e;
}

/**
 * The record's revision as an entry: `endedAt` "" while open. Commits: `noted` (the chain's) and each package's
 * commit that is not the repository's baseline (a wave with nothing to change commits nothing: its package
 * keeps the head it found), one per repository and commit, the earliest wave first.
 */
function summary(record: DeploymentRecord, endedAt: string, noted: RevisionRecord["commits"] = []): RevisionRecord {
  const commits = [...noted];
  for (const p of record.packages) {
    if (!p.commit || !p.repository || record.touched[p.repository] === p.commit) continue;
    if (!commits.some((c) => c.repository === p.repository && c.commit === p.commit))
      commits.push({ repository: p.repository, commit: p.commit, wave: p.wave });
  }
  commits.sort((a, b) => a.wave - b.wave || a.repository.localeCompare(b.repository));
  const names = blueprintNames(record.intentJson);
  return {
    revision: record.revision,
    digest: record.deploymentDigest,
    submittedAt: record.createdAt,
    endedAt,
    outcome: record.state,
    reason: record.reason,
    commits,
    blueprints: record.packages
      .filter((p) => p.blueprintCommit)
      .map((p) => ({ package: p.package, blueprint: names.get(p.package) ?? "", commit: p.blueprintCommit })),
    intentJson: record.intentJson,
  };
}

/** Package name → blueprint name, from a DeploymentIntent as protobuf JSON. */
function blueprintNames(intentJson: unknown): Map<string, string> {
  const packages = (intentJson as { spec?: { packages?: unknown } } | undefined)?.spec?.packages;
  const out = new Map<string, string>();
  if (!Array.isArray(packages)) return out;
  for (const p of packages as { name?: unknown; blueprint?: unknown }[])
    if (typeof p?.name === "string" && typeof p.blueprint === "string") out.set(p.name, p.blueprint);
  return out;
}
