/**
 * Git pack files written and read directly: a group commit's objects go into one pack (with its `.idx`) instead of
 * one loose file each. Creating a file costs this machine's file system about 0.4 ms, and a commit of one intent
 * wrote about a dozen loose objects; a pack is two files whatever the number. Byte for byte git's format (pack
 * version 2, whole objects, no deltas; index version 2), so `git fsck --strict`, the real `git` and isomorphic-git
 * read them.
 *
 * Crash-safe order: the `.pack` is written aside and renamed into place, then the `.idx` the same way; only then
 * does the caller move the branch. A crash before the `.idx` is in place leaves a pack nobody reads; one after it,
 * objects nobody refers to yet. Neither harms the repository.
 *
 * Packs are merged geometrically ({@link PackStore.write}): the smallest packs are rolled into one while together
 * they are at least half the size of the next, so a repository holds about log2(objects) packs, and each object is
 * copied about log2 times over its life. Only packs without deltas are merged (their entries are copied as they
 * are); packs fetched from a remote are read through isomorphic-git.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import type { ObjectType } from "./objects.js";

const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3 };
const TYPE_NAMES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob" };

/** Where an object is in a pack: the pack's name, its entry's offset and length. */
interface Entry {
  pack: string;
  offset: number;
  length: number;
}

interface Pack {
  name: string;
  /** Bytes of the .pack file. */
  size: number;
  /** Every entry is a whole object (none a delta): the pack can be merged by copying its entries. */
  whole: boolean;
  oids: string[];
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

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A pack of whole entries (each `[oid, header + deflated body]`) and its index. */
function buildPack(entries: readonly [string, Buffer][]): {
  pack: Buffer;
  idx: Buffer;
  name: string;
  offsets: number[];
} {
  const parts: Buffer[] = [Buffer.from("PACK"), u32(2), u32(entries.length)];
  const offsets: number[] = [];
  let at = 12;
  for (const [, bytes] of entries) {
    offsets.push(at);
    parts.push(bytes);
    at += bytes.length;
  }
  const body = Buffer.concat(parts);
  const checksum = createHash("sha1").update(body).digest();
  const pack = Buffer.concat([body, checksum]);
  // The index, in one allocation: header, fan-out by first byte, then ids, CRC-32s and offsets, all in id order,
  // then the pack's checksum and its own.
  const n = entries.length;
  const order = entries.map((_, i) => i).sort((a, b) => ((entries[a]?.[0] ?? "") < (entries[b]?.[0] ?? "") ? -1 : 1));
  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const [oid] of entries) fanout[Number.parseInt(oid.slice(0, 2), 16)]++;
  let count = 0;
  for (let i = 0; i < 256; i++) {
    count += fanout[i] ?? 0;
    idx.writeUInt32BE(count, 8 + i * 4);
  }
  const ids = 8 + 256 * 4;
  const crcs = ids + n * 20;
  const offs = crcs + n * 4;
  order.forEach((e, k) => {
    const [oid, bytes] = entries[e] as [string, Buffer];
    idx.write(oid, ids + k * 20, "hex");
    idx.writeUInt32BE(crc32(bytes), crcs + k * 4);
    idx.writeUInt32BE(offsets[e] ?? 0, offs + k * 4);
  });
  checksum.copy(idx, offs + n * 4);
  createHash("sha1")
    .update(idx.subarray(0, offs + n * 4 + 20))
    .digest()
    .copy(idx, offs + n * 4 + 20);
  return { pack, idx, name: `pack-${checksum.toString("hex")}`, offsets };
}

/** Writes a file aside and renames it into place (a reader never sees half of it). */
function writeAside(dir: string, file: string, bytes: Buffer): void {
  const tmp = join(dir, `tmp_pack_${randomBytes(6).toString("hex")}`);
  writeFileSync(tmp, bytes, { mode: 0o444 });
  renameSync(tmp, join(dir, file));
}

/** The packs of one repository's object store: written, indexed, read, merged. */
export class PackStore {
  readonly #dir: string;
  /** Per object id, where it is; loaded from the `.idx` files on first use. */
  #entries: Map<string, Entry> | undefined;
  readonly #packs = new Map<string, Pack>();

  constructor(gitdir: string) {
    this.#dir = join(gitdir, "objects", "pack");
  }

  /** Whether a pack holds the object. */
  has(oid: string): boolean {
    return this.#index().has(oid);
  }

  /**
   * An object's type and body from the packs, or undefined when none holds it whole (not packed, or stored as a
   * delta in a fetched pack: isomorphic-git reads those).
   */
  read(oid: string): { type: ObjectType; body: Buffer } | undefined {
    const e = this.#index().get(oid);
    if (!e) return undefined;
    const bytes = this.#bytes(e);
    let i = 0;
    let b = bytes[i++] ?? 0;
    const type = TYPE_NAMES[(b >> 4) & 7];
    while (b & 0x80) b = bytes[i++] ?? 0;
    if (!type) return undefined;
    return { type, body: inflateSync(bytes.subarray(i)) };
  }

  /**
   * Writes the objects as one pack (and its index), then merges small packs; returns the pack's name. Objects
   * already packed are left out. Nothing is written for no objects.
   */
  write(objects: readonly PackObject[]): string | undefined {
    const index = this.#index();
    const seen = new Set<string>();
    const fresh = objects.filter((o) => !index.has(o.oid) && !seen.has(o.oid) && seen.add(o.oid));
    if (fresh.length === 0) return undefined;
    const entries = fresh.map(
      (o) =>
        [o.oid, Buffer.concat([entryHeader(TYPE_CODES[o.type], o.body.length), deflateSync(o.body, { level: 1 })])] as [
          string,
          Buffer,
        ],
    );
    const name = this.#put(entries);
    this.#merge();
    return name;
  }

  /** Writes a pack of whole entries and indexes it. */
  #put(entries: readonly [string, Buffer][]): string {
    const { pack, idx, name, offsets } = buildPack(entries);
    mkdirSync(this.#dir, { recursive: true });
    writeAside(this.#dir, `${name}.pack`, pack);
    writeAside(this.#dir, `${name}.idx`, idx);
    const oids = entries.map(([oid]) => oid);
    this.#packs.set(name, { name, size: pack.length, whole: true, oids });
    const index = this.#index();
    entries.forEach(([oid, bytes], i) => {
      index.set(oid, { pack: name, offset: offsets[i] ?? 0, length: bytes.length });
    });
    return name;
  }

  /** Rolls the smallest whole packs into one while together they are at least half the size of the next. */
  #merge(): void {
    const packs = [...this.#packs.values()].filter((p) => p.whole).sort((a, b) => a.size - b.size);
    let k = 1;
    let total = packs[0]?.size ?? 0;
    while (k < packs.length && total * 2 > (packs[k]?.size ?? 0)) total += packs[k++]?.size ?? 0;
    if (k < 2) return;
    const merged = packs.slice(0, k);
    const index = this.#index();
    const seen = new Set<string>();
    const entries: [string, Buffer][] = [];
    // Each merged pack read once; an entry held in a pack outside the merge is read from that one.
    const files = new Map(merged.map((p) => [p.name, readFileSync(join(this.#dir, `${p.name}.pack`))]));
    for (const p of merged)
      for (const oid of p.oids) {
        const e = index.get(oid);
        if (seen.has(oid) || !e) continue;
        seen.add(oid);
        const bytes = files.get(e.pack)?.subarray(e.offset, e.offset + e.length) ?? this.#bytes(e);
        // Held as a delta elsewhere (a fetched pack): copying it would break it; these packs stay as they are.
        if (TYPE_NAMES[((bytes[0] ?? 0) >> 4) & 7] === undefined) return;
        entries.push([oid, bytes]);
      }
    this.#put(entries);
    // The merged pack is in place (and indexed): the old ones go, their index first, as git removes them.
    for (const p of merged) {
      this.#packs.delete(p.name);
      rmSync(join(this.#dir, `${p.name}.idx`), { force: true });
      rmSync(join(this.#dir, `${p.name}.pack`), { force: true });
    }
  }

  /**
   * An entry's bytes (header and deflated body). No descriptor is kept open: a repository object may be made for
   * one look (a registration's check), and the readers above keep what they read (commits, trees) in caches.
   */
  #bytes(e: Entry): Buffer {
    const fd = openSync(join(this.#dir, `${e.pack}.pack`), "r");
    try {
      const out = Buffer.alloc(e.length);
      readSync(fd, out, 0, e.length, e.offset);
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /** The index of every pack in the store, read from their `.idx` files once. */
  #index(): Map<string, Entry> {
    if (this.#entries) return this.#entries;
    const entries = new Map<string, Entry>();
    this.#entries = entries;
    if (!existsSync(this.#dir)) return entries;
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith(".idx")) continue;
      const name = file.slice(0, -4);
      const packFile = join(this.#dir, `${name}.pack`);
      if (!existsSync(packFile)) continue;
      const size = statSync(packFile).size;
      const found = readIndex(readFileSync(join(this.#dir, file)), size);
      if (!found) continue;
      const oids: string[] = [];
      for (const [oid, offset, length] of found) {
        oids.push(oid);
        if (!entries.has(oid)) entries.set(oid, { pack: name, offset, length });
      }
      this.#packs.set(name, { name, size, whole: false, oids });
    }
    // A pack is whole when none of its entries is a delta: each entry's first byte, from one read of the pack.
    for (const p of this.#packs.values()) {
      const bytes = readFileSync(join(this.#dir, `${p.name}.pack`));
      p.whole = p.oids.every((oid) => {
        const e = entries.get(oid);
        return !e || e.pack !== p.name || TYPE_NAMES[((bytes[e.offset] ?? 0) >> 4) & 7] !== undefined;
      });
    }
    return entries;
  }
}

/** A version 2 index's entries: id, offset and length (to the next entry, or the pack's checksum). */
function readIndex(idx: Buffer, packSize: number): [string, number, number][] | undefined {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return undefined;
  const n = idx.readUInt32BE(8 + 255 * 4);
  const ids = 8 + 1024;
  const offsets = ids + n * 20 + n * 4;
  const large = offsets + n * 4;
  const found: [string, number][] = [];
  for (let i = 0; i < n; i++) {
    let offset = idx.readUInt32BE(offsets + i * 4);
    if (offset & 0x80000000) {
      const at = large + (offset & 0x7fffffff) * 8;
      offset = idx.readUInt32BE(at) * 2 ** 32 + idx.readUInt32BE(at + 4);
    }
    found.push([idx.toString("hex", ids + i * 20, ids + i * 20 + 20), offset]);
  }
  const byOffset = [...found].sort((a, b) => a[1] - b[1]);
  return byOffset.map(([oid, offset], i) => [oid, offset, (byOffset[i + 1]?.[1] ?? packSize - 20) - offset]);
}
