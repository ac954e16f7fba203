/**
 * Git pack files written and read directly: a group commit's objects go into one pack (with its `.idx`) instead of
 * one loose file each. Creating a file costs this machine's file system about 0.4 ms, and a commit of one intent
 * wrote about a dozen loose objects; a pack is two files whatever the number. Byte for byte git's format (pack
 * version 2, index version 2), so `git fsck --strict`, the real `git` and isomorphic-git read them.
 *
 * Crash-safe order: the `.pack` is written under its name, the `.idx` aside, both fsynced, and the `.idx` renamed
 * into place after; only then does the branch move (its lock file is written and fsynced meanwhile:
 * ref-lock.ts). A crash before the `.idx` is in place leaves a pack nobody reads (git and this store read packs
 * through their indexes); one after it, objects nobody refers to yet. Neither harms the repository.
 *
 * A commit's pack holds whole objects. Packs are merged geometrically by the number of objects they hold
 * ({@link PackStore.write}): each holds at least twice as many as all the smaller ones together, so a repository
 * keeps about log2(objects) packs. A merge copies entries as they are, except large
 * trees held whole: each is stored as a delta against the large tree before it (delta.ts). A deployment
 * repository's root tree has an entry per intent and changes by an entry or two per commit: at 10,000 intents,
 * about 400 KB whole and a few dozen bytes as a delta.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync } from "node:fs";
import { mkdir, rm, utimes } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { applyDelta, decodeOffset, encodeOffset, treeDelta } from "./delta.js";
import { buildPack } from "./pack-build.js";
import { atOffset, findId, idAt, inOffsetOrder, readPackIndex, type PackIndex } from "./pack-index.js";
import { writeNewFile } from "../../util/new-file.js";
import type { ObjectType } from "./objects.js";

const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3 };
const TYPE_NAMES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob" };

/** Where an object is in a pack: the pack's name, its entry's offset and length. */
interface Entry {
  pack: string;
  offset: number;
  length: number;
}

interface Pack extends PackIndex {
  name: string;
  /** When it was made (ms since the epoch): merges keep the order of what they merge. */
  made: number;
}

/** An object to pack: its id, type and body (the bytes after git's "type size\0" header). */
export interface PackObject {
  oid: string;
  type: ObjectType;
  body: Buffer;
}

/** A pack entry's header: type and size, 4 bits then 7 per byte. */
function entryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let b = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(b | 0x80);
    b = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(b);
  return Buffer.from(bytes);
}

/** A temporary file's name in the pack folder, as git names its own: this process's random part, then a count. */
const TMP_PREFIX = `tmp_pack_${randomBytes(4).toString("hex")}`;
let tmpCount = 0;
const tmpName = (dir: string) => join(dir, `${TMP_PREFIX}${(tmpCount++).toString(36)}`);

/** A tree at least this large is stored as a delta against the tree before it when packs are merged. */
const DELTA_MIN = 4096;
/**
 * A tree at least this large is written stored (zlib level 0: its bytes framed, not compressed), and compressed when
 * packs are merged, in the background. A root tree is mostly object ids, which do not compress: at 10,000 intents
 * (360 KB) level 1 took 6 ms to save 30 %, on the commit's path, twice per deployment; stored, 0.8 ms.
 */
const STORE_MIN = 64 << 10;
/** The longest chain of deltas (git's own default): reading an object applies at most this many. */
const MAX_DEPTH = 50;
/** Large trees kept with their bodies for the next merge (a merge takes the newest few packs). */
const RECENT_TREES = 8;

/** Packs this large are merged no more (a repository then holds a few of them, and the smaller ones beside). */
const MERGE_MAX_BYTES = 16 << 20;

/** A merge yields to the event loop after this much work, so that commits and reads go on beside it. */
const YIELD_MS = 5;

/**
 * A merge starts this long after the write that calls for it, not at once: a deployment's commit is followed by a
 * wait on its edge's sync (tens of ms), and the merge's work (reading packs, writing and fsyncing the merged one,
 * removing the old) then runs in that wait instead of in the steps around the commit.
 */
const MERGE_DELAY_MS = 20;

/** An entry's header: its type, its object's (or delta's) size, and where its data starts. */
function headerOf(bytes: Buffer, at = 0): { type: number; size: number; end: number } {
  let k = at;
  let b = bytes[k++] ?? 0;
  const type = (b >> 4) & 7;
  let size = b & 0x0f;
  let shift = 16;
  while (b & 0x80) {
    b = bytes[k++] ?? 0;
    size += (b & 0x7f) * shift;
    shift *= 128;
  }
  return { type, size, end: k };
}

/** The packs of one repository's object store: written, indexed, read, merged. */
export class PackStore {
  readonly #dir: string;
  /** The packs by name, each with its index (pack-index.ts); loaded from the `.idx` files on first use. */
  #loaded = false;
  readonly #packs = new Map<string, Pack>();
  /** Whether the pack folder is known to exist. */
  #made = false;
  /**
   * The last large trees written, by id, with their bodies: the next merge deltas them without inflating them
   * again (at 10,000 intents a root tree is 400 KB; inflating it and its base was a third of a merge's time).
   */
  readonly #recent = new Map<string, Buffer>();
  /** The merges under way (one at a time), and whether a write asked for another since it started. */
  #merging: Promise<void> | undefined;
  #mergeAgain = false;
  /** The merge due after the last write, until it starts ({@link MERGE_DELAY_MS}). */
  #mergeDue: NodeJS.Timeout | undefined;

  readonly #mergeMaxBytes: number;

  /** @param mergeMaxBytes packs this large are merged no more ({@link MERGE_MAX_BYTES}) */
  constructor(gitdir: string, mergeMaxBytes = MERGE_MAX_BYTES) {
    this.#dir = join(gitdir, "objects", "pack");
    this.#mergeMaxBytes = mergeMaxBytes;
  }

  /** Whether a pack holds the object. */
  has(oid: string): boolean {
    for (const p of this.#index().values()) if (findId(p, oid) >= 0) return true;
    return false;
  }

  /** Where a pack holds the object, if one does. */
  #find(oid: string): Entry | undefined {
    for (const p of this.#index().values()) {
      const i = findId(p, oid);
      if (i >= 0) return entryOf(p, i);
    }
    return undefined;
  }

  /**
   * An object's type and body from the packs (deltas applied), or undefined when none holds it, or holds it as a
   * delta against an object found nowhere here (isomorphic-git reads those).
   */
  read(oid: string): { type: ObjectType; body: Buffer } | undefined {
    const e = this.#find(oid);
    if (!e) return undefined;
    const fd = openSync(join(this.#dir, `${e.pack}.pack`), "r");
    try {
      return this.#resolve(fd, e, 0);
    } finally {
      closeSync(fd);
    }
  }

  /** An entry's object: whole, or its base's with its delta applied. */
  #resolve(fd: number, e: Entry, depth: number): { type: ObjectType; body: Buffer } | undefined {
    const bytes = Buffer.alloc(e.length);
    readSync(fd, bytes, 0, e.length, e.offset);
    const h = headerOf(bytes);
    const whole = TYPE_NAMES[h.type];
    if (whole) return { type: whole, body: inflateSync(bytes.subarray(h.end)) };
    if (depth > 4 * MAX_DEPTH) return undefined;
    let base: { type: ObjectType; body: Buffer } | undefined;
    let data: Buffer;
    if (h.type === 6) {
      const [distance, end] = decodeOffset(bytes, h.end);
      const pack = this.#packs.get(e.pack);
      const i = pack ? atOffset(pack, e.offset - distance) : -1;
      base = pack && i >= 0 ? this.#resolve(fd, entryOf(pack, i), depth + 1) : undefined;
      data = bytes.subarray(end);
    } else if (h.type === 7) {
      const baseOid = bytes.toString("hex", h.end, h.end + 20);
      base = this.read(baseOid);
      data = bytes.subarray(h.end + 20);
    } else return undefined;
    return base && { type: base.type, body: applyDelta(base.body, inflateSync(data)) };
  }

  /**
   * Writes the objects as one pack (and its index), then merges small packs ({@link mergeSoon}) unless `merge` is
   * false; returns the pack's name. Objects already packed are left out. Nothing is written for no objects.
   */
  async write(objects: readonly PackObject[], options: { merge?: boolean } = {}): Promise<string | undefined> {
    const seen = new Set<string>();
    const fresh = objects.filter((o) => !seen.has(o.oid) && seen.add(o.oid) && !this.has(o.oid));
    if (fresh.length === 0) return undefined;
    for (const o of fresh) {
      if (o.type !== "tree" || o.body.length < DELTA_MIN) continue;
      this.#recent.set(o.oid, o.body);
      if (this.#recent.size > RECENT_TREES) this.#recent.delete(this.#recent.keys().next().value as string);
    }
    const entries = fresh.map((o): [string, Buffer] => {
      const level = o.type === "tree" && o.body.length >= STORE_MIN ? 0 : 1;
      return [o.oid, Buffer.concat([entryHeader(TYPE_CODES[o.type], o.body.length), deflateSync(o.body, { level })])];
    });
    const name = await this.#put(entries, performance.timeOrigin + performance.now());
    if (options.merge !== false) this.mergeSoon();
    return name;
  }

  /** Starts the merges {@link MERGE_DELAY_MS} from now, unless they are due already or under way. */
  mergeSoon(): void {
    if (this.#merging) {
      this.#mergeAgain = true;
      return;
    }
    if (this.#mergeDue) return;
    this.#mergeDue = setTimeout(() => {
      this.#mergeDue = undefined;
      this.#startMerging();
    }, MERGE_DELAY_MS);
    // It keeps no process alive; a clean stop runs it at once ({@link settled}).
    this.#mergeDue.unref();
  }

  /**
   * Merges packs in the background, one merge at a time, until none is due. A commit does not wait for it: at
   * 10,000 intents a merge of the largest packs rewrites tens of MB, seconds of work that used to hold up the commit
   * that set it off and every commit behind it. The merge yields to the event loop as it goes, readers keep reading
   * the packs it merges until the merged pack is in place, and a failed merge leaves the packs as they were (the
   * next commit tries again).
   */
  #startMerging(): void {
    if (this.#merging) {
      this.#mergeAgain = true;
      return;
    }
    this.#merging = (async () => {
      try {
        do this.#mergeAgain = false;
        while ((await this.#merge()) || this.#mergeAgain);
      } catch {
        // The packs are as they were; the next write merges again.
      } finally {
        this.#merging = undefined;
      }
    })();
  }

  /** Runs the merges due now and resolves once none is under way (a test's view of the folder; a clean stop). */
  async settled(): Promise<void> {
    if (this.#mergeDue) {
      clearTimeout(this.#mergeDue);
      this.#mergeDue = undefined;
      this.#startMerging();
    }
    while (this.#merging) await this.#merging;
  }

  /** Writes a pack of the entries (in order: a delta's base before it) and indexes it. */
  async #put(entries: readonly [string, Buffer][], made: number, pause?: () => Promise<void>): Promise<string> {
    const { pack, idx, name } = await buildPack(entries, pause);
    if (!this.#made) {
      await mkdir(this.#dir, { recursive: true });
      this.#made = true;
    }
    // Both written at once (util/new-file.ts: created and written directly, fsynced through the thread pool). The pack goes straight to its name: until its index is in place nobody reads it, and
    // the name is its checksum, so one found there is this pack, whole or cut short by a crash, and is replaced.
    // The index is written aside and renamed into place after, so that no index ever names a missing pack. Both
    // are fsynced first, as git does: the ref that will name them is fsynced too (ref-lock.ts), and a merge deletes
    // the packs it merged, so neither may outlast a power cut that takes the objects.
    const packFile = join(this.#dir, `${name}.pack`);
    const idxTmp = tmpName(this.#dir);
    await Promise.all([writeReplacing(packFile, pack), writeNewFile(idxTmp, idx, { mode: 0o444, fsync: true })]);
    // A merged pack keeps the time of the newest pack it holds: after a restart, merges still go oldest first.
    const seconds = made / 1000;
    if (made < Date.now() - 1000) await utimes(packFile, seconds, seconds);
    renameSync(idxTmp, join(this.#dir, `${name}.idx`));
    const index = readPackIndex(idx, pack.length);
    if (!index) throw new TypeError(`${name}: the index built is not one`);
    this.#index().set(name, { ...index, name, made });
    return name;
  }

  /**
   * Keeps the packs (of those under MERGE_MAX_BYTES) geometric: each holds at least twice as many objects as all
   * the smaller ones together (counted in objects, not bytes: a pack of deltas is small for what it holds), so a
   * store holds about log2 of its objects in packs. Rolls the smallest into one, up to the largest that breaks
   * the rule: the packs after it keep it. (Stopping at the first that kept it left 2,000 packs in a repository of
   * 5,000 intents: a pack of 2 objects beside one of 4 was never merged, nor all the packs of 8 after them.)
   * Entries are copied as they are, a delta's distance to its base written anew; a large tree stored whole is
   * stored as a delta against the large tree before it (a root tree against its parent's), up to
   * {@link MAX_DEPTH} deltas deep.
   */
  async #merge(): Promise<boolean> {
    // Merging the largest packs again would rewrite tens of MB at 10,000 intents (seconds of CPU, and the old packs
    // and the new one in memory at once) for no read's sake: lookups go through one index whatever the packs.
    const packs = [...this.#packs.values()]
      .filter((p) => p.end < this.#mergeMaxBytes)
      .sort((a, b) => a.count - b.count);
    let k = 0;
    let smaller = 0;
    for (const [i, p] of packs.entries()) {
      if (i > 0 && p.count < 2 * smaller) k = i + 1;
      smaller += p.count;
    }
    if (k < 2) return false;
    let slice = performance.now();
    const pause = async () => {
      if (performance.now() - slice <= YIELD_MS) return;
      await new Promise((resolve) => setImmediate(resolve));
      slice = performance.now();
    };
    // Oldest first, so that a base (older) comes before its deltas, and the trees of successive commits follow.
    const merged = packs.slice(0, k).sort((a, b) => a.made - b.made);
    const entries: [string, Buffer][] = [];
    const at = new Map<string, { offset: number; depth: number }>();
    let offset = 12;
    let lastTree: { oid: string; body?: Buffer; depth: number } | undefined;
    const add = (oid: string, bytes: Buffer, depth: number) => {
      entries.push([oid, bytes]);
      at.set(oid, { offset, depth });
      offset += bytes.length;
    };
    for (const p of merged) {
      const file = readFileSync(join(this.#dir, `${p.name}.pack`));
      const baseOf = (offset: number) => {
        const i = atOffset(p, offset);
        return i >= 0 ? idAt(p, i) : "";
      };
      for (const i of inOffsetOrder(p)) {
        const oid = idAt(p, i);
        const from = p.offsets[i] as number;
        const length = p.lengths[i] as number;
        if (at.has(oid)) continue;
        await pause();
        const bytes = file.subarray(from, from + length);
        const h = headerOf(bytes);
        if (h.type === 6) {
          const [distance, end] = decodeOffset(bytes, h.end);
          const base = at.get(baseOf(from - distance));
          // A base that is not here: this pack is not whole; none of these packs is merged.
          if (!base) return false;
          const data = bytes.subarray(end);
          add(oid, Buffer.concat([entryHeader(6, h.size), encodeOffset(offset - base.offset), data]), base.depth + 1);
          // A delta of the tree a merge deltas against continues its chain: the next large tree deltas against it.
          if (lastTree?.oid === baseOf(from - distance)) lastTree = { oid, depth: base.depth + 1 };
          continue;
        }
        if (h.type === 2 && h.size >= DELTA_MIN) {
          const body = this.#recent.get(oid) ?? inflateSync(bytes.subarray(h.end));
          const base = lastTree && lastTree.depth < MAX_DEPTH ? this.#bodyOf(lastTree) : undefined;
          const delta = base && lastTree ? treeDelta(base, body) : undefined;
          if (delta && lastTree) {
            const depth = lastTree.depth + 1;
            const baseAt = at.get(lastTree.oid)?.offset ?? 0;
            const data = deflateSync(delta, { level: 1 });
            add(oid, Buffer.concat([entryHeader(6, delta.length), encodeOffset(offset - baseAt), data]), depth);
            lastTree = { oid, body, depth };
          } else {
            // Kept whole (a chain's base): compressed here if it was written stored (its data no smaller than it).
            const stored = h.size >= STORE_MIN && bytes.length - h.end >= h.size;
            const whole = stored ? Buffer.concat([entryHeader(2, h.size), deflateSync(body, { level: 1 })]) : bytes;
            add(oid, whole, 0);
            lastTree = { oid, body, depth: 0 };
          }
          continue;
        }
        add(oid, bytes, h.type === 7 ? 1 : 0);
      }
    }
    await this.#put(entries, merged.at(-1)?.made ?? 0, pause);
    // The merged pack is in place (and indexed): the old ones go, their index first, as git removes them.
    for (const p of merged) {
      this.#packs.delete(p.name);
      await rm(join(this.#dir, `${p.name}.idx`), { force: true });
      await rm(join(this.#dir, `${p.name}.pack`), { force: true });
    }
    return true;
  }

  /** The body of the tree a merge deltas against: kept when it was read, else read (its deltas applied). */
  #bodyOf(tree: { oid: string; body?: Buffer }): Buffer | undefined {
    if (!tree.body) tree.body = this.#recent.get(tree.oid) ?? this.read(tree.oid)?.body;
    return tree.body;
  }

  /** Every pack of the store with its index, read from their `.idx` files once. */
  #index(): Map<string, Pack> {
    if (this.#loaded) return this.#packs;
    this.#loaded = true;
    if (!existsSync(this.#dir)) return this.#packs;
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith(".idx")) continue;
      const name = file.slice(0, -4);
      const packFile = join(this.#dir, `${name}.pack`);
      if (!existsSync(packFile)) continue;
      const { size, mtimeMs } = statSync(packFile);
      const index = readPackIndex(readFileSync(join(this.#dir, file)), size);
      if (index) this.#packs.set(name, { ...index, name, made: mtimeMs });
    }
    return this.#packs;
  }
}

/** The entry at a position of a pack's index. */
function entryOf(p: Pack, i: number): Entry {
  return { pack: p.name, offset: p.offsets[i] as number, length: p.lengths[i] as number };
}

/** Writes a read-only file, fsynced, replacing one of that name (read-only too: removed, then created again). */
async function writeReplacing(path: string, bytes: Buffer): Promise<void> {
  const options = { mode: 0o444, exclusive: true, fsync: true };
  try {
    await writeNewFile(path, bytes, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await rm(path, { force: true });
    await writeNewFile(path, bytes, options);
  }
}
