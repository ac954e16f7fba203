/**
 * A git repository on the local disk: the embedded default's blueprint and deployment repositories, and the
 * working copy of a remote one. Commits, trees and blobs are read directly (loose, or whole in a pack), the rest
 * through isomorphic-git (refs, fetched packs with deltas, annotated tags); commits are built by path — files
 * written, folders removed — touching only the trees on those paths, with a commit's objects written natively as
 * one pack ({@link ObjectWriter}, packs.ts). Commits to one repository are serialised, and the branch ref is
 * moved by compare-and-swap under git's own lock file (ref-lock.ts), so no writer ever loses another's commit.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import git, { type CommitObject } from "isomorphic-git";
import { CaminoError } from "../../errors.js";
import { abortReason } from "../../util/signals.js";
import {
  BoundedMap,
  commitBody,
  ObjectWriter,
  parseCommit,
  parseTree,
  type CommitFields,
  type EntryMode,
  type Signature,
  type TreeEntry,
} from "./objects.js";
import { isDescendant } from "./ancestry.js";
import { CommitBatcher, groupMessage } from "./group-commit.js";
import { moveRef } from "./ref-lock.js";
import { SortedTree } from "./sorted-tree.js";
import { TreeBuilder } from "./tree-builder.js";
import { carriesTrailers } from "./trailers.js";

export interface LocalRepositoryOptions {
  /** The work tree folder; its `.git` holds the repository. */
  dir: string;
  /** Default "main". */
  branch?: string;
  /** Author and committer of CAMINO's commits. Default "CAMINO <camino@localhost>". */
  author?: { name: string; email: string };
  /** Clock for commit times. */
  now?: () => Date;
}

/** A change to commit: files to write (path → text) and folders or files to remove, by path prefix. */
export interface ChangeSet {
  write?: ReadonlyMap<string, string>;
  remove?: readonly string[];
  message: string;
  /**
   * A commit to recognise instead of making one: the newest on the branch (first parents, after `since`,
   * which is excluded) whose trailers carry `trailers` (trailers.ts). A step run again after a crash finds the
   * commit its first run made, after the fetch for a remote, since a push whose reply was lost may have landed.
   */
  recognise?: { trailers: Readonly<Record<string, string>>; since: string | undefined };
  /**
   * What must be done before the branch moves, started by the caller (the journal write of the baseline a
   * rollback would restore): the commit is made meanwhile, and fails with its error, the branch unmoved (a group
   * commit carrying it fails as a whole).
   */
  after?: Promise<unknown>;
}

/** Options of a repository operation that may wait for others or for the network. */
export interface OperationOptions {
  /**
   * Stops the operation: the caller's signal (an RPC's or a run's, linked with the agent's shutdown). A remote
   * adds its own per-operation deadline; a local repository checks the signal only before it starts.
   */
  signal?: AbortSignal;
}

export interface CommitResult {
  /** The new commit, or the unchanged head when the change changed nothing, or the commit recognised. */
  commit: string;
  changed: boolean;
  /** Set when `commit` is an earlier commit recognised by its trailers (ChangeSet.recognise): nothing was made. */
  recognised?: boolean;
}

/** A commit made and written but not landed: {@link GitRepository.prepare}. */
export interface PreparedCommit {
  readonly change: ChangeSet;
  /** The head it was made on. */
  readonly parent: string | undefined;
  /** What landing it answers when the branch is still at `parent`. */
  readonly result: CommitResult;
  /** Its parsed fields and root tree, kept once it lands. */
  readonly fields?: CommitFields;
  readonly root?: { oid: string; tree: SortedTree };
}

/** How far back a commit is looked for by its trailers. */
const RECOGNISE_DEPTH = 1000;

/** What CAMINO needs of a repository, local or remote. */
export interface GitRepository {
  readonly branch: string;
  /** Resolves once background work on the repository's files (pack merges) is done: a clean stop waits for it. */
  settled(): Promise<void>;
  head(): Promise<string | undefined>;
  resolve(rev: string): Promise<string>;
  tags(): Promise<{ tag: string; commit: string }[]>;
  listFiles(commit?: string, prefix?: string): Promise<Map<string, string>>;
  readFiles(commit?: string, prefix?: string): Promise<Map<string, string>>;
  /** The text of one blob. */
  readBlob(oid: string): Promise<string>;
  /** Commits a change on the branch (and, for a remote, pushes it). */
  commit(change: ChangeSet, options?: OperationOptions): Promise<CommitResult>;
  /**
   * Makes a change's commit on the branch's head and writes its objects, without moving the branch (a local
   * repository only): {@link land} moves it there later, if the branch has not moved meanwhile, or commits the
   * change anew. For a commit made while the caller waits on something else (a wave's dry run on its edge); one
   * never landed leaves only objects that nothing names.
   */
  prepare?(change: ChangeSet, options?: OperationOptions): Promise<PreparedCommit>;
  /** Moves the branch to a prepared commit (waiting for the change's `after`), or commits the change anew. */
  land?(prepared: PreparedCommit, options?: OperationOptions): Promise<CommitResult>;
  /** Whether `head` is `commit` or a descendant of it. */
  isDescendant(head: string, commit: string): Promise<boolean>;
}

export class LocalGitRepository implements GitRepository {
  readonly dir: string;
  readonly gitdir: string;
  readonly branch: string;
  readonly #author: { name: string; email: string };
  readonly #now: () => Date;
  readonly #objects: ObjectWriter;
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * Commits and trees read or written here, parsed (immutable, so never stale). Bounded: 1,000 commits, and trees
   * by their entries (12,000 in all: at 10,000 intents a root tree alone has 10,000, and a cache as large as the
   * repository would grow the agent's memory with every intent deployed). Commits write the root tree as bytes
   * (`#rootTree`), not here; what is read again soon is an intent's own trees and the last commits.
   */
  readonly #commits = new BoundedMap<string, CommitFields>(1_000);
  readonly #trees = new BoundedMap<string, readonly TreeEntry[]>(12_000, (t) => t.length + 1);
  /** The last root tree committed (or read for a commit), as bytes: the next commit splices into it. */
  #rootTree: { oid: string; tree: SortedTree } | undefined;
  readonly #batcher = new CommitBatcher(this);

  constructor(options: LocalRepositoryOptions) {
    this.dir = options.dir;
    this.gitdir = join(options.dir, ".git");
    this.branch = options.branch ?? "main";
    this.#author = options.author ?? { name: "CAMINO", email: "camino@localhost" };
    this.#now = options.now ?? (() => new Date());
    this.#objects = new ObjectWriter(this.gitdir);
  }

  /** Resolves once the background merges of the repository's packs are done (packs.ts). */
  settled(): Promise<void> {
    return this.#objects.settled();
  }

  /** Creates the repository if it does not exist yet (an empty branch, no commit). */
  async init(): Promise<this> {
    if (!fs.existsSync(join(this.gitdir, "HEAD"))) await git.init({ fs, dir: this.dir, defaultBranch: this.branch });
    return this;
  }

  /** The branch's head commit, or undefined before the first commit. */
  async head(): Promise<string | undefined> {
    // The loose ref, read directly (what the agent's own commits write); a packed one through isomorphic-git.
    // Read directly: 41 bytes from the page cache cost less than the thread pool's round trips.
    let loose = "";
    try {
      loose = fs.readFileSync(join(this.gitdir, "refs", "heads", this.branch), "utf8");
    } catch {
      // No loose ref: packed, or no commit yet.
    }
    if (/^[0-9a-f]{40}\n?$/.test(loose)) return loose.trim();
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.branch}` });
    } catch (err) {
      if ((err as { code?: string }).code === "NotFoundError") return undefined;
      throw err;
    }
  }

  /** Resolves a tag, branch or commit id to a commit id. @throws CaminoError (not-found) */
  async resolve(rev: string): Promise<string> {
    try {
      let oid = /^[0-9a-f]{40}$/.test(rev) ? rev : await git.resolveRef({ fs, gitdir: this.gitdir, ref: rev });
      // Peel annotated tags. A commit read once is kept: asking again (a pinned blueprint revision, resolved for
      // every deployed intent that names it) costs a lookup, not an isomorphic-git read.
      for (let i = 0; i < 5; i++) {
        if (this.#commits.has(oid)) return oid;
        const own = this.#objects.read(oid);
        if (own?.type === "commit") {
          this.#commits.set(oid, parseCommit(own.body));
          return oid;
        }
        const { type, object } = own
          ? { type: own.type, object: { object: /^object ([0-9a-f]{40})/.exec(own.body.toString("utf8"))?.[1] } }
          : await git.readObject({ fs, gitdir: this.gitdir, oid });
        if (type === "commit") {
          const c = object as CommitObject;
          this.#commits.set(oid, { tree: c.tree, parents: c.parent, time: c.committer.timestamp, message: c.message });
          return oid;
        }
        if (type !== "tag") throw new Error(`${rev} names a ${type}, not a commit`);
        oid = (object as { object: string }).object;
      }
      throw new Error(`${rev}: tags nested too deeply`);
    } catch (err) {
      throw new CaminoError("ERR_REVISION_NOT_FOUND", `revision ${JSON.stringify(rev)} not found in ${this.dir}`, {
        cause: err,
      });
    }
  }

  /** A commit's fields, read directly when loose, through isomorphic-git when packed; kept (bounded). */
  async #readCommitObject(oid: string): Promise<CommitFields> {
    const hit = this.#commits.get(oid);
    if (hit) return hit;
    const loose = this.#objects.read(oid);
    let fields: CommitFields;
    if (loose) {
      if (loose.type !== "commit") throw new Error(`${oid} is a ${loose.type}, not a commit`);
      fields = parseCommit(loose.body);
    } else {
      const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid });
      fields = { tree: commit.tree, parents: commit.parent, time: commit.committer.timestamp, message: commit.message };
    }
    this.#commits.set(oid, fields);
    return fields;
  }

  /** Whether `head` is `commit` or a descendant of it (false when either is unknown here): ancestry.ts. */
  isDescendant(head: string, commit: string): Promise<boolean> {
    return isDescendant((oid) => this.#readCommitObject(oid), head, commit);
  }

  /** Tags with the commits they point at, sorted by name. */
  async tags(): Promise<{ tag: string; commit: string }[]> {
    const names = (await git.listTags({ fs, gitdir: this.gitdir })).sort();
    return Promise.all(names.map(async (tag) => ({ tag, commit: await this.resolve(`refs/tags/${tag}`) })));
  }

  /** The newest first-parent ancestor of `head` (itself included) after `since` whose trailers carry `trailers`. */
  async #findByTrailers(
    head: string,
    { trailers, since }: NonNullable<ChangeSet["recognise"]>,
  ): Promise<string | undefined> {
    let at: string | undefined = head;
    for (let i = 0; at && at !== since && i < RECOGNISE_DEPTH; i++) {
      const commit = await this.#readCommitObject(at);
      if (carriesTrailers(commit.message, trailers)) return at;
      at = commit.parents[0];
    }
    return undefined;
  }

  /**
   * A root tree as bytes: the one last committed, or read whole from the object store (undefined when only
   * isomorphic-git can read it; the commit then reads its entries).
   */
  #sortedRoot(oid: string): SortedTree | undefined {
    if (this.#rootTree?.oid === oid) return this.#rootTree.tree;
    const found = this.#objects.read(oid);
    const tree = found?.type === "tree" ? SortedTree.parse(found.body) : undefined;
    if (tree) this.#rootTree = { oid, tree };
    return tree;
  }

  /** A tree's entries, read directly when loose, through isomorphic-git when packed; kept (bounded). */
  async #readTree(oid: string): Promise<readonly TreeEntry[]> {
    const hit = this.#trees.get(oid);
    if (hit) return hit;
    const loose = this.#objects.read(oid);
    let entries: TreeEntry[];
    if (loose) {
      if (loose.type !== "tree") throw new Error(`${oid} is a ${loose.type}, not a tree`);
      entries = parseTree(loose.body);
    } else {
      const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid });
      entries = tree.map((e) => ({
        name: e.path,
        mode: (e.mode === "040000" ? "40000" : e.mode) as EntryMode,
        oid: e.oid,
      }));
    }
    this.#trees.set(oid, entries);
    return entries;
  }

  /** Every file at a commit (default: head) under an optional folder: path → blob id. */
  async listFiles(commit?: string, prefix = ""): Promise<Map<string, string>> {
    const at = commit ?? (await this.head());
    const out = new Map<string, string>();
    if (!at) return out;
    const c = await this.#readCommitObject(at);
    // Down the prefix's folders by name (a root tree of 10,000 intents is not looked through entry by entry),
    // then everything under it.
    const parts = prefix ? prefix.replace(/\/+$/, "").split("/") : [];
    const entriesOf = async (treeOid: string, name: string | undefined): Promise<readonly TreeEntry[]> => {
      // One name of the root tree last committed: read out of its bytes.
      const root = this.#rootTree;
      if (name === undefined || root?.oid !== treeOid) return this.#readTree(treeOid);
      const e = root.tree.get(name);
      return e ? [{ name, mode: e.mode as EntryMode, oid: e.oid }] : [];
    };
    const walk = async (treeOid: string, base: string, depth: number): Promise<void> => {
      const next = parts[depth];
      for (const e of await entriesOf(treeOid, next)) {
        if (next !== undefined && e.name !== next) continue;
        const p = base ? `${base}/${e.name}` : e.name;
        if (e.mode === "40000") await walk(e.oid, p, depth + 1);
        else if (depth >= parts.length - 1) out.set(p, e.oid);
      }
    };
    await walk(c.tree, "", 0);
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** A blob's text: read directly when loose or whole in a pack, through isomorphic-git otherwise. */
  async readBlob(oid: string): Promise<string> {
    const direct = this.#objects.read(oid);
    if (direct) {
      if (direct.type !== "blob") throw new Error(`${oid} is a ${direct.type}, not a blob`);
      return direct.body.toString("utf8");
    }
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid });
    return Buffer.from(blob).toString("utf8");
  }

  /** The text of every file at a commit under a folder: path → text. */
  async readFiles(commit?: string, prefix = ""): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [path, oid] of await this.listFiles(commit, prefix)) out.set(path, await this.readBlob(oid));
    return out;
  }

  /**
   * Commits a change set on the branch. Serialised with every other commit to this repository; the change sets
   * that wait for their turn together are made one commit (a group commit: {@link commitGroupNow}), which
   * names each intent in its trailers. A signal that aborts before the commit's turn comes stops it (a commit
   * that has started runs to its end: it is local).
   */
  commit(change: ChangeSet, options: OperationOptions = {}): Promise<CommitResult> {
    return this.#batcher.add(change, options.signal);
  }

  /**
   * Runs `fn` after every earlier exclusive operation on this repository, and before any later one. When
   * `signal` aborts before `fn` has started, the call rejects at once with its reason and `fn` never runs; once
   * `fn` has started, the call waits for it (`fn` watches the signal itself), so the repository is settled
   * when the caller hears.
   */
  exclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let started = false;
    const run = this.#queue.then(() => {
      if (signal?.aborted) throw abortReason(signal);
      started = true;
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    if (!signal) return run;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (!started) reject(abortReason(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /**
   * Points the branch at a commit (after a fetch), or removes it (undefined: back to no commit), without the
   * serialisation of {@link commit}.
   */
  async setHead(oid: string | undefined): Promise<void> {
    const ref = `refs/heads/${this.branch}`;
    if (oid === undefined) await git.deleteRef({ fs, gitdir: this.gitdir, ref });
    else await git.writeRef({ fs, gitdir: this.gitdir, ref, value: oid, force: true });
  }

  /** {@link commit} without serialisation; callers hold {@link exclusive}. */
  async commitNow(change: ChangeSet): Promise<CommitResult> {
    return (await this.commitGroupNow([change]))[0] as CommitResult;
  }

  /**
   * Makes one commit of several change sets, applied in order, each confined to its own paths (a later one wins
   * a path both write); without serialisation (callers hold {@link exclusive}). Each gets its own answer: the
   * commit and whether it changed anything; a change set with `recognise` whose commit is found gets that one
   * and takes no part. One change set keeps its message; several get one subject, each one's subject listed, and
   * every one's trailers in the last paragraph, a set per intent (trailers.ts).
   */
  async commitGroupNow(changes: readonly ChangeSet[]): Promise<CommitResult[]> {
    // The commit's objects are gathered and written as one pack before the branch moves (packs.ts).
    this.#objects.begin();
    try {
      return await this.#commitGroup(changes);
    } finally {
      this.#objects.discard();
    }
  }

  async #commitGroup(changes: readonly ChangeSet[]): Promise<CommitResult[]> {
    const made = await this.#make(changes);
    if (!made.commit) return made.results;
    // The pack is written while what the change sets wait for goes on; both are done before the branch moves.
    const before = changes.flatMap((c) => (c.after ? [c.after] : []));
    const written = this.#objects.flush();
    const ready = before.length === 0 ? written : settleAll([written, ...before]);
    await moveRef(this.gitdir, this.branch, made.parent, made.commit.oid, () => this.head(), ready);
    this.#landed(made.commit.oid, made.commit.fields, made.commit.root);
    return made.results;
  }

  /**
   * The commit of `changes` on the head, its objects gathered (not written): each change set's answer, and the
   * commit when one is to be made.
   */
  async #make(changes: readonly ChangeSet[]): Promise<{
    parent: string | undefined;
    results: CommitResult[];
    commit?: { oid: string; fields: CommitFields; root?: { oid: string; tree: SortedTree } };
  }> {
    const parent = await this.head();
    const results: (CommitResult | undefined)[] = changes.map(() => undefined);
    if (parent) {
      for (const [i, change] of changes.entries()) {
        if (!change.recognise) continue;
        const found = await this.#findByTrailers(parent, change.recognise);
        if (found) results[i] = { commit: found, changed: false, recognised: true };
      }
    }
    let parentTree: string | undefined;
    if (parent) parentTree = (await this.#readCommitObject(parent)).tree;
    const tb = new TreeBuilder(
      (oid) => this.#readTree(oid),
      this.#objects,
      (oid, entries) => this.#trees.set(oid, entries),
    );
    await tb.load(parentTree, parentTree ? this.#sortedRoot(parentTree) : undefined);
    const touched: Map<string, string>[] = [];
    for (const [i, change] of changes.entries()) touched[i] = results[i] ? new Map() : await tb.apply(change);
    // The root tree is written even when empty (a first commit of nothing is an empty tree).
    const tree = tb.dirty || !parentTree ? await tb.write() : parentTree;
    const changed: boolean[] = [];
    for (const [i, paths] of touched.entries()) {
      changed[i] = false;
      for (const [path, before] of paths) {
        if ((await tb.oidAt(path.split("/"))) === before && before !== "") continue;
        if (before === "" && (await tb.oidAt(path.split("/"))) === "") continue;
        changed[i] = true;
        break;
      }
    }
    const made = changes.filter((_, i) => changed[i]);
    if ((parent && tree === parentTree) || made.length === 0) {
      return { parent, results: changes.map((_, i) => results[i] ?? { commit: parent ?? "", changed: false }) };
    }
    const author: Signature = { ...this.#author, timestamp: Math.floor(this.#now().getTime() / 1000) };
    const body = commitBody(tree, parent ? [parent] : [], author, groupMessage(made.map((c) => c.message)));
    const commit = this.#objects.writeSync("commit", body);
    return {
      parent,
      results: changes.map((_, i) => results[i] ?? { commit, changed: changed[i] as boolean }),
      commit: { oid: commit, fields: parseCommit(body), ...(tb.writtenRoot && { root: tb.writtenRoot }) },
    };
  }

  /** Keeps what a commit that moved the branch built on: its root tree (the next commit splices into it), parsed. */
  #landed(commit: string, fields: CommitFields, root: { oid: string; tree: SortedTree } | undefined): void {
    if (root) this.#rootTree = root;
    this.#commits.set(commit, fields);
  }

  /**
   * {@link GitRepository.prepare}: the commit made and its pack written (fsynced) in the repository's turn, the
   * branch left where it is. A change set that is to recognise an earlier commit is not prepared: it lands as a
   * commit does.
   */
  prepare(change: ChangeSet, options: OperationOptions = {}): Promise<PreparedCommit> {
    if (change.recognise) return Promise.resolve({ change, parent: undefined, result: { commit: "", changed: false } });
    return this.exclusive(async () => {
      this.#objects.begin();
      try {
        const made = await this.#make([change]);
        // Its pack is merged only once it lands: merged as any pack is (soon after it is written), the merge ran
        // before the commit landed and its edge read it, and READY at 10,000 intents came 10-40 ms later.
        await this.#objects.flush({ merge: false });
        const result = made.results[0] as CommitResult;
        return made.commit
          ? { change, parent: made.parent, result, fields: made.commit.fields, root: made.commit.root }
          : { change, parent: made.parent, result };
      } finally {
        this.#objects.discard();
      }
    }, options.signal);
  }

  /**
   * {@link GitRepository.land}: in the repository's turn, the branch moved from the prepared commit's parent to it
   * once the change's `after` is done, when the branch is still there; otherwise (the branch moved, or nothing
   * was prepared) the change is committed as {@link commitNow} does.
   */
  land(prepared: PreparedCommit, options: OperationOptions = {}): Promise<CommitResult> {
    const { change, parent, result, fields } = prepared;
    return this.exclusive(async () => {
      const head = await this.head();
      if (head !== parent || change.recognise) return this.commitNow(change);
      if (!result.changed || !fields) return result;
      await moveRef(this.gitdir, this.branch, parent, result.commit, () => this.head(), change.after);
      this.#landed(result.commit, fields, prepared.root);
      this.#objects.mergeSoon();
      return result;
    }, options.signal);
  }
}

/** Resolves once every promise has settled; rejects then with the first failure, if any. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  for (const x of await Promise.allSettled(promises)) if (x.status === "rejected") throw x.reason;
}
