/**
 * JSON merge patch (RFC 7386), as the API server applies `application/merge-patch+json` (the content type
 * kubectl uses for custom resources): objects merge key by key, `null` removes a key, anything else (arrays
 * included) replaces the target whole.
 */

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets an own property, also for the key `__proto__` (which plain assignment would treat as the prototype). */
function setOwn(target: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(out, key, cloneJson(value[key]));
    return out;
  }
  return value;
}

/**
 * Applies `patch` to `target` by RFC 7386 and returns the result. When `patch` is an object, the result is an
 * object (a non-object target counts as `{}`): keys whose patch value is `null` are removed, the others are
 * merge-patched recursively (so `null`s nested in new values are dropped too). Any other patch (array, string,
 * number, boolean, `null`) is the result as it is. Neither input is changed; the result shares nothing with them.
 * Keys keep the target's order, with new keys after in the patch's order.
 */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const source: JsonObject = isJsonObject(target) ? target : {};
  const out: JsonObject = {};
  for (const key of Object.keys(source)) {
    if (!Object.hasOwn(patch, key)) {
      setOwn(out, key, cloneJson(source[key]));
      continue;
    }
    const value = patch[key];
    if (value !== null) setOwn(out, key, jsonMergePatch(source[key], value));
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (Object.hasOwn(source, key) || value === null) continue;
    setOwn(out, key, jsonMergePatch(undefined, value));
  }
  return out;
}
