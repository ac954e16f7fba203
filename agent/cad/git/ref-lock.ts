/**
 * Moving a branch as git does: under its lock file (`refs/heads/<branch>.lock`, created exclusively), the new id
 * written and fsynced, the ref compared with what the caller built on (compare-and-swap), then the lock renamed
 * over the ref. What may wait on a busy disk (the lock's creation, its fsync, the rename) goes through the thread
 * pool; writing 41 bytes into the lock, closing it and reading the ref are made directly.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CaminoError } from "../../errors.js";

const fsyncFd = promisify(fs.fsync);
const openFd = promisify(fs.open);
const renameFile = promisify(fs.rename);

/** A conflicting ref update (another process moved the branch). */
export class RefConflictError extends CaminoError {
  constructor(ref: string) {
    super("ERR_REF_CONFLICT", `${ref} moved while committing; retry`);
  }
}

/**
 * Moves `branch` from `expected` to `next`, refusing if it moved meanwhile (`head` reads it).
 * @throws RefConflictError when the branch moved; CaminoError ERR_REF_LOCKED when another writer holds the lock
 */
export async function moveRef(
  gitdir: string,
  branch: string,
  expected: string | undefined,
  next: string,
  head: () => Promise<string | undefined>,
): Promise<void> {
  const ref = join(gitdir, "refs", "heads", branch);
  const lock = `${ref}.lock`;
  let fd: number | undefined;
  try {
    try {
      fd = await openFd(lock, "wx");
    } catch (err) {
      // A lock made before this process started was left by a crash (an agent killed between taking the lock
      // and moving the ref; git holds one for milliseconds): taken back, once.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !leftByEarlierProcess(lock)) throw err;
      fs.rmSync(lock, { force: true });
      fd = await openFd(lock, "wx");
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CaminoError(
        "ERR_REF_LOCKED",
        `refs/heads/${branch} is locked by ${lock}; if no git process is running (a crash left it), remove that file`,
      );
    }
    throw err;
  }
  try {
    fs.writeSync(fd, `${next}\n`);
    await fsyncFd(fd);
    fs.closeSync(fd);
    fd = undefined;
    if ((await head()) !== expected) throw new RefConflictError(`refs/heads/${branch}`);
    await renameFile(lock, ref);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(lock, { force: true });
    throw err;
  }
}

/** Whether a file was last changed before this process started. */
function leftByEarlierProcess(file: string): boolean {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st !== undefined && st.mtimeMs < performance.timeOrigin;
}
