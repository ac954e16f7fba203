/** The git caches' bound (agent/cad/git/objects.ts BoundedMap): by count, or by weight (a tree by its entries). */
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../agent/cad/git/objects.js";

describe("BoundedMap", () => {
  it("forgets the oldest entries past its count", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1).set("b", 2).set("c", 3);
    expect([...m.keys()]).toEqual(["b", "c"]);
  });

  it("bounds by weight: one large root tree pushes out several small ones, and a re-set is weighed once", () => {
    const m = new BoundedMap<string, string[]>(10, (v) => v.length);
    m.set("t1", ["x", "y", "z"]).set("t2", ["x", "y", "z"]).set("t3", ["x", "y", "z"]);
    m.set("t3", ["x", "y", "z"]);
    expect([...m.keys()]).toEqual(["t1", "t2", "t3"]);
    m.set(
      "root",
      Array.from({ length: 7 }, (_, i) => `e${i}`),
    );
    expect([...m.keys()]).toEqual(["t3", "root"]);
    m.delete("t3");
    m.set("t4", ["x", "y", "z"]);
    expect([...m.keys()]).toEqual(["root", "t4"]);
    // An entry heavier than the bound alone is still kept (the newest), until the next comes.
    m.set(
      "huge",
      Array.from({ length: 20 }, (_, i) => `h${i}`),
    );
    expect([...m.keys()]).toEqual(["huge"]);
  });
});
