/**
 * The drift correction's versions (emulator/configsync/live-versions.ts): the objects it says moved since they
 * were applied are exactly those a comparison of every applied object with its live one finds, whether the
 * store's history reaches back to the last look (then only changed objects are compared) or not (every one is);
 * and the store's changes since a version are its history after it, or nothing to go by once that is gone.
 */
import { describe, expect, it } from "vitest";
import type { Target } from "../../emulator/api-server.js";
import { LiveVersions } from "../../emulator/configsync/live-versions.js";
import { builtinTypes } from "../../emulator/resources.js";
import { ObjectStore } from "../../emulator/store.js";
import { typeKey } from "../../emulator/type-registry.js";

/** A deterministic random source (tests must not depend on luck). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const types = builtinTypes().filter((t) => ["ConfigMap", "Namespace", "Deployment"].includes(t.kind));
const idOf = (t: Target) => `${t.type.group}/${t.type.kind}/${t.namespace ?? ""}/${t.name}`;

describe("the store's changes since a version", () => {
  it("are its history after that version, and nothing to go by once the history has moved past it", () => {
    const store = new ObjectStore({ historySize: 5 });
    const put = (name: string) => store.put("/configmaps", { metadata: { name, namespace: "a" } });
    put("x");
    const at = store.resourceVersion;
    put("y");
    store.remove("/configmaps", "a", "x");
    expect(store.changesSince(at)?.map((e) => [e.type, e.object.metadata["name"]])).toEqual([
      ["ADDED", "y"],
      ["DELETED", "x"],
    ]);
    expect(store.changesSince(store.resourceVersion)).toEqual([]);
    for (let i = 0; i < 5; i++) put(`z${i}`);
    expect(store.changesSince(at)).toBeUndefined();
    expect(store.changesSince(store.resourceVersion - 5)).toHaveLength(5);
  });
});

describe("the objects whose live version moved since they were applied", () => {
  it("are those a comparison of every applied object finds, with a long history, a short one, and none", () => {
    for (const historySize of [100_000, 40, 0]) {
      const next = random(historySize + 1);
      const store = new ObjectStore({ historySize });
      const versions = new LiveVersions();
      const inventory = new Map<string, Target>();
      const targets = Array.from({ length: 60 }, (_, i): Target => {
        const type = types[i % types.length] as Target["type"];
        return { type, name: `o-${i}`, ...(type.namespaced ? { namespace: `ns-${i % 4}` } : {}) };
      });
      const write = (t: Target) =>
        store.put(typeKey(t.type), {
          metadata: { name: t.name as string, ...(t.namespace ? { namespace: t.namespace } : {}) },
        });
      for (let round = 0; round < 300; round++) {
        // Applied by the reconciler, changed or deleted by hand, an unrelated object written, dropped from the
        // inventory; then a drift round, which must find what a look at every object finds.
        for (let n = Math.floor(next() * 6); n > 0; n--) {
          const t = targets[Math.floor(next() * targets.length)] as Target;
          const what = next();
          if (what < 0.4) {
            versions.set(idOf(t), t, String(write(t).metadata["resourceVersion"]));
            inventory.set(idOf(t), t);
          } else if (what < 0.6) write(t);
          else if (what < 0.75) store.remove(typeKey(t.type), t.namespace, t.name as string);
          else if (what < 0.9) store.put("/secrets", { metadata: { name: `other-${round}`, namespace: "x" } });
          else if (inventory.delete(idOf(t)) && next() < 0.5) versions.delete(idOf(t), t);
        }
        // What the round applied itself is left out (its version is the one just left).
        const skip = new Map<string, boolean>();
        const first = [...inventory][0];
        if (first && next() < 0.3) {
          versions.set(first[0], first[1], String(write(first[1]).metadata["resourceVersion"]));
          skip.set(first[0], true);
        }
        const everyOne = [...inventory].filter(([id, t]) => !skip.has(id) && !versions.untouched(store, id, t));
        const moved = versions.moved(store, inventory, skip);
        expect([...moved].sort()).toEqual(everyOne.map(([id]) => id).sort());
        // What a drift round does with what it found: applied again.
        for (const id of moved) {
          const t = inventory.get(id) as Target;
          versions.set(id, t, String(write(t).metadata["resourceVersion"]));
        }
      }
    }
  });
});
