/**
 * A tree object kept as its bytes, with where each entry starts: a repository's root tree has an entry per
 * deployed intent (10,000 entries, 400 KB), and one is read at every commit, so an entry's mode, name and id
 * are made into strings only when asked for, and two trees are compared by their bytes ({@link diffTrees}):
 * only the entries between the longest common run of entries at the start and at the end are looked at one by
 * one. Checked as `git fsck` checks a tree (format, git's order, no name twice) when read.
 */
import { GitReadError } from "./git-read-error.js";
import { hashAlgorithmOf, type TreeEntry } from "./git-objects.js";

const SPACE = 0x20;
const SLASH = 0x2f;
const DOT = 0x2e;
/** "40000", a folder's mode, as bytes. */
const TREE_MODE = Buffer.from("40000");

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

  /** @throws GitReadError (ERR_GIT_OBJECT_CORRUPT) when the content is not a well-formed tree. */
  constructor(oid: string, content: Buffer) {
    this.oid = oid;
    this.content = content;
    this.#idBytes = hashAlgorithmOf(oid) === "sha1" ? 20 : 32;
    const starts: number[] = [];
    const names: number[] = [];
    const nuls: number[] = [];
    /** The first entry that is not well-formed: reported after any order problem before it, as read in order. */
    let broken: GitReadError | undefined;
    for (let i = 0; i < content.length; ) {
      const nul = this.#scanEntry(i);
      if (typeof nul !== "number") {
        broken = nul;
        break;
      }
      starts.push(i);
      names.push(content.indexOf(SPACE, i) + 1);
      nuls.push(nul);
      i = nul + 1 + this.#idBytes;
    }
    starts.push(content.length);
    this.#starts = Int32Array.from(starts);
    this.#names = Int32Array.from(names);
    this.#nuls = Int32Array.from(nuls);
    for (let k = 1; k < nuls.length; k++) this.#checkOrder(k);
    if (broken) throw broken;
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
    const order = this.compareEntry(k - 1, this, k);
    if (order === 0 || (order > 0 && this.#sameName(k - 1, k)))
      throw this.#corrupt(`entry ${quoted()} is there twice (fsck: duplicateEntries)`);
    if (order > 0) throw this.#corrupt(`entry ${quoted()} is out of git's order (fsck: treeNotSorted)`);
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

/** Whether `length` bytes of `c` at `a` and at `b` are the same (a loop: for names, shorter than a native call's checks). */
function sameBytes(c: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (c[a + i] !== c[b + i]) return false;
  return true;
}

/**
 * Two names' sort keys compared as git orders a tree's entries: bytes, a folder's name as if it ended in "/".
 * Negative when the first comes first.
 */
function compareKeys(
  a: Buffer,
  aStart: number,
  aEnd: number,
  aFolder: boolean,
  b: Buffer,
  bStart: number,
  bEnd: number,
  bFolder: boolean,
): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  // Byte by byte: names are short, and a native call's checks cost more than the loop.
  for (let i = 0; i < n; i++) {
    const d = (a[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  // The byte after the common part: a name's own, or "/" for a folder's key, or nothing (-1) at its end.
  const nextA = aEnd - aStart > n ? (a[aStart + n] as number) : aFolder ? SLASH : -1;
  const nextB = bEnd - bStart > n ? (b[bStart + n] as number) : bFolder ? SLASH : -1;
  return nextA - nextB;
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

/** The largest n in [0, most] for which `holds(n)`, given that it holds for 0 and, once false, stays false. */
function longest(most: number, holds: (n: number) => boolean): number {
  let lo = 0;
  let hi = most;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (holds(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
