/**
 * Moving a branch as git does: under its lock file (`refs/heads/<branch>.lock`, created exclusively), the new id
 * written and fsynced (while the commit's objects are written), the ref compared with what the caller built on
 * (compare-and-swap), then the lock renamed over the ref. The lock is written as any small new file
 * (util/new-file.ts: created, written and closed directly, fsynced through the thread pool); the rename is made
 * directly too (a metadata change in the page cache: a trip to the pool cost the commit more than it).
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { CaminoError } from "../../errors.js";
import { writeNewFile } from "../../util/new-file.js";

/** A conflicting ref update (another process moved the branch). */
export class RefConflictError extends CaminoError {
  constructor(ref: string) {
    super("ERR_REF_CONFLICT", `${ref} moved while committing; retry`);
  }
}

/**
 * Moves `branch` from `expected` to `next`, refusing if it moved meanwhile (`head` reads it). `written` is the
 * writing of what `next` needs (its objects), started by the caller: the lock is taken while it goes on (a lock
 * file is no ref, and a crash leaves it to the next start), and the ref moves only once it is done.
 * @throws RefConflictError when the branch moved; CaminoError ERR_REF_LOCKED when another writer holds the lock;
 *   what `written` throws (the lock is let go)
 */
export async function moveRef(
  gitdir: string,
  branch: string,
  expected: string | undefined,
  next: string,
  head: () => Promise<string | undefined>,
  written: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  const ref = join(gitdir, "refs", "heads", branch);
  const lock = `${ref}.lock`;
  const [locked, done] = await Promise.allSettled([takeLock(lock, branch, next), written]);
  if (locked.status === "rejected") throw locked.reason;
  try {
    if (done.status === "rejected") throw done.reason;
    if ((await head()) !== expected) throw new RefConflictError(`refs/heads/${branch}`);
    fs.renameSync(lock, ref);
  } catch (err) {
    fs.rmSync(lock, { force: true });
    throw err;
  }
}

/** Creates the lock file exclusively with the new id, written and fsynced. */
async function takeLock(lock: string, branch: string, next: string): Promise<void> {
  const take = () => writeNewFile(lock, Buffer.from(`${next}\n`), { mode: 0o666, fsync: true, exclusive: true });
  try {
    try {
      await take();
    } catch (err) {
      // A lock made before this process started was left by a crash (an agent killed between taking the lock
      // and moving the ref; git holds one for milliseconds): taken back, once.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !leftByEarlierProcess(lock)) throw err;
      fs.rmSync(lock, { force: true });
      await take();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CaminoError(
        "ERR_REF_LOCKED",
        `refs/heads/${branch} is locked by ${lock}; if no git process is running (a crash left it), remove that file`,
      );
    }
    // Made but not written or synced: ours, and removed.
    fs.rmSync(lock, { force: true });
    throw err;
  }
}

/** Whether a file was last changed before this process started. */
function leftByEarlierProcess(file: string): boolean {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st !== undefined && st.mtimeMs < performance.timeOrigin;
}
