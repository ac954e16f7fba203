/**
 * How the emulator's ConfigSync reads a repository: through the real `git` CLI, never through the agent's git
 * code, so that what the agent writes is read back by an independent implementation (the
 * emulator is a test double, and a double that shares the code under test cannot catch its defects).
 *
 *  - Objects come from one long-lived `git cat-file --batch` ({@link CatFileBatch}), each checked against its
 *    id; trees ({@link TreeObject}) and commits are checked here. A corrupt object is an error, never content.
 *  - What changed between two commits comes from one long-lived `git diff-tree --stdin` ({@link DiffTreeBatch}),
 *    and is checked against the same difference worked out from the checked trees.
 *  - A remote (http or https) is fetched by `git fetch` into a bare mirror in a temp folder of its own, with
 *    its credentials in an `Authorization` header given through git's environment (`GIT_CONFIG_*`), never on
 *    the command line, where `ps` would show them, and never in a message.
 *
 * Every git process has a bound, and {@link GitReader.close} ends them all and waits for them to exit.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { CatFileBatch, type GitObject } from "./cat-file-batch.js";
import type { ChangedPath } from "./changed-paths.js";
import { DiffTreeBatch } from "./diff-tree-batch.js";
import { GitReadError } from "./git-read-error.js";
import { commitTree, isFileMode, isObjectId, isTreeMode, type TreeEntry } from "./git-objects.js";
import { runGit } from "./run-git.js";
import { diffTrees, TreeObject } from "./tree-object.js";

export interface GitReaderOptions {
  /**
   * The repository: a local folder (a work tree with its `.git`, or a bare repository; `file://` allowed), or an
   * `http://` / `https://` URL, which is mirrored.
   */
  repository: string;
  /** Where a remote's mirror is made (a new folder inside it, removed by {@link GitReader.close}). Default the OS temp folder. */
  tempDir?: string;
  /** Bound on one git command (a fetch, a diff) and on the wait for one object, in ms. Default 30000. */
  timeoutMs?: number;
  /** The git executable. Default "git". */
  git?: string;
}

/** Credentials for a remote: sent as HTTP Basic auth (a token is the password). */
export interface GitCredentials {
  username: string;
  password: string;
}

export interface FetchOptions {
  /** The branch to mirror. */
  branch: string;
  /** Mirror the tags too (for a revision that names one). Default false. */
  tags?: boolean;
  credentials?: GitCredentials;
}

/** Trees kept parsed per reader (trees are immutable by id; the root and changed folders are read each commit). */
const TREE_CACHE = 2048;

/**
 * A ref or revision name git may be asked for: no option-like start, no spaces or control characters, none of
 * the characters of git's revision syntax. Conservative on purpose: the names come from a RootSync's spec.
 */
function checkName(kind: string, name: string): void {
  if (
    !/^[A-Za-z0-9._/@+-]{1,255}$/.test(name) ||
    name.startsWith("-") ||
    name.includes("..") ||
    name.includes("@{") ||
    name.endsWith(".lock") ||
    name.endsWith("/")
  )
    throw new GitReadError("ERR_GIT_OBJECT_MISSING", `${kind} ${JSON.stringify(name)} is not a valid git name`, {
      data: { [kind]: name },
    });
}

/** A URL without its user:password part, for the command line and for messages. */
function withoutUserInfo(url: URL): string {
  const u = new URL(url.href);
  u.username = "";
  u.password = "";
  return u.href;
}

/** Reads one repository, local or remote, through git. */
export class GitReader {
  readonly #o: Required<GitReaderOptions>;
  /** For a remote: the URL to fetch (no user info) and the credentials the URL carried, if any. */
  readonly #remote: { url: string; credentials?: GitCredentials } | undefined;
  #gitDir: string | undefined;
  #mirrorRoot: string | undefined;
  #mirroring: Promise<string> | undefined;
  #batch: CatFileBatch | undefined;
  #diffs: DiffTreeBatch | undefined;
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  readonly #trees = new Map<string, TreeObject>();
  readonly #commits = new Map<string, string>();

  constructor(options: GitReaderOptions) {
    this.#o = { tempDir: tmpdir(), timeoutMs: 30_000, git: "git", ...options };
    if (/^https?:\/\//i.test(options.repository)) {
      let url: URL;
      try {
        url = new URL(options.repository);
      } catch {
        throw new TypeError("repository is not a valid URL");
      }
      const credentials = url.username
        ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
        : undefined;
      this.#remote = { url: withoutUserInfo(url), ...(credentials ? { credentials } : {}) };
    }
  }

  /** Whether the repository is fetched from a URL (rather than read where it is). */
  get remote(): boolean {
    return this.#remote !== undefined;
  }

  /** What git sees of its environment: nothing of this process's but PATH, no user or system config. */
  #env(extraConfig: Record<string, string> = {}): Record<string, string> {
    const config: Record<string, string> = {
      // A fetch must not leave `git gc --auto` or maintenance running behind it.
      "gc.auto": "0",
      "maintenance.auto": "false",
      "credential.helper": "",
      "core.askPass": "",
      // git's own bound on a stalled transfer, which holds even if this process is gone.
      "http.lowSpeedLimit": "1",
      "http.lowSpeedTime": String(Math.max(1, Math.ceil(this.#o.timeoutMs / 1000))),
      ...extraConfig,
    };
    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: this.#o.tempDir,
      LC_ALL: "C",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_OPTIONAL_LOCKS: "0",
      GIT_LITERAL_PATHSPECS: "1",
      GIT_CONFIG_COUNT: String(Object.keys(config).length),
    };
    for (const [i, [k, v]] of Object.entries(config).entries()) {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    }
    if (this.#gitDir) env["GIT_DIR"] = this.#gitDir;
    return env;
  }

  /** Runs a git command that this reader waits for on close. */
  #git(args: readonly string[], env: Record<string, string>, describe?: string): Promise<Buffer> {
    const run = runGit(args, {
      env,
      timeoutMs: this.#o.timeoutMs,
      signal: this.#abort.signal,
      git: this.#o.git,
      ...(describe ? { describe } : {}),
    });
    this.#running.add(run);
    const forget = () => this.#running.delete(run);
    run.then(forget, forget);
    return run;
  }

  /** The git directory, found (local) or created (a remote's mirror) on first use. */
  #repository(): Promise<string> {
    if (this.#abort.signal.aborted)
      return Promise.reject(new GitReadError("ERR_GIT_CLOSED", "the repository reader is closed"));
    if (this.#gitDir) return Promise.resolve(this.#gitDir);
    if (!this.#remote) {
      const dir = resolvePath(this.#o.repository.replace(/^file:\/\//, ""));
      if (existsSync(join(dir, ".git"))) this.#gitDir = join(dir, ".git");
      else if (existsSync(join(dir, "HEAD")) && existsSync(join(dir, "objects"))) this.#gitDir = dir;
      else
        return Promise.reject(
          new GitReadError("ERR_GIT_NOT_A_REPOSITORY", `${dir} is not a git repository`, { data: { repository: dir } }),
        );
      return Promise.resolve(this.#gitDir);
    }
    // One mirror, however many callers ask at once.
    this.#mirroring ??= (async () => {
      const root = mkdtempSync(join(this.#o.tempDir, "camino-configsync-"));
      this.#mirrorRoot = root;
      const mirror = join(root, "mirror.git");
      try {
        await this.#git(["init", "--quiet", "--bare", mirror], this.#env(), "init");
      } catch (err) {
        this.#mirroring = undefined;
        await rm(root, { recursive: true, force: true });
        throw err;
      }
      this.#gitDir = mirror;
      return mirror;
    })();
    return this.#mirroring;
  }

  async #read(name: string): Promise<GitObject | undefined> {
    const gitDir = await this.#repository();
    // Checked again after the await: a reader closed meanwhile must not start a process.
    if (this.#abort.signal.aborted) throw new GitReadError("ERR_GIT_CLOSED", "the repository reader is closed");
    this.#batch ??= new CatFileBatch({ gitDir, env: this.#env(), timeoutMs: this.#o.timeoutMs, git: this.#o.git });
    return this.#batch.read(name);
  }

  async #diff(fromTree: string, toTree: string): Promise<ChangedPath[]> {
    const gitDir = await this.#repository();
    if (this.#abort.signal.aborted) throw new GitReadError("ERR_GIT_CLOSED", "the repository reader is closed");
    this.#diffs ??= new DiffTreeBatch({ gitDir, env: this.#env(), timeoutMs: this.#o.timeoutMs, git: this.#o.git });
    return this.#diffs.diff(fromTree, toTree);
  }

  async #object(oid: string, type: GitObject["type"]): Promise<Buffer> {
    const o = await this.#read(oid);
    if (!o) throw new GitReadError("ERR_GIT_OBJECT_MISSING", `${type} ${oid} is missing`, { data: { oid } });
    if (o.type !== type)
      throw new GitReadError("ERR_GIT_OBJECT_CORRUPT", `object ${oid} is a ${o.type} where a ${type} is expected`, {
        data: { oid, type: o.type },
      });
    return o.content;
  }

  /**
   * Brings a remote's mirror up to date with its branch (and tags); nothing to do for a local repository.
   * @throws GitReadError ERR_GIT_COMMAND (with git's reason: credentials refused, no such branch, unreachable).
   */
  async fetch(options: FetchOptions): Promise<void> {
    if (!this.#remote) return;
    checkName("branch", options.branch);
    await this.#repository();
    const credentials = options.credentials ?? this.#remote.credentials;
    const header: Record<string, string> = credentials
      ? {
          "http.extraHeader": `Authorization: Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`,
        }
      : {};
    const fetching = this.#git(
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--prune",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        this.#remote.url,
        `+refs/heads/${options.branch}:refs/heads/${options.branch}`,
        ...(options.tags ? ["+refs/tags/*:refs/tags/*"] : []),
      ],
      this.#env(header),
      `fetch ${this.#remote.url}`,
    );
    try {
      await fetching;
    } catch (err) {
      // A refused header makes git ask for a user name, which it may not: that is a refusal, so say it as one.
      if (
        err instanceof GitReadError &&
        err.code === "ERR_GIT_COMMAND" &&
        /could not read (Username|Password)|Authentication failed|HTTP 40[13]/.test(err.message)
      )
        throw new GitReadError(
          "ERR_GIT_AUTH",
          `git fetch ${this.#remote.url}: the server refused ${credentials ? "the credentials given" : "to serve without credentials"}`,
          { cause: err, data: { url: this.#remote.url } },
        );
      throw err;
    }
  }

  /** The commit a branch points at, or undefined when the branch has no commit. */
  async head(branch: string): Promise<string | undefined> {
    checkName("branch", branch);
    const o = await this.#read(`refs/heads/${branch}`);
    if (!o) return undefined;
    if (o.type !== "commit")
      throw new GitReadError("ERR_GIT_OBJECT_CORRUPT", `branch ${branch} points at a ${o.type}, not a commit`);
    this.#commit(o);
    return o.oid;
  }

  /**
   * The commit a revision names (a commit id, a tag, a branch), annotated tags peeled, each object checked.
   * @throws GitReadError ERR_GIT_OBJECT_MISSING when it names nothing, or something that is not a commit.
   */
  async resolve(revision: string): Promise<string> {
    checkName("revision", revision);
    let o = await this.#read(revision);
    for (let depth = 0; o?.type === "tag" && depth < 5; depth++) {
      const target = /^object ([0-9a-f]{40}|[0-9a-f]{64})\n/.exec(o.content.toString("latin1", 0, 80))?.[1];
      if (!target) throw new GitReadError("ERR_GIT_OBJECT_CORRUPT", `tag ${o.oid} is corrupt: no object line`);
      o = await this.#read(target);
    }
    if (o?.type !== "commit")
      throw new GitReadError(
        "ERR_GIT_OBJECT_MISSING",
        `revision ${revision} ${o ? `names a ${o.type}, not a commit` : "is not in the repository"}`,
        { data: { revision } },
      );
    this.#commit(o);
    return o.oid;
  }

  /** Remembers a checked commit's tree. */
  #commit(o: GitObject): string {
    let tree = this.#commits.get(o.oid);
    if (!tree) {
      tree = commitTree(o.oid, o.content);
      if (this.#commits.size >= TREE_CACHE) this.#commits.delete(this.#commits.keys().next().value as string);
      this.#commits.set(o.oid, tree);
    }
    return tree;
  }

  async #rootTree(commit: string): Promise<string> {
    if (!isObjectId(commit)) throw new TypeError(`${JSON.stringify(commit)} is not a commit id`);
    return (
      this.#commits.get(commit) ??
      this.#commit({ oid: commit, type: "commit", content: await this.#object(commit, "commit") })
    );
  }

  /** A checked tree; `base`, a tree it likely shares most entries with, spares checking those again. */
  async #tree(oid: string, base?: TreeObject): Promise<TreeObject> {
    const hit = this.#trees.get(oid);
    if (hit) return hit;
    const tree = new TreeObject(oid, await this.#object(oid, "tree"), base);
    if (this.#trees.size >= TREE_CACHE) this.#trees.delete(this.#trees.keys().next().value as string);
    this.#trees.set(oid, tree);
    return tree;
  }

  /** The tree entry at `path` in a commit, or undefined. */
  async #entryAt(commit: string, path: string): Promise<TreeEntry | undefined> {
    const names = path.split("/");
    let tree = await this.#rootTree(commit);
    for (let i = 0; i < names.length; i++) {
      const e = (await this.#tree(tree)).find(names[i] as string);
      if (!e || i === names.length - 1) return e;
      if (!isTreeMode(e.mode)) return undefined;
      tree = e.oid;
    }
    return undefined;
  }

  /**
   * Every file under `dir` ("" for the whole repository) at a commit: path → blob id, sorted by path. Empty when
   * `dir` is not a folder there. Symlinks and submodules are left out.
   */
  async listFiles(commit: string, dir = ""): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let tree = await this.#rootTree(commit);
    if (dir) {
      const e = await this.#entryAt(commit, dir);
      if (!e || !isTreeMode(e.mode)) return out;
      tree = e.oid;
    }
    // A level at a time, each level's trees asked for together (they travel through the batch in one go).
    let level: { oid: string; base: string }[] = [{ oid: tree, base: dir }];
    while (level.length > 0) {
      const read = await Promise.all(level.map(async (t) => ({ t, tree: await this.#tree(t.oid) })));
      level = [];
      for (const { t, tree: folder } of read)
        for (const e of folder.entries()) {
          const p = t.base ? `${t.base}/${e.name}` : e.name;
          if (isTreeMode(e.mode)) level.push({ oid: e.oid, base: p });
          else if (isFileMode(e.mode)) out.set(p, e.oid);
        }
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /**
   * The files that differ between two commits under `dir`, from `git diff-tree` (renames as a deletion and an
   * addition). git reads trees without checking them, so the same difference is also worked out here from the
   * checked trees (only folders whose ids differ are opened, as git does); when the two disagree, an object is
   * corrupt.
   * @throws GitReadError ERR_GIT_OBJECT_CORRUPT when they disagree, or a tree on the way is corrupt.
   */
  async changes(from: string, to: string, dir = ""): Promise<ChangedPath[]> {
    if (!isObjectId(from) || !isObjectId(to)) throw new TypeError("changes() takes two commit ids");
    const [fromTree, toTree] = await Promise.all([this.#rootTree(from), this.#rootTree(to)]);
    const [all, checked] = await Promise.all([this.#diff(fromTree, toTree), this.#checkedChanges(from, to, dir)]);
    const changes = dir ? all.filter((c) => c.path.startsWith(`${dir}/`)) : all;
    const said = new Map(changes.map((c) => [c.path, c.status === "D" ? undefined : c.newOid]));
    const disagree =
      [...checked].find(([path, oid]) => !said.has(path) || said.get(path) !== oid)?.[0] ??
      [...said.keys()].find((path) => !checked.has(path));
    if (disagree !== undefined)
      throw new GitReadError(
        "ERR_GIT_OBJECT_CORRUPT",
        `the trees of ${from} and ${to} are corrupt: git diff-tree and their checked content disagree about ${disagree}`,
        { data: { from, to, path: disagree } },
      );
    return changes;
  }

  /**
   * Changed paths (path → new id, undefined when deleted) between two commits, from checked trees: only the
   * entries that differ ({@link diffTrees}) are looked at, and only folders whose ids differ are opened.
   */
  async #checkedChanges(from: string, to: string, dir: string): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    const folder = async (commit: string, base?: TreeObject): Promise<TreeObject | undefined> => {
      if (!dir) return this.#tree(await this.#rootTree(commit), base);
      const e = await this.#entryAt(commit, dir);
      return e && isTreeMode(e.mode) ? this.#tree(e.oid, base) : undefined;
    };
    const walk = async (a: TreeObject | undefined, b: TreeObject | undefined, base: string): Promise<void> => {
      const nested: Promise<void>[] = [];
      for (const { before, after } of diffTrees(a, b)) {
        const x = before !== undefined ? a?.entry(before) : undefined;
        const y = after !== undefined ? b?.entry(after) : undefined;
        if (x && y && x.oid === y.oid && Number(x.mode) === Number(y.mode)) continue;
        const name = (x ?? y)?.name ?? "";
        const path = base ? `${base}/${name}` : name;
        const xTree = !!x && isTreeMode(x.mode);
        const yTree = !!y && isTreeMode(y.mode);
        if (xTree || yTree)
          nested.push(
            (xTree ? this.#tree(x.oid) : Promise.resolve(undefined))
              .then(async (ta) => [ta, yTree ? await this.#tree(y.oid, ta) : undefined] as const)
              .then(([ta, tb]) => walk(ta, tb, path)),
          );
        if (y && !yTree) out.set(path, y.oid);
        else if (x && !xTree) out.set(path, undefined);
      }
      await Promise.all(nested);
    };
    // The folder before first: the one after is read as its change from it.
    const a = await folder(from);
    await walk(a, await folder(to, a), dir);
    return out;
  }

  /** The content of a blob, checked against its id. */
  readBlob(oid: string): Promise<Buffer> {
    if (!isObjectId(oid)) throw new TypeError(`${JSON.stringify(oid)} is not a blob id`);
    return this.#object(oid, "blob");
  }

  /** Ends every git process of this reader, waits for them to exit, and removes a remote's mirror. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([this.#batch?.close(), this.#diffs?.close(), ...this.#running]);
    if (this.#mirrorRoot) await rm(this.#mirrorRoot, { recursive: true, force: true });
  }
}
