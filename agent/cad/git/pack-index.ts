/**
 * A pack's index kept as typed arrays, as its `.idx` file holds it: 36 bytes per object (the id, its first four
 * bytes as a number, the entry's offset and length). A map from hex id to an entry object took about 180 bytes
 * per object, and a deployment repository of 10,000 intents holds over 100,000 objects.
 *
 * An id is looked up by binary search over the first four bytes, then confirmed whole; a store holds about log2
 * of its objects in packs, so a lookup is a few dozen comparisons of numbers.
 */

/** One pack's objects: ids sorted, with their entries' offsets and lengths in the same order. */
export interface PackIndex {
  /** How many objects the pack holds. */
  readonly count: number;
  /** The ids, 20 bytes each, in ascending order. */
  readonly ids: Buffer;
  /** Each id's first four bytes, as a number (big-endian). */
  readonly keys: Uint32Array;
  /** Each object's entry: where it starts in the pack, and its length. */
  readonly offsets: Float64Array;
  readonly lengths: Uint32Array;
  /** Where the entries end (the pack's checksum starts): the bytes they take. */
  readonly end: number;
  /** The objects in the order of their entries in the pack (built when first asked). */
  byOffset?: Uint32Array;
}

/**
 * A version 2 `.idx` file's index (large offsets too), each entry's length from the next one's offset (the last:
 * to the pack's checksum); undefined when it is not one.
 */
export function readPackIndex(idx: Buffer, packSize: number): PackIndex | undefined {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return undefined;
  const count = idx.readUInt32BE(8 + 255 * 4);
  const idsAt = 8 + 1024;
  const offsetsAt = idsAt + count * 24;
  const largeAt = offsetsAt + count * 4;
  if (idx.length < largeAt + 40) return undefined;
  const ids = Buffer.from(idx.subarray(idsAt, idsAt + count * 20));
  const keys = new Uint32Array(count);
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] = ids.readUInt32BE(i * 20);
    let offset = idx.readUInt32BE(offsetsAt + i * 4);
    if (offset & 0x80000000) {
      const at = largeAt + (offset & 0x7fffffff) * 8;
      offset = idx.readUInt32BE(at) * 2 ** 32 + idx.readUInt32BE(at + 4);
    }
    offsets[i] = offset;
  }
  const p: PackIndex = { count, ids, keys, offsets, lengths: new Uint32Array(count), end: packSize - 20 };
  const order = inOffsetOrder(p);
  for (let k = 0; k < count; k++) {
    const i = order[k] as number;
    const next = k + 1 < count ? (offsets[order[k + 1] as number] as number) : p.end;
    p.lengths[i] = next - (offsets[i] as number);
  }
  return p;
}

/** The position of `oid` (40 hex digits) in the pack's index, or -1. */
export function findId(p: PackIndex, oid: string): number {
  const key = Number.parseInt(oid.slice(0, 8), 16);
  let lo = 0;
  let hi = p.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((p.keys[mid] as number) < key) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < p.count && p.keys[i] === key; i++) if (idAt(p, i) === oid) return i;
  return -1;
}

/** The id at a position of the index, as hex. */
export function idAt(p: PackIndex, i: number): string {
  return p.ids.toString("hex", i * 20, i * 20 + 20);
}

/** The objects in the order of their entries in the pack. */
export function inOffsetOrder(p: PackIndex): Uint32Array {
  if (!p.byOffset) {
    const order = new Uint32Array(p.count);
    for (let i = 0; i < p.count; i++) order[i] = i;
    order.sort((a, b) => (p.offsets[a] as number) - (p.offsets[b] as number));
    p.byOffset = order;
  }
  return p.byOffset;
}

/** The position in the index of the object whose entry starts at `offset` (an OFS_DELTA's base), or -1. */
export function atOffset(p: PackIndex, offset: number): number {
  const order = inOffsetOrder(p);
  let lo = 0;
  let hi = p.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((p.offsets[order[mid] as number] as number) < offset) lo = mid + 1;
    else hi = mid;
  }
  const i = order[lo];
  return i !== undefined && p.offsets[i] === offset ? i : -1;
}
