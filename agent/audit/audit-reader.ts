/**
 * Reads the audit log back, oldest record first: the rotated files from the highest number down to `.1`, then the
 * current file. Used by `camino audit` on the agent's host; it only reads, so it can run while the agent writes (a
 * rotation during the read can make one run miss or repeat the records that moved).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CaminoError } from "../errors.js";
import { AUDIT_FILE } from "./audit-log.js";
import { parseAuditLine, type AuditRecord } from "./audit-record.js";

/** Which records to keep; every filter given must match. */
export interface AuditFilter {
  /** Records at or after this time. */
  since?: Date;
  /** Calls by this peer domain. */
  peer?: string;
  /**
   * The method: the full name ("camino.v1.DomainManager/SubmitIntent") or the method alone ("SubmitIntent"),
   * compared without regard to case.
   */
  method?: string;
}

export interface AuditReadResult {
  records: AuditRecord[];
  /** Lines that were not records (a line cut short by a crash, say), skipped. */
  skipped: number;
  /** The files read, oldest first. */
  files: string[];
}

/** The log files in `dir`, oldest first. */
export async function auditFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CaminoError(
      "ERR_INPUT_UNREADABLE",
      code === "ENOENT"
        ? `no audit log: ${dir} does not exist (is this the agent's data directory? an agent creates it when it starts)`
        : `no audit log: cannot read ${dir} (${code ?? "unknown error"})`,
      { cause: err },
    );
  }
  const rotated = names
    .map((n) => /^audit\.log\.(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], n: Number(m[1]) }))
    .sort((a, b) => b.n - a.n)
    .map((r) => join(dir, r.name));
  return names.includes(AUDIT_FILE) ? [...rotated, join(dir, AUDIT_FILE)] : rotated;
}

function matches(r: AuditRecord, f: AuditFilter): boolean {
  if (f.since && !(Date.parse(r.time) >= f.since.getTime())) return false;
  if (f.peer !== undefined && !(r.caller.kind === "peer" && r.caller.domain === f.peer)) return false;
  if (f.method !== undefined) {
    const want = f.method.toLowerCase();
    const full = r.method.toLowerCase();
    if (full !== want && full.slice(full.lastIndexOf("/") + 1) !== want) return false;
  }
  return true;
}

/**
 * Reads and filters the records of the audit log in `dir`.
 * @throws CaminoError `ERR_INPUT_UNREADABLE` when the folder holds no audit log, or a file cannot be read.
 */
export async function readAuditLog(dir: string, filter: AuditFilter = {}): Promise<AuditReadResult> {
  const files = await auditFiles(dir);
  if (files.length === 0) throw new CaminoError("ERR_INPUT_UNREADABLE", `no audit log in ${dir} (no ${AUDIT_FILE})`);
  const records: AuditRecord[] = [];
  let skipped = 0;
  const read: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The agent rotated while this read: the file's records moved on (run again for an exact view).
      if (code === "ENOENT") continue;
      throw new CaminoError("ERR_INPUT_UNREADABLE", `cannot read ${file} (${code ?? "unknown error"})`, {
        cause: err,
      });
    }
    read.push(file);
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const r = parseAuditLine(line);
      if (!r) skipped++;
      else if (matches(r, filter)) records.push(r);
    }
  }
  return { records, skipped, files: read };
}
