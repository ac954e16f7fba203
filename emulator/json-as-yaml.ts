/**
 * A YAML body that is JSON, read by `JSON.parse`. Clients (the agent through @kubernetes/client-node, kubectl)
 * send server-side apply patches as JSON under `application/apply-patch+yaml`; the `yaml` package reads those
 * some thirty times slower. JSON is YAML 1.2, and `JSON.parse` gives the same value for it but in one case: a
 * mapping with a key twice, which `yaml` refuses and `JSON.parse` keeps the last of. So a text is taken only when
 * it has as many `:` outside strings as the parsed value has keys (each key of a JSON object has exactly one).
 */

/** The value of `text` when it is JSON without a repeated key; otherwise undefined (read it as YAML). */
export function parseJsonAsYaml(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== "{" && first !== "[") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return colonsOutsideStrings(text) === keyCount(value) ? value : undefined;
}

/** The `:` of a JSON text that separate keys from values (those outside strings). */
function colonsOutsideStrings(text: string): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 58 /* : */) count++;
  }
  return count;
}

/** Keys of every object in a parsed JSON value. */
function keyCount(value: unknown): number {
  if (!value || typeof value !== "object") return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const v of value) count += keyCount(v);
    return count;
  }
  for (const k in value) count += 1 + keyCount((value as Record<string, unknown>)[k]);
  return count;
}
