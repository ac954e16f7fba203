/**
 * A small, deterministic YAML emitter for plain data CAMINO builds itself (Kptfiles, IESDs): block mappings
 * and sequences, keys in insertion order, strings written plain only when YAML would read them back as the
 * same string, and otherwise as JSON strings (which are valid double-quoted YAML). Blueprint files never go
 * through here; they keep their own formatting through the `yaml` library.
 */

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

// Plain scalars that YAML 1.2 (core schema) would read as something other than a string.
const RESERVED =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?)$/;
const SAFE = /^[A-Za-z0-9_/.][A-Za-z0-9_/. :@,=+-]*$/;

/** A string as YAML: plain when it reads back as itself, else a JSON (double-quoted) string. */
function text(v: string): string {
  const plain =
    v !== "" &&
    SAFE.test(v) &&
    !RESERVED.test(v) &&
    !v.endsWith(" ") &&
    !v.endsWith(":") &&
    !v.includes(": ") &&
    !v.includes(" #");
  return plain ? v : JSON.stringify(v);
}

function scalar(v: string | number | boolean | null): string {
  if (v === null) return "null";
  return typeof v === "string" ? text(v) : String(v);
}

const key = text;

function emit(v: Plain, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item !== null && typeof item === "object" && Object.keys(item).length > 0) {
        // A non-empty mapping or list: its first line goes on the dash's line.
        const lines: string[] = [];
        emit(item, `${indent}  `, lines);
        out.push(`${indent}- ${(lines[0] as string).trimStart()}`, ...lines.slice(1));
      } else if (Array.isArray(item) || (item !== null && typeof item === "object")) {
        out.push(`${indent}- ${Array.isArray(item) ? "[]" : "{}"}`);
      } else out.push(`${indent}- ${scalar(item)}`);
    }
    return;
  }
  for (const [k, item] of Object.entries(v as Record<string, Plain>)) {
    if (Array.isArray(item)) {
      if (item.length === 0) out.push(`${indent}${key(k)}: []`);
      else {
        out.push(`${indent}${key(k)}:`);
        emit(item, `${indent}  `, out);
      }
    } else if (item !== null && typeof item === "object") {
      if (Object.keys(item).length === 0) out.push(`${indent}${key(k)}: {}`);
      else {
        out.push(`${indent}${key(k)}:`);
        emit(item, `${indent}  `, out);
      }
    } else out.push(`${indent}${key(k)}: ${scalar(item)}`);
  }
}

/** Block YAML for a plain object (no undefined values, no cycles). */
export function plainYaml(value: Record<string, unknown>): string {
  const out: string[] = [];
  emit(JSON.parse(JSON.stringify(value)) as Plain, "", out);
  return `${out.join("\n")}\n`;
}
