/**
 * Git's object format, written out here rather than taken from a git library: an object's id is the hash of
 * `<type> <size>\0<content>`; a tree is a run of `<mode> <name>\0<raw id>` entries; a commit starts with
 * `tree <id>`. The emulator's ConfigSync checks every object it reads against this, so a repository whose
 * writer has a defect is refused rather than read back as if it were valid.
 */
import { createHash } from "node:crypto";
import { GitReadError } from "./git-read-error.js";

/** The four kinds of git object. */
export type ObjectType = "blob" | "tree" | "commit" | "tag";

/** The hash functions of git's two object formats. */
export type HashAlgorithm = "sha1" | "sha256";

/** One entry of a tree object. */
export interface TreeEntry {
  /** Octal mode as git writes it: "40000" a tree, "100644"/"100755" a file, "120000" a symlink, "160000" a submodule. */
  mode: string;
  name: string;
  oid: string;
}

const HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Whether `text` is a full object id (SHA-1 or SHA-256, lower-case hex). */
export function isObjectId(text: string): boolean {
  return HEX.test(text);
}

/** The hash function of the repository an id comes from, told by its length. @throws TypeError for a non-id. */
export function hashAlgorithmOf(oid: string): HashAlgorithm {
  if (!isObjectId(oid)) throw new TypeError(`${JSON.stringify(oid)} is not a git object id`);
  return oid.length === 40 ? "sha1" : "sha256";
}

/**
 * The id git gives an object of this type and content.
 * @example objectId("blob", Buffer.from("hello\n"), "sha1") // "ce013625030ba8dba906f756967f9e9ca394464a"
 */
export function objectId(type: ObjectType, content: Buffer, algorithm: HashAlgorithm): string {
  return createHash(algorithm).update(`${type} ${content.length}\0`).update(content).digest("hex");
}

/** Whether a tree entry's mode is a file whose blob holds its content (not a folder, symlink or submodule). */
export function isFileMode(mode: string): boolean {
  // 100644 and 100755; git fsck still accepts the legacy group-writable 100664.
  return /^100[0-7]{3}$/.test(mode);
}

/** Whether a tree entry's mode is a folder. */
export function isTreeMode(mode: string): boolean {
  return mode === "40000";
}

/**
 * The entries of a tree object, in stored order. Besides the format, what `git fsck` counts as an error in a
 * tree is refused too: entries out of git's order (names compared as bytes, a folder's as if it ended in "/")
 * and a name given twice. Such a tree hashes to its id like any other, but git's own diff and checkout go wrong
 * on it, so a writer that makes one has a defect this must show.
 * @throws GitReadError (ERR_GIT_OBJECT_CORRUPT) when the content is not a well-formed tree.
 */
export function parseTree(oid: string, content: Buffer): TreeEntry[] {
  const idBytes = hashAlgorithmOf(oid) === "sha1" ? 20 : 32;
  const out: TreeEntry[] = [];
  const corrupt = (why: string) =>
    new GitReadError("ERR_GIT_OBJECT_CORRUPT", `tree ${oid} is corrupt: ${why}`, { data: { oid } });
  const names = new Set<string>();
  let previous: Buffer | undefined;
  let i = 0;
  while (i < content.length) {
    const space = content.indexOf(0x20, i);
    if (space < 0) throw corrupt(`entry at byte ${i} has no mode`);
    const mode = content.toString("latin1", i, space);
    if (!/^[0-7]{5,6}$/.test(mode)) throw corrupt(`entry at byte ${i} has mode ${JSON.stringify(mode)}`);
    const nul = content.indexOf(0, space + 1);
    if (nul < 0 || nul === space + 1) throw corrupt(`entry at byte ${i} has no name`);
    if (nul + 1 + idBytes > content.length) throw corrupt(`entry at byte ${i} is cut short`);
    const name = content.toString("utf8", space + 1, nul);
    if (name === "." || name === ".." || name.includes("/")) throw corrupt(`entry name ${JSON.stringify(name)}`);
    const key = Buffer.concat([content.subarray(space + 1, nul), Buffer.from(isTreeMode(mode) ? "/" : "")]);
    if (names.has(name)) throw corrupt(`entry ${JSON.stringify(name)} is there twice (fsck: duplicateEntries)`);
    if (previous && Buffer.compare(previous, key) >= 0)
      throw corrupt(`entry ${JSON.stringify(name)} is out of git's order (fsck: treeNotSorted)`);
    names.add(name);
    previous = key;
    out.push({ mode, name, oid: content.toString("hex", nul + 1, nul + 1 + idBytes) });
    i = nul + 1 + idBytes;
  }
  return out;
}

/**
 * The root tree of a commit object (its first header line).
 * @throws GitReadError (ERR_GIT_OBJECT_CORRUPT) when the commit does not start with a tree line.
 */
export function commitTree(oid: string, content: Buffer): string {
  const m = /^tree ([0-9a-f]{40}|[0-9a-f]{64})\n/.exec(content.toString("latin1", 0, 80));
  if (!m?.[1] || m[1].length !== oid.length)
    throw new GitReadError("ERR_GIT_OBJECT_CORRUPT", `commit ${oid} is corrupt: it does not start with a tree`, {
      data: { oid },
    });
  return m[1];
}
