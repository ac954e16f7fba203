/**
 * Unified diffs of text files, as `diff -u` and `git diff` print them: `---`/`+++` headers (`/dev/null` for a
 * file added or deleted), `@@ -l,s +l,s @@` hunks with three lines of context, and `\ No newline at end of
 * file` after a last line that has none. Lines are matched exactly (Myers' shortest edit script after the
 * common head and tail are set aside); past {@link MAX_EDIT_DISTANCE} differing lines the middle is shown as
 * replaced whole, which is still a correct diff, only not the shortest.
 */

/** Beyond this many inserted plus deleted lines, the search for a shortest script stops (its cost is ~d²). */
export const MAX_EDIT_DISTANCE = 2000;

/** One line of an edit script: kept (" "), deleted ("-") or inserted ("+"). The line keeps its "\n", if any. */
export interface DiffLine {
  op: " " | "-" | "+";
  line: string;
}

/** A file's text as lines, each with its "\n" (the last one without, when the text does not end with one). */
export function splitLines(text: string): string[] {
  const out = text.split(/(?<=\n)/);
  return out.length === 1 && out[0] === "" ? [] : out;
}

/** An edit script turning `a` into `b`, line by line. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const keep = (lines: readonly string[]) => lines.map((line): DiffLine => ({ op: " ", line }));
  return [...keep(a.slice(0, head)), ...middle(midA, midB), ...keep(a.slice(a.length - tail))];
}

/** Myers' greedy search with a trace of each round's furthest points (only the rounds' own diagonals). */
function middle(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const replaced = (): DiffLine[] => [
    ...a.map((line): DiffLine => ({ op: "-", line })),
    ...b.map((line): DiffLine => ({ op: "+", line })),
  ];
  if (n === 0 || m === 0) return replaced();
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v on diagonals -d-1..d+1 as round d found it.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_EDIT_DISTANCE); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace);
    }
  }
  return replaced();
}

/** Walks the trace back from the end, collecting the script. */
function backtrack(a: readonly string[], b: readonly string[], trace: readonly Int32Array[]): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const t = trace[d] as Int32Array;
    const at = (k: number) => t[k + d + 1] as number;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: " ", line: a[x - 1] as string });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ op: "+", line: b[y - 1] as string });
      else out.push({ op: "-", line: a[x - 1] as string });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/**
 * The unified diff of one file, or "" when `before` and `after` are the same. `undefined` is a file that does
 * not exist (added or deleted).
 * @example unifiedDiff("life/upf/deployment.yaml", "replicas: 1\n", "replicas: 2\n")
 *   // "--- a/life/upf/deployment.yaml\n+++ b/life/upf/deployment.yaml\n@@ -1 +1 @@\n-replicas: 1\n+replicas: 2\n"
 */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined, context = 3): string {
  if (before === after) return "";
  const script = diffLines(splitLines(before ?? ""), splitLines(after ?? ""));
  let out = `--- ${before === undefined ? "/dev/null" : `a/${path}`}\n+++ ${after === undefined ? "/dev/null" : `b/${path}`}\n`;
  for (const hunk of hunksOf(script, context)) out += hunk;
  return out;
}

/** The script's hunks as text: changes closer than 2 × `context` kept lines share a hunk. */
function hunksOf(script: readonly DiffLine[], context: number): string[] {
  const changed = script.flatMap((l, i) => (l.op === " " ? [] : [i]));
  const hunks: string[] = [];
  let i = 0;
  while (i < changed.length) {
    let j = i;
    while (j + 1 < changed.length && (changed[j + 1] as number) - (changed[j] as number) - 1 <= 2 * context) j++;
    const start = Math.max(0, (changed[i] as number) - context);
    const end = Math.min(script.length, (changed[j] as number) + context + 1);
    hunks.push(hunkText(script, start, end));
    i = j + 1;
  }
  return hunks;
}

/** One hunk: its header (line numbers counted from the script's start) and its lines. */
function hunkText(script: readonly DiffLine[], start: number, end: number): string {
  let oldLine = 1;
  let newLine = 1;
  for (let i = 0; i < start; i++) {
    const op = (script[i] as DiffLine).op;
    if (op !== "+") oldLine++;
    if (op !== "-") newLine++;
  }
  let oldCount = 0;
  let newCount = 0;
  let body = "";
  for (let i = start; i < end; i++) {
    const { op, line } = script[i] as DiffLine;
    if (op !== "+") oldCount++;
    if (op !== "-") newCount++;
    body += line.endsWith("\n") ? `${op}${line}` : `${op}${line}\n\\ No newline at end of file\n`;
  }
  // An empty range starts at the line before it (0 at the top of the file), as diff -u and git write it.
  const range = (from: number, count: number) =>
    count === 1 ? `${from}` : `${count === 0 ? from - 1 : from},${count}`;
  return `@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@\n${body}`;
}
