/**
 * `camino recover --from-repositories`: the deployment records rebuilt from the deployment repositories alone,
 * for an agent whose journal was lost or cannot be read (journal.ts refuses to start on one).
 *
 * Each deployment repository holds, per intent it runs, the intent as deployed (`<intent>/_chain/intent.yaml`,
 * with its revision: agent/cad/intent-record.ts) and per package its IESD (`<intent>/<pkg>/iesd.yaml`: edge,
 * blueprint commit). An intent's record is rebuilt with the spec of the highest revision any repository holds, and
 * each package of that spec found in a repository (an update removes the packages it drops), READY as the repositories say (the health watch judges the
 * edges' truth once the agent runs). A record that is readable is kept as it is; one that cannot be read is moved
 * aside (`deployments.unreadable/`), never overwritten or deleted. Reservations need no rebuild: the agent
 * starts with none and reads every edge's capacity. Segments are not rebuilt: a peer still runs what it
 * committed, and its operator ends an orphan with `camino segment rm`.
 */
import { parse } from "yaml";
import type { GitRepository } from "../cad/git/repository.js";
import { INTENT_RECORD_FILE, readIntentRecord } from "../cad/intent-record.js";
import type { Iesd } from "../cad/iesd.js";
import { intentDigest } from "../intent/load.js";
import { validateIntent } from "../intent/validate.js";
import type { DeploymentRecord, PackageRecord } from "./journal.js";

/** A deployment repository as the rebuild reads it. */
export interface RebuildSource {
  name: string;
  edge: string;
  git: Pick<GitRepository, "head" | "readFiles">;
}

/** What the rebuild found of one intent, and the problems met on the way (named, never fatal). */
export interface Rebuilt {
  records: DeploymentRecord[];
  problems: string[];
}

/** Rebuilds one record per intent found in `sources`, for the domain `domainId`, at `now`. */
export async function rebuildRecords(sources: readonly RebuildSource[], domainId: string, now: Date): Promise<Rebuilt> {
  const problems: string[] = [];
  /** intent → the highest revision seen, its document and the repositories' packages. */
  const found = new Map<
    string,
    { revision: number; document: Record<string, unknown>; packages: Map<string, PackageRecord> }
  >();
  for (const src of sources) {
    const head = await src.git.head();
    if (!head) continue;
    const files = await src.git.readFiles(head);
    const byIntent = new Map<string, Map<string, string>>();
    for (const [path, text] of files) {
      const [intent] = path.split("/");
      if (!intent || intent.startsWith("_")) continue;
      byIntent.set(intent, (byIntent.get(intent) ?? new Map()).set(path, text));
    }
    for (const [intent, paths] of byIntent) {
      const recordText = paths.get(`${intent}/_chain/${INTENT_RECORD_FILE}`);
      if (!recordText) {
        problems.push(
          `${src.name}: ${intent}/ has no _chain/${INTENT_RECORD_FILE} (written since this version): skipped`,
        );
        continue;
      }
      let rec: ReturnType<typeof readIntentRecord>;
      try {
        rec = readIntentRecord(recordText);
      } catch (err) {
        problems.push(`${src.name}: ${intent}/_chain/${INTENT_RECORD_FILE}: ${(err as Error).message}`);
        continue;
      }
      let entry = found.get(intent);
      if (!entry || rec.revision > entry.revision) {
        entry = { revision: rec.revision, document: rec.document, packages: entry?.packages ?? new Map() };
        found.set(intent, entry);
      }
      for (const [path, text] of paths) {
        if (!path.endsWith("/iesd.yaml") || path.startsWith(`${intent}/_chain/`)) continue;
        const iesd = (parse(text) as { spec?: Iesd } | null)?.spec;
        if (!iesd?.package) {
          problems.push(`${src.name}: ${path}: not an IESD`);
          continue;
        }
        entry.packages.set(iesd.package, {
          package: iesd.package,
          wave: 0,
          edge: iesd.edge || src.edge,
          domain: iesd.domain || domainId,
          repository: src.name,
          state: "READY",
          reason: "rebuilt from its deployment repository",
          blueprintCommit: iesd.blueprint?.commit ?? "",
          commit: head,
          updatedAt: now.toISOString(),
        });
      }
    }
  }
  const records: DeploymentRecord[] = [];
  for (const [name, entry] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    let intent: ReturnType<typeof validateIntent>;
    try {
      intent = validateIntent(entry.document);
    } catch (err) {
      problems.push(`${name}: its recorded spec does not validate: ${(err as Error).message}`);
      continue;
    }
    const at = now.toISOString();
    const packages: PackageRecord[] = [];
    for (const pkg of intent.order) {
      const p = entry.packages.get(pkg);
      const wave = intent.waves.findIndex((w) => w.includes(pkg)) + 1;
      if (p) packages.push({ ...p, wave });
      else {
        const spec = intent.packages.find((x) => x.name === pkg);
        const remote = spec?.placement.kind === "domain" && spec.placement.domain !== domainId;
        if (!remote) problems.push(`${name}: package ${pkg} of revision ${entry.revision} is in no repository`);
      }
    }
    const reason = `rebuilt from the deployment repositories by camino recover at ${at}`;
    records.push({
      id: `${name}.${entry.revision}`,
      intent: name,
      revision: entry.revision,
      state: "READY",
      reason,
      digest: intentDigest(intent),
      // Unknown: a re-submission of the same spec is deployed again (an update that changes nothing) once.
      deploymentDigest: "",
      intentJson: entry.document,
      timeoutMs: intent.timeoutMs ?? 300_000,
      createdAt: at,
      updatedAt: at,
      packages,
      admission: [],
      touched: {},
      events: [{ time: at, package: "", state: "READY", reason, kind: "progress", wave: 0 }],
    });
  }
  return { records, problems };
}
