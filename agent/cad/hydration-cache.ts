/**
 * Hydrated packages remembered by what determines them: the blueprint (repository, folder, commit) and the
 * IESD. Hydration is deterministic, so an entry is exactly what hydrating again would give — re-planning an
 * intent, or submitting one just planned, does not hydrate twice. Bounded; the oldest entry goes first.
 *
 * Intents of one shape hydrate once per shape. Two IESDs that differ only in the intent's name and the chain's
 * namespace (the same blueprint, package, edge, setters, with names of the same length) give packages that differ
 * only where those names are written: hydration copies them and never looks into them. So a package is hydrated
 * once with stand-in names of the same length (its template), and each later intent of that shape gets the
 * template with its own names written in — a text substitution instead of a YAML parse, setter pass, schema check
 * and serialisation. It is taken only where it gives byte for byte what hydration would: names that YAML writes
 * plain and that a DNS label allows (starting with a letter, at least 4 characters), stand-ins found nowhere in
 * the blueprint or the IESD, and the same length (so every length check and truncation ends the same way).
 */
import { createHash } from "node:crypto";
import type { Blueprint } from "./blueprint.js";
import { hydratePackage, type HydratedPackage } from "./hydrate.js";
import type { Iesd } from "./iesd.js";

/** Names hydration writes plain in YAML and treats as opaque (DNS labels starting with a letter, not a YAML word). */
const PLAIN_NAME = /^[a-z][a-z0-9-]{2,}[a-z0-9]$/;
const YAML_WORDS = new Set(["true", "false", "null", "yes", "no", "on", "off"]);

/** A stand-in of `length` characters, the `i`th of an IESD's names: a DNS label like them. */
const standIn = (length: number, i: number) => `q${i}${"x".repeat(length - 3)}q`;

/** Replaces each whole occurrence of `name` (not inside a longer DNS-label-like token) with `by`. */
function replaceToken(text: string, name: string, by: string): string {
  const escaped = name.replace(/[-]/g, "\\-");
  return text.replace(new RegExp(`(?<![a-z0-9-])${escaped}(?![a-z0-9-])`, "g"), by);
}

export class HydrationCache {
  readonly #entries = new Map<string, HydratedPackage>();
  /** Per shape (blueprint and IESD with stand-in names), the package hydrated with the stand-ins. */
  readonly #templates = new Map<string, HydratedPackage>();
  /** Per blueprint (repository, folder, commit), the text of its files and defaults: where a stand-in must not be. */
  readonly #blueprintText = new Map<string, string>();
  readonly #size: number;
  hits = 0;
  misses = 0;
  /** Misses served from a template of the same shape. */
  templated = 0;

  /** @param size entries kept (default 256: more than the intents in flight at 50 a second) */
  constructor(size = 256) {
    this.#size = size;
  }

  /** Hydrates, or returns the identical earlier result. */
  hydrate(blueprint: Blueprint, iesd: Iesd): HydratedPackage {
    const source = `${iesd.blueprint.repository}\0${blueprint.path}\0${iesd.blueprint.commit}`;
    const json = JSON.stringify(iesd);
    const key = sha(`${source}\0${json}`);
    const hit = this.#entries.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const result = this.#fromTemplate(blueprint, iesd, source, json) ?? hydratePackage(blueprint, iesd);
    remember(this.#entries, key, result, this.#size);
    return result;
  }

  /**
   * The package from the template of the IESD's shape (hydrated first when there is none), or undefined where a
   * template could differ from hydration: the names or the stand-ins fail the conditions of the file's comment.
   * A hydration that fails on the stand-ins is left to hydrate with the real names, which reports the issues.
   */
  #fromTemplate(blueprint: Blueprint, iesd: Iesd, source: string, json: string): HydratedPackage | undefined {
    const names = [...new Set([iesd.intent, iesd.namespace])];
    if (!names.every((n) => PLAIN_NAME.test(n) && !YAML_WORDS.has(n))) return undefined;
    // Longer names first, so that a name inside another is not replaced before the longer one.
    const pairs = names
      .sort((a, b) => b.length - a.length)
      .map((n, i) => [n, standIn(n.length, i)] as [string, string]);
    const text = this.#textOf(blueprint, source);
    if (pairs.some(([, s]) => json.includes(s) || text.includes(s))) return undefined;
    let shaped = json;
    for (const [n, s] of pairs) shaped = replaceToken(shaped, n, s);
    const shape = sha(`${source}\0${shaped}`);
    let template = this.#templates.get(shape);
    if (!template) {
      try {
        template = hydratePackage(blueprint, JSON.parse(shaped) as Iesd);
      } catch {
        return undefined;
      }
      remember(this.#templates, shape, template, Math.max(16, this.#size >> 2));
    }
    this.templated++;
    // The same shape puts the same stand-ins in the same places: each is written back as this IESD's name.
    const fill = (s: string) => pairs.reduce((out, [n, stand]) => out.replaceAll(stand, n), s);
    return {
      iesd,
      packageVariant: JSON.parse(fill(JSON.stringify(template.packageVariant))) as Record<string, unknown>,
      files: new Map([...template.files].map(([path, body]) => [fill(path), fill(body)])),
      objects: JSON.parse(fill(JSON.stringify(template.objects))) as Record<string, unknown>[],
    };
  }

  /** The text of a blueprint's files and defaults, once per blueprint commit. */
  #textOf(blueprint: Blueprint, source: string): string {
    let text = this.#blueprintText.get(source);
    if (text === undefined) {
      text = [...blueprint.files.values(), JSON.stringify(blueprint.defaults)].join("\0");
      remember(this.#blueprintText, source, text, 64);
    }
    return text;
  }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Sets an entry, dropping the oldest past `size`. */
function remember<V>(m: Map<string, V>, key: string, value: V, size: number): void {
  if (m.size >= size) m.delete(m.keys().next().value as string);
  m.set(key, value);
}
