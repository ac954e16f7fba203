/**
 * Building a git pack (version 2) and its index from entries already encoded (`[oid, header + deflated body]`),
 * for packs.ts: the pack's bytes and checksum, and the index's fan-out, ids, CRC-32s and offsets in id order.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/**
 * A pack of whole entries (each `[oid, header + deflated body]`) and its index. `pause`, when given, is awaited
 * between steps of a large pack (a merge's: at 10,000 intents, hundreds of thousands of entries) so that the event
 * loop goes on meanwhile.
 */
export async function buildPack(
  entries: readonly [string, Buffer][],
  pause: () => Promise<void> = async () => {},
): Promise<{ pack: Buffer; idx: Buffer; name: string }> {
  const head = Buffer.concat([Buffer.from("PACK"), u32(2), u32(entries.length)]);
  const hash = createHash("sha1").update(head);
  const offsets: number[] = [];
  let at = 12;
  for (let i = 0; i < entries.length; i++) {
    const bytes = (entries[i] as [string, Buffer])[1];
    offsets.push(at);
    hash.update(bytes);
    at += bytes.length;
    if ((i & 1023) === 1023) await pause();
  }
  const checksum = hash.digest();
  const pack = Buffer.concat([head, ...entries.map((e) => e[1]), checksum], at + 20);
  await pause();
  // The index, in one allocation: header, fan-out by first byte, then ids, CRC-32s and offsets, all in id order,
  // then the pack's checksum and its own. Ids are sorted as strings (native comparison, no callback per pair).
  const n = entries.length;
  const width = String(n).length;
  const order = entries
    .map(([oid], i) => `${oid}${String(i).padStart(width, "0")}`)
    .sort()
    .map((key) => Number(key.slice(40)));
  await pause();
  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const [oid] of entries) fanout[Number.parseInt(oid.slice(0, 2), 16)]++;
  let count = 0;
  for (let i = 0; i < 256; i++) {
    count += fanout[i] ?? 0;
    idx.writeUInt32BE(count, 8 + i * 4);
  }
  const ids = 8 + 256 * 4;
  const crcs = ids + n * 20;
  const offs = crcs + n * 4;
  for (let k = 0; k < n; k++) {
    const e = order[k] as number;
    const [oid, bytes] = entries[e] as [string, Buffer];
    idx.write(oid, ids + k * 20, "hex");
    idx.writeUInt32BE(crc32(bytes), crcs + k * 4);
    idx.writeUInt32BE(offsets[e] ?? 0, offs + k * 4);
    if ((k & 1023) === 1023) await pause();
  }
  checksum.copy(idx, offs + n * 4);
  createHash("sha1")
    .update(idx.subarray(0, offs + n * 4 + 20))
    .digest()
    .copy(idx, offs + n * 4 + 20);
  return { pack, idx, name: `pack-${checksum.toString("hex")}` };
}
