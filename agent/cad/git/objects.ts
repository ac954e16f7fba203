/**
 * Git objects written directly: SHA-1 and zlib from Node's native crypto and zlib, stored as loose objects
 * under `.git/objects`, or gathered for a commit and written as one pack (packs.ts). About 20× faster than
 * isomorphic-git's own object writer for bulk commits (measured in bench/), and byte-for-byte what git writes,
 * so `git fsck --strict` accepts them.
 */
import { createHash } from "node:crypto";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import { PackStore, type PackObject } from "./packs.js";

export type ObjectType = "blob" | "tree" | "commit";

/** Mode of a tree entry: a regular file or a subtree. */
export type EntryMode = "100644" | "100755" | "40000";

export interface TreeEntry {
  name: string;
  mode: EntryMode;
  /** 40-hex object id. */
  oid: string;
}

/** The id and the uncompressed bytes (header included) of an object. */
export function hashObject(type: ObjectType, body: Buffer): { oid: string; raw: Buffer } {
  const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  return { oid: createHash("sha1").update(raw).digest("hex"), raw };
}

/**
 * An entry's sort key in git's tree order (byte order of names, a directory's compared as if its name ended in
 * '/').
 */
const sortKey = (e: TreeEntry) => (e.mode === "40000" ? `${e.name}/` : e.name);

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
const ASCII = /^[\u0000-\u007f]*$/;

/**
 * The body of a tree object, in one allocation. A tree as large as a repository of 10,000 intents is built at
 * every commit, so the order is found by comparing each key once made: as strings when every name is ASCII
 * (where string order is byte order), else as their UTF-8 bytes.
 */
export function treeBody(entries: readonly TreeEntry[]): Buffer {
  const keys = entries.map(sortKey);
  const keyed = keys.every((k) => ASCII.test(k))
    ? entries
        .map((e, i) => ({ e, key: keys[i] as string }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    : entries
        .map((e, i) => ({ e, bytes: Buffer.from(keys[i] as string) }))
        .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  let size = 0;
  for (const { e } of keyed) size += Buffer.byteLength(e.mode) + 1 + Buffer.byteLength(e.name) + 1 + 20;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { e } of keyed) {
    at += out.write(`${e.mode} ${e.name}\0`, at);
    at += out.write(e.oid, at, "hex");
  }
  return out;
}

/** Parses a tree object's body. */
export function parseTree(body: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    const nul = body.indexOf(0, space);
    const mode = body.toString("utf8", i, space) as EntryMode;
    out.push({
      mode: mode === ("040000" as EntryMode) ? "40000" : mode,
      name: body.toString("utf8", space + 1, nul),
      oid: body.toString("hex", nul + 1, nul + 21),
    });
    i = nul + 21;
  }
  return out;
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/** The body of a commit object. */
export function commitBody(tree: string, parents: readonly string[], author: Signature, message: string): Buffer {
  const sig = (s: Signature) => `${s.name} <${s.email}> ${s.timestamp} +0000`;
  const lines = [
    `tree ${tree}`,
    ...parents.map((p) => `parent ${p}`),
    `author ${sig(author)}`,
    `committer ${sig(author)}`,
    "",
    message.endsWith("\n") ? message : `${message}\n`,
  ];
  return Buffer.from(lines.join("\n"));
}

/**
 * Writes objects into a repository's object store, skipping ones already present: loose, one file each, or, between
 * {@link ObjectWriter.begin} and {@link ObjectWriter.flush}, kept in memory and written as one pack (packs.ts).
 */
export class ObjectWriter {
  readonly #gitdir: string;
  readonly #objects: string;
  readonly #dirs = new Set<string>();
  /**
   * Loose objects known to be stored (written or found here): not looked for on disk again. Packed ones are
   * known by the packs' index (at 10,000 intents this map, kept for those too, held 50,000 ids per repository).
   */
  readonly #known = new BoundedMap<string, true>(5_000);
  readonly #packs: PackStore;
  /** The objects of the pack being gathered ({@link begin}), by id. */
  #batch: Map<string, PackObject> | undefined;

  constructor(gitdir: string) {
    this.#gitdir = gitdir;
    this.#objects = join(gitdir, "objects");
    this.#packs = new PackStore(gitdir);
  }

  /** From now on, objects are gathered for one pack, written by {@link flush} (or dropped by {@link discard}). */
  begin(): void {
    this.#batch = new Map();
  }

  /** Merges the packs soon (packs.ts), as a write does. */
  mergeSoon(): void {
    this.#packs.mergeSoon();
  }

  /** Resolves once the packs' background merges are done. */
  settled(): Promise<void> {
    return this.#packs.settled();
  }

  /**
   * Writes the gathered objects as one pack (before the ref that refers to them moves); they stay readable from
   * memory until the pack is in place. With `merge: false` the packs are not merged after it ({@link mergeSoon} later).
   */
  async flush(options: { merge?: boolean } = {}): Promise<void> {
    const batch = this.#batch;
    if (!batch || batch.size === 0) {
      this.#batch = undefined;
      return;
    }
    try {
      await this.#packs.write([...batch.values()], options);
    } finally {
      if (this.#batch === batch) this.#batch = undefined;
    }
  }

  /** Drops the gathered objects (nothing refers to them: the commit was not made). */
  discard(): void {
    this.#batch = undefined;
  }

  /**
   * An object's type and body: gathered, in a pack, or loose; undefined otherwise (isomorphic-git reads it). The
   * packs are asked first: their index is in memory, while looking for a loose object that is not there (this
   * agent writes none now) costs a failed open and the error it throws.
   */
  read(oid: string): { type: string; body: Buffer } | undefined {
    const gathered = this.#batch?.get(oid);
    if (gathered) return { type: gathered.type, body: gathered.body };
    return this.#packs.read(oid) ?? readLooseObject(this.#gitdir, oid);
  }

  /**
   * Writes an object; returns its id. Synchronous on purpose: small objects are written faster by direct
   * system calls than by a round trip through libuv's thread pool per object (measured: 3,000 files in about a
   * tenth of the time), and a commit writes objects back to back anyway.
   */
  writeSync(type: ObjectType, body: Buffer): string {
    const { oid, raw } = hashObject(type, body);
    const dir = join(this.#objects, oid.slice(0, 2));
    const file = join(dir, oid.slice(2));
    // Content-addressed: already there means identical (gathered, packed, known here, or found on disk).
    if (this.#batch) {
      // Not looked for among loose objects (a file system call each; this agent writes none now): git allows an
      // object both loose and packed, and reads either.
      if (!this.#batch.has(oid) && !this.#packs.has(oid)) this.#batch.set(oid, { oid, type, body });
      return oid;
    }
    if (this.#known.has(oid)) return oid;
    if (!this.#dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.#dirs.add(dir);
    }
    if (existsSync(file)) {
      this.#known.set(oid, true);
      return oid;
    }
    // Written aside, then renamed into place, so a reader never sees half an object. A concurrent writer of
    // the same id writes the same bytes, so whichever rename lands last changes nothing.
    const tmp = join(dir, `tmp_obj_${randomBytes(6).toString("hex")}`);
    writeFileSync(tmp, deflateSync(raw, { level: 1 }), { mode: 0o444 });
    renameSync(tmp, file);
    this.#known.set(oid, true);
    return oid;
  }

  /** {@link writeSync}, for callers that want a promise. */
  async write(type: ObjectType, body: Buffer): Promise<string> {
    return this.writeSync(type, body);
  }
}

/**
 * A loose object's type and body, read directly (synchronously: one small file, as git reads it), or
 * undefined when it is not stored loose (in a pack: the caller falls back to isomorphic-git).
 */
export function readLooseObject(gitdir: string, oid: string): { type: string; body: Buffer } | undefined {
  let raw: Buffer;
  try {
    raw = inflateSync(readFileSync(join(gitdir, "objects", oid.slice(0, 2), oid.slice(2))));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const space = raw.indexOf(0x20);
  const nul = raw.indexOf(0, space);
  return { type: raw.toString("latin1", 0, space), body: raw.subarray(nul + 1) };
}

/** A commit object's fields. */
export interface CommitFields {
  tree: string;
  parents: string[];
  /** Committer time, seconds since the epoch. */
  time: number;
  message: string;
}

/** Parses a commit object's body. */
export function parseCommit(body: Buffer): CommitFields {
  const text = body.toString("utf8");
  const end = text.indexOf("\n\n");
  const head = end < 0 ? text : text.slice(0, end);
  const out: CommitFields = { tree: "", parents: [], time: 0, message: end < 0 ? "" : text.slice(end + 2) };
  for (const line of head.split("\n")) {
    if (line.startsWith("tree ")) out.tree = line.slice(5);
    else if (line.startsWith("parent ")) out.parents.push(line.slice(7));
    else if (line.startsWith("committer ")) out.time = Number(line.split(" ").at(-2));
  }
  return out;
}

/**
 * A map that forgets its oldest entries once their weight passes `max` (objects are immutable: a cache by id never
 * goes stale). Each entry weighs 1 unless `weigh` says otherwise: a tree weighs its entries, so that a cache of a
 * growing repository's root trees (each as large as the repository) stays bounded in memory, not only in count.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  #weight = 0;

  constructor(
    readonly max: number,
    readonly weigh: (value: V) => number = () => 1,
  ) {
    super();
  }

  override set(key: K, value: V): this {
    this.delete(key);
    this.#weight += this.weigh(value);
    super.set(key, value);
    while (this.#weight > this.max && this.size > 1) this.delete(this.keys().next().value as K);
    return this;
  }

  override delete(key: K): boolean {
    if (!this.has(key)) return false;
    this.#weight -= this.weigh(super.get(key) as V);
    return super.delete(key);
  }

  override clear(): void {
    this.#weight = 0;
    super.clear();
  }
}
