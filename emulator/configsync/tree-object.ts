/**
 * A tree object kept as its bytes, with where each entry starts: a repository's root tree has an entry per
 * deployed intent (10,000 entries, 400 KB), and one is read at every commit, so an entry's mode, name and id
 * are made into strings only when asked for; a tree is read as its change from the tree it replaces (only the
 * entries between the runs of bytes the two share at their start and end are checked one by one), and two trees
 * are compared the same way ({@link diffTrees}). Checked as `git fsck` checks a tree (format, git's order, no
 * name twice) when read, with the same result however it is read.
 */
import { GitReadError } from "./git-read-error.js";
import { hashAlgorithmOf, type TreeEntry } from "./git-objects.js";
import { compareKeys, longest, SLASH, sameBytes, sharedBytes } from "./tree-bytes.js";

const SPACE = 0x20;
const DOT = 0x2e;
/** "40000", a folder's mode, as bytes. */
const TREE_MODE = Buffer.from("40000");

/** Where a tree's entries are: see {@link TreeObject}'s fields. */
interface Layout {
  starts: Int32Array;
  names: Int32Array;
  nuls: Int32Array;
}

/** A checked tree object; entries are numbered in stored (git's) order. */
export class TreeObject {
  readonly oid: string;
  readonly content: Buffer;
  readonly #idBytes: number;
  /** Per entry, the byte its mode starts at; one more value at the end, the content's length. */
  readonly #starts: Int32Array;
  /** Per entry, the byte its name starts at, and the byte of the NUL that ends it. */
  readonly #names: Int32Array;
  readonly #nuls: Int32Array;

  /**
   * Reads and checks a tree. Given `base`, a checked tree it likely shares most entries with (the same folder
   * at the commit before), only the entries between the longest runs of bytes the two share at their start and
   * at their end are read and checked one by one (the rest are the base's, checked already), with the same
   * result as a read of every entry.
   * @throws GitReadError (ERR_GIT_OBJECT_CORRUPT) when the content is not a well-formed tree.
   */
  constructor(oid: string, content: Buffer, base?: TreeObject) {
    this.oid = oid;
    this.content = content;
    this.#idBytes = hashAlgorithmOf(oid) === "sha1" ? 20 : 32;
    const shared = base && base.#idBytes === this.#idBytes ? this.#layoutFrom(base) : undefined;
    const whole = shared ? undefined : this.#scan(0, content.length);
    const layout = shared ?? (whole as Layout);
    this.#starts = layout.starts;
    this.#names = layout.names;
    this.#nuls = layout.nuls;
    if (shared) this.#checkChanged(shared.changed);
    else {
      for (let k = 1; k < this.size; k++) this.#checkOrder(k);
      if (whole?.broken) throw whole.broken;
    }
  }

  /**
   * Reads the entries from byte `from` up to byte `to` (each checked on its own), stopping at the first that is
   * not well-formed (`broken`), which is reported after any order problem before it, as a read in order finds.
   * `starts` ends with where the reading stopped (`end`).
   */
  #scan(from: number, to: number): Layout & { broken?: GitReadError; end: number } {
    const starts: number[] = [];
    const names: number[] = [];
    const nuls: number[] = [];
    let i = from;
    let broken: GitReadError | undefined;
    while (i < to) {
      const nul = this.#scanEntry(i);
      if (typeof nul !== "number") {
        broken = nul;
        break;
      }
      starts.push(i);
      names.push(this.content.indexOf(SPACE, i) + 1);
      nuls.push(nul);
      i = nul + 1 + this.#idBytes;
    }
    starts.push(i);
    const layout = {
      starts: Int32Array.from(starts),
      names: Int32Array.from(names),
      nuls: Int32Array.from(nuls),
      end: i,
    };
    return broken ? { ...layout, broken } : layout;
  }

  /**
   * The layout of this tree as the base's first and last entries, where the bytes are the same, around the
   * entries read between them; undefined when those do not read cleanly up to where the shared end starts (then
   * every entry is read).
   */
  #layoutFrom(base: TreeObject): (Layout & { changed: { from: number; to: number } }) | undefined {
    const c = this.content;
    const b = base.content;
    // Entries the same up to the first byte that differs, and from the last one that differs.
    const same = sharedBytes(c, b);
    const head = longest(base.size, (n) => (base.#starts[n] as number) <= same.head);
    const headBytes = base.#starts[head] as number;
    const tail = longest(base.size - head, (n) => {
      const bytes = b.length - (base.#starts[base.size - n] as number);
      return bytes <= same.tail && bytes <= c.length - headBytes;
    });
    const tailFrom = base.#starts[base.size - tail] as number;
    const end = c.length - (b.length - tailFrom);
    const middle = this.#scan(headBytes, end);
    if (middle.broken || middle.end !== end) return undefined;
    const from = base.size - tail;
    const count = middle.nuls.length;
    /** The base's first entries, the ones read, and the base's last ones moved by the change in length. */
    const join = (first: Int32Array, mid: Int32Array, last: number) => {
      const out = new Int32Array(head + count + last);
      out.set(first.subarray(0, head));
      out.set(mid.subarray(0, count), head);
      const shift = end - tailFrom;
      for (let i = 0; i < last; i++) out[head + count + i] = (first[from + i] as number) + shift;
      return out;
    };
    return {
      starts: join(base.#starts, middle.starts, tail + 1),
      names: join(base.#names, middle.names, tail),
      nuls: join(base.#nuls, middle.nuls, tail),
      changed: { from: head, to: head + middle.nuls.length },
    };
  }

  /**
   * The checks of a read of every entry, for a tree whose entries before `from` and from `to` on are a checked
   * base's: the order where the read entries meet the others and among themselves, and no name twice among read
   * entries and between a read entry and another (the base's own entries have no name twice between them).
   */
  #checkChanged({ from, to }: { from: number; to: number }): void {
    for (let k = Math.max(1, from); k <= Math.min(this.size - 1, to); k++) this.#checkOrder(k);
    // A file read here and a folder of its name among the base's last entries: found where a read in order would.
    let twice = -1;
    for (let k = from; k < to; k++) {
      if (this.isTree(k)) continue;
      const start = this.#nameStart(k);
      const length = (this.#nuls[k] as number) - start;
      for (let j = k + 1; j < this.size; j++) {
        const other = this.#nameStart(j);
        const otherLength = (this.#nuls[j] as number) - other;
        if (otherLength < length || !sameBytes(this.content, start, other, length)) break;
        if (otherLength > length && (this.content[other + length] as number) > SLASH) break;
        if (otherLength === length && this.isTree(j) && j > to && (twice < 0 || j < twice)) twice = j;
      }
    }
    if (twice >= 0)
      throw this.#corrupt(`entry ${JSON.stringify(this.name(twice))} is there twice (fsck: duplicateEntries)`);
  }

  /** How many entries the tree has. */
  get size(): number {
    return this.#nuls.length;
  }

  /** Whether entry `k` is a folder (mode exactly "40000", as git writes it). */
  isTree(k: number): boolean {
    const s = this.#starts[k] as number;
    const c = this.content;
    return (
      this.#nameStart(k) - 1 - s === 5 &&
      c[s] === TREE_MODE[0] &&
      c[s + 1] === TREE_MODE[1] &&
      c[s + 2] === TREE_MODE[2] &&
      c[s + 3] === TREE_MODE[3] &&
      c[s + 4] === TREE_MODE[4]
    );
  }

  name(k: number): string {
    return this.content.toString("utf8", this.#nameStart(k), this.#nuls[k]);
  }

  /** Entry `k` as strings. */
  entry(k: number): TreeEntry {
    const s = this.#starts[k] as number;
    const nul = this.#nuls[k] as number;
    const nameStart = this.#nameStart(k);
    return {
      mode: this.content.toString("latin1", s, nameStart - 1),
      name: this.content.toString("utf8", nameStart, nul),
      oid: this.content.toString("hex", nul + 1, nul + 1 + this.#idBytes),
    };
  }

  /** Every entry, as strings (costs the tree's size: for reads of every file). */
  entries(): TreeEntry[] {
    return Array.from({ length: this.size }, (_, k) => this.entry(k));
  }

  /** The entry named `name` (a folder or not), found by a binary search in git's order. */
  find(name: string): TreeEntry | undefined {
    const want = Buffer.from(name, "utf8");
    for (const folder of [false, true]) {
      let lo = 0;
      let hi = this.size - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = this.#compareKey(mid, want, folder);
        if (c === 0) return this.entry(mid);
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return undefined;
  }

  /** Where entry `k`'s name starts (after its mode and a space). */
  #nameStart(k: number): number {
    return this.#names[k] as number;
  }

  /** Checks the entry at byte `i` on its own: where its name ends (its NUL), or what is wrong with it. */
  #scanEntry(i: number): number | GitReadError {
    const c = this.content;
    const space = c.indexOf(SPACE, i);
    if (space < 0) return this.#corrupt(`entry at byte ${i} has no mode`);
    let octal = space - i >= 5 && space - i <= 6;
    for (let at = i; octal && at < space; at++) octal = (c[at] as number) >= 0x30 && (c[at] as number) <= 0x37;
    if (!octal) return this.#corrupt(`entry at byte ${i} has mode ${JSON.stringify(c.toString("latin1", i, space))}`);
    const nul = c.indexOf(0, space + 1);
    if (nul < 0 || nul === space + 1) return this.#corrupt(`entry at byte ${i} has no name`);
    if (nul + 1 + this.#idBytes > c.length) return this.#corrupt(`entry at byte ${i} is cut short`);
    const length = nul - space - 1;
    const dots = (length === 1 || (length === 2 && c[space + 1] === DOT)) && c[nul - 1] === DOT;
    let slash = false;
    for (let at = space + 1; !slash && at < nul; at++) slash = c[at] === SLASH;
    if (dots || slash) return this.#corrupt(`entry name ${JSON.stringify(c.toString("utf8", space + 1, nul))}`);
    return nul;
  }

  /**
   * Checks that entry `k` comes after entry `k - 1` in git's order, and that no entry before it has its name (a
   * file named as a folder after it sorts before it, maybe not right before: "a", "a.yaml", "a/").
   */
  #checkOrder(k: number): void {
    const quoted = () => JSON.stringify(this.name(k));
    // Out of order: a name given before (anywhere: the entries before are in order) is reported first.
    if (this.compareEntry(k - 1, this, k) >= 0)
      throw this.#corrupt(
        this.#namedBefore(k)
          ? `entry ${quoted()} is there twice (fsck: duplicateEntries)`
          : `entry ${quoted()} is out of git's order (fsck: treeNotSorted)`,
      );
    if (!this.isTree(k)) return;
    // Entries between a file "a" and a folder "a" all start with "a" and a byte that sorts before "/".
    const start = this.#nameStart(k);
    const length = (this.#nuls[k] as number) - start;
    for (let j = k - 1; j >= 0; j--) {
      const other = this.#nameStart(j);
      if ((this.#nuls[j] as number) - other < length || !sameBytes(this.content, start, other, length)) return;
      if (this.#sameName(j, k)) throw this.#corrupt(`entry ${quoted()} is there twice (fsck: duplicateEntries)`);
    }
  }

  /** Whether an entry before `k` has its name, as a file or a folder (a binary search: those are in order). */
  #namedBefore(k: number): boolean {
    const name = this.#nameStart(k);
    const nul = this.#nuls[k] as number;
    return [false, true].some((folder) => {
      let lo = 0;
      let hi = k - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = compareKeys(
          this.content,
          this.#nameStart(mid),
          this.#nuls[mid] as number,
          this.isTree(mid),
          this.content,
          name,
          nul,
          folder,
        );
        if (c === 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    });
  }

  /** Whether entries `j` and `k` have the same name. */
  #sameName(j: number, k: number): boolean {
    const a = this.#nameStart(j);
    const b = this.#nameStart(k);
    const length = (this.#nuls[j] as number) - a;
    return length === (this.#nuls[k] as number) - b && sameBytes(this.content, a, b, length);
  }

  /**
   * Entry `k`'s sort key against the key of `name` (a folder's key is its name and "/"), as git orders a tree:
   * negative when entry `k` comes first.
   */
  #compareKey(k: number, name: Buffer, folder: boolean): number {
    return compareKeys(
      this.content,
      this.#nameStart(k),
      this.#nuls[k] as number,
      this.isTree(k),
      name,
      0,
      name.length,
      folder,
    );
  }

  #corrupt(why: string): GitReadError {
    return new GitReadError("ERR_GIT_OBJECT_CORRUPT", `tree ${this.oid} is corrupt: ${why}`, {
      data: { oid: this.oid },
    });
  }

  /** Whether entry `k` of this tree and entry `j` of `other` are the same bytes (mode, name and id). */
  sameEntry(k: number, other: TreeObject, j: number): boolean {
    const s = this.#starts[k] as number;
    const e = this.#starts[k + 1] as number;
    const os = other.#starts[j] as number;
    const oe = other.#starts[j + 1] as number;
    return e - s === oe - os && this.content.compare(other.content, os, oe, s, e) === 0;
  }

  /** Entry `k`'s key against entry `j` of `other`, in git's order. */
  compareEntry(k: number, other: TreeObject, j: number): number {
    return compareKeys(
      this.content,
      this.#nameStart(k),
      this.#nuls[k] as number,
      this.isTree(k),
      other.content,
      other.#nameStart(j),
      other.#nuls[j] as number,
      other.isTree(j),
    );
  }

  /** Whether the first `n` entries of this tree and of `other` are the same bytes (one native comparison). */
  samePrefix(other: TreeObject, n: number): boolean {
    const end = this.#starts[n] as number;
    return end === other.#starts[n] && this.content.compare(other.content, 0, end, 0, end) === 0;
  }

  /** Whether the last `n` entries of this tree and of `other` are the same bytes (one native comparison). */
  sameSuffix(other: TreeObject, n: number): boolean {
    const from = this.#starts[this.size - n] as number;
    const otherFrom = other.#starts[other.size - n] as number;
    return (
      this.content.length - from === other.content.length - otherFrom &&
      this.content.compare(other.content, otherFrom, other.content.length, from, this.content.length) === 0
    );
  }
}

/** One name that differs between two trees: its entry in the first (if there) and in the second (if there). */
export interface TreeChange {
  before?: number;
  after?: number;
}

/**
 * The entries that differ between two trees (their mode or id, or present in one only), paired by key in git's
 * order; a missing tree has none. The longest runs of identical entries at the start and at the end are found by native comparison of
 * their bytes (a binary search over the number of entries), so a commit that adds or changes one folder of a
 * 10,000-entry root tree looks at a handful of entries, not at every one.
 */
export function diffTrees(a: TreeObject | undefined, b: TreeObject | undefined): TreeChange[] {
  // A missing tree (a folder on one side only): every entry of the other differs.
  if (!a || !b) return Array.from({ length: (a ?? b)?.size ?? 0 }, (_, k) => (a ? { before: k } : { after: k }));
  const most = Math.min(a.size, b.size);
  const prefix = longest(most, (n) => a.samePrefix(b, n));
  const suffix = longest(most - prefix, (n) => a.sameSuffix(b, n));
  const out: TreeChange[] = [];
  let i = prefix;
  let j = prefix;
  const aEnd = a.size - suffix;
  const bEnd = b.size - suffix;
  while (i < aEnd || j < bEnd) {
    const c = i >= aEnd ? 1 : j >= bEnd ? -1 : a.compareEntry(i, b, j);
    if (c < 0) out.push({ before: i++ });
    else if (c > 0) out.push({ after: j++ });
    else {
      if (!a.sameEntry(i, b, j)) out.push({ before: i, after: j });
      i++;
      j++;
    }
  }
  return out;
}
