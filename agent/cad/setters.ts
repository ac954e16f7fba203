/**
 * kpt setters, applied as kpt's `apply-setters` applies them, to YAML documents parsed with the `yaml` library
 * (so comments, key order and formatting survive):
 *   image: nginx:1.0 # kpt-set: ${image}:${tag}     whole values, substrings, several setters in one value
 *   args: # kpt-set: ${args}                         a list setter on the key line; its value is a YAML list
 *     - a
 * A field is changed only when every setter it names has a value; otherwise it is reported as unresolved
 * (kpt leaves it; CAMINO's strict mode turns that into an error). Values become YAML values of the field's
 * own type, never text spliced into the file: `x\nkind: Secret` or `{{` stays one string.
 */
import {
  isMap,
  isScalar,
  isSeq,
  parse as parseYaml,
  Scalar,
  visit,
  type YAMLSeq,
  type Document,
  type Node,
} from "yaml";

/** Where a setter is used. */
export interface SetterUse {
  setter: string;
  /** Field path in the document, e.g. `spec.template.spec.containers[0].image`. */
  path: string;
}

export interface ApplySettersResult {
  /** Setters whose value was used at least once. */
  used: Set<string>;
  /** Fields left unchanged because a setter they name has no value. */
  unresolved: SetterUse[];
  /** Every setter reference found (for the catalogue), with its path. */
  references: SetterUse[];
}

/** Thrown for a setter value that cannot be applied (a list setter given something that is not a list). */
export class SetterValueError extends Error {
  override readonly name = "SetterValueError";
  constructor(
    readonly setter: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const MARKER = "kpt-set:";
const REF = /\$\{([^}]+)\}/g;

/** The pattern of a `# kpt-set: PATTERN` comment, if the comment is one. */
export function setterPattern(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  // A comment may span lines; the setter marker is on the field's own line.
  for (const line of comment.split("\n")) {
    const t = line.trim();
    if (t.startsWith(MARKER)) return t.slice(MARKER.length).trim();
  }
  return undefined;
}

/** The setter names a pattern references, in order. */
export function setterNames(pattern: string): string[] {
  return [...pattern.matchAll(REF)].map((m) => m[1] as string);
}

/** Keeps the field's YAML type: a number stays a number and a boolean a boolean when the new text is one. */
function typedValue(original: unknown, text: string): unknown {
  if (typeof original === "number") {
    const n = Number(text);
    if (text.trim() !== "" && Number.isFinite(n)) return n;
  }
  if (typeof original === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

/**
 * A flow list that is also JSON (`["a", 1]`), parsed as JSON: the same value YAML gives it (JSON is YAML 1.2),
 * at a fraction of the cost — the Network Manager writes its list values this way. Undefined for anything else.
 */
function jsonList(text: string): unknown[] | undefined {
  if (!text.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a list setter's value: a YAML flow (`[a, b]`) or block (`- a`) list of scalars. */
function listValue(setter: string, path: string, text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? [] : (jsonList(text) ?? parseYaml(text));
  } catch {
    throw new SetterValueError(setter, path, `setter ${setter} must be a YAML list for ${path}`);
  }
  if (!Array.isArray(parsed) || parsed.some((v) => v !== null && typeof v === "object")) {
    throw new SetterValueError(setter, path, `setter ${setter} must be a YAML list of scalars for ${path}`);
  }
  return parsed.map((v) => (v === null ? "" : String(v)));
}

function fieldPath(ancestors: readonly unknown[], leafKey: unknown): string {
  const parts: string[] = [];
  const chain = [...ancestors, leafKey];
  for (let i = 0; i < chain.length; i++) {
    const a = chain[i];
    if (a && typeof a === "object" && "key" in a && "value" in a) {
      const k = (a as { key: unknown }).key;
      parts.push(`.${isScalar(k) ? String(k.value) : String(k)}`);
    } else if (isSeq(a)) {
      const child = chain[i + 1];
      const idx = a.items.indexOf(child as never);
      if (idx >= 0) parts.push(`[${idx}]`);
    }
  }
  return parts.join("").replace(/^\./, "");
}

/**
 * Applies setter values to one document in place.
 * @throws SetterValueError for a list setter whose value is not a list.
 */
export function applySetters(doc: Document, values: Readonly<Record<string, string>>): ApplySettersResult {
  const used = new Set<string>();
  const unresolved: SetterUse[] = [];
  const references: SetterUse[] = [];
  visit(doc, {
    Pair(_, pair, ancestors) {
      const value = pair.value as Node | null;
      if (!value) return;
      const key = pair.key;
      const keyComment = isScalar(key) ? key.comment : undefined;
      if (isSeq(value)) {
        const pattern = setterPattern(value.commentBefore) ?? setterPattern(value.comment) ?? setterPattern(keyComment);
        if (pattern === undefined) return;
        const path = fieldPath(ancestors, pair);
        const names = setterNames(pattern);
        for (const setter of names) references.push({ setter, path });
        // A list setter stands alone: the pattern is exactly one reference.
        if (names.length !== 1 || pattern !== `\${${names[0]}}`) return;
        const setter = names[0] as string;
        // Own properties only: a setter named like an Object method ("toString") has no value by inheritance.
        const text = Object.hasOwn(values, setter) ? values[setter] : undefined;
        if (text === undefined) return void unresolved.push({ setter, path });
        const items = listValue(setter, path, text);
        const seq = value as YAMLSeq;
        seq.items = items.map((v) => new Scalar(v));
        used.add(setter);
        return;
      }
      if (!isScalar(value)) return;
      const pattern = setterPattern(value.comment) ?? setterPattern(keyComment);
      if (pattern === undefined) return;
      const path = fieldPath(ancestors, pair);
      const names = setterNames(pattern);
      if (names.length === 0) return;
      for (const setter of names) references.push({ setter, path });
      const missing = names.filter((n) => !Object.hasOwn(values, n) || values[n] === undefined);
      if (missing.length > 0) {
        for (const setter of missing) unresolved.push({ setter, path });
        return;
      }
      const text = pattern.replace(REF, (_, name: string) => values[name] as string);
      for (const n of names) used.add(n);
      const next = typedValue(value.value, text);
      if (next !== value.value) {
        value.value = next;
        // A quoted style that cannot hold the new text (a newline in a plain scalar, say) is left to the
        // stringifier, which picks a style that keeps the value one string.
        if (typeof next === "string" && value.type === Scalar.PLAIN && typeof value.source === "string")
          delete value.source;
      }
    },
  });
  return { used, unresolved, references };
}

/** Whether a parsed document holds an object (a mapping with kind). */
export function isObjectDocument(doc: Document): boolean {
  return isMap(doc.contents);
}
