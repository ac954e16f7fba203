/**
 * Lists by label selector read from the store's label index (emulator/label-index.ts) give what a scan of every
 * object of the type gives, in the same order: for selectors of every kind, in one namespace and in all, while
 * objects come, go and change their labels (also labels changed in place on the stored object before a put).
 */
import { describe, expect, it } from "vitest";
import { matchesLabels, namedValues, parseLabelSelector } from "../../emulator/selectors.js";
import { ObjectStore, type KubeObject } from "../../emulator/store.js";

/** A deterministic random source (tests must not depend on luck). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const TYPE = "apps/deployments";
const SELECTORS = [
  "camino.io/intent in (i-1,i-2),camino.io/package",
  "camino.io/intent=i-3",
  "camino.io/intent==i-0,camino.io/package!=p-1",
  "camino.io/package in (p-0),camino.io/intent notin (i-1)",
  "camino.io/intent in ()",
  "camino.io/intent=",
  "!camino.io/package,camino.io/intent in (i-2,i-9)",
  "camino.io/package",
  "",
];

/** What a list selects when it scans every object of the type (as before the index). */
const scanned = (store: ObjectStore, namespace: string | undefined, selector: string) =>
  store
    .list(TYPE, namespace)
    .filter((o) => matchesLabels(o.metadata["labels"] as Record<string, string>, parseLabelSelector(selector)));

/** What a list selects starting from the index, as the API server does. */
function indexed(store: ObjectStore, namespace: string | undefined, selector: string): KubeObject[] {
  const reqs = parseLabelSelector(selector);
  const named = namedValues(reqs);
  const candidates = named ? store.listLabelled(TYPE, namespace, named.key, named.values) : store.list(TYPE, namespace);
  return candidates.filter((o) => matchesLabels(o.metadata["labels"] as Record<string, string>, reqs));
}

describe("a list by label selector", () => {
  it("selects from the label index what a scan of every object selects, in the same order", () => {
    const next = random(7);
    const store = new ObjectStore();
    const pick = (n: number) => Math.floor(next() * n);
    const labels = (): Record<string, string> => {
      const out: Record<string, string> = {};
      if (next() < 0.8) out["camino.io/intent"] = next() < 0.1 ? "" : `i-${pick(4)}`;
      if (next() < 0.6) out["camino.io/package"] = `p-${pick(2)}`;
      return out;
    };
    for (let round = 0; round < 400; round++) {
      const name = `d-${pick(40)}`;
      const namespace = `ns-${pick(3)}`;
      const live = store.get(TYPE, namespace, name);
      const what = next();
      if (what < 0.5) store.put(TYPE, { metadata: { name, namespace, labels: labels() } });
      else if (what < 0.7 && live) {
        // Changed in place on the stored object, then put: the index drops what it had indexed, not what it sees.
        live.metadata["labels"] = labels();
        store.put(TYPE, live);
      } else if (what < 0.8 && live) store.put(TYPE, { metadata: { name, namespace } });
      else store.remove(TYPE, namespace, name);
      for (const selector of SELECTORS)
        for (const ns of [undefined, namespace])
          expect(indexed(store, ns, selector)).toEqual(scanned(store, ns, selector));
    }
    expect(store.list(TYPE).length).toBeGreaterThan(10);
  });
});
