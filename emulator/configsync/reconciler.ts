/**
 * A ConfigSync-like reconciler for every RootSync and RepoSync, as an edge running ConfigSync has: it pulls
 * `spec.git.repo` (a local folder or git over HTTP with the token of `spec.git.secretRef`), reads
 * `spec.git.dir` as unstructured YAML, skips local-config objects, applies everything by server-side apply
 * (namespaces first, implicitly creating missing ones), prunes what left the repository (its own inventory),
 * refuses a commit that would delete every namespace and cluster-scoped object (KNV2006), and writes the
 * status ConfigSync writes: source/rendering/sync with commit, gitStatus, lastUpdate, errors and errorSummary;
 * lastSyncedCommit; observedGeneration; conditions Reconciling, Stalled, Syncing. One object's apply error
 * does not stop the others; each is reported with its code and the object (`resources[]`). An object another
 * reconciler manages (`configsync.gke.io/manager`) is left alone and reported (KNV1060).
 *
 * Repositories are read with the git CLI ({@link GitReader}), not with the agent's git code: a defect in how the
 * agent writes objects shows here as a source error instead of being read back by the same code.
 */
import { parseAllDocuments } from "yaml";
import { parseDuration } from "../../common/duration.js";
import type { ApiServer, Target } from "../api-server.js";
import type { KubeObject, ObjectStore } from "../store.js";
import { ApiError } from "../status.js";
import { typeKey as storeKey } from "../type-registry.js";
import { isFileMode } from "./git-objects.js";
import { readBlockYaml } from "./block-yaml.js";
import { GitReader, type GitCredentials } from "./git-reader.js";

const MANAGER = "configsync.gke.io";
/** The annotation naming the reconciler that manages an object. */
const MANAGER_ANNOTATION = "configsync.gke.io/manager";
const MANAGED_BY = { "app.kubernetes.io/managed-by": "configmanagement.gke.io" };

/** An object a sync error names: ConfigSync's `ResourceRef`. */
export interface ResourceRef {
  /** The file of the repository the object came from. */
  sourcePath?: string;
  name: string;
  namespace?: string;
  gvk: { group: string; version: string; kind: string };
}

/** One error of a RootSync's status, as ConfigSync writes it (`ConfigSyncError`). */
export interface SyncError {
  code: string;
  errorMessage: string;
  /** The objects it is about, when it is about objects (KNV2009, KNV1039). */
  resources?: ResourceRef[];
}

export interface ReconcilerOptions {
  store: ObjectStore;
  api: ApiServer;
  now?: () => Date;
  /** Objects whose apply fails ("Kind/namespace/name" or "Kind/name"), for fault injection. */
  failingObjects?: () => ReadonlySet<string>;
  /** While true, no round runs (the `syncPaused` fault); the first round after applies everything. */
  paused?: () => boolean;
  /** Shortest period honoured, in ms. Default 50. */
  minPeriodMs?: number;
  /** Bound on one git command (fetch, diff) or object read, in ms. Default 30000. */
  gitTimeoutMs?: number;
}

/** A file of the repository as last synced: its blob and the objects parsed from it. */
interface SyncedFile {
  oid: string;
  objects: Obj[];
}

interface SyncState {
  key: string;
  timer?: NodeJS.Timeout;
  running: boolean;
  again: boolean;
  /** resource ids ("group/Kind/namespace/name") applied from the repository. */
  inventory: Map<string, Target>;
  /**
   * Per resource id, the live object's resourceVersion right after this reconciler applied it. A drift round
   * applies again only what someone changed or deleted since (its version moved), not every object.
   */
  versions: Map<string, string>;
  /** The reader of `spec.git.repo`, and that repo (a new one gets a new reader). */
  reader?: GitReader;
  repo?: string;
  /** Parsed objects per file of the last sync, by blob id: an unchanged file is neither read nor parsed again. */
  files?: Map<string, SyncedFile>;
  /** Where `files` was read: the reader, commit and folder; the next commit is read as a diff from it. */
  filesAt?: { reader: GitReader; commit: string; dir: string };
  /** A round was skipped while paused: the next one applies everything. */
  skipped?: boolean;
  /** The last sync: its commit and generation, whether it was clean, and rounds since everything was applied. */
  last?: { commit: string; generation: unknown; clean: boolean; sinceFull: number };
}

/**
 * Every this many rounds every object someone changed or deleted since it was applied (its live resourceVersion
 * moved) is applied again, busy repository or not, correcting drift.
 */
const DRIFT_ROUNDS = 20;

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);
const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export class ConfigSyncReconciler {
  readonly #o: Required<Omit<ReconcilerOptions, "failingObjects" | "paused">> &
    Pick<ReconcilerOptions, "failingObjects" | "paused">;
  readonly #states = new Map<string, SyncState>();
  readonly #unwatch: (() => void)[] = [];
  /** Readers being closed; {@link stop} waits for them, so no git process outlives the reconciler. */
  readonly #closing = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: ReconcilerOptions) {
    this.#o = { now: () => new Date(), minPeriodMs: 50, gitTimeoutMs: 30_000, ...options };
  }

  start(): void {
    for (const typeKey of ["configsync.gke.io/rootsyncs", "configsync.gke.io/reposyncs"]) {
      for (const o of this.#o.store.list(typeKey)) this.#schedule(typeKey, o, 0);
      this.#unwatch.push(
        this.#o.store.watch({
          typeKey,
          filter: () => true,
          send: (e) => {
            const k = `${typeKey}/${String(e.object.metadata["namespace"])}/${String(e.object.metadata["name"])}`;
            if (e.type === "DELETED") return this.#forget(k);
            // Our own status writes do not change the generation; only spec changes trigger a sync.
            const st = this.#states.get(k);
            if (!st || get(e.object, "status", "observedGeneration") !== e.object.metadata["generation"])
              this.#schedule(typeKey, e.object, 0);
          },
        }),
      );
    }
  }

  /**
   * Runs every sync now (after the `syncPaused` fault is lifted): each round skipped while paused makes the next
   * one apply everything.
   */
  resume(): void {
    for (const st of this.#states.values()) {
      const [group, plural, namespace, name] = st.key.split("/");
      const typeKey = `${group}/${plural}`;
      const rs = this.#o.store.get(typeKey, namespace, name);
      if (rs) this.#schedule(typeKey, rs, 0);
    }
  }

  /** Stops every sync and resolves once every git process the reconciler started has exited. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const u of this.#unwatch) u();
    for (const k of [...this.#states.keys()]) this.#forget(k);
    await Promise.all(this.#closing);
  }

  #forget(key: string): void {
    const st = this.#states.get(key);
    if (!st) return;
    if (st.timer) clearTimeout(st.timer);
    if (st.reader) this.#close(st.reader);
    this.#states.delete(key);
  }

  #close(reader: GitReader): void {
    const closed = reader.close().catch(() => undefined);
    this.#closing.add(closed);
    void closed.then(() => this.#closing.delete(closed));
  }

  #schedule(typeKey: string, obj: KubeObject, delay: number): void {
    if (this.#stopped) return;
    const key = `${typeKey}/${String(obj.metadata["namespace"])}/${String(obj.metadata["name"])}`;
    let st = this.#states.get(key);
    if (!st) {
      st = { key, running: false, again: false, inventory: new Map(), versions: new Map() };
      this.#states.set(key, st);
    }
    if (st.timer) clearTimeout(st.timer);
    const state = st;
    state.timer = setTimeout(
      () => void this.#run(typeKey, String(obj.metadata["namespace"]), String(obj.metadata["name"]), state),
      delay,
    );
    state.timer.unref();
  }

  async #run(typeKey: string, namespace: string, name: string, st: SyncState): Promise<void> {
    if (st.running) {
      st.again = true;
      return;
    }
    st.running = true;
    let period = 15_000;
    try {
      const rs = this.#o.store.get(typeKey, namespace, name);
      if (!rs) return;
      try {
        // Clamped: a timer longer than 2^31-1 ms would fire at once.
        period = Math.min(
          2 ** 31 - 1,
          Math.max(this.#o.minPeriodMs, parseDuration(String(get(rs, "spec", "git", "period") ?? "15s"))),
        );
      } catch {
        period = 15_000;
      }
      // Paused: nothing is read, applied or reported; the next round after the pause applies everything.
      if (this.#o.paused?.()) st.skipped = true;
      else await this.#sync(typeKey, rs, st);
    } finally {
      st.running = false;
      const rs = this.#o.store.get(typeKey, namespace, name);
      if (rs && this.#states.get(st.key) === st) this.#schedule(typeKey, rs, st.again ? 0 : period);
      st.again = false;
    }
  }

  /**
   * The reader of a sync's repository, opened once per repository and brought up to date (a remote is fetched
   * into the reader's mirror with the token of `spec.git.secretRef`).
   */
  async #repository(rs: KubeObject, st: SyncState, branch: string, revision: string): Promise<GitReader> {
    const repo = String(get(rs, "spec", "git", "repo") ?? "");
    if (!repo) throw new SourceError("1061", "spec.git.repo is required");
    const secretName = get(rs, "spec", "git", "secretRef", "name");
    let credentials: GitCredentials | undefined;
    if (/^https?:\/\//i.test(repo) && get(rs, "spec", "git", "auth") === "token" && typeof secretName === "string") {
      const secret = this.#o.store.get("/secrets", String(rs.metadata["namespace"]), secretName);
      if (!secret)
        throw new SourceError(
          "1061",
          `secret ${String(rs.metadata["namespace"])}/${secretName} named by spec.git.secretRef does not exist`,
        );
      const data = (secret["data"] ?? {}) as Record<string, string>;
      const decode = (k: string) => (data[k] ? Buffer.from(data[k], "base64").toString("utf8") : "");
      credentials = { username: decode("username") || "oauth2", password: decode("token") };
    }
    if (!st.reader || st.repo !== repo) {
      // A sync still running after its RootSync was deleted or the reconciler stopped opens nothing.
      if (this.#stopped || this.#states.get(st.key) !== st) throw new SourceError("2004", "the sync was stopped");
      if (st.reader) this.#close(st.reader);
      st.reader = new GitReader({ repository: repo, timeoutMs: this.#o.gitTimeoutMs });
      st.repo = repo;
    }
    // Credentials are given to each fetch, not kept in the mirror: a rotated token is used from the next one.
    await st.reader.fetch({ branch, tags: revision !== "HEAD", ...(credentials ? { credentials } : {}) });
    return st.reader;
  }

  /**
   * The files of a commit under `dir`, parsed. Read in full (every tree checked) when nothing is known of this
   * reader and folder or when `full`; otherwise as the change from the last commit read, from `git diff-tree`.
   * Only new blobs are read and parsed.
   */
  async #files(
    reader: GitReader,
    st: SyncState,
    commit: string,
    dir: string,
    full: boolean,
  ): Promise<Map<string, SyncedFile>> {
    const known = st.filesAt?.reader === reader && st.filesAt.dir === dir ? st.files : undefined;
    const at = st.filesAt?.commit;
    if (known && at === commit && !full) return known;
    let next: Map<string, SyncedFile>;
    let wanted: Map<string, string>;
    if (known && at && !full) {
      next = new Map(known);
      wanted = new Map();
      for (const c of await reader.changes(at, commit, dir)) {
        next.delete(c.path);
        if (c.from) next.delete(c.from);
        if (c.status !== "D" && isFileMode(c.newMode)) wanted.set(c.path, c.newOid);
      }
    } else {
      next = new Map();
      wanted = await reader.listFiles(commit, dir);
    }
    const blobs = await Promise.all(
      [...wanted].map(async ([path, oid]) => {
        const same = known?.get(path);
        return [path, oid, same?.oid === oid ? same : await reader.readBlob(oid)] as const;
      }),
    );
    // Parsed in path order, so the first file that is not YAML is the one reported.
    for (const [path, oid, blob] of blobs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      next.set(
        path,
        Buffer.isBuffer(blob) ? { oid, objects: parseObjects(new Map([[path, blob.toString("utf8")]])) } : blob,
      );
    return new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async #sync(typeKey: string, rs: KubeObject, st: SyncState): Promise<void> {
    const now = stamp(this.#o.now());
    // The generation this sync works from: a spec change during the sync is observed by the next one.
    const generation = rs.metadata["generation"];
    const gitStatus = {
      repo: String(get(rs, "spec", "git", "repo") ?? ""),
      revision: String(get(rs, "spec", "git", "revision") ?? "HEAD"),
      branch: String(get(rs, "spec", "git", "branch") ?? "master"),
      dir: String(get(rs, "spec", "git", "dir") ?? "."),
    };
    let commit = "";
    let objects: Obj[] = [];
    let changedFiles = new Set<string>();
    const failing = this.#o.failingObjects?.() ?? new Set<string>();
    // Only what changed is applied again — unless the last round was not clean, the spec moved, faults are
    // set, or enough quiet rounds passed to correct drift (someone changing or deleting an object by hand).
    // A forced round (not clean, the spec moved, faults, a skipped round) reads the whole tree again too.
    const last = st.last;
    const forced = !last?.clean || last.generation !== generation || failing.size > 0 || st.skipped === true;
    const full = forced || (last?.sinceFull ?? 0) + 1 >= DRIFT_ROUNDS;
    // A drift round (full only because its turn came): an object whose live version is the one this reconciler
    // left is as applied, and is not applied again.
    const drift = full && !forced;
    st.skipped = false;
    try {
      const reader = await this.#repository(rs, st, gitStatus.branch, gitStatus.revision);
      const rev = gitStatus.revision === "HEAD" ? undefined : gitStatus.revision;
      commit = rev ? await reader.resolve(rev) : ((await reader.head(gitStatus.branch)) ?? "");
      if (!commit) throw new SourceError("2004", `unable to sync repo: branch ${gitStatus.branch} has no commits`);
      const dir = gitStatus.dir.replace(/^\.?\/?/, "").replace(/\/$/, "");
      // A drift round re-applies from the files it knows; only a forced round reads the whole tree again.
      const next = await this.#files(reader, st, commit, dir, forced);
      // A folder that is not there is a source error, not an empty repository (which would prune everything).
      if (dir && next.size === 0)
        throw new SourceError("2004", `spec.git.dir ${gitStatus.dir} does not exist at ${commit.slice(0, 12)}`);
      // The same commit read again gives the same map: nothing changed, nothing to compare.
      if (next !== st.files)
        changedFiles = new Set([...next].filter(([path, f]) => st.files?.get(path) !== f).map(([path]) => path));
      st.files = next;
      st.filesAt = { reader, commit, dir };
    } catch (err) {
      // A sync cut short by its RootSync's deletion or the reconciler stopping reports nothing.
      if (this.#stopped || this.#states.get(st.key) !== st) return;
      delete st.last;
      const e =
        err instanceof SourceError ? err : new SourceError("2004", `unable to sync repo: ${(err as Error).message}`);
      return this.#writeStatus(typeKey, rs, {
        now,
        gitStatus,
        commit,
        generation,
        sourceErrors: [{ code: e.code, errorMessage: `KNV${e.code}: ${e.message}` }],
        syncErrors: [],
        synced: false,
      });
    }

    // A quiet round (the commit and spec synced cleanly last time, no file changed, not a drift round): nothing to
    // apply, prune or report. Returned before anything that costs the repository's size.
    if (last && !full && last.commit === commit && last.generation === generation && changedFiles.size === 0) {
      st.last = { ...last, sinceFull: last.sinceFull + 1 };
      return;
    }

    objects = [...(st.files?.values() ?? [])].flatMap((f) => f.objects);
    // KNV2006: a commit that would remove every namespace and cluster-scoped object is refused.
    const clusterScoped = (o: Obj) => {
      try {
        return !this.#o.api.targetOf(o).type.namespaced;
      } catch {
        return false;
      }
    };
    const hadClusterScoped = [...st.inventory.values()].some((t) => !t.type.namespaced);
    if (hadClusterScoped && !objects.some(clusterScoped)) {
      // Nothing of this commit was applied: the next round applies everything.
      delete st.last;
      return this.#writeStatus(typeKey, rs, {
        now,
        gitStatus,
        commit,
        sourceErrors: [],
        generation,
        syncErrors: [
          {
            code: "2006",
            errorMessage:
              "KNV2006: Config Sync will not delete every namespace and cluster-scoped resource at once: the commit would remove all of them. To delete them all, remove them in a commit that keeps one (for example a sentinel Namespace).",
          },
        ],
        synced: false,
      });
    }

    const errors: SyncError[] = [];
    const applied = new Map<string, Target>();
    /** Objects of the repository another reconciler manages: neither applied nor pruned. */
    const foreign = new Set<string>();
    const changedObjects = new Set<Obj>([...changedFiles].flatMap((p) => st.files?.get(p)?.objects ?? []));
    /** The file of each object: made only when an error names an object, not at every round. */
    let sourcePaths: Map<Obj, string> | undefined;
    const refOf = (o: Obj, t: Target): ResourceRef[] => {
      if (!sourcePaths) {
        sourcePaths = new Map();
        for (const [path, f] of st.files ?? []) for (const x of f.objects) sourcePaths.set(x, path);
      }
      const ref: ResourceRef = {
        name: t.name ?? "",
        gvk: {
          group: t.type.group,
          version: String(o["apiVersion"] ?? "").replace(/^.*\//, ""),
          kind: t.type.kind,
        },
      };
      const path = sourcePaths.get(o);
      if (path) ref.sourcePath = path;
      if (t.namespace) ref.namespace = t.namespace;
      return [ref];
    };
    // Namespaces and CRDs first, then the rest; an object's namespace is created when the repo lacks it.
    const order = (o: Obj) => (o["kind"] === "Namespace" ? 0 : o["kind"] === "CustomResourceDefinition" ? 1 : 2);
    // A RepoSync syncs into its own namespace only (a namespace repository).
    const scope = typeKey.endsWith("/reposyncs") ? String(rs.metadata["namespace"]) : undefined;
    // How ConfigSync names a reconciler in configsync.gke.io/manager: ":root" (the RootSync root-sync),
    // ":root_<name>" (another RootSync), "<namespace>" or "<namespace>_<name>" (a RepoSync).
    const rsName = String(rs.metadata["name"]);
    const managerId =
      scope === undefined
        ? rsName === "root-sync"
          ? ":root"
          : `:root_${rsName}`
        : rsName === "repo-sync"
          ? scope
          : `${scope}_${rsName}`;
    for (const o of [...objects].sort((a, b) => order(a) - order(b))) {
      let t: Target;
      try {
        t = this.#o.api.targetOf(o, scope ?? "default");
      } catch (err) {
        errors.push({ code: "1021", errorMessage: `KNV1021: ${(err as Error).message}` });
        continue;
      }
      if (scope !== undefined && (!t.type.namespaced || t.namespace !== scope)) {
        errors.push({
          code: "1039",
          errorMessage: `KNV1039: ${t.type.kind}/${t.namespace ? `${t.namespace}/` : ""}${t.name} is outside namespace ${scope}, the only one a RepoSync may sync`,
          resources: refOf(o, t),
        });
        continue;
      }
      const id = resourceId(t);
      const label = `${t.type.kind}/${t.namespace ? `${t.namespace}/` : ""}${t.name}`;
      if (!changedObjects.has(o) && st.inventory.has(id)) {
        const untouched =
          !full ||
          (drift &&
            st.versions.get(id) ===
              get(this.#o.store.get(storeKey(t.type), t.namespace, t.name ?? ""), "metadata", "resourceVersion"));
        if (untouched) {
          applied.set(id, t);
          continue;
        }
      }
      // KNV1060: an object another reconciler manages (its configsync.gke.io/manager names another RootSync or a
      // RepoSync) is not this one's to apply, nor to prune. (This emulator does not write the annotation itself:
      // several RootSyncs of one emulated edge may share objects, as its tests have them.)
      const owner = get(
        this.#o.store.get(storeKey(t.type), t.namespace, t.name ?? ""),
        "metadata",
        "annotations",
        MANAGER_ANNOTATION,
      );
      if (typeof owner === "string" && owner !== managerId) {
        errors.push({
          code: "1060",
          errorMessage: `KNV1060: ${label} is managed by another reconciler (${owner}), not by ${managerId}: remove it from one of the repositories`,
          resources: refOf(o, t),
        });
        foreign.add(id);
        continue;
      }
      try {
        if (failing.has(label)) throw new ApiError(500, "InternalError", "injected sync fault");
        if (t.namespace && !this.#o.store.get("/namespaces", undefined, t.namespace)) {
          this.#o.api.applyObject(
            { apiVersion: "v1", kind: "Namespace", metadata: { name: t.namespace, labels: MANAGED_BY } },
            MANAGER,
          );
        }
        const withMarks = {
          ...o,
          metadata: {
            ...(o["metadata"] as Obj),
            labels: { ...((get(o, "metadata", "labels") ?? {}) as Obj), ...MANAGED_BY },
            annotations: { ...((get(o, "metadata", "annotations") ?? {}) as Obj), "configsync.gke.io/resource-id": id },
          },
        };
        const live = this.#o.api.applyObject(withMarks, MANAGER, scope ?? "default");
        st.versions.set(id, String(live.metadata["resourceVersion"]));
        applied.set(id, t);
      } catch (err) {
        // Still ours: a failed apply must not make the object look removed from the repository.
        if (st.inventory.has(id)) applied.set(id, t);
        errors.push({
          code: "2009",
          errorMessage: `KNV2009: failed to apply ${label}: ${(err as Error).message}`,
          resources: refOf(o, t),
        });
      }
    }
    // Prune what left the repository, namespaced objects before their namespaces.
    const gone = [...st.inventory]
      .filter(([id]) => !applied.has(id) && !foreign.has(id))
      .sort(([, a], [, b]) => Number(!a.type.namespaced) - Number(!b.type.namespaced));
    for (const [, t] of gone) this.#o.api.deleteObject(t);
    st.inventory = applied;
    for (const [id] of gone) st.versions.delete(id);
    st.last = { commit, generation, clean: errors.length === 0, sinceFull: full ? 0 : (last?.sinceFull ?? 0) + 1 };
    this.#writeStatus(typeKey, rs, {
      now,
      gitStatus,
      commit,
      generation,
      sourceErrors: [],
      syncErrors: errors,
      synced: errors.length === 0,
    });
  }

  #writeStatus(
    typeKey: string,
    rs: KubeObject,
    s: {
      now: string;
      gitStatus: Obj;
      commit: string;
      generation: unknown;
      sourceErrors: SyncError[];
      syncErrors: SyncError[];
      synced: boolean;
    },
  ): void {
    const live = this.#o.store.get(typeKey, String(rs.metadata["namespace"]), String(rs.metadata["name"]));
    if (!live) return;
    const summary = (errs: SyncError[]) => ({
      totalCount: errs.length,
      truncated: false,
      errorCountAfterTruncation: errs.length,
    });
    const part = (errs: SyncError[], extra: Obj = {}) => ({
      commit: s.commit,
      gitStatus: s.gitStatus,
      lastUpdate: s.now,
      ...extra,
      ...(errs.length > 0 ? { errors: errs } : {}),
      errorSummary: summary(errs),
    });
    const sourceOk = s.sourceErrors.length === 0;
    const status: Obj = {
      observedGeneration: s.generation,
      source: part(s.sourceErrors),
      rendering: part([], { message: "Rendering skipped" }),
      // A source failure leaves the last sync as it was: the edge still runs what it synced.
      sync: sourceOk ? part(s.syncErrors) : (get(live, "status", "sync") ?? part([])),
      conditions: [
        {
          type: "Reconciling",
          status: "False",
          lastUpdateTime: s.now,
          lastTransitionTime: s.now,
          reason: "Sync",
          message: "Sync Completed",
          commit: s.commit,
        },
        {
          type: "Stalled",
          status: "False",
          lastUpdateTime: s.now,
          lastTransitionTime: s.now,
          reason: "Sync",
          message: "Sync Completed",
        },
        {
          type: "Syncing",
          status: "False",
          lastUpdateTime: s.now,
          lastTransitionTime: s.now,
          commit: s.commit,
          ...(s.synced
            ? { reason: "Sync", message: "Sync Completed" }
            : { reason: sourceOk ? "Sync" : "Source", message: sourceOk ? "Sync Completed with errors" : "Source" }),
          errorSourceRefs: s.synced ? [] : [sourceOk ? "syncErrors" : "sourceErrors"],
        },
      ],
    };
    if (s.synced) status["lastSyncedCommit"] = s.commit;
    else if (get(live, "status", "lastSyncedCommit"))
      status["lastSyncedCommit"] = get(live, "status", "lastSyncedCommit");
    const next = { ...live, status } as KubeObject;
    if (JSON.stringify(get(live, "status")) === JSON.stringify(status)) return;
    this.#o.store.put(typeKey, next);
  }
}

/** A source problem with its ConfigSync error code. */
class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const resourceId = (t: Target) => `${t.type.group}/${t.type.kind}/${t.namespace ?? ""}/${t.name}`;

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
