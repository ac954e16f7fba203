/**
 * Writing a new file with one trip to the thread pool (two with fsync) instead of fs/promises' three or more: the
 * file is created through the pool, since creating a file may wait on a busy disk and the event loop must not;
 * the bytes, a few KB going into the page cache, are written directly (more than 1 MiB through the pool too), and
 * so is the close. On a loaded 2-core machine each trip to the pool costs the event loop about 0.1–0.3 ms (a
 * thread woken, a completion handed back), so the commit path, the ref's lock and the journal's folds count them.
 */
import { closeSync, fsync, open, write, writeSync } from "node:fs";
import { promisify } from "node:util";

const openFile = promisify(open);
const syncFile = promisify(fsync);
const writeChunk = promisify(write);

/** Larger than this, the bytes are written through the thread pool too (a merged pack of tens of MB). */
const DIRECT_MAX = 1 << 20;

/**
 * Writes `bytes` to `path`, created with `mode` (replaced if there, unless `exclusive`); with `fsync`, makes the
 * bytes durable before it resolves. Its caller renames it into place.
 */
export async function writeNewFile(
  path: string,
  bytes: Uint8Array,
  options: { mode: number; fsync?: boolean; exclusive?: boolean },
): Promise<void> {
  const fd = await openFile(path, options.exclusive ? "wx" : "w", options.mode);
  try {
    if (bytes.length > DIRECT_MAX)
      for (let at = 0; at < bytes.length; ) at += (await writeChunk(fd, bytes, at, bytes.length - at)).bytesWritten;
    else for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    if (options.fsync) await syncFile(fd);
  } finally {
    closeSync(fd);
  }
}
