/**
 * Reading the deployment journal's folder (journal.ts): the per-intent files, then the logs in order (an intent's
 * last record wins), each file and log line checked; what cannot be used is reported with why, never changed.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { recordProblem, type DeploymentRecord } from "./journal-records.js";

/** The marker beside the journal's folder: a folder gone while its marker stays is refused, not re-created. */
const JOURNAL_FORMAT = "camino deployment journal 2: one JSON record per intent, and logs of the records since";

export const LOG_NAME = /^log-(\d{10})\.jsonl$/;

/** A log line's checksum: the first 16 hex digits of its JSON's SHA-1. */
export const checksum = (body: string) => createHash("sha1").update(body).digest("hex").slice(0, 16);

/** What a read of the folder found: the records, the files it cannot use, and the logs to fold. */
export interface FolderRead {
  records: DeploymentRecord[];
  unreadable: { file: string; why: string }[];
  logs: string[];
  /** Intent → its last record's JSON in the logs. */
  fromLogs: Map<string, string>;
  /** Temporary files of folds that never finished (never acknowledged: removed at the start). */
  temporary: string[];
  nextSeq: number;
}

/**
 * The records of one log's text: every line whose checksum holds. A bad line followed only by bad lines is the
 * end of a write cut short and is dropped; one followed by a good line is damage, and makes the log unreadable
 * (its good lines are still returned: what `camino recover` keeps).
 */
function readLog(text: string): { records: { rec: DeploymentRecord; body: string }[]; problem?: string } {
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or a line cut short
  const records: { rec: DeploymentRecord; body: string }[] = [];
  let bad: number | undefined;
  let problem: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const body = line.slice(17);
    if (line[16] !== " " || checksum(body) !== line.slice(0, 16)) {
      bad ??= i;
      continue;
    }
    if (bad !== undefined) problem ??= `line ${bad + 1}: damaged (its checksum does not match)`;
    let rec: unknown;
    try {
      rec = JSON.parse(body);
    } catch (err) {
      problem ??= `line ${i + 1}: not JSON (${(err as Error).message})`;
      continue;
    }
    const intent = (rec as { intent?: unknown } | null)?.intent;
    const wrong = typeof intent === "string" && intent !== "" ? recordProblem(rec, intent) : "intent is not a name";
    if (wrong) problem ??= `line ${i + 1}: not a deployment record: ${wrong}`;
    else records.push({ rec: rec as DeploymentRecord, body });
  }
  return problem ? { records, problem } : { records };
}

/**
 * Reads the journal's folder `dir`: every record it holds and every file or log it cannot use. Creates the folder,
 * and its marker beside it, on a data folder that never had a journal; a folder gone while its marker stays is
 * reported as unreadable, not made again.
 */
export async function readFolder(dir: string): Promise<FolderRead> {
  const marker = `${dir}.format`;
  const hadOne = await readFile(marker, "utf8").then(
    () => true,
    () => false,
  );
  const none = (file: string, why: string): FolderRead => ({
    records: [],
    unreadable: [{ file, why }],
    logs: [],
    fromLogs: new Map(),
    temporary: [],
    nextSeq: 1,
  });
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      return none(dir, `unreadable (${(err as Error).message})`);
    }
    if (hadOne) return none(dir, "the journal folder is missing (its marker is there)");
    names = [];
    await mkdir(dir, { recursive: true });
  }
  if (!hadOne) await writeFile(marker, `${JOURNAL_FORMAT}\n`, { mode: 0o600 });
  const byIntent = new Map<string, DeploymentRecord>();
  const unreadable: { file: string; why: string }[] = [];
  const logs: string[] = [];
  const fromLogs = new Map<string, string>();
  const temporary: string[] = [];
  let nextSeq = 1;
  // Read synchronously: this runs at start, before the agent serves, and 1,000 promise-based reads cost
  // several times more (an open, a stat, a read and a close each, every one a round trip to the pool).
  const readText = (file: string): string | undefined => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      unreadable.push({ file, why: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      return undefined;
    }
  };
  for (const f of names) {
    const file = join(dir, f);
    if (f.endsWith(".tmp")) {
      temporary.push(file);
      continue;
    }
    const log = LOG_NAME.exec(f);
    if (log) {
      logs.push(file);
      nextSeq = Math.max(nextSeq, Number(log[1]) + 1);
      continue;
    }
    if (!f.endsWith(".json")) continue;
    const text = readText(file);
    if (text === undefined) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (err) {
      unreadable.push({
        file,
        why: text.trim() === "" ? "empty (truncated)" : `truncated or not JSON (${(err as Error).message})`,
      });
      continue;
    }
    const problem = recordProblem(rec, f.slice(0, -".json".length));
    if (problem) unreadable.push({ file, why: `not a deployment record: ${problem}` });
    else byIntent.set((rec as DeploymentRecord).intent, rec as DeploymentRecord);
  }
  // The logs after the files, oldest first (their names sort by sequence): the last record of an intent wins.
  for (const file of logs) {
    const text = readText(file);
    if (text === undefined) continue;
    const { records, problem } = readLog(text);
    if (problem) unreadable.push({ file, why: problem });
    for (const { rec, body } of records) {
      byIntent.set(rec.intent, rec);
      fromLogs.set(rec.intent, body);
    }
  }
  const records = [...byIntent.keys()].sort().map((k) => byIntent.get(k) as DeploymentRecord);
  return { records, unreadable, logs, fromLogs, temporary, nextSeq };
}
