/**
 * A pack's index as typed arrays (agent/cad/git/pack-index.ts): ids found by their first four bytes and then whole,
 * entries' offsets and lengths as the pack has them, and an entry found by its offset (a delta's base).
 */
import { describe, expect, it } from "vitest";
import { buildPack } from "../../agent/cad/git/pack-build.js";
import { atOffset, findId, idAt, inOffsetOrder, readPackIndex } from "../../agent/cad/git/pack-index.js";

const id = (prefix: string, tail: number) => `${prefix}${tail.toString(16).padStart(40 - prefix.length, "0")}`;

describe("a pack's index", () => {
  it("finds every id, those sharing their first four bytes too, with its entry's offset and length; not an absent one", async () => {
    // Entries of different sizes; three ids share their first four bytes (a run the search must look through).
    const oids = [id("ffee", 1), id("abcdef01", 3), id("0001", 9), id("abcdef01", 1), id("abcdef01", 2), id("7a", 5)];
    const entries = oids.map((oid, i) => [oid, Buffer.alloc(10 + i * 7, i)] as [string, Buffer]);
    const { pack, idx } = await buildPack(entries);
    const index = readPackIndex(idx, pack.length);
    if (!index) throw new Error("not read");
    expect(index.count).toBe(6);
    let offset = 12;
    for (const [oid, bytes] of entries) {
      const i = findId(index, oid);
      expect(idAt(index, i)).toBe(oid);
      expect([index.offsets[i], index.lengths[i]]).toEqual([offset, bytes.length]);
      expect(atOffset(index, offset)).toBe(i);
      offset += bytes.length;
    }
    expect(index.end).toBe(offset);
    expect(findId(index, id("abcdef01", 4))).toBe(-1);
    expect(findId(index, id("00", 0))).toBe(-1);
    expect(findId(index, "f".repeat(40))).toBe(-1);
    expect(atOffset(index, 13)).toBe(-1);
    // In the order of the pack: the order the entries were written.
    expect([...inOffsetOrder(index)].map((i) => idAt(index, i))).toEqual(oids);
  });

  it("refuses what is not a version 2 index", () => {
    expect(readPackIndex(Buffer.alloc(2000), 100)).toBeUndefined();
    const v1 = Buffer.alloc(2000);
    v1.writeUInt32BE(0xff744f63, 0);
    v1.writeUInt32BE(1, 4);
    expect(readPackIndex(v1, 100)).toBeUndefined();
  });
});
