/**
 * The output of `git diff-tree -r -z` (its raw format) as records: for each changed path, git's status letter,
 * the modes and object ids on both sides, and the path (two paths for a rename or copy). With `-z` paths are
 * written as they are, NUL-terminated, so names with spaces, quotes or line breaks come through unchanged.
 *
 *   :<old mode> <new mode> <old oid> <new oid> <status>[score] NUL <path> NUL [<new path> NUL]
 */
import { GitReadError } from "./git-read-error.js";

/** git's letters: Added, Copied, Deleted, Modified, Renamed, Type changed, Unmerged, unknown (X). */
export type ChangeStatus = "A" | "C" | "D" | "M" | "R" | "T" | "U" | "X";

/** One changed path between two trees. */
export interface ChangedPath {
  status: ChangeStatus;
  /** The path after the change (for a deletion, the path deleted). */
  path: string;
  /** For a rename or copy, the path it came from. */
  from?: string;
  /** Mode and id before and after ("000000" and an all-zero id on the side where the path does not exist). */
  oldMode: string;
  newMode: string;
  oldOid: string;
  newOid: string;
}

const RECORD = /^:([0-7]{6}) ([0-7]{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) ([ACDMRTUX])(\d*)$/;

/**
 * Parses `git diff-tree -r -z` raw output (without `--name-status`, which drops the ids).
 * @throws GitReadError (ERR_GIT_COMMAND) for output that is not in that format.
 * @example parseChangedPaths(Buffer.from(":100644 000000 ab.. 00.. D\0a.yaml\0")) // [{ status: "D", path: "a.yaml", ... }]
 */
export function parseChangedPaths(raw: Buffer): ChangedPath[] {
  const fields = raw.toString("utf8").split("\0");
  // The output ends with a NUL: the last field is empty.
  if (fields[fields.length - 1] === "") fields.pop();
  const out: ChangedPath[] = [];
  for (let i = 0; i < fields.length; ) {
    const head = fields[i++] ?? "";
    const m = RECORD.exec(head);
    if (!m)
      throw new GitReadError("ERR_GIT_COMMAND", `git diff-tree wrote ${JSON.stringify(head.slice(0, 120))}`, {
        data: { record: head.slice(0, 120) },
      });
    const [, oldMode, newMode, oldOid, newOid, status] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const two = status === "R" || status === "C";
    const first = fields[i++];
    const second = two ? fields[i++] : undefined;
    if (first === undefined || (two && second === undefined))
      throw new GitReadError("ERR_GIT_COMMAND", "git diff-tree output ends in the middle of a record");
    out.push({
      status: status as ChangeStatus,
      path: second ?? first,
      ...(two ? { from: first } : {}),
      oldMode,
      newMode,
      oldOid,
      newOid,
    });
  }
  return out;
}
