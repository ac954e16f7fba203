/**
 * The field comparison of drift, as `kubectl diff` makes it: the object the repository's file would become on the
 * edge (the server's answer to a dry-run apply of the file, its defaults filled in) against the live object, with
 * the metadata the server manages left out (resourceVersion, generation, uid, creationTimestamp, managedFields,
 * selfLink, deletionTimestamp, deletionGracePeriodSeconds) and `status`. Pure.
 */

/** One field that differs: its path, and the two values as JSON ("" when the field is absent on that side). */
export interface FieldDrift {
  /** A dotted path such as `spec.replicas` or `spec.template.spec.containers[name=app].image`. */
  path: string;
  /** The repository's value (the dry run's), as JSON; "" when absent. */
  want: string;
  /** The edge's value, as JSON; "" when absent. */
  have: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** Metadata the server writes itself: never drift. */
const SERVER_METADATA = [
  "resourceVersion",
  "generation",
  "uid",
  "creationTimestamp",
  "managedFields",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

/** An object without the fields the server manages (metadata above, `status`). */
export function withoutServerFields(o: Obj): Obj {
  const out: Obj = { ...o };
  delete out["status"];
  if (isObj(o["metadata"])) {
    const m: Obj = { ...o["metadata"] };
    for (const k of SERVER_METADATA) delete m[k];
    out["metadata"] = m;
  }
  return out;
}

/**
 * The fields in which `have` (the live object) differs from `want` (the dry run of the repository's file), server
 * fields left out; none when they agree. Lists of objects that all have a `name` are matched by name (containers,
 * ports, env), other lists of the same length element by element, and lists of different lengths as a whole.
 * @example driftFields(dryRun, live) // [{ path: "spec.replicas", want: "1", have: "3" }]
 */
export function driftFields(want: Obj, have: Obj): FieldDrift[] {
  const out: FieldDrift[] = [];
  compare(withoutServerFields(want), withoutServerFields(have), "", out);
  return out;
}

const json = (v: unknown): string => (v === undefined ? "" : JSON.stringify(v));
const join = (path: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

function compare(want: unknown, have: unknown, path: string, out: FieldDrift[]): void {
  if (isObj(want) && isObj(have)) {
    const keys = [...new Set([...Object.keys(want), ...Object.keys(have)])].sort();
    for (const k of keys) compare(want[k], have[k], join(path, k), out);
    return;
  }
  if (Array.isArray(want) && Array.isArray(have)) {
    const named = (l: unknown[]) => l.every((x) => isObj(x) && typeof x["name"] === "string");
    if (named(want) && named(have) && (want.length > 0 || have.length > 0)) {
      const byName = (l: unknown[]) => new Map(l.map((x) => [String((x as Obj)["name"]), x]));
      const w = byName(want);
      const h = byName(have);
      // Two entries with one name cannot be matched by it: compared as a whole below.
      if (w.size === want.length && h.size === have.length) {
        for (const n of [...new Set([...w.keys(), ...h.keys()])])
          compare(w.get(n), h.get(n), `${path}[name=${n}]`, out);
        return;
      }
    }
    if (want.length === have.length) {
      for (const [i, x] of want.entries()) compare(x, have[i], `${path}[${i}]`, out);
      return;
    }
  }
  if (json(want) !== json(have)) out.push({ path, want: json(want), have: json(have) });
}
