/**
 * Whether an edge's synced commit has reached ours (agent/cad/git/ancestry.ts): on a branch's history, on diverged
 * branches and merges, and what an answer costs when the edge lags a few commits behind a long history.
 */
import { describe, expect, it } from "vitest";
import { type CommitLinks, isDescendant } from "../../agent/cad/git/ancestry.js";

/** A history in memory, counting the commits read. */
function history() {
  const commits = new Map<string, CommitLinks>();
  let reads = 0;
  return {
    add(oid: string, parents: string[], time: number) {
      commits.set(oid, { parents, time });
    },
    read: async (oid: string) => {
      reads++;
      const c = commits.get(oid);
      if (!c) throw new Error(`no commit ${oid}`);
      return c;
    },
    get reads() {
      return reads;
    },
  };
}

/** A straight branch c0 … c(n-1), one commit every 20 ms (50 a second), as a busy agent writes them. */
function straight(n: number) {
  const h = history();
  for (let i = 0; i < n; i++) h.add(`c${i}`, i === 0 ? [] : [`c${i - 1}`], 1_000_000 + Math.floor(i / 50));
  return h;
}

describe("whether one commit descends from another", () => {
  it("is true for the commit itself and for later commits of the branch, false for earlier ones", async () => {
    const h = straight(10);
    expect(await isDescendant(h.read, "c4", "c4")).toBe(true);
    expect(await isDescendant(h.read, "c9", "c2")).toBe(true);
    expect(await isDescendant(h.read, "c2", "c9")).toBe(false);
  });

  it("is false across diverged branches and for commits it cannot read; a merge descends from both sides", async () => {
    const h = straight(5);
    h.add("a1", ["c4"], 1_000_001);
    h.add("b1", ["c4"], 1_000_001);
    h.add("b2", ["b1"], 1_000_002);
    h.add("m", ["a1", "b2"], 1_000_003);
    expect(await isDescendant(h.read, "b2", "a1")).toBe(false);
    expect(await isDescendant(h.read, "a1", "b2")).toBe(false);
    expect(await isDescendant(h.read, "m", "b1")).toBe(true);
    expect(await isDescendant(h.read, "m", "a1")).toBe(true);
    expect(await isDescendant(h.read, "m", "c0")).toBe(true);
    expect(await isDescendant(h.read, "nope", "c1")).toBe(false);
    expect(await isDescendant(h.read, "c1", "nope")).toBe(false);
  });

  it("reads only the commits in between when the edge lags a few behind, in a minute of 3,000 commits", async () => {
    const h = straight(3_000);
    // The edge synced c2996; ours is c2999: not there yet.
    expect(await isDescendant(h.read, "c2996", "c2999")).toBe(false);
    expect(h.reads).toBeLessThan(12);
    const before = h.reads;
    // The edge is ahead: there.
    expect(await isDescendant(h.read, "c2999", "c2996")).toBe(true);
    expect(h.reads - before).toBeLessThan(12);
  });

  it("does not walk past commits more than a minute older than the one it looks for", async () => {
    // Two unrelated histories of 100 s each (5,000 commits): each walk stops a minute back, at about 3,050.
    const h = straight(5_000);
    for (let i = 0; i < 5_000; i++) h.add(`x${i}`, i === 0 ? [] : [`x${i - 1}`], 1_000_000 + Math.floor(i / 50));
    expect(await isDescendant(h.read, "x4999", "c4999")).toBe(false);
    expect(h.reads).toBeLessThan(6_200);
    expect(h.reads).toBeGreaterThan(6_000);
  });
});
