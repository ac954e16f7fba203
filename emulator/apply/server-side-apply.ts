/**
 * Server-side apply and field ownership (`metadata.managedFields`), as the Kubernetes API server does it
 * (structured-merge-diff): an apply merges the applied configuration into the live object, makes its manager
 * own exactly the applied fields, reports conflicts with fields other managers own and the apply changes,
 * and removes fields the manager applied before but no longer does when nobody else owns them. A non-apply
 * write (`recordUpdate`) makes its manager own what it changed, taking it from everyone else.
 */
import { listStrategy } from "../schema/list-keys.js";
import {
  EMPTY_FIELD_SET,
  differenceFieldSets,
  fieldElement,
  fieldNamesOf,
  fieldSetFromFieldsV1,
  fieldSetFromPaths,
  fieldSetOf,
  fieldSetPaths,
  fieldSetToFieldsV1,
  formatFieldPath,
  intersectFieldSets,
  isEmptyFieldSet,
  isPlainObject,
  keyElement,
  recursiveDifferenceFieldSets,
  unionFieldSets,
  valueElement,
} from "./field-set.js";
import type { FieldPath, FieldSchema, FieldSet } from "./field-set.js";

/** Options of an apply: who applies, whether conflicts are overridden, the time to record, the schema. */
export interface ApplyOptions {
  /** The field manager (`?fieldManager=`). */
  manager: string;
  /** `?force=true`: take conflicting fields from their owners instead of failing. */
  force: boolean;
  /** The time recorded in the manager's entry (RFC 3339). */
  now: string;
  /** The object's kind, for list strategies. */
  kind: string;
  /** Whether the kind is built in (custom resources only have atomic lists). */
  builtin: boolean;
}

/** Options of a non-apply write (create, update, patch) recorded for `manager`. */
export interface UpdateOptions {
  manager: string;
  now: string;
  kind: string;
  builtin: boolean;
  operation: "Update";
}

/** A field another manager owns that the apply would change, with the path in readable form. */
export interface ApplyConflict {
  manager: string;
  /** E.g. `.spec.replicas` or `.spec.template.spec.containers[name="web"].image`. */
  field: string;
}

/** The outcome of an apply: the object to persist, or (when `conflicts` is not empty) the live object unchanged. */
export interface ApplyResult {
  object: Record<string, unknown>;
  conflicts: ApplyConflict[];
}

/** Metadata the server sets: never part of an applied configuration's values nor of any field set. */
const SERVER_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "deletionTimestamp",
  "selfLink",
] as const;

/** Paths no manager owns: the server's metadata and the object's identity. */
const IGNORED: FieldSet = fieldSetFromPaths([
  ["f:apiVersion"],
  ["f:kind"],
  ["f:metadata", "f:name"],
  ["f:metadata", "f:namespace"],
  ...SERVER_METADATA.map((name) => ["f:metadata", fieldElement(name)]),
]);

/** Top-level maps every built-in object has even when empty: an Update creating them does not own them as such. */
const ALWAYS_PRESENT = ["metadata", "spec", "status"] as const;

/** One managedFields entry, with its fields decoded. */
interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string | undefined;
  subresource: string | undefined;
  set: FieldSet;
}

// ---------------------------------------------------------------------------------------------------------
// Small JSON helpers

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Set an own property, safe for a key named `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function hasOwn(target: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(target, key);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> | undefined {
  const metadata = object["metadata"];
  return isPlainObject(metadata) ? metadata : undefined;
}

/** A copy of the object without `metadata.managedFields`. */
function bodyOf(object: Record<string, unknown>): Record<string, unknown> {
  const copy = clone(object);
  const metadata = metadataOf(copy);
  if (metadata !== undefined) delete metadata["managedFields"];
  return copy;
}

/** A copy of an applied configuration without the metadata the server sets. */
function configurationOf(applied: Record<string, unknown>): Record<string, unknown> {
  const copy = clone(applied);
  const metadata = metadataOf(copy);
  if (metadata !== undefined) for (const name of SERVER_METADATA) delete metadata[name];
  return copy;
}

// ---------------------------------------------------------------------------------------------------------
// managedFields

function readEntries(object: Record<string, unknown> | undefined): ManagerEntry[] {
  const raw = object === undefined ? undefined : metadataOf(object)?.["managedFields"];
  if (!Array.isArray(raw)) return [];
  const entries: ManagerEntry[] = [];
  for (const item of raw) {
    if (!isPlainObject(item)) continue;
    const { manager, operation, apiVersion, time, subresource, fieldsType, fieldsV1 } = item;
    if (typeof manager !== "string" || (operation !== "Apply" && operation !== "Update")) continue;
    if (fieldsType !== undefined && fieldsType !== "FieldsV1") continue;
    const entry: ManagerEntry = {
      manager,
      operation,
      apiVersion: typeof apiVersion === "string" ? apiVersion : "",
      time: typeof time === "string" ? time : undefined,
      subresource: typeof subresource === "string" && subresource !== "" ? subresource : undefined,
      set: recursiveDifferenceFieldSets(fieldSetFromFieldsV1(fieldsV1), IGNORED),
    };
    const same = entries.find((e) => sameKey(e, entry));
    if (same === undefined) entries.push(entry);
    else {
      same.set = unionFieldSets(same.set, entry.set);
      if (entry.time !== undefined && (same.time === undefined || entry.time > same.time)) same.time = entry.time;
    }
  }
  return entries;
}

function sameKey(a: ManagerEntry, b: Pick<ManagerEntry, "manager" | "operation" | "subresource">): boolean {
  return a.manager === b.manager && a.operation === b.operation && a.subresource === b.subresource;
}

function compareEntries(a: ManagerEntry, b: ManagerEntry): number {
  const byKey = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return (
    byKey(a.manager, b.manager) || byKey(a.operation, b.operation) || byKey(a.subresource ?? "", b.subresource ?? "")
  );
}

function encodeEntry(entry: ManagerEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    manager: entry.manager,
    operation: entry.operation,
    apiVersion: entry.apiVersion,
  };
  if (entry.time !== undefined) out["time"] = entry.time;
  out["fieldsType"] = "FieldsV1";
  out["fieldsV1"] = fieldSetToFieldsV1(entry.set);
  if (entry.subresource !== undefined) out["subresource"] = entry.subresource;
  return out;
}

/**
 * Put the entries (non-empty ones, sorted) into `object.metadata.managedFields`, where `reference` (the
 * metadata whose key order is kept) had them, else last. `object` is a fresh copy and is modified.
 */
function withManagedFields(
  object: Record<string, unknown>,
  entries: readonly ManagerEntry[],
  reference: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const encoded = entries
    .filter((entry) => !isEmptyFieldSet(entry.set))
    .sort(compareEntries)
    .map(encodeEntry);
  const metadata = metadataOf(object) ?? {};
  const out: Record<string, unknown> = {};
  const order =
    reference !== undefined && hasOwn(reference, "managedFields")
      ? Object.keys(reference)
      : [...Object.keys(metadata), "managedFields"];
  for (const key of order) {
    if (key === "managedFields") {
      if (encoded.length > 0) out["managedFields"] = encoded;
    } else if (hasOwn(metadata, key)) setOwn(out, key, metadata[key]);
  }
  for (const key of Object.keys(metadata))
    if (!hasOwn(out, key) && key !== "managedFields") setOwn(out, key, metadata[key]);
  if (Object.keys(out).length > 0 || hasOwn(object, "metadata")) object["metadata"] = out;
  return object;
}

function apiVersionOf(object: Record<string, unknown> | undefined): string | undefined {
  const apiVersion = object?.["apiVersion"];
  return typeof apiVersion === "string" ? apiVersion : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Merging

/** The list strategy at `path`, as the element builder of its items (undefined for atomic lists). */
function itemElementAt(path: FieldPath, schema: FieldSchema): ((item: unknown) => string) | undefined {
  const strategy = listStrategy(schema.kind, fieldNamesOf(path), schema.builtin);
  if (strategy.type === "map") return (item) => keyElement(item, strategy.keys);
  if (strategy.type === "set") return valueElement;
  return undefined;
}

/**
 * Merge two lists by item element: live items keep their place, applied items come in applied order, each
 * run of live-only items staying right after the shared item it followed; shared items are merged.
 */
function mergeLists(
  live: readonly unknown[],
  applied: readonly unknown[],
  elementOf: (item: unknown) => string,
  mergeItem: (l: unknown, r: unknown, element: string) => unknown,
): unknown[] {
  const appliedElements = new Set(applied.map(elementOf));
  const liveByElement = new Map<string, unknown>();
  const following = new Map<string, unknown[]>();
  const out: unknown[] = [];
  let current: string | undefined;
  for (const item of live) {
    const element = elementOf(item);
    if (appliedElements.has(element)) {
      current = element;
      if (!liveByElement.has(element)) liveByElement.set(element, item);
      if (!following.has(element)) following.set(element, []);
    } else if (current === undefined) out.push(clone(item));
    else following.get(current)?.push(item);
  }
  const done = new Set<string>();
  for (const item of applied) {
    const element = elementOf(item);
    if (done.has(element)) continue;
    done.add(element);
    out.push(liveByElement.has(element) ? mergeItem(liveByElement.get(element), item, element) : clone(item));
    for (const rest of following.get(element) ?? []) out.push(clone(rest));
  }
  return out;
}

/** Merge an applied value into a live one: maps recursively, associative lists by key, sets as sets, the rest replaced. */
function mergeValues(live: unknown, applied: unknown, path: FieldPath, schema: FieldSchema): unknown {
  if (isPlainObject(live) && isPlainObject(applied)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(live)) {
      setOwn(
        out,
        key,
        hasOwn(applied, key)
          ? mergeValues(live[key], applied[key], [...path, fieldElement(key)], schema)
          : clone(live[key]),
      );
    }
    for (const key of Object.keys(applied)) if (!hasOwn(live, key)) setOwn(out, key, clone(applied[key]));
    return out;
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    const elementOf = itemElementAt(path, schema);
    if (elementOf !== undefined) {
      const isSet = listStrategy(schema.kind, fieldNamesOf(path), schema.builtin).type === "set";
      return mergeLists(live, applied, elementOf, (l, r, element) =>
        isSet ? clone(r) : mergeValues(l, r, [...path, element], schema),
      );
    }
  }
  return clone(applied);
}

// ---------------------------------------------------------------------------------------------------------
// Pruning what the applier no longer applies

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return Array.isArray(value) || isPlainObject(value);
}

function sizeOf(value: Container): number {
  return Array.isArray(value) ? value.length : Object.keys(value).length;
}

/** Where the child at `element` sits in `container` (a key or an index), or undefined. */
function locate(
  container: Container,
  element: string,
  path: FieldPath,
  schema: FieldSchema,
): string | number | undefined {
  if (!Array.isArray(container)) {
    const name = element.slice(2);
    return element.startsWith("f:") && hasOwn(container, name) ? name : undefined;
  }
  if (element.startsWith("i:")) {
    const index = Number(element.slice(2));
    return Number.isInteger(index) && index >= 0 && index < container.length ? index : undefined;
  }
  const elementOf = itemElementAt(path, schema);
  if (elementOf === undefined) return undefined;
  const index = container.findIndex((item) => elementOf(item) === element);
  return index < 0 ? undefined : index;
}

function removeAt(container: Container, at: string | number): void {
  if (Array.isArray(container)) container.splice(at as number, 1);
  else delete container[at as string];
}

function childAt(container: Container, at: string | number): unknown {
  return Array.isArray(container) ? container[at as number] : container[at as string];
}

/**
 * Remove from `container` (at `path`, modified in place) the fields of `last` (what the applier applied
 * before) that nobody keeps (`keep`: the new applied set and every other manager's set). A removed member
 * goes with everything below it unless someone keeps something below it; a map or list that empties this
 * way goes too unless someone owns it as such; the key fields of a kept list item always stay.
 */
function prune(
  container: Container,
  last: FieldSet,
  keep: FieldSet,
  path: FieldPath,
  schema: FieldSchema,
  keyFields: readonly string[],
): void {
  for (const [element, lastChild] of last.children) {
    const at = locate(container, element, path, schema);
    if (at === undefined) continue;
    if (!Array.isArray(container) && keyFields.includes(element.slice(2))) continue;
    const keepChild = keep.children.get(element) ?? EMPTY_FIELD_SET;
    if (lastChild.member && isEmptyFieldSet(keepChild)) {
      removeAt(container, at);
      continue;
    }
    const value = childAt(container, at);
    if (!isContainer(value) || lastChild.children.size === 0) continue;
    const before = sizeOf(value);
    const childPath = [...path, element];
    let childKeys: readonly string[] = [];
    if (element.startsWith("k:")) {
      const strategy = listStrategy(schema.kind, fieldNamesOf(path), schema.builtin);
      if (strategy.type === "map") childKeys = strategy.keys;
    }
    prune(value, lastChild, keepChild, childPath, schema, childKeys);
    if (before > 0 && sizeOf(value) === 0 && !keepChild.member) removeAt(container, at);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Comparing two versions of an object

interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * The fields added, modified and removed from `before` to `after`. An added or removed map, list or list
 * item is itself a path of the set (`.`), besides everything below it; a modified field is a leaf (scalar or
 * atomic list) whose value changed. Ignored fields (identity, server metadata) are left out.
 */
function compareObjects(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  schema: FieldSchema,
): Comparison {
  const added: FieldPath[] = [];
  const modified: FieldPath[] = [];
  const removed: FieldPath[] = [];
  const everything = (value: unknown, path: FieldPath, out: FieldPath[]): void => {
    out.push(path);
    if (isPlainObject(value)) {
      for (const key of Object.keys(value)) everything(value[key], [...path, fieldElement(key)], out);
      return;
    }
    if (!Array.isArray(value)) return;
    const elementOf = itemElementAt(path, schema);
    if (elementOf !== undefined) for (const item of value) everything(item, [...path, elementOf(item)], out);
  };
  const walk = (l: unknown, r: unknown, path: FieldPath): void => {
    if (l === undefined && r === undefined) return;
    if (l === undefined) {
      everything(r, path, added);
      return;
    }
    if (r === undefined) {
      everything(l, path, removed);
      return;
    }
    if (isPlainObject(l) && isPlainObject(r)) {
      const keys = [...Object.keys(l), ...Object.keys(r).filter((key) => !hasOwn(l, key))];
      for (const key of keys)
        walk(hasOwn(l, key) ? l[key] : undefined, hasOwn(r, key) ? r[key] : undefined, [...path, fieldElement(key)]);
      return;
    }
    if (Array.isArray(l) && Array.isArray(r)) {
      const elementOf = itemElementAt(path, schema);
      if (elementOf !== undefined) {
        const left = firstByElement(l, elementOf);
        const right = firstByElement(r, elementOf);
        for (const [element, item] of left)
          walk(item, right.has(element) ? right.get(element) : undefined, [...path, element]);
        for (const [element, item] of right) if (!left.has(element)) walk(undefined, item, [...path, element]);
        return;
      }
    }
    if (!deepEqual(l, r)) modified.push(path);
  };
  for (const key of [...Object.keys(before), ...Object.keys(after).filter((key) => !hasOwn(before, key))]) {
    walk(hasOwn(before, key) ? before[key] : undefined, hasOwn(after, key) ? after[key] : undefined, [
      fieldElement(key),
    ]);
  }
  return {
    added: recursiveDifferenceFieldSets(fieldSetFromPaths(added), IGNORED),
    modified: recursiveDifferenceFieldSets(fieldSetFromPaths(modified), IGNORED),
    removed: recursiveDifferenceFieldSets(fieldSetFromPaths(removed), IGNORED),
  };
}

function firstByElement(items: readonly unknown[], elementOf: (item: unknown) => string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const item of items) {
    const element = elementOf(item);
    if (!out.has(element)) out.set(element, item);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Apply and Update

/**
 * Server-side apply of `applied` by `options.manager` onto `live` (undefined: create).
 *
 * The applied configuration is merged into the live object; the manager's Apply entry then holds exactly the
 * fields of the configuration (identity and server metadata excluded). Fields the manager applied last time
 * but not now are removed unless another manager owns them. Fields owned by other managers (Apply or Update)
 * that the apply adds or changes are conflicts: without `force` the result holds them and the live object
 * unchanged (the caller answers 409); with `force` they move to the applier. Other managers lose fields the
 * apply removed. The manager's entry gets `now` unless the apply left the object unchanged.
 * Inputs are never modified.
 */
export function serverSideApply(
  live: Record<string, unknown> | undefined,
  applied: Record<string, unknown>,
  options: ApplyOptions,
): ApplyResult {
  const schema: FieldSchema = { kind: options.kind, builtin: options.builtin };
  const config = configurationOf(applied);
  const appliedSet = recursiveDifferenceFieldSets(fieldSetOf(config, schema), IGNORED);
  const applierKey = { manager: options.manager, operation: "Apply" as const, subresource: undefined };
  const apiVersion = apiVersionOf(config) ?? apiVersionOf(live) ?? "";
  const applierEntry = (time: string | undefined): ManagerEntry => ({
    ...applierKey,
    apiVersion,
    time,
    set: appliedSet,
  });

  if (live === undefined) {
    return { object: withManagedFields(config, [applierEntry(options.now)], undefined), conflicts: [] };
  }

  const entries = readEntries(live);
  const liveBody = bodyOf(live);
  const merged = mergeValues(liveBody, config, [], schema) as Record<string, unknown>;
  const previous = entries.find((entry) => sameKey(entry, applierKey));
  const others = entries.filter((entry) => !sameKey(entry, applierKey));
  if (previous !== undefined) {
    const keep = others.reduce((set, entry) => unionFieldSets(set, entry.set), appliedSet);
    prune(merged, previous.set, keep, [], schema, []);
  }

  const comparison = compareObjects(liveBody, merged, schema);
  const changed = unionFieldSets(comparison.added, comparison.modified);
  const conflicts: ApplyConflict[] = [];
  const remaining: ManagerEntry[] = [];
  for (const entry of [...others].sort(compareEntries)) {
    const taken = intersectFieldSets(entry.set, changed);
    for (const path of fieldSetPaths(taken)) conflicts.push({ manager: entry.manager, field: formatFieldPath(path) });
    remaining.push({ ...entry, set: differenceFieldSets(differenceFieldSets(entry.set, taken), comparison.removed) });
  }
  if (conflicts.length > 0 && !options.force) return { object: clone(live), conflicts };

  const unchanged = deepEqual(liveBody, merged);
  const time = unchanged && previous !== undefined ? previous.time : options.now;
  return { object: withManagedFields(merged, [...remaining, applierEntry(time)], metadataOf(live)), conflicts: [] };
}

/**
 * Record a non-apply write (create when `previous` is undefined, update, patch) by `options.manager`:
 * returns a copy of `next` whose `metadata.managedFields` gives the manager's Update entry the fields the
 * write added or changed (taken from every other entry, the manager's own Apply entry included) and drops
 * removed fields from all entries. The entries come from `next` when it carries any (a client may write
 * managedFields), else from `previous`. The entry's time is `now` when the write changed something.
 * Inputs are never modified.
 */
export function recordUpdate(
  previous: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
  options: UpdateOptions,
): Record<string, unknown> {
  const schema: FieldSchema = { kind: options.kind, builtin: options.builtin };
  const nextBody = bodyOf(next);
  const before = previous !== undefined ? bodyOf(previous) : createBaseline(nextBody);
  const fromNext = readEntries(next);
  const entries = fromNext.length > 0 ? fromNext : readEntries(previous);

  const comparison = compareObjects(before, nextBody, schema);
  const changed = differenceFieldSets(unionFieldSets(comparison.added, comparison.modified), comparison.removed);
  const updated = entries.map((entry) => ({
    ...entry,
    set: differenceFieldSets(differenceFieldSets(entry.set, changed), comparison.removed),
  }));
  if (!isEmptyFieldSet(changed)) {
    const key = { manager: options.manager, operation: options.operation, subresource: undefined };
    const own = updated.find((entry) => sameKey(entry, key));
    const entry: ManagerEntry = {
      ...key,
      apiVersion: apiVersionOf(next) ?? own?.apiVersion ?? "",
      time: options.now,
      set: unionFieldSets(own?.set ?? EMPTY_FIELD_SET, changed),
    };
    if (own === undefined) updated.push(entry);
    else updated.splice(updated.indexOf(own), 1, entry);
  }
  return withManagedFields(nextBody, updated, metadataOf(next));
}

/** What a create is compared against: the top-level maps every object has, empty, where `next` has them. */
function createBaseline(next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ALWAYS_PRESENT) if (isPlainObject(next[key])) out[key] = {};
  return out;
}
