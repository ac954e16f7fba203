/**
 * The domain's key ring: the key that signs now, and every public key published now, through a rotation
 * without downtime (docs/federation.md, "Key rotation").
 *
 * On disk it is the single private JWK file every domain already has (`auth.signingKeyFile`), plus, only while a
 * rotation is under way, a sibling `<signingKeyFile>.next.json` (mode 0600):
 *
 *     {"version": 1, "createdAt": "…", "activatesAt": "…", "retiresAt": "…", "key": {<private JWK>}}
 *
 * What the ring answers is a function of the clock alone, so every process reading the files agrees:
 *
 * | time                      | signs with | published        |
 * | ------------------------- | ---------- | ---------------- |
 * | no next file              | key file   | key file         |
 * | before `activatesAt`      | key file   | key file + next  |
 * | before `retiresAt`        | next       | key file + next  |
 * | from `retiresAt`          | next       | next             |
 *
 * From `retiresAt` the rotation is finished; {@link KeyRing.settle} (run at load and before a rotation) makes it
 * durable: the next key replaces the key file (written aside, then renamed over it) and the next file is removed.
 * A crash between the two leaves a next file holding the key file's key, which the next load removes. When given
 * a `jwksFile`, the ring rewrites it (public keys only) whenever it writes the key files.
 */
import { randomBytes } from "node:crypto";
import { chmod, readFile, rename, unlink, writeFile } from "node:fs/promises";
import type { JWK } from "jose";
import { CaminoError } from "../errors.js";
import {
  generateSigningKey,
  importSigningKey,
  loadSigningKey,
  SIGNING_ALGORITHMS,
  type Jwks,
  type SigningAlgorithm,
  type SigningKey,
} from "./keys.js";

/** The longest lifetime of a federation token: the previous key stays published this long after it stops signing. */
const DEFAULT_RETIRE_AFTER_SECONDS = 300;
/** Used when the caller gives no overlap: 3 × a 5-minute peer refresh interval. */
const DEFAULT_OVERLAP_SECONDS = 900;

/** The options of {@link loadKeyRing}. */
export interface KeyRingOptions {
  /** The current private JWK file (`auth.signingKeyFile`). The next key lives beside it, see {@link nextKeyFile}. */
  keyFile: string;
  /**
   * Seconds from a rotation until the next key signs: the time peers have to fetch its announcement. Pass
   * `federation.keyOverlapSeconds` (at least 3× the peers' refresh interval). Default 900.
   */
  overlapSeconds?: number;
  /**
   * Seconds the previous key stays published after the next one starts signing, so tokens it signed stay valid to
   * their end. Default 300, the longest federation token lifetime. Northbound tokens from `camino token` live up
   * to `auth.maxTokenLifetimeSeconds`; pass that to keep them valid through a rotation.
   */
  retireAfterSeconds?: number;
  /** The clock. Default the system clock. */
  now?: () => Date;
  /** Never write (for `camino token`): a finished rotation is followed in memory but not made durable. */
  readOnly?: boolean;
  /**
   * The public JWKS file `camino keys generate` wrote beside the key, when peers are configured with it: rewritten
   * with every published key when a rotation starts and when it is settled, so a peer that reads it later (at its
   * start) trusts the keys published then. Peers already running follow announcements, not this file.
   */
  jwksFile?: string;
}

/** A rotation under way. */
export interface KeyRotation {
  /** The key that signed when the rotation began. */
  previousKeyId: string;
  /** The announced key. */
  nextKeyId: string;
  algorithm: SigningAlgorithm;
  createdAt: Date;
  /** When the next key starts signing. */
  activatesAt: Date;
  /** When the previous key leaves the published keys. */
  retiresAt: Date;
}

/** The domain's keys. `current()` and `published()` are cheap and synchronous: call them on every use. */
export interface KeyRing {
  /** The key that signs now. */
  current(): SigningKey;
  /** Every public key valid now: the same object until the set changes. */
  published(): Jwks;
  /** The rotation under way, until its previous key retires; undefined when none. */
  rotation(): KeyRotation | undefined;
  /**
   * Creates the next key and announces it at once (it is published from now); it signs from now + overlap, and
   * the current key retires `retireAfterSeconds` later.
   * @throws CaminoError ERR_KEY_ROTATION_PENDING while a rotation is under way.
   */
  rotate(algorithm?: SigningAlgorithm): Promise<KeyRotation>;
  /** Makes a finished rotation durable (see the file comment). True when it changed the files. */
  settle(): Promise<boolean>;
}

/** Where the next key of `keyFile` is kept during a rotation. */
export function nextKeyFile(keyFile: string): string {
  return `${keyFile}.next.json`;
}

/** The next key's file, as written. */
interface NextKeyDocument {
  version: 1;
  createdAt: string;
  activatesAt: string;
  retiresAt: string;
  key: JWK;
}

interface Next {
  key: SigningKey;
  privateJwk: JWK;
  rotation: KeyRotation;
  /** The published sets while both keys are, and once only the next is. */
  both: Jwks;
  alone: Jwks;
}

/** Writes `text` to `path` with mode 0600 through a temporary file renamed over it, so readers see old or new. */
async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: "wx" });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes a public file the same way (old or new, never half), readable by all. */
async function writePublic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644, flag: "wx" });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function date(value: unknown, field: string, file: string): Date {
  const d = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    throw new CaminoError("ERR_KEY_UNREADABLE", `next key file ${file}: ${field} is not a time`);
  }
  return d;
}

async function readNext(file: string, previousKeyId: string): Promise<Next | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CaminoError("ERR_KEY_UNREADABLE", `next key file ${file} cannot be read`, { cause: err });
  }
  let doc: Partial<NextKeyDocument>;
  try {
    doc = JSON.parse(text) as Partial<NextKeyDocument>;
  } catch (err) {
    throw new CaminoError("ERR_KEY_UNREADABLE", `next key file ${file} is not JSON`, { cause: err });
  }
  if (doc === null || typeof doc !== "object" || doc.version !== 1 || !doc.key || typeof doc.key !== "object") {
    throw new CaminoError("ERR_KEY_UNREADABLE", `next key file ${file} is not a version 1 next key`);
  }
  const key = await importSigningKey(doc.key, `next key file ${file}`);
  const rotation: KeyRotation = {
    previousKeyId: previousKeyId,
    nextKeyId: key.kid,
    algorithm: key.alg,
    createdAt: date(doc.createdAt, "createdAt", file),
    activatesAt: date(doc.activatesAt, "activatesAt", file),
    retiresAt: date(doc.retiresAt, "retiresAt", file),
  };
  return { key, privateJwk: doc.key, rotation, both: { keys: [] }, alone: { keys: [key.publicJwk] } };
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) throw new TypeError(`${name} must be a whole number of seconds, 0 or more`);
  return v;
}

/**
 * Loads the key ring of `options.keyFile` (and its next key, during a rotation), settling a finished rotation
 * unless read-only.
 * @example const ring = await loadKeyRing({ keyFile: config.auth.signingKeyFile, overlapSeconds: 900 });
 */
export async function loadKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const now = options.now ?? (() => new Date());
  const overlap = nonNegative(options.overlapSeconds, DEFAULT_OVERLAP_SECONDS, "overlapSeconds");
  const retireAfter = nonNegative(options.retireAfterSeconds, DEFAULT_RETIRE_AFTER_SECONDS, "retireAfterSeconds");
  const nextFile = nextKeyFile(options.keyFile);

  let key = await loadSigningKey(options.keyFile);
  let alone: Jwks = { keys: [key.publicJwk] };
  let next = await readNext(nextFile, key.kid);
  const adopt = (n: Next | undefined) => {
    if (n) n.both = { keys: [key.publicJwk, n.key.publicJwk] };
    next = n;
  };
  if (next && next.key.kid === key.kid) {
    // A settle that renamed the next key over the key file and stopped before removing the next file.
    if (!options.readOnly) await unlink(nextFile).catch(() => undefined);
    next = undefined;
  }
  adopt(next);
  let rotating = false;

  const phase = (): "none" | "announced" | "active" | "retired" => {
    if (!next) return "none";
    const t = now().getTime();
    if (t < next.rotation.activatesAt.getTime()) return "announced";
    if (t < next.rotation.retiresAt.getTime()) return "active";
    return "retired";
  };

  const writeJwks = async () => {
    if (options.jwksFile && !options.readOnly) {
      await writePublic(options.jwksFile, `${JSON.stringify(ring.published(), null, 2)}\n`);
    }
  };

  const ring: KeyRing = {
    current() {
      const p = phase();
      return p === "none" || p === "announced" ? key : (next as Next).key;
    },
    published() {
      const p = phase();
      return p === "none" ? alone : p === "retired" ? (next as Next).alone : (next as Next).both;
    },
    rotation() {
      const p = phase();
      return p === "announced" || p === "active" ? { ...(next as Next).rotation } : undefined;
    },
    async settle() {
      if (options.readOnly || phase() !== "retired") return false;
      const n = next as Next;
      await writePrivate(options.keyFile, `${JSON.stringify(n.privateJwk, null, 2)}\n`);
      key = n.key;
      alone = n.alone;
      next = undefined;
      await unlink(nextFile).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      await writeJwks();
      return true;
    },
    async rotate(algorithm = "EdDSA") {
      if (options.readOnly) throw new TypeError("this key ring is read-only");
      if (!SIGNING_ALGORITHMS.includes(algorithm)) {
        throw new CaminoError("ERR_REQUEST_INVALID", `algorithm must be one of ${SIGNING_ALGORITHMS.join(", ")}`);
      }
      if (rotating) throw new CaminoError("ERR_KEY_ROTATION_PENDING", "a key rotation is being written now");
      rotating = true;
      try {
        await ring.settle();
        const pending = ring.rotation();
        if (pending) {
          throw new CaminoError(
            "ERR_KEY_ROTATION_PENDING",
            `a key rotation is under way: key ${pending.nextKeyId} signs from ${pending.activatesAt.toISOString()} and key ${pending.previousKeyId} retires at ${pending.retiresAt.toISOString()}; rotate again after that`,
            { data: { nextKeyId: pending.nextKeyId, retiresAt: pending.retiresAt.toISOString() } },
          );
        }
        const generated = await generateSigningKey(algorithm);
        const createdAt = new Date(Math.floor(now().getTime() / 1000) * 1000);
        const activatesAt = new Date(createdAt.getTime() + overlap * 1000);
        const retiresAt = new Date(activatesAt.getTime() + retireAfter * 1000);
        const doc: NextKeyDocument = {
          version: 1,
          createdAt: createdAt.toISOString(),
          activatesAt: activatesAt.toISOString(),
          retiresAt: retiresAt.toISOString(),
          key: generated.privateJwk,
        };
        await writePrivate(nextFile, `${JSON.stringify(doc, null, 2)}\n`);
        const n = await readNext(nextFile, key.kid);
        adopt(n);
        await writeJwks();
        return { ...(n as Next).rotation };
      } finally {
        rotating = false;
      }
    },
  };
  await ring.settle();
  return ring;
}
