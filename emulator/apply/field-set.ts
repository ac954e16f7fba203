/**
 * Field sets in the Kubernetes `fieldsV1` format: which fields of an object a manager owns.
 *
 * A field set is a trie of path elements, each element one of
 * - `f:<name>`: a field of a map (`f:spec`, `f:replicas`);
 * - `k:<json>`: an item of an associative list, by its key fields (`k:{"name":"web"}`);
 * - `v:<json>`: an item of a set of primitives (`v:"example.com/finalizer"`);
 * - `i:<n>`: a list item by position (only for items without usable keys).
 * A node is a *member* when the path leading to it is itself in the set: a leaf (`{}` in fieldsV1) or a
 * node with `.` (a list item or map that is owned as such, besides its children).
 *
 * All functions are pure; nodes are never mutated once built, and every result is canonical (no node that
 * is neither a member nor has children), so two equal sets serialise to the same fieldsV1 JSON.
 */
import { listStrategy } from "../schema/list-keys.js";

/** A node of a field set: whether its own path is in the set, and the sets below it by path element. */
export interface FieldSet {
  readonly member: boolean;
  readonly children: ReadonlyMap<string, FieldSet>;
}

/** A path from the object root, as path elements (`["f:spec", "f:replicas"]`). */
export type FieldPath = readonly string[];

/** What the list strategies depend on: the object's kind and whether it is a built-in kind. */
export interface FieldSchema {
  kind: string;
  builtin: boolean;
}

/** The empty set. */
export const EMPTY_FIELD_SET: FieldSet = Object.freeze({ member: false, children: new Map<string, FieldSet>() });

const LEAF: FieldSet = Object.freeze({ member: true, children: new Map<string, FieldSet>() });

/** A node from its parts, or the empty set when it holds nothing (keeps sets canonical). */
function node(member: boolean, children: ReadonlyMap<string, FieldSet>): FieldSet {
  if (children.size === 0) return member ? LEAF : EMPTY_FIELD_SET;
  return { member, children };
}

/** Whether the set holds no path at all. */
export function isEmptyFieldSet(set: FieldSet): boolean {
  return !set.member && set.children.size === 0;
}

/** A plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// Path elements

/** The path element of the map field `name`. */
export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** The path element of a set item (a primitive value). */
export function valueElement(value: unknown): string {
  return `v:${JSON.stringify(value)}`;
}

/** The path element of a list item by its position. */
export function indexElement(index: number): string {
  return `i:${index}`;
}

/**
 * The path element of an item of an associative list merged by `keys`: `k:` and a JSON object of the key
 * fields, sorted by name. A missing `protocol` key defaults to `"TCP"` (as the API server defaults it before
 * merging ports); other missing keys are left out. An item that is not an object, or has none of the keys,
 * is identified by its value (`v:`), so that it still merges deterministically.
 */
export function keyElement(item: unknown, keys: readonly string[]): string {
  if (!isPlainObject(item)) return valueElement(item);
  const key: Record<string, unknown> = {};
  let found = false;
  for (const name of [...keys].sort(compareStrings)) {
    if (item[name] !== undefined) {
      key[name] = item[name];
      found = true;
    } else if (name === "protocol") {
      key[name] = "TCP";
    }
  }
  return found ? `k:${JSON.stringify(key)}` : valueElement(item);
}

/** The field names along a path (key, value and index elements skipped), as `listStrategy` wants them. */
export function fieldNamesOf(path: FieldPath): string[] {
  return path.filter((element) => element.startsWith("f:")).map((element) => element.slice(2));
}

/** Parse JSON after a path element prefix, or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A path in the readable form the API server prints in conflicts:
 * `.spec.template.spec.containers[name="web"].image`, `.metadata.finalizers[="a"]`, `.items[3]`.
 */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const element of path) {
    const rest = element.slice(2);
    if (element.startsWith("f:")) out += `.${rest}`;
    else if (element.startsWith("k:")) {
      const key = parseJson(rest);
      const parts = isPlainObject(key)
        ? Object.entries(key).map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        : [rest];
      out += `[${parts.join(",")}]`;
    } else if (element.startsWith("v:")) out += `[=${rest}]`;
    else if (element.startsWith("i:")) out += `[${rest}]`;
    else out += `.${element}`;
  }
  return out;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ELEMENT_RANK: Readonly<Record<string, number>> = { "f:": 0, "k:": 1, "v:": 2, "i:": 3 };

/** The order of path elements in serialised sets: fields by name, then keys, values and indices. */
export function comparePathElements(a: string, b: string): number {
  const rankA = ELEMENT_RANK[a.slice(0, 2)] ?? 4;
  const rankB = ELEMENT_RANK[b.slice(0, 2)] ?? 4;
  if (rankA !== rankB) return rankA - rankB;
  if (rankA === 3) return Number(a.slice(2)) - Number(b.slice(2));
  return compareStrings(a, b);
}

function sortedEntries(set: FieldSet): [string, FieldSet][] {
  return [...set.children.entries()].sort(([a], [b]) => comparePathElements(a, b));
}

// ---------------------------------------------------------------------------------------------------------
// Building and reading

/** A mutable trie used while building a set. */
interface Draft {
  member: boolean;
  children: Map<string, Draft>;
}

function freeze(draft: Draft): FieldSet {
  const children = new Map<string, FieldSet>();
  for (const [element, child] of draft.children) {
    const frozen = freeze(child);
    if (!isEmptyFieldSet(frozen)) children.set(element, frozen);
  }
  return node(draft.member, children);
}

function insert(draft: Draft, path: FieldPath): void {
  let at = draft;
  for (const element of path) {
    let next = at.children.get(element);
    if (next === undefined) {
      next = { member: false, children: new Map() };
      at.children.set(element, next);
    }
    at = next;
  }
  at.member = true;
}

/** The set holding exactly `paths` (the empty path, the object itself, is never a member). */
export function fieldSetFromPaths(paths: Iterable<FieldPath>): FieldSet {
  const root: Draft = { member: false, children: new Map() };
  for (const path of paths) if (path.length > 0) insert(root, path);
  return freeze(root);
}

/** Every path in the set, in serialisation order (a node before its children). */
export function fieldSetPaths(set: FieldSet): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (at: FieldSet, prefix: string[]): void => {
    for (const [element, child] of sortedEntries(at)) {
      const path = [...prefix, element];
      if (child.member) out.push(path);
      walk(child, path);
    }
  };
  walk(set, []);
  return out;
}

/** Whether `path` itself is in the set. */
export function hasFieldPath(set: FieldSet, path: FieldPath): boolean {
  let at: FieldSet | undefined = set;
  for (const element of path) {
    at = at.children.get(element);
    if (at === undefined) return false;
  }
  return path.length > 0 && at.member;
}

/** The subtree of the set below `path` (relative paths), or the empty set. */
export function fieldSetAt(set: FieldSet, path: FieldPath): FieldSet {
  let at: FieldSet | undefined = set;
  for (const element of path) {
    at = at.children.get(element);
    if (at === undefined) return EMPTY_FIELD_SET;
  }
  return at;
}

// ---------------------------------------------------------------------------------------------------------
// Set algebra

/** Paths in `a` or in `b`. */
export function unionFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmptyFieldSet(a)) return b;
  if (isEmptyFieldSet(b)) return a;
  const children = new Map<string, FieldSet>(a.children);
  for (const [element, child] of b.children) {
    const mine = children.get(element);
    children.set(element, mine === undefined ? child : unionFieldSets(mine, child));
  }
  return node(a.member || b.member, children);
}

/** Paths in `a` that are not in `b` (a path's children are kept when only the path itself is removed). */
export function differenceFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmptyFieldSet(a) || isEmptyFieldSet(b)) return a;
  const children = new Map<string, FieldSet>();
  for (const [element, child] of a.children) {
    const other = b.children.get(element);
    const rest = other === undefined ? child : differenceFieldSets(child, other);
    if (!isEmptyFieldSet(rest)) children.set(element, rest);
  }
  return node(a.member && !b.member, children);
}

/** Paths in both `a` and `b`. */
export function intersectFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmptyFieldSet(a) || isEmptyFieldSet(b)) return EMPTY_FIELD_SET;
  const children = new Map<string, FieldSet>();
  for (const [element, child] of a.children) {
    const other = b.children.get(element);
    if (other === undefined) continue;
    const both = intersectFieldSets(child, other);
    if (!isEmptyFieldSet(both)) children.set(element, both);
  }
  return node(a.member && b.member, children);
}

/** Paths in `a` that are neither in `b` nor below a path of `b` (removes whole subtrees). */
export function recursiveDifferenceFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmptyFieldSet(a) || isEmptyFieldSet(b)) return a;
  const children = new Map<string, FieldSet>();
  for (const [element, child] of a.children) {
    const other = b.children.get(element);
    if (other === undefined) children.set(element, child);
    else if (!other.member) {
      const rest = recursiveDifferenceFieldSets(child, other);
      if (!isEmptyFieldSet(rest)) children.set(element, rest);
    }
  }
  return node(a.member && !b.member, children);
}

/** Whether both sets hold the same paths. */
export function fieldSetsEqual(a: FieldSet, b: FieldSet): boolean {
  if (a.member !== b.member || a.children.size !== b.children.size) return false;
  for (const [element, child] of a.children) {
    const other = b.children.get(element);
    if (other === undefined || !fieldSetsEqual(child, other)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// fieldsV1

/**
 * The `fieldsV1` JSON of a set: `"."` first when a node with children is itself a member, then the children
 * in path element order; a member without children is `{}`.
 */
export function fieldSetToFieldsV1(set: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [element, child] of sortedEntries(set)) {
    if (child.children.size === 0) {
      out[element] = {};
      continue;
    }
    const inner: Record<string, unknown> = child.member ? { ".": {} } : {};
    Object.assign(inner, fieldSetToFieldsV1(child));
    out[element] = inner;
  }
  return out;
}

/** The set a `fieldsV1` JSON value describes; keys that are not path elements are ignored. */
export function fieldSetFromFieldsV1(json: unknown): FieldSet {
  const build = (value: unknown, isRoot: boolean): FieldSet => {
    if (!isPlainObject(value)) return isRoot ? EMPTY_FIELD_SET : LEAF;
    const keys = Object.keys(value);
    const children = new Map<string, FieldSet>();
    for (const key of keys) {
      if (key === "." || !(key.slice(0, 2) in ELEMENT_RANK)) continue;
      const child = build(value[key], false);
      if (!isEmptyFieldSet(child)) children.set(key, child);
    }
    const member = !isRoot && (keys.length === 0 || keys.includes("."));
    return node(member, children);
  };
  return build(json, true);
}

// ---------------------------------------------------------------------------------------------------------
// The fields an object specifies

/**
 * The set of fields an applied configuration specifies, as the API server computes it for an apply:
 * every scalar (including null) and atomic list is a leaf; maps are not members themselves, except an empty
 * map, which is a leaf; associative list items are `k:` members with their fields below; set items are `v:`
 * leaves; an empty non-atomic list is a leaf. List strategies come from `listStrategy` by field path.
 */
export function fieldSetOf(object: Record<string, unknown>, schema: FieldSchema): FieldSet {
  const root: Draft = { member: false, children: new Map() };
  const walk = (value: unknown, path: string[]): void => {
    if (isPlainObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0) insert(root, path);
      for (const key of keys) walk(value[key], [...path, fieldElement(key)]);
      return;
    }
    if (!Array.isArray(value)) {
      insert(root, path);
      return;
    }
    const strategy = listStrategy(schema.kind, fieldNamesOf(path), schema.builtin);
    if (strategy.type === "atomic" || value.length === 0) {
      insert(root, path);
      return;
    }
    for (const item of value) {
      if (strategy.type === "set") {
        insert(root, [...path, valueElement(item)]);
        continue;
      }
      const itemPath = [...path, keyElement(item, strategy.keys)];
      insert(root, itemPath);
      if (isPlainObject(item)) for (const key of Object.keys(item)) walk(item[key], [...itemPath, fieldElement(key)]);
    }
  };
  for (const key of Object.keys(object)) walk(object[key], [fieldElement(key)]);
  return freeze(root);
}
