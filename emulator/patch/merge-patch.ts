/**
 * JSON merge patch (RFC 7386), as the API server applies `application/merge-patch+json` (the content type
 * kubectl uses for custom resources): objects merge key by key, `null` removes a key, anything else (arrays
 * included) replaces the target whole.
 */

import { cloneJson, isJsonObject, setOwn, type JsonObject } from "./json.js";

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
