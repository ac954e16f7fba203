/**
 * Byte-level helpers for reading and comparing tree objects (tree-object.ts): names compared in git's order
 * without making strings, and the runs of bytes two trees share at their start and end found with few native
 * calls.
 */

/** "/", which a folder's sort key ends with. */
export const SLASH = 0x2f;

/** Whether `length` bytes of `c` at `a` and at `b` are the same (a loop: for names, shorter than a native call's checks). */
export function sameBytes(c: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (c[a + i] !== c[b + i]) return false;
  return true;
}

/**
 * Two names' sort keys compared as git orders a tree's entries: bytes, a folder's name as if it ended in "/".
 * Negative when the first comes first.
 */
export function compareKeys(
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

/** Block by block, each compared natively: a few hundred calls for a 400 KB tree, not a call per entry. */
const BLOCK = 4096;

/** How many bytes two buffers share at their start, and at their end (each at most the shorter's length). */
export function sharedBytes(a: Buffer, b: Buffer): { head: number; tail: number } {
  const most = Math.min(a.length, b.length);
  let head = 0;
  while (head < most) {
    const n = Math.min(BLOCK, most - head);
    if (a.compare(b, head, head + n, head, head + n) === 0) head += n;
    else {
      while (a[head] === b[head]) head++;
      break;
    }
  }
  let tail = 0;
  while (tail < most) {
    const n = Math.min(BLOCK, most - tail);
    if (a.compare(b, b.length - tail - n, b.length - tail, a.length - tail - n, a.length - tail) === 0) tail += n;
    else {
      while (a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
      break;
    }
  }
  return { head, tail };
}

/** The largest n in [0, most] for which `holds(n)`, given that it holds for 0 and, once false, stays false. */
export function longest(most: number, holds: (n: number) => boolean): number {
  let lo = 0;
  let hi = most;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (holds(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
