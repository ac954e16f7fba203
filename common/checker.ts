/**
 * The walker behind every document validation (intents, agent config): typed reads of a plain JSON value
 * that record a {@link FieldIssue} with the field path instead of throwing, so one pass reports every problem.
 */
import { DurationError, parseDuration } from "./duration.js";
import type { FieldIssue } from "./field-issue.js";

/** A JSON object. */
export type Json = Record<string, unknown>;

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Appends keys to a field path: `a.b[0]`, or `a["odd key"]` for keys that are not identifiers. */
export function joinPath(path: string, ...keys: (string | number)[]): string {
  let out = path;
  for (const key of keys) {
    if (typeof key === "number") out = `${out}[${key}]`;
    else if (IDENT.test(key)) out = out ? `${out}.${key}` : key;
    else out = `${out}[${JSON.stringify(key)}]`;
  }
  return out;
}

/** How a value's type reads in a message: "a string", "a list", "null". */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a number";
  return `a ${typeof v}`;
}

/** Collects issues, each with its field path, while walking a document; never throws on bad input. */
export class Checker {
  readonly issues: FieldIssue[] = [];

  add(path: string, message: string): void {
    if (this.issues.length < 200) this.issues.push({ path, message });
  }

  /** An object with only the given keys; unknown keys are reported. */
  object(v: unknown, path: string, keys: readonly string[]): Json | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      this.add(path, `must be an object, not ${typeName(v)}`);
      return undefined;
    }
    const o = v as Json;
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) this.add(joinPath(path, k), `unknown field (allowed: ${keys.join(", ")})`);
    }
    return o;
  }

  list(v: unknown, path: string, max: number): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.add(path, `must be a list, not ${typeName(v)}`);
      return [];
    }
    if (v.length > max) {
      this.add(path, `has ${v.length} entries; at most ${max} are allowed`);
      return v.slice(0, max);
    }
    return v;
  }

  /** A string (or absent → undefined). `check` returns a problem or undefined. */
  string(
    v: unknown,
    path: string,
    opts: { required?: boolean; max?: number; check?: (s: string) => string | undefined } = {},
  ): string | undefined {
    if (v === undefined || v === null || v === "") {
      if (opts.required) this.add(path, "is required");
      return undefined;
    }
    if (typeof v !== "string") {
      this.add(path, `must be a string, not ${typeName(v)}`);
      return undefined;
    }
    const max = opts.max ?? 253;
    if (v.length > max) {
      this.add(path, `must be at most ${max} characters (has ${v.length})`);
      return undefined;
    }
    const problem = opts.check?.(v);
    if (problem) {
      this.add(path, `${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)} ${problem}`);
      return undefined;
    }
    return v;
  }

  integer(v: unknown, path: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.add(path, `must be an integer, not ${typeName(v)}${typeof v === "string" ? ` ${JSON.stringify(v)}` : ""}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.add(path, `must be between ${min} and ${max} (is ${v})`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], required = false): T | undefined {
    const s = this.string(v, path, { required, max: 64 });
    if (s === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(s)) {
      this.add(path, `${JSON.stringify(s)} is not one of ${allowed.join(", ")}`);
      return undefined;
    }
    return s as T;
  }

  duration(v: unknown, path: string, maxMs: number): { text: string; ms: number } | undefined {
    const s = this.string(v, path, { max: 32 });
    if (s === undefined) return undefined;
    try {
      const ms = parseDuration(s);
      if (ms <= 0) {
        this.add(path, `${JSON.stringify(s)} must be positive`);
        return undefined;
      }
      if (ms > maxMs) {
        this.add(path, `${JSON.stringify(s)} is longer than the limit of ${maxMs / 1000}s`);
        return undefined;
      }
      return { text: s, ms };
    } catch (err) {
      if (err instanceof DurationError) {
        this.add(path, err.message);
        return undefined;
      }
      throw err;
    }
  }
}

/** Depth of nested objects and arrays; stops counting past `limit`. */
export function nestingDepth(v: unknown, limit: number, depth = 0): number {
  if (v === null || typeof v !== "object" || depth > limit) return depth;
  let max = depth + 1;
  for (const child of Object.values(v)) {
    max = Math.max(max, nestingDepth(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}
