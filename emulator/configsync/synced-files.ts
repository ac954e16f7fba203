/**
 * The files of the commit a sync last read, each with the objects parsed from it, and how each new commit
 * changes them. A new commit is read as its difference from the last one (`git diff-tree`): only changed files
 * are read and parsed, and nothing is done per file of the repository; the whole tree is read on the first
 * read, for another reader or folder, and when asked to.
 */
import { parseAllDocuments } from "yaml";
import { readBlockYaml } from "./block-yaml.js";
import { isFileMode } from "./git-objects.js";
import type { GitReader } from "./git-reader.js";

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

/** A file of the repository as last synced: its blob and the objects parsed from it. */
export interface SyncedFile {
  oid: string;
  objects: Obj[];
}

/** A source problem with its ConfigSync error code. */
export class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const byPath = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0);

export class SyncedFiles {
  /** Path → file. In path order after a whole read; a changed read adds new paths at the end. */
  #files = new Map<string, SyncedFile>();
  /** Where the files were read: the reader, commit and folder; the next commit is read as a diff from it. */
  #at?: { reader: GitReader; commit: string; dir: string };

  get size(): number {
    return this.#files.size;
  }

  get(path: string): SyncedFile | undefined {
    return this.#files.get(path);
  }

  /** Every file, in path order (costs the repository's size: for rounds that look at everything). */
  sorted(): [string, SyncedFile][] {
    return [...this.#files].sort(byPath);
  }

  /**
   * Brings the files to `commit` of `dir`: read in full (every tree checked) when nothing is known of this reader
   * and folder or when `full`; otherwise as the change from the last commit read. Only new blobs are read and
   * parsed. Returns the paths whose file changed, each with the file it had before (undefined for a new path).
   * Nothing changes when a read or parse fails.
   * @throws SourceError (KNV1007) for a file that is not YAML (the first in path order), or what git throws
   */
  async read(
    reader: GitReader,
    commit: string,
    dir: string,
    full: boolean,
  ): Promise<Map<string, SyncedFile | undefined>> {
    const known = this.#at?.reader === reader && this.#at.dir === dir ? this.#files : undefined;
    const at = this.#at?.commit;
    if (known && at === commit && !full) return new Map();
    const whole = !(known && at && !full);
    const removed = new Set<string>();
    let wanted: Map<string, string>;
    if (whole) {
      wanted = await reader.listFiles(commit, dir);
    } else {
      wanted = new Map();
      for (const c of await reader.changes(at as string, commit, dir)) {
        removed.add(c.path);
        if (c.from) removed.add(c.from);
        if (c.status !== "D" && isFileMode(c.newMode)) wanted.set(c.path, c.newOid);
      }
    }
    const blobs = await Promise.all(
      [...wanted].map(async ([path, oid]) => {
        const same = known?.get(path);
        return [path, same?.oid === oid ? same : await reader.readBlob(oid)] as [string, SyncedFile | Buffer];
      }),
    );
    // Parsed in path order, so the first file that is not YAML is the one reported.
    const read: [string, SyncedFile][] = blobs
      .sort(byPath)
      .map(([path, blob]) => [
        path,
        Buffer.isBuffer(blob)
          ? { oid: wanted.get(path) as string, objects: parseObjects(new Map([[path, blob.toString("utf8")]])) }
          : blob,
      ]);
    const changed = new Map<string, SyncedFile | undefined>();
    if (whole) {
      const next = new Map(read);
      for (const [path, f] of this.#files) if (next.get(path) !== f) changed.set(path, f);
      for (const [path] of read) if (!this.#files.has(path)) changed.set(path, undefined);
      this.#files = next;
    } else {
      for (const path of removed) {
        const before = this.#files.get(path);
        if (before && !wanted.has(path)) {
          changed.set(path, before);
          this.#files.delete(path);
        }
      }
      for (const [path, f] of read) {
        const before = this.#files.get(path);
        if (before === f) continue;
        changed.set(path, before);
        this.#files.set(path, f);
      }
    }
    this.#at = { reader, commit, dir };
    return changed;
  }
}

/**
 * Every object of the YAML files of a folder, local-config ones left out, as ConfigSync reads unstructured
 * repos. @throws SourceError (KNV1007) for a file that is not valid YAML: nothing of the commit is applied.
 */
export function parseObjects(files: ReadonlyMap<string, string>): Obj[] {
  const out: Obj[] = [];
  for (const [path, text] of files) {
    if (!/\.(ya?ml|json)$/.test(path) && !path.endsWith("Kptfile")) continue;
    for (const o of readBlockYaml(text) ?? parseDocuments(path, text)) {
      if (!o || typeof o !== "object" || Array.isArray(o)) continue;
      const obj = o as Obj;
      const local = get(obj, "metadata", "annotations", "config.kubernetes.io/local-config");
      if (local !== undefined && String(local) !== "false") continue;
      out.push(obj);
    }
  }
  return out;
}

/** The documents of a file `yaml` reads (any YAML), each as a value. @throws SourceError (KNV1007) if not YAML. */
function parseDocuments(path: string, text: string): unknown[] {
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : []) {
    const problem = doc.errors[0];
    if (problem)
      throw new SourceError(
        "1007",
        `${path} is not valid YAML: ${(problem.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
      );
  }
  return (Array.isArray(docs) ? docs : []).map((doc) => doc.toJS() as unknown);
}
