/**
 * Git's delta format, for the packs this agent writes (packs.ts): a large tree stored as the changes from the tree
 * before it. A deployment repository's root tree has an entry per intent, so at 10,000 intents each commit writes
 * a root tree of about 400 KB that differs from its parent's in an entry or two; stored whole, every commit would
 * add that much to the repository. A delta is an instruction list: copy a range of the base, or insert bytes.
 *
 * Trees are sorted lists of entries, so the delta is found walking both trees in order over their entry offsets:
 * a run of entries the base also has is found by one native comparison per doubling (then halved back) and
 * copied, the others inserted. No search; the only pass over every entry finds each tree's offsets, once.
 */

/** A delta header's size: 7 bits per byte, lowest first. */
function pushSize(out: number[], n: number): void {
  let rest = n;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

/** A tree entry's name (its bounds) and whether it is a tree, for git's order. */
interface Named {
  nameStart: number;
  nameEnd: number;
  dir: boolean;
}

/** The entry starting at `at`, ending (its 20-byte id included) at `end`. */
function named(tree: Buffer, at: number, end: number): Named {
  const space = tree.indexOf(0x20, at);
  // "40000": a tree (git's own trees write it without the leading 0).
  return { nameStart: space + 1, nameEnd: end - 21, dir: space - at === 5 && tree[at] === 0x34 };
}

/** Git's tree order of two entries' names (a tree's as if it ended in '/'): negative, 0 or positive. */
function compareNames(a: Buffer, ea: Named, b: Buffer, eb: Named): number {
  const la = ea.nameEnd - ea.nameStart + (ea.dir ? 1 : 0);
  const lb = eb.nameEnd - eb.nameStart + (eb.dir ? 1 : 0);
  const n = Math.min(la, lb);
  for (let k = 0; k < n; k++) {
    const x = ea.nameStart + k < ea.nameEnd ? (a[ea.nameStart + k] as number) : 0x2f;
    const y = eb.nameStart + k < eb.nameEnd ? (b[eb.nameStart + k] as number) : 0x2f;
    if (x !== y) return x - y;
  }
  return la - lb;
}

/** Trees' entry offsets, kept: the tree a delta is made from was the previous delta's target. */
const offsetsOf = new WeakMap<Buffer, Int32Array>();

/** Where each entry of a tree starts, and the tree's length last; undefined when it is not a tree. */
function boundaries(tree: Buffer): Int32Array | undefined {
  const known = offsetsOf.get(tree);
  if (known) return known;
  const out: number[] = [0];
  for (let at = 0; at < tree.length; ) {
    // A mode, a space, a name (no NUL in either), a NUL, then the 20-byte id.
    const nul = tree.indexOf(0, at);
    const space = tree.indexOf(0x20, at);
    if (nul < 0 || space < 0 || space > nul || nul + 21 > tree.length) return undefined;
    at = nul + 21;
    out.push(at);
  }
  const offsets = Int32Array.from(out);
  offsetsOf.set(tree, offsets);
  return offsets;
}

/**
 * The delta that makes `target` from `base`, both tree bodies; undefined when it would not be much smaller than
 * `target` itself (under half its size), or when either is not a tree.
 */
export function treeDelta(base: Buffer, target: Buffer): Buffer | undefined {
  const out: number[] = [];
  pushSize(out, base.length);
  pushSize(out, target.length);
  let copyFrom = -1;
  let copyLength = 0;
  let insertFrom = -1;
  let insertLength = 0;
  const flushCopy = () => {
    for (let left = copyLength, from = copyFrom; left > 0; ) {
      // One copy takes at most 0xffffff bytes; offset in 4 bytes, size in 3, only the bytes that are not zero.
      const size = Math.min(left, 0xffffff);
      const op = out.length;
      out.push(0x80);
      for (let k = 0; k < 4; k++) {
        const byte = Math.floor(from / 2 ** (8 * k)) & 0xff;
        if (byte) {
          out[op] = (out[op] as number) | (1 << k);
          out.push(byte);
        }
      }
      for (let k = 0; k < 3; k++) {
        const byte = (size >> (8 * k)) & 0xff;
        if (byte) {
          out[op] = (out[op] as number) | (0x10 << k);
          out.push(byte);
        }
      }
      from += size;
      left -= size;
    }
    copyLength = 0;
  };
  const flushInsert = () => {
    for (let left = insertLength, from = insertFrom; left > 0; ) {
      const size = Math.min(left, 0x7f);
      out.push(size);
      for (let k = 0; k < size; k++) out.push(target[from + k] as number);
      from += size;
      left -= size;
    }
    insertLength = 0;
  };
  const b = boundaries(base);
  const t = boundaries(target);
  if (!b || !t) return undefined;
  const nb = b.length - 1;
  const nt = t.length - 1;
  /** Whether the k entries from bi in the base are byte for byte the k from ti in the target (one native compare). */
  const same = (bi: number, ti: number, k: number) =>
    (b[bi + k] as number) - (b[bi] as number) === (t[ti + k] as number) - (t[ti] as number) &&
    base.compare(target, t[ti], t[ti + k], b[bi], b[bi + k]) === 0;
  let bi = 0;
  let ti = 0;
  while (ti < nt) {
    // The longest run of entries both have from here: doubled while it holds, then halved back.
    let k = 0;
    if (bi < nb && same(bi, ti, 1)) {
      k = 1;
      let step = 1;
      while (bi + k + step <= nb && ti + k + step <= nt && same(bi + k, ti + k, step)) {
        k += step;
        step *= 2;
      }
      for (step = Math.floor(step / 2); step >= 1; step = Math.floor(step / 2))
        if (bi + k + step <= nb && ti + k + step <= nt && same(bi + k, ti + k, step)) k += step;
    }
    if (k > 0) {
      if (insertLength > 0) flushInsert();
      const from = b[bi] as number;
      if (copyLength > 0 && copyFrom + copyLength !== from) flushCopy();
      if (copyLength === 0) copyFrom = from;
      copyLength += (b[bi + k] as number) - from;
      bi += k;
      ti += k;
      continue;
    }
    // Entries that differ: one gone from the base, one new in the target, or one changed (same name).
    const te = named(target, t[ti] as number, t[ti + 1] as number);
    const order = bi < nb ? compareNames(base, named(base, b[bi] as number, b[bi + 1] as number), target, te) : 1;
    if (order < 0) {
      bi++;
      continue;
    }
    if (order === 0) bi++;
    if (copyLength > 0) flushCopy();
    if (insertLength === 0) insertFrom = t[ti] as number;
    insertLength += (t[ti + 1] as number) - (t[ti] as number);
    ti++;
    if (out.length + insertLength > target.length / 2) return undefined;
  }
  flushCopy();
  flushInsert();
  return out.length < target.length / 2 ? Buffer.from(out) : undefined;
}

/** A delta header's size at `at`: the size and where it ends. */
function readSize(delta: Buffer, at: number): [number, number] {
  let n = 0;
  let shift = 1;
  let k = at;
  for (;;) {
    const byte = delta[k++];
    if (byte === undefined) throw new Error("delta ends in its header");
    n += (byte & 0x7f) * shift;
    shift *= 128;
    if (!(byte & 0x80)) return [n, k];
  }
}

/** Applies a git delta to its base. @throws when the delta does not fit the base */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const [baseSize, a] = readSize(delta, 0);
  const [size, start] = readSize(delta, a);
  if (baseSize !== base.length) throw new Error(`delta for a base of ${baseSize} bytes, given ${base.length}`);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let k = start;
  while (k < delta.length) {
    const op = delta[k++] as number;
    if (op & 0x80) {
      let from = 0;
      let n = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) from += (delta[k++] as number) * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (0x10 << b)) n |= (delta[k++] as number) << (8 * b);
      if (n === 0) n = 0x10000;
      if (from + n > base.length || at + n > size) throw new Error("delta copies outside its base or result");
      base.copy(out, at, from, from + n);
      at += n;
    } else if (op > 0) {
      if (at + op > size || k + op > delta.length) throw new Error("delta inserts past its result");
      delta.copy(out, at, k, k + op);
      at += op;
      k += op;
    } else throw new Error("delta has a reserved instruction");
  }
  if (at !== size) throw new Error(`delta made ${at} bytes of ${size}`);
  return out;
}

/** The distance back to an OFS_DELTA entry's base, as git writes it after the entry's header. */
export function encodeOffset(distance: number): Buffer {
  const bytes = [distance & 0x7f];
  let rest = Math.floor(distance / 128);
  while (rest > 0) {
    rest -= 1;
    bytes.unshift(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

/** An OFS_DELTA entry's distance back to its base, read at `at`: the distance and where it ends. */
export function decodeOffset(bytes: Buffer, at: number): [number, number] {
  let k = at;
  let byte = bytes[k++] as number;
  let distance = byte & 0x7f;
  while (byte & 0x80) {
    byte = bytes[k++] as number;
    distance = (distance + 1) * 128 + (byte & 0x7f);
  }
  return [distance, k];
}
