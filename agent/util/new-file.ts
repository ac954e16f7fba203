/**
 * Writing a new file with at most one trip to the thread pool (its fsync) instead of fs/promises' three or more:
 * a file up to 1 MiB is created, written (into the page cache) and closed directly; a larger one (a merged pack
 * of tens of MB) is created and written through the pool. On a loaded 2-core machine each trip to the pool costs
 * the event loop about 0.1–0.3 ms (a thread woken, a completion handed back), and a commit writes three files
 * (pack, index, the ref's lock) per repository: creating them through the pool too cost a 4-package, 2-edge
 * deployment about 5 ms of its own time (28 → 23 ms p50), more than the creations themselves.
 */
import { closeSync, fsync, open, openSync, write, writeSync } from "node:fs";
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
  const flags = options.exclusive ? "wx" : "w";
  const fd =
    bytes.length > DIRECT_MAX ? await openFile(path, flags, options.mode) : openSync(path, flags, options.mode);
  try {
    if (bytes.length > DIRECT_MAX)
      for (let at = 0; at < bytes.length; ) at += (await writeChunk(fd, bytes, at, bytes.length - at)).bytesWritten;
    else for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    if (options.fsync) await syncFile(fd);
  } finally {
    closeSync(fd);
  }
}
