/**
 * The tree of a commit being built: loaded from the parent's root tree, subtrees read on demand, changed by
 * change sets (folders removed, files written: blobs written at once), then written bottom-up, only the trees
 * on changed paths (repository.ts, commitGroupNow). The root tree, as large as the repository, is kept as its
 * bytes (sorted-tree.ts): only the names a commit looks at are read out of it, and the new root is the old one
 * with those entries spliced in.
 */
import { treeBody, type EntryMode, type ObjectWriter, type TreeEntry } from "./objects.js";
import { checkSegments } from "./paths.js";
import type { ChangeSet } from "./repository.js";
import type { SortedTree, SplicedEntry } from "./sorted-tree.js";

/** An entry of a node: a removed one stays, `gone`, in a node with a base (its removal is a change). */
interface Slot {
  mode: EntryMode;
  oid: string;
  node?: TreeNode;
  gone?: boolean;
}

/**
 * A node of the tree being rebuilt: entries loaded from the parent on demand, dirty when changed. The root may
 * have a base, the parent's root tree as bytes: then `entries` holds only the names looked at or changed.
 */
interface TreeNode {
  entries: Map<string, Slot>;
  base?: SortedTree;
  dirty: boolean;
}

export class TreeBuilder {
  readonly #read: (oid: string) => Promise<readonly TreeEntry[]>;
  readonly #objects: ObjectWriter;
  readonly #written: (oid: string, entries: readonly TreeEntry[]) => void;
  readonly #root: TreeNode = { entries: new Map(), dirty: false };
  /** The root tree last written, as bytes (the next commit's base). */
  #writtenRoot?: { oid: string; tree: SortedTree };

  /**
   * @param read a tree's entries by id
   * @param written told of each tree written (a cache of parsed trees)
   */
  constructor(
    read: (oid: string) => Promise<readonly TreeEntry[]>,
    objects: ObjectWriter,
    written: (oid: string, entries: readonly TreeEntry[]) => void,
  ) {
    this.#read = read;
    this.#objects = objects;
    this.#written = written;
  }

  /**
   * Starts from a root tree (none: an empty one); `bytes`, when given, is that tree as bytes, read from it name by
   * name instead of entry objects for all its entries.
   */
  async load(tree: string | undefined, bytes?: SortedTree): Promise<void> {
    if (!tree) return;
    if (bytes) {
      this.#root.base = bytes;
      return;
    }
    for (const e of await this.#read(tree)) this.#root.entries.set(e.name, { mode: e.mode, oid: e.oid });
  }

  /** The root tree {@link write} wrote as bytes (when it was loaded as bytes). */
  get writtenRoot(): { oid: string; tree: SortedTree } | undefined {
    return this.#writtenRoot;
  }

  /** A node's entry by name: from its entries, or its base (then kept in its entries); a removed one is none. */
  #entry(node: TreeNode, name: string): Slot | undefined {
    let e = node.entries.get(name);
    if (!e && node.base) {
      const found = node.base.get(name);
      if (found) {
        e = { mode: found.mode as EntryMode, oid: found.oid };
        node.entries.set(name, e);
      }
    }
    return e?.gone ? undefined : e;
  }

  /** Whether a change set changed the tree since it was loaded or written. */
  get dirty(): boolean {
    return this.#root.dirty;
  }

  /** Writes the changed trees; the root tree's id (the root is written even when empty). */
  async write(): Promise<string> {
    const oid = (await this.#writeTree(this.#root)) as string;
    this.#root.dirty = false;
    return oid;
  }

  /**
   * Applies one change set to the tree being rebuilt. Returns the paths it touches (each folder it removes, each
   * file it writes outside those) with what each held before ("" for nothing): compared with what they hold
   * once the trees are written, they say whether the change set changed anything.
   */
  async apply(change: ChangeSet): Promise<Map<string, string>> {
    const descend = async (node: TreeNode, name: string, create: boolean): Promise<TreeNode | undefined> => {
      const entry = this.#entry(node, name);
      if (entry && entry.mode === "40000") {
        if (!entry.node) {
          entry.node = { entries: new Map(), dirty: false };
          for (const e of await this.#read(entry.oid)) entry.node.entries.set(e.name, { mode: e.mode, oid: e.oid });
        }
        return entry.node;
      }
      if (!create) return undefined;
      const fresh: TreeNode = { entries: new Map(), dirty: true };
      node.entries.set(name, { mode: "40000", oid: "", node: fresh });
      node.dirty = true;
      return fresh;
    };
    const walkTo = async (parts: string[], create: boolean): Promise<TreeNode[] | undefined> => {
      const chain = [this.#root];
      for (const part of parts) {
        const next = await descend(chain[chain.length - 1] as TreeNode, part, create);
        if (!next) return undefined;
        chain.push(next);
      }
      return chain;
    };
    const removes = (change.remove ?? []).map((p) => p.replace(/\/+$/, ""));
    const writes = [...(change.write ?? new Map<string, string>())];
    const touched = new Map<string, string>();
    for (const path of [
      ...removes,
      ...writes.map(([p]) => p).filter((p) => !removes.some((r) => p.startsWith(`${r}/`))),
    ]) {
      touched.set(path, await this.oidAt(checkSegments(path)));
    }
    for (const prefix of removes) {
      const parts = checkSegments(prefix);
      const chain = await walkTo(parts.slice(0, -1), false);
      const last = parts[parts.length - 1];
      if (!chain || last === undefined) continue;
      const node = chain[chain.length - 1] as TreeNode;
      const entry = this.#entry(node, last);
      if (entry) {
        if (node.base) node.entries.set(last, { mode: entry.mode, oid: "", gone: true });
        else node.entries.delete(last);
        for (const n of chain) n.dirty = true;
      }
    }
    const blobIds = writes.map(([, text]) => this.#objects.writeSync("blob", Buffer.from(text, "utf8")));
    for (let i = 0; i < writes.length; i++) {
      const parts = checkSegments((writes[i] as [string, string])[0]);
      const chain = (await walkTo(parts.slice(0, -1), true)) as TreeNode[];
      const node = chain[chain.length - 1] as TreeNode;
      const name = parts[parts.length - 1] as string;
      const oid = blobIds[i] as string;
      const existing = this.#entry(node, name);
      if (existing && existing.mode !== "40000" && existing.oid === oid) continue;
      node.entries.set(name, { mode: "100644", oid });
      for (const n of chain) n.dirty = true;
    }
    return touched;
  }

  /**
   * The object at a path of the tree being rebuilt ("" for none, or for a folder changed and not written yet).
   * Trees are written first ({@link write} records each folder's new id), so after it this is the new tree.
   */
  async oidAt(parts: readonly string[]): Promise<string> {
    let node = this.#root;
    for (const [i, part] of parts.entries()) {
      const e = this.#entry(node, part);
      if (!e) return "";
      if (i === parts.length - 1) return e.node?.dirty ? "" : e.oid;
      if (e.mode !== "40000") return "";
      if (!e.node) {
        e.node = { entries: new Map(), dirty: false };
        for (const x of await this.#read(e.oid)) e.node.entries.set(x.name, { mode: x.mode, oid: x.oid });
      }
      node = e.node;
    }
    return "";
  }

  /** Writes a dirty tree bottom-up; undefined for a folder left empty (git stores none) other than the root. */
  async #writeTree(node: TreeNode): Promise<string | undefined> {
    if (node.base) return this.#writeOnBase(node, node.base);
    const entries: TreeEntry[] = [];
    for (const [name, e] of node.entries) {
      if (e.node?.dirty) {
        const oid = await this.#writeTree(e.node);
        e.node.dirty = false;
        e.oid = oid ?? "";
        if (oid) entries.push({ name, mode: "40000", oid });
      } else if (e.oid) entries.push({ name, mode: e.mode, oid: e.oid });
    }
    if (entries.length === 0 && node !== this.#root) return undefined;
    const oid = this.#objects.writeSync("tree", treeBody(entries));
    this.#written(oid, entries);
    return oid;
  }

  /** Writes the root as its base with the entries changed spliced in (the root is written even when empty). */
  async #writeOnBase(node: TreeNode, base: SortedTree): Promise<string> {
    const changes = new Map<string, SplicedEntry | undefined>();
    for (const [name, e] of node.entries) {
      if (e.node?.dirty) {
        const oid = await this.#writeTree(e.node);
        e.node.dirty = false;
        e.oid = oid ?? "";
      }
      const now = e.gone || !e.oid ? undefined : { mode: e.mode, oid: e.oid };
      const before = base.get(name);
      if (now?.oid !== before?.oid || now?.mode !== before?.mode) changes.set(name, now);
    }
    const tree = changes.size > 0 ? base.splice(changes) : base;
    const oid = this.#objects.writeSync("tree", tree.body);
    this.#writtenRoot = { oid, tree };
    return oid;
  }
}
