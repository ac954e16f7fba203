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
import { parseDuration } from "../../common/duration.js";
import type { ApiServer } from "../api-server.js";
import type { KubeObject, ObjectStore } from "../store.js";
import { GitReader, type GitCredentials } from "./git-reader.js";
import { LiveVersions } from "./live-versions.js";
import { SyncRound, type SyncError, type Synced } from "./sync-round.js";
import { SourceError, SyncedFiles, type SyncedFile } from "./synced-files.js";

export type { ResourceRef, SyncError } from "./sync-round.js";

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
  /**
   * Told when a sync's source error changes: the new error (code and message, as the RootSync's status gives them),
   * or `undefined` when a round read the source again after one. As ConfigSync's reconciler logs them; a persistent
   * error is told once, not every period.
   */
  onSourceError?: (sync: string, error: { code: string; message: string } | undefined) => void;
  /**
   * Every round looks at every object of the repository, as the first one does, instead of only at the objects
   * of the files that changed: for tests that compare the two. Default false.
   */
  wholeRounds?: boolean;
}

interface SyncState extends Synced {
  key: string;
  timer?: NodeJS.Timeout;
  running: boolean;
  again: boolean;
  /** The reader of `spec.git.repo`, and that repo (a new one gets a new reader). */
  reader?: GitReader;
  repo?: string;
  /** A round was skipped while paused: the next one applies everything. */
  skipped?: boolean;
  /** The source error last told (`onSourceError`), while it lasts. */
  sourceError?: string;
  /**
   * The last sync: its commit and generation, the types' revision after it, whether it was clean, and rounds
   * since everything was applied.
   */
  last?: { commit: string; generation: unknown; types: number; clean: boolean; sinceFull: number };
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
  readonly #o: Required<Omit<ReconcilerOptions, "failingObjects" | "paused" | "wholeRounds" | "onSourceError">> &
    Pick<ReconcilerOptions, "failingObjects" | "paused" | "wholeRounds" | "onSourceError">;
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
      st = {
        key,
        running: false,
        again: false,
        inventory: new Map(),
        versions: new LiveVersions(),
        files: new SyncedFiles(),
      };
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
    let changes = new Map<string, SyncedFile | undefined>();
    const failing = this.#o.failingObjects?.() ?? new Set<string>();
    // Only what changed is applied again — unless the last round was not clean, the spec moved, faults are
    // set, or enough quiet rounds passed to correct drift (someone changing or deleting an object by hand).
    // A forced round (not clean, the spec moved, faults, a skipped round) reads the whole tree again too.
    const last = st.last;
    const forced = !last?.clean || last.generation !== generation || failing.size > 0 || st.skipped === true;
    const full = forced || (last?.sinceFull ?? 0) + 1 >= DRIFT_ROUNDS;
    st.skipped = false;
    try {
      const reader = await this.#repository(rs, st, gitStatus.branch, gitStatus.revision);
      const rev = gitStatus.revision === "HEAD" ? undefined : gitStatus.revision;
      commit = rev ? await reader.resolve(rev) : ((await reader.head(gitStatus.branch)) ?? "");
      if (!commit) throw new SourceError("2004", `unable to sync repo: branch ${gitStatus.branch} has no commits`);
      const dir = gitStatus.dir.replace(/^\.?\/?/, "").replace(/\/$/, "");
      // A drift round re-applies from the files it knows; only a forced round reads the whole tree again.
      changes = await st.files.read(reader, commit, dir, forced);
      // A folder that is not there is a source error, not an empty repository (which would prune everything).
      if (dir && st.files.size === 0)
        throw new SourceError("2004", `spec.git.dir ${gitStatus.dir} does not exist at ${commit.slice(0, 12)}`);
    } catch (err) {
      // A sync cut short by its RootSync's deletion or the reconciler stopping reports nothing.
      if (this.#stopped || this.#states.get(st.key) !== st) return;
      delete st.last;
      const e =
        err instanceof SourceError ? err : new SourceError("2004", `unable to sync repo: ${(err as Error).message}`);
      const told = `KNV${e.code}: ${e.message}`;
      if (st.sourceError !== told) {
        st.sourceError = told;
        this.#o.onSourceError?.(st.key, { code: `KNV${e.code}`, message: told });
      }
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

    if (st.sourceError !== undefined) {
      delete st.sourceError;
      this.#o.onSourceError?.(st.key, undefined);
    }

    // A quiet round (the commit and spec synced cleanly last time, no file changed, not a drift round): nothing to
    // apply, prune or report. Returned before anything that costs the repository's size.
    if (last && !full && last.commit === commit && last.generation === generation && changes.size === 0) {
      st.last = { ...last, sinceFull: last.sinceFull + 1 };
      return;
    }

    const round = new SyncRound(this.#o.api, this.#o.store, typeKey, rs, st, failing);
    // After a clean round, with the same types, only the objects of changed files are looked at, and in a drift
    // round the live versions of the inventory; every object is at the first sync, in a forced round, and when a
    // CRD is among the changes (it can change the types of the others).
    const types = this.#o.api.typesRevision();
    const drift = full && !forced;
    const incremental =
      !forced &&
      !this.#o.wholeRounds &&
      st.census !== undefined &&
      last?.types === types &&
      ![...changes].some(([path, before]) =>
        [...(before?.objects ?? []), ...(st.files.get(path)?.objects ?? [])].some(
          (o) => o["kind"] === "CustomResourceDefinition",
        ),
      );
    const done = incremental ? round.applyChanged(changes, drift) : round.applyAll(changes, full, drift);
    if (!done) {
      // KNV2006: nothing of this commit was applied: the next round applies everything.
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
    const errors = round.errors;
    st.last = {
      commit,
      generation,
      types: this.#o.api.typesRevision(),
      clean: errors.length === 0,
      sinceFull: full ? 0 : (last?.sinceFull ?? 0) + 1,
    };
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
