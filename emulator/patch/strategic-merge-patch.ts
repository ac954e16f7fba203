/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, as the API
 * server applies it (k8s.io/apimachinery/pkg/util/strategicpatch, `StrategicMergeMapPatch`): maps merge
 * recursively, lists merge by the strategy of `listStrategy` (by key, as a set of primitives, or replaced whole),
 * and the directives `$patch`, `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`
 * are carried out and never kept in the result. This is what client-side `kubectl apply` sends for an object
 * that exists.
 */
import { listStrategy } from "../schema/list-keys.js";
import { cloneJson, isJsonObject as isMap, setOwn, type JsonObject } from "./json.js";

type JsonMap = JsonObject;

/** A strategic merge patch the API server would refuse (answered as 400 Bad Request by the real one). */
export class PatchError extends Error {
  override readonly name = "PatchError";
}

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder";
const DELETE_FROM_LIST = "$deleteFromPrimitiveList";

/** What merging a map whose patch says `$patch: delete` gives: the map goes away. */
const DELETED: unique symbol = Symbol("deleted");

interface Context {
  readonly kind: string;
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== "object" && typeof value !== "undefined");
}

function where(path: readonly string[]): string {
  return path.length === 0 ? "the object root" : path.join(".");
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * The list field a `$setElementOrder/<field>` or `$deleteFromPrimitiveList/<field>` key names, or undefined when
 * `key` does not start with `prefix`. A key that starts with the prefix but is not `prefix/...` is malformed.
 */
function directiveField(key: string, prefix: string, path: readonly string[]): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const slash = key.indexOf("/");
  if (slash !== prefix.length)
    throw new PatchError(`invalid patch at ${where(path)}: "${key}" is not of the form "${prefix}/<field>"`);
  return key.slice(slash + 1);
}

/** Whether a patch key is a directive rather than a field. */
function isDirectiveKey(key: string): boolean {
  return key === PATCH || key === RETAIN_KEYS || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM_LIST);
}

/**
 * Applies the patch of one map. `original` is owned by the caller (already a copy) and may be changed in place;
 * undefined means the map is new. Returns DELETED for `$patch: delete`.
 */
function patchMap(
  original: JsonMap | undefined,
  patch: JsonMap,
  ctx: Context,
  path: readonly string[],
): JsonMap | typeof DELETED {
  if (Object.hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    if (directive === "delete") return DELETED;
    if (directive === "replace") {
      const rest: JsonMap = {};
      for (const key of Object.keys(patch)) if (key !== PATCH) setOwn(rest, key, patch[key]);
      return mergeFields({}, rest, ctx, path);
    }
    throw new PatchError(
      `invalid patch at ${where(path)}: unknown $patch value ${show(directive)} in map ${show(patch)} (expected "replace" or "delete")`,
    );
  }
  return mergeFields(original ?? {}, patch, ctx, path);
}

/** Merges the fields of `patch` (which has no `$patch` key) into `out`, in place, and returns `out`. */
function mergeFields(out: JsonMap, patch: JsonMap, ctx: Context, path: readonly string[]): JsonMap {
  if (Object.hasOwn(patch, RETAIN_KEYS)) applyRetainKeys(out, patch, path);

  // $setElementOrder first: it merges its list together with the list's patch and orders the result.
  const done = new Set<string>();
  for (const key of Object.keys(patch)) {
    const field = directiveField(key, SET_ORDER, path);
    if (field !== undefined && applySetElementOrder(out, patch, field, patch[key], ctx, [...path, field]))
      done.add(field);
  }

  const deletions: [string, unknown][] = [];
  for (const key of Object.keys(patch)) {
    const field = directiveField(key, DELETE_FROM_LIST, path);
    if (field !== undefined) deletions.push([field, patch[key]]);
    else if (!isDirectiveKey(key) && !done.has(key)) mergeField(out, key, patch[key], ctx, [...path, key]);
  }
  // Deletions from primitive lists come last, after anything the same patch added.
  for (const [field, values] of deletions) deleteFromPrimitiveList(out, field, values, [...path, field]);
  return out;
}

/** Merges one field's patch value into `out[key]`. */
function mergeField(out: JsonMap, key: string, value: unknown, ctx: Context, path: readonly string[]): void {
  if (value === null) {
    delete out[key];
    return;
  }
  const current = Object.hasOwn(out, key) ? out[key] : undefined;
  let result: unknown;
  if (isMap(current) && isMap(value)) result = patchMap(current, value, ctx, path);
  else if (Array.isArray(current) && Array.isArray(value)) result = mergeList(current, value, ctx, path);
  else result = freshValue(value, ctx, path);
  if (result === DELETED) delete out[key];
  else setOwn(out, key, result);
}

/** A patch value where the original has none (or one of another type): the patch applied to nothing. */
function freshValue(value: unknown, ctx: Context, path: readonly string[]): unknown {
  if (isMap(value)) return patchMap(undefined, value, ctx, path);
  if (Array.isArray(value)) return mergeList([], value, ctx, path);
  return value;
}

/** `$retainKeys`: every field the patch sets must be listed; fields of the original not listed are dropped. */
function applyRetainKeys(out: JsonMap, patch: JsonMap, path: readonly string[]): void {
  const keys: unknown = patch[RETAIN_KEYS];
  if (!Array.isArray(keys))
    throw new PatchError(`invalid patch at ${where(path)}: $retainKeys must be a list, got ${show(keys)}`);
  const retained = new Set<unknown>(keys as readonly unknown[]);
  for (const key of Object.keys(patch)) {
    if (isDirectiveKey(key) || patch[key] === null) continue;
    if (!retained.has(key))
      throw new PatchError(
        `invalid patch at ${where(path)}: field "${key}" is patched but not listed in $retainKeys ${show(keys)}`,
      );
  }
  for (const key of Object.keys(out)) if (!retained.has(key)) delete out[key];
}

/** The key a list of maps merges by: the first of its keys, the `patchMergeKey` of the real types. */
function mergeKeyOf(kind: string, path: readonly string[]): string | undefined {
  const strategy = listStrategy(kind, path);
  if (strategy.type === "atomic") return undefined;
  if (strategy.type === "set") return "";
  const key = strategy.keys[0];
  if (key === undefined) throw new PatchError(`list ${where(path)} has no merge key`);
  return key;
}

/** Merges a list by its strategy. Returns a new array; items of `original` (owned) may be changed in place. */
function mergeList(
  original: readonly unknown[],
  patch: readonly unknown[],
  ctx: Context,
  path: readonly string[],
): unknown[] {
  const key = mergeKeyOf(ctx.kind, path);
  if (key === undefined) return cleanAtomicList(patch);
  if (key === "") return mergeSet(original, patch, path);
  return mergeMapList(original, patch, key, ctx, path);
}

/** An atomic list is the patch's list; list directives in it are dropped and directive keys stripped. */
function cleanAtomicList(list: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of list) {
    if (isMap(item) && Object.hasOwn(item, PATCH)) continue;
    out.push(cleanValue(item));
  }
  return out;
}

function cleanValue(value: unknown): unknown {
  if (Array.isArray(value)) return cleanAtomicList(value);
  if (!isMap(value)) return value;
  const out: JsonMap = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (isDirectiveKey(key) || (isMap(item) && Object.hasOwn(item, PATCH))) continue;
    setOwn(out, key, cleanValue(item));
  }
  return out;
}

function assertPrimitives(list: readonly unknown[], path: readonly string[], what: string): void {
  for (const item of list) {
    if (!isPrimitive(item))
      throw new PatchError(
        `invalid patch at ${where(path)}: ${what} must hold primitives (the list merges as a set), found ${show(item)}`,
      );
  }
}

function assertMaps(
  list: readonly unknown[],
  key: string,
  path: readonly string[],
  what: string,
): asserts list is readonly JsonMap[] {
  for (const item of list) {
    if (!isMap(item))
      throw new PatchError(
        `invalid patch at ${where(path)}: ${what} must hold objects (the list merges by "${key}"), found ${show(item)}`,
      );
  }
}

function missingKey(item: JsonMap, key: string, path: readonly string[]): PatchError {
  return new PatchError(
    `invalid patch at ${where(path)}: map ${show(item)} does not contain declared merge key "${key}"`,
  );
}

/** A list of primitives merged as a set: the union, without duplicates. */
function mergeSet(original: readonly unknown[], patch: readonly unknown[], path: readonly string[]): unknown[] {
  assertPrimitives(original, path, "the list");
  assertPrimitives(patch, path, "the patch list");
  const merged = [...new Set<unknown>([...original, ...patch])];
  const inPatch = new Set<unknown>(patch);
  return normalizeElementOrder(
    merged.filter((v) => inPatch.has(v)),
    merged.filter((v) => !inPatch.has(v)),
    patch,
    original,
    "",
  );
}

/** A list of maps merged by `key`, with `$patch: delete` / `$patch: replace` items. */
function mergeMapList(
  original: readonly unknown[],
  patch: readonly unknown[],
  key: string,
  ctx: Context,
  path: readonly string[],
): unknown[] {
  assertMaps(original, key, path, "the list");
  assertMaps(patch, key, path, "the patch list");
  let base: JsonMap[] = [...original];
  const items: JsonMap[] = [];
  let replace = false;
  for (const item of patch) {
    if (!Object.hasOwn(item, PATCH)) {
      items.push(item);
      continue;
    }
    const directive = item[PATCH];
    if (directive === "delete") {
      if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
      const value = item[key];
      base = base.filter((o) => !(Object.hasOwn(o, key) && o[key] === value));
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      throw new PatchError(`invalid patch at ${where(path)}: "$patch: merge" cannot be specified in a list`);
    } else {
      throw new PatchError(
        `invalid patch at ${where(path)}: unknown $patch value ${show(directive)} in list item ${show(item)} (expected "replace" or "delete")`,
      );
    }
  }
  if (replace) {
    // The list becomes the patch's other items, each as a new map, in the patch's order.
    return items.map((item) => {
      if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
      return mergeFields({}, item, ctx, path);
    });
  }
  const serverOrder = [...base];
  const merged = [...base];
  for (const item of items) {
    if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
    const value = item[key];
    const at = merged.findIndex((o) => Object.hasOwn(o, key) && o[key] === value);
    if (at >= 0) merged[at] = mergeFields(merged[at] as JsonMap, item, ctx, path);
    else merged.push(mergeFields({}, item, ctx, path));
  }
  for (const item of merged) if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
  const inPatch = (m: JsonMap): boolean => items.some((p) => p[key] === m[key]);
  return normalizeElementOrder(
    merged.filter(inPatch),
    merged.filter((m) => !inPatch(m)),
    items,
    serverOrder,
    key,
  );
}

/** The identity of a list item for ordering: its merge key's value, or the item itself for primitives. */
function identity(item: unknown, key: string): unknown {
  if (key === "") return item;
  return isMap(item) ? item[key] : undefined;
}

function indexIn(list: readonly unknown[], item: unknown, key: string): number {
  const id = identity(item, key);
  return list.findIndex((v) => identity(v, key) === id);
}

/** Stable sort of `items` by their position in `order` (items not in it go last, keeping their order). */
function sortByOrder(items: readonly unknown[], order: readonly unknown[], key: string): unknown[] {
  return items
    .map((item, i) => ({ item, i, at: indexIn(order, item, key) }))
    .sort((a, b) => (a.at < 0 ? Infinity : a.at) - (b.at < 0 ? Infinity : b.at) || a.i - b.i)
    .map((e) => e.item);
}

/**
 * apimachinery's `normalizeElementOrder`: items named by the patch (or `$setElementOrder`) in `patchOrder`'s
 * order, server-only items in `serverOrder`'s order, then the two interleaved: a server-only item goes before a
 * patch item when both are in `serverOrder` and it came first there; otherwise the patch item goes first.
 */
function normalizeElementOrder(
  patchItems: readonly unknown[],
  serverOnly: readonly unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  key: string,
): unknown[] {
  const right = sortByOrder(patchItems, patchOrder, key);
  const left = sortByOrder(serverOnly, serverOrder, key);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const li = indexIn(serverOrder, left[i], key);
    const ri = indexIn(serverOrder, right[j], key);
    if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
    else out.push(right[j++]);
  }
  return [...out, ...left.slice(i), ...right.slice(j)];
}

/**
 * `$setElementOrder/<field>`: merges the field's list with its patch (if any) and orders the result by the
 * directive. Returns whether the field is done (false for atomic lists, whose patch value then simply replaces).
 */
function applySetElementOrder(
  out: JsonMap,
  patch: JsonMap,
  field: string,
  order: unknown,
  ctx: Context,
  path: readonly string[],
): boolean {
  if (!Array.isArray(order))
    throw new PatchError(
      `invalid patch at ${where(path.slice(0, -1))}: $setElementOrder/${field} must be a list, got ${show(order)}`,
    );
  const orderList: readonly unknown[] = order;
  const key = mergeKeyOf(ctx.kind, path);
  if (key === undefined) return false;
  if (key === "") assertPrimitives(orderList, path, `$setElementOrder/${field}`);
  else {
    assertMaps(orderList, key, path, `$setElementOrder/${field}`);
    for (const item of orderList) if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
  }

  const hasPatch = Object.hasOwn(patch, field);
  const patchList = patch[field];
  if (hasPatch && !Array.isArray(patchList))
    throw new PatchError(
      `invalid patch at ${where(path)}: expected a list next to $setElementOrder/${field}, got ${show(patchList)}`,
    );
  const hasOriginal = Object.hasOwn(out, field);
  const originalList = out[field];
  if (hasOriginal && !Array.isArray(originalList))
    throw new PatchError(
      `invalid patch at ${where(path)}: $setElementOrder/${field} given but the object's ${field} is not a list`,
    );
  const live: readonly unknown[] = Array.isArray(originalList) ? [...originalList] : [];
  const patched: readonly unknown[] = Array.isArray(patchList) ? patchList : [];
  validatePatchWithOrder(patched, orderList, key, path);

  if (!hasOriginal && !hasPatch) return true;
  const merged = hasPatch ? mergeList(live, patched, ctx, path) : [...live];
  if (key === "") assertPrimitives(merged, path, "the list");
  else {
    assertMaps(merged, key, path, "the list");
    for (const item of merged) if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
  }
  const named = (item: unknown): boolean => indexIn(orderList, item, key) >= 0;
  setOwn(
    out,
    field,
    normalizeElementOrder(
      merged.filter(named),
      merged.filter((v) => !named(v)),
      orderList,
      live,
      key,
    ),
  );
  return true;
}

/** The patch list's items (deletions and directives aside) must appear in `$setElementOrder` in the same order. */
function validatePatchWithOrder(
  patchList: readonly unknown[],
  order: readonly unknown[],
  key: string,
  path: readonly string[],
): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = patchList.filter((item) => !(isMap(item) && Object.hasOwn(item, PATCH)));
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p];
    if (key !== "") {
      if (!isMap(item))
        throw new PatchError(`invalid patch at ${where(path)}: the patch list must hold objects, found ${show(item)}`);
      if (!Object.hasOwn(item, key)) throw missingKey(item, key, path);
    }
    if (identity(item, key) === identity(order[s], key)) p++;
    s++;
  }
  if (p < items.length) {
    throw new PatchError(
      `invalid patch at ${where(path)}: the order in patch list ${show(patchList)} doesn't match $setElementOrder list ${show(order)}`,
    );
  }
}

/** `$deleteFromPrimitiveList/<field>`: removes the values from the field's list of primitives. */
function deleteFromPrimitiveList(out: JsonMap, field: string, values: unknown, path: readonly string[]): void {
  if (!Array.isArray(values))
    throw new PatchError(
      `invalid patch at ${where(path.slice(0, -1))}: $deleteFromPrimitiveList/${field} must be a list, got ${show(values)}`,
    );
  const remove: readonly unknown[] = values;
  assertPrimitives(remove, path, `$deleteFromPrimitiveList/${field}`);
  const current: unknown = out[field];
  if (!Array.isArray(current)) return;
  const list: readonly unknown[] = current;
  assertPrimitives(list, path, "the list");
  const removed = new Set<unknown>(remove);
  setOwn(
    out,
    field,
    list.filter((v) => !removed.has(v)),
  );
}

/**
 * Applies a strategic merge patch to `original`, an object of the built-in `kind` (e.g. "Deployment"), as the
 * API server does:
 * - maps merge recursively and `null` deletes a key;
 * - lists merge by `listStrategy(kind, path)`: lists of maps by their merge key (the first key listed, the
 *   `patchMergeKey` of the real types: matching items merge, new ones are added), sets of primitives as a union,
 *   anything else replaced whole;
 * - in a list of maps, an item `{"$patch": "delete", <key>: v}` deletes the items with that key and an item
 *   `{"$patch": "replace"}` makes the list the patch's other items;
 * - `$setElementOrder/<list>` orders the merged list; `$deleteFromPrimitiveList/<list>` removes values from a set;
 * - in a map, `$patch: replace` replaces the map, `$patch: delete` deletes it, `$retainKeys` drops the fields it
 *   does not list;
 * - without `$setElementOrder`, items named by the patch take the patch's order and the others keep theirs,
 *   interleaved as apimachinery does (so an item new to the list comes before the original's items).
 *
 * Directives never appear in the result. Neither input is changed and the result shares nothing with them.
 * Throws PatchError for a malformed patch.
 */
export function strategicMergePatch(
  original: Record<string, unknown>,
  patch: Record<string, unknown>,
  kind: string,
): Record<string, unknown> {
  if (!isMap(original)) throw new PatchError(`the object to patch must be a JSON object, got ${show(original)}`);
  if (!isMap(patch)) throw new PatchError(`a strategic merge patch must be a JSON object, got ${show(patch)}`);
  const result = patchMap(cloneJson(original) as JsonMap, patch, { kind }, []);
  return result === DELETED ? {} : result;
}
