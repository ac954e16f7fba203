/**
 * Git's object format, written out here rather than taken from a git library: an object's id is the hash of
 * `<type> <size>\0<content>`; a tree is a run of `<mode> <name>\0<raw id>` entries (read in tree-object.ts); a
 * commit starts with `tree <id>`. The emulator's ConfigSync checks every object it reads against this, so a
 * repository whose writer has a defect is refused rather than read back as if it were valid.
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
