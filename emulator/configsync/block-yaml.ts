/**
 * A reader of the plain block YAML that deployment repositories hold (nested mappings and sequences of one-line
 * scalars, comments), some ten times faster than the `yaml` package: the emulated ConfigSync spent a third of its
 * process's time in `parseAllDocuments`. It gives the value `yaml` gives (YAML 1.2, core schema) or, for anything
 * outside that plain form (anchors, tags, block or multi-line scalars, flow collections other than `[]` and `{}`,
 * escapes JSON lacks, keys that are not strings, a key twice, tabs...), undefined: the caller then reads the text with `yaml`,
 * which also words any error.
 */

type Obj = Record<string, unknown>;

/** Thrown inside the reader when the text leaves the plain form; never escapes {@link readBlockYaml}. */
class NotPlain extends Error {}
const notPlain = (): never => {
  throw new NotPlain();
};

interface Line {
  indent: number;
  /** The whole line, trailing spaces removed. */
  text: string;
}

/**
 * The values of the documents of `text` that are not empty, in order, as `yaml`'s `parseAllDocuments(text)` then
 * `toJS()` give them; undefined when the text is not plain block YAML.
 */
export function readBlockYaml(text: string): unknown[] | undefined {
  if (hasSpecialCharacters(text)) return undefined;
  const docs: unknown[] = [];
  let lines: Line[] = [];
  try {
    for (const raw of text.split("\n")) {
      const line = raw.trimEnd();
      if (line.startsWith("---") && (line.length === 3 || line[3] === " ")) {
        // A document marker, with nothing after it but a comment.
        if (!/^---\s*(#.*)?$/.test(line)) return undefined;
        if (lines.length > 0) docs.push(new Reader(lines).document());
        lines = [];
        continue;
      }
      if (line.startsWith("---") || line.startsWith("...") || line.startsWith("%")) return undefined;
      const indent = line.length - line.trimStart().length;
      // Blank and comment lines carry nothing.
      if (indent === line.length || line[indent] === "#") continue;
      lines.push({ indent, text: line });
    }
    if (lines.length > 0) docs.push(new Reader(lines).document());
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
  return docs;
}

/** Tabs, carriage returns, control characters, NEL, line separators, a byte order mark: left to `yaml`. */
function hasSpecialCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff)
      return true;
  }
  return false;
}

/** One document's lines (no blank or comment lines), read top-down. */
class Reader {
  #at = 0;
  constructor(readonly lines: Line[]) {}

  document(): unknown {
    const first = this.lines[0] as Line;
    const value = this.#node(first.indent);
    // Anything left over (a line less indented than the first, say) is not plain.
    if (this.#at < this.lines.length) notPlain();
    return value;
  }

  /** The node starting at the current line, which is indented `indent`. */
  #node(indent: number): unknown {
    const line = this.lines[this.#at] as Line;
    if (line.text.startsWith("-", indent) && isItemStart(line.text, indent)) return this.#sequence(indent);
    if (keyEnd(line.text, indent) !== undefined) return this.#mapping(indent);
    // A scalar alone on its line(s): only a one-line one is plain.
    const value = inlineValue(line.text, indent);
    this.#at++;
    this.#noContinuation(indent - 1);
    return value;
  }

  /** A block sequence whose `-` are at column `indent` (the first of them maybe after an outer sequence's `- `). */
  #sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.#line(); line; line = this.#line()) {
      if ((items.length > 0 && line.indent !== indent) || !isItemStart(line.text, indent)) break;
      let col = indent + 1;
      while (line.text[col] === " ") col++;
      if (col >= line.text.length || line.text[col] === "#") {
        // `-` alone: the item is the block below, more indented, or null.
        this.#at++;
        const next = this.#line();
        items.push(next && next.indent > indent ? this.#node(next.indent) : null);
      } else if (isItemStart(line.text, col)) items.push(this.#sequence(col));
      else if (keyEnd(line.text, col) !== undefined) items.push(this.#mapping(col));
      else {
        items.push(inlineValue(line.text, col));
        this.#at++;
        this.#noContinuation(indent);
      }
    }
    return items;
  }

  /** A block mapping whose keys start at column `col` (the first of them maybe after a sequence's `- `). */
  #mapping(col: number): Obj {
    const map: Obj = {};
    for (let line = this.#line(); line; line = this.#line()) {
      const end = keyEnd(line.text, col);
      // After the first entry, a line at the keys' column that is not an entry ends the mapping.
      if (end === undefined) break;
      const key = keyOf(line.text.slice(col, end.key));
      if (Object.hasOwn(map, key)) notPlain();
      let at = end.value;
      while (line.text[at] === " ") at++;
      this.#at++;
      if (at < line.text.length && line.text[at] !== "#") {
        map[key] = inlineValue(line.text, at);
        this.#noContinuation(col);
      } else {
        const next = this.#line();
        // The value is the block below: more indented, or a sequence at the key's own column.
        if (next && next.indent > col) map[key] = this.#node(next.indent);
        else if (next?.indent === col && isItemStart(next.text, col)) map[key] = this.#sequence(col);
        else map[key] = null;
      }
      const after = this.#line();
      if (!after || after.indent < col) break;
      if (after.indent > col) notPlain();
    }
    return map;
  }

  #line(): Line | undefined {
    return this.lines[this.#at];
  }

  /** After a one-line scalar, a more indented line would continue it (a multi-line scalar): not plain. */
  #noContinuation(indent: number): void {
    const next = this.#line();
    if (next && next.indent > indent) notPlain();
  }
}

/** A `-` at `col` starts a sequence item when a space or the line's end follows it. */
const isItemStart = (text: string, col: number) =>
  text[col] === "-" && (col + 1 === text.length || text[col + 1] === " ");

/**
 * Where the key of a `key: value` entry starting at `col` ends, and where its value starts; undefined when the
 * line from `col` is not an entry. A quoted key must be one the {@link keyOf} reads.
 */
function keyEnd(text: string, col: number): { key: number; value: number } | undefined {
  const first = text[col];
  if (first === '"' || first === "'") {
    const close = quoteEnd(text, col);
    if (close === undefined) return undefined;
    let at = close + 1;
    while (text[at] === " ") at++;
    if (text[at] !== ":" || (at + 1 < text.length && text[at + 1] !== " ")) return undefined;
    return { key: close + 1, value: at + 1 };
  }
  for (let at = text.indexOf(":", col); at >= 0; at = text.indexOf(":", at + 1)) {
    if (at + 1 === text.length || text[at + 1] === " ") {
      // A comment before the colon makes the line a scalar.
      if (text.slice(col, at).includes(" #")) return undefined;
      return { key: at, value: at + 1 };
    }
  }
  return undefined;
}

/** The index of the quote closing the quoted scalar opened at `open`, on the same line; undefined if none. */
function quoteEnd(text: string, open: number): number | undefined {
  const q = text[open];
  for (let at = open + 1; at < text.length; at++) {
    if (q === '"' && text[at] === "\\") {
      at++;
      continue;
    }
    if (text[at] === q) {
      if (q === "'" && text[at + 1] === "'") {
        at++;
        continue;
      }
      return at;
    }
  }
  return undefined;
}

/** A key's text (plain or quoted, the colon left out): only string keys are plain. */
function keyOf(raw: string): string {
  const text = raw.trimEnd();
  if (text.length > 1024) notPlain();
  let key: string;
  if (text[0] === '"' || text[0] === "'") key = unquote(text);
  else {
    const value = plainScalar(text);
    if (typeof value !== "string") notPlain();
    key = value as string;
  }
  // `<<` (a merge key in YAML 1.1) and `__proto__` are read as `yaml` decides.
  if (key === "<<" || key === "__proto__") notPlain();
  return key;
}

/** The scalar from `col` to the line's end (a trailing comment left out). */
function inlineValue(text: string, col: number): unknown {
  const first = text[col];
  if (first === '"' || first === "'") {
    const close = quoteEnd(text, col);
    if (close === undefined) notPlain();
    const rest = text.slice((close as number) + 1);
    if (rest !== "" && !/^ +#/.test(rest)) notPlain();
    return unquote(text.slice(col, (close as number) + 1));
  }
  const comment = text.indexOf(" #", col);
  const raw = (comment < 0 ? text.slice(col) : text.slice(col, comment)).trimEnd();
  if (raw === "[]") return [];
  if (raw === "{}") return {};
  // `key: a: b` is a nested mapping YAML refuses.
  if (raw.includes(": ") || raw.endsWith(":")) notPlain();
  return plainScalar(raw);
}

/**
 * A quoted scalar, quotes included. A `"` one's escapes are read by `JSON.parse` when they are JSON's (which YAML's
 * double-quoted style shares, as the agent's emitter writes them); YAML's own (`\x41`, `\e`...) are not plain.
 */
function unquote(text: string): string {
  if (text[0] === "'") return text.slice(1, -1).replaceAll("''", "'");
  if (!text.includes("\\")) return text.slice(1, -1);
  try {
    return JSON.parse(text) as string;
  } catch {
    return notPlain();
  }
}

/** A plain scalar resolved as YAML 1.2's core schema resolves it, in `yaml`'s order of tags. */
function plainScalar(text: string): unknown {
  const first = text[0] ?? "";
  // Indicators cannot start a plain scalar; `-` can, before something other than a space.
  if ("?:,[]{}#&*!|>'\"%@`".includes(first) || (first === "-" && (text.length === 1 || text[1] === " "))) notPlain();
  if (text === "" || /^(?:~|[Nn]ull|NULL)$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(text)) return text[0] === "t" || text[0] === "T";
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(text)) return parseInt(text, 10);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(text))
    return text.slice(-3).toLowerCase() === "nan"
      ? Number.NaN
      : text[0] === "-"
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(text)) return parseFloat(text);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(text)) return parseFloat(text);
  return text;
}
