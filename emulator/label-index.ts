/**
 * The store's objects of each type by label: per label key and value, the store keys of the objects that have
 * it. A list with a label selector that names values (`a=b`, `a in (b,c)`) reads those objects, not every object
 * of the type: the agent lists its Deployments across namespaces by intent (`camino.io/intent in (...)`), and an
 * edge with 10,000 deployed intents has 10,000 of them.
 */

type Labels = Record<string, unknown> | undefined;

export class LabelIndex {
  /** Per type, per "key\0value", the store keys of the objects with that label. */
  readonly #byLabel = new Map<string, Map<string, Set<string>>>();
  /** Per type and store key, the labels it was indexed under (so a change unindexes what was indexed). */
  readonly #indexed = new Map<string, Map<string, string[]>>();

  /** Indexes an object's labels (undefined: the object is gone), replacing what it was indexed under. */
  set(typeKey: string, key: string, labels: Labels): void {
    let byLabel = this.#byLabel.get(typeKey);
    let indexed = this.#indexed.get(typeKey);
    if (!byLabel || !indexed) {
      byLabel = new Map();
      indexed = new Map();
      this.#byLabel.set(typeKey, byLabel);
      this.#indexed.set(typeKey, indexed);
    }
    for (const label of indexed.get(key) ?? []) {
      const keys = byLabel.get(label);
      keys?.delete(key);
      if (keys?.size === 0) byLabel.delete(label);
    }
    // Only string values: a selector's value is a string, and matches by strict equality.
    const now = Object.entries(labels ?? {}).flatMap(([k, v]) => (typeof v === "string" ? [`${k}\0${v}`] : []));
    if (now.length === 0) indexed.delete(key);
    else indexed.set(key, now);
    for (const label of now) {
      let keys = byLabel.get(label);
      if (!keys) {
        keys = new Set();
        byLabel.set(label, keys);
      }
      keys.add(key);
    }
  }

  /** The store keys of the objects of a type with label `key` set to one of `values` (unordered). */
  keys(typeKey: string, key: string, values: readonly string[]): Set<string> {
    const out = new Set<string>();
    const byLabel = this.#byLabel.get(typeKey);
    for (const value of values) for (const k of byLabel?.get(`${key}\0${value}`) ?? []) out.add(k);
    return out;
  }
}
