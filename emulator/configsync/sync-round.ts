/**
 * One round of a ConfigSync sync: applies the objects of a commit by server-side apply (namespaces and CRDs
 * first, a missing namespace created), prunes what left the repository, and collects the errors ConfigSync
 * reports — KNV1021 (unknown kind), KNV1039 (outside a RepoSync's namespace), KNV1060 (managed by another
 * reconciler), KNV2009 (apply failed) — or refuses a commit that removes every cluster-scoped object (KNV2006).
 * A round looks at every object of the repository ({@link SyncRound.applyAll}, the first sync and the rounds
 * that must) or only at the objects of the files that changed ({@link SyncRound.applyChanged}).
 */
import type { ApiServer, Target } from "../api-server.js";
import type { KubeObject, ObjectStore } from "../store.js";
import { ApiError } from "../status.js";
import { typeKey as storeKey } from "../type-registry.js";
import type { LiveVersions } from "./live-versions.js";
import { RepositoryCensus } from "./repository-census.js";
import type { SyncedFile, SyncedFiles } from "./synced-files.js";

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

/** What a sync keeps from one round to the next. */
export interface Synced {
  /** resource ids ("group/Kind/namespace/name") applied from the repository. */
  inventory: Map<string, Target>;
  /**
   * Per resource id, the live object's resourceVersion right after this reconciler applied it. A drift round
   * applies again only what someone changed or deleted since (its version moved), not every object.
   */
  versions: LiveVersions;
  /** The files of the last commit read, parsed. */
  files: SyncedFiles;
  /** Counts of the repository's objects, as of the last round that applied a commit (missing before the first). */
  census?: RepositoryCensus;
}

type Obj = Record<string, unknown>;
const get = (o: unknown, ...p: string[]): unknown =>
  p.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

export class SyncRound {
  readonly #api: ApiServer;
  readonly #store: ObjectStore;
  readonly #st: Synced;
  /** A RepoSync's namespace (the only one it may sync). */
  readonly #scope: string | undefined;
  /** How configsync.gke.io/manager names this reconciler. */
  readonly #managerId: string;
  readonly #failing: ReadonlySet<string>;
  /** The errors of the round, in the order of the objects. */
  readonly errors: SyncError[] = [];
  /** The resource ids applied (or kept) by the round, and those another reconciler manages. */
  readonly #applied = new Map<string, Target>();
  readonly #foreign = new Set<string>();
  /** The file of each object: made only when an error names an object, not at every round. */
  #sourcePaths?: Map<Obj, string>;

  /**
   * @param typeKey the sync's type ("configsync.gke.io/rootsyncs" or "configsync.gke.io/reposyncs")
   * @param failing objects whose apply fails ("Kind/namespace/name"), for fault injection
   */
  constructor(
    api: ApiServer,
    store: ObjectStore,
    typeKey: string,
    rs: KubeObject,
    st: Synced,
    failing: ReadonlySet<string>,
  ) {
    this.#api = api;
    this.#store = store;
    this.#st = st;
    this.#failing = failing;
    // A RepoSync syncs into its own namespace only (a namespace repository).
    const scope = typeKey.endsWith("/reposyncs") ? String(rs.metadata["namespace"]) : undefined;
    this.#scope = scope;
    // How ConfigSync names a reconciler in configsync.gke.io/manager: ":root" (the RootSync root-sync),
    // ":root_<name>" (another RootSync), "<namespace>" or "<namespace>_<name>" (a RepoSync).
    const rsName = String(rs.metadata["name"]);
    this.#managerId =
      scope === undefined
        ? rsName === "root-sync"
          ? ":root"
          : `:root_${rsName}`
        : rsName === "repo-sync"
          ? scope
          : `${scope}_${rsName}`;
  }

  /**
   * Looks at every object of the repository: applies those of changed files and, in a forced round, every one
   * (in a drift round, those someone changed since), prunes what left, and counts the repository again.
   * @returns false when the commit is refused (KNV2006): nothing is applied
   */
  applyAll(changes: ReadonlyMap<string, unknown>, full: boolean, drift: boolean): boolean {
    const st = this.#st;
    const fileOf = new Map<Obj, string>();
    const objects = st.files.sorted().flatMap(([path, f]) => {
      for (const o of f.objects) fileOf.set(o, path);
      return f.objects;
    });
    const clusterScoped = (o: Obj) => {
      try {
        return !this.#api.targetOf(o).type.namespaced;
      } catch {
        return false;
      }
    };
    if ([...st.inventory.values()].some((t) => !t.type.namespaced) && !objects.some(clusterScoped)) return false;
    const changedObjects = new Set<Obj>([...changes.keys()].flatMap((p) => st.files.get(p)?.objects ?? []));
    const census = new RepositoryCensus();
    for (const o of forApply(objects)) {
      const t = this.#targetOf(o);
      if (!t) continue;
      const id = resourceId(t);
      census.count(id, !t.type.namespaced, 1, fileOf.get(o) as string);
      if (!this.#inScope(o, t)) continue;
      if (!changedObjects.has(o) && st.inventory.has(id)) {
        // A drift round: an object whose live version is the one this reconciler left is as applied.
        if (!full || (drift && st.versions.untouched(this.#store, id, t))) {
          this.#applied.set(id, t);
          continue;
        }
      }
      this.#apply(o, t, id);
    }
    this.#prune([...st.inventory].filter(([id]) => !this.#applied.has(id) && !this.#foreign.has(id)));
    st.inventory = this.#applied;
    st.census = census;
    return true;
  }

  /**
   * Looks only at the objects of the files that changed since a clean round (every object of the repository then
   * in the inventory): applies those of the new files, and prunes those of the old ones that no object of the
   * repository has any more. In a drift round, an object of the inventory whose live version is not the one this
   * reconciler left (someone changed or deleted it) is applied again too.
   * @returns false when the commit is refused (KNV2006): nothing is applied
   */
  applyChanged(changes: ReadonlyMap<string, SyncedFile | undefined>, drift: boolean): boolean {
    const st = this.#st;
    const census = st.census;
    if (!census) return this.applyAll(changes, drift, drift);
    const paths = [...changes.keys()].sort();
    /** The file of each object of the changed files, before and after. */
    const fileOf = new Map<Obj, string>();
    for (const p of paths)
      for (const o of [...(changes.get(p)?.objects ?? []), ...(st.files.get(p)?.objects ?? [])]) fileOf.set(o, p);
    /** The objects that left (their ids), and how many of the new objects have each id. */
    const left = new Map<string, Target>();
    for (const o of forApply(paths.flatMap((p) => changes.get(p)?.objects ?? []))) {
      const t = this.#target(o);
      if (!t) continue;
      const id = resourceId(t);
      census.count(id, !t.type.namespaced, -1, fileOf.get(o) as string);
      left.set(id, t);
    }
    const added = forApply(paths.flatMap((p) => st.files.get(p)?.objects ?? []));
    const addedIds = new Map<string, number>();
    for (const o of added) {
      const t = this.#target(o);
      if (!t) continue;
      const id = resourceId(t);
      census.count(id, !t.type.namespaced, 1, fileOf.get(o) as string);
      addedIds.set(id, (addedIds.get(id) ?? 0) + 1);
    }
    if (census.clusterScoped === 0 && [...st.inventory.values()].some((t) => !t.type.namespaced)) return false;
    for (const o of added) {
      const t = this.#targetOf(o);
      if (t && this.#inScope(o, t)) this.#apply(o, t, resourceId(t));
    }
    const gone: [string, Target][] = [];
    for (const id of new Set([...left.keys(), ...addedIds.keys()])) {
      const t = st.inventory.get(id);
      // Kept: applied now, or an object of an unchanged file has the id (it is in the inventory, as applied).
      if (this.#applied.has(id) || census.of(id) > (addedIds.get(id) ?? 0) || !t) continue;
      // Another reconciler's now: neither ours nor pruned.
      if (!this.#foreign.has(id)) gone.push([id, t]);
      st.inventory.delete(id);
    }
    for (const [id, t] of this.#applied) st.inventory.set(id, t);
    this.#prune(gone);
    if (drift) this.#correctDrift();
    return true;
  }

  /**
   * Applies again every object of the inventory (not applied by this round) whose live version moved since this
   * reconciler applied it, each from the first object of the repository with its id, in the order of a round
   * that looks at every object. Only the objects the store changed are compared ({@link LiveVersions.moved}),
   * and an object only one file has is found in that file; the whole repository is looked at only for an id
   * several objects have.
   */
  #correctDrift(): void {
    const st = this.#st;
    const drifted = st.versions.moved(this.#store, st.inventory, this.#applied);
    if (drifted.size === 0) return;
    const found = [...drifted].map((id) => this.#soleObject(id));
    const objects = found.every((x) => x !== undefined)
      ? forApply(found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.index - b.index)).map((x) => x.o))
      : forApply(st.files.sorted().flatMap(([, f]) => f.objects));
    for (const o of objects) {
      const t = this.#target(o);
      const id = t && resourceId(t);
      if (!t || !id || !drifted.has(id)) continue;
      // Once, from the first object with the id, as a round that looks at every object does.
      drifted.delete(id);
      this.#apply(o, t, id);
      // Another reconciler's now: no longer ours, and not pruned.
      if (this.#foreign.has(id)) st.inventory.delete(id);
    }
  }

  /** The only object of the repository with this id, with its file and place in it; undefined if not known. */
  #soleObject(id: string): { o: Obj; path: string; index: number } | undefined {
    const path = this.#st.census?.fileOf(id);
    const objects = path === undefined ? [] : (this.#st.files.get(path)?.objects ?? []);
    const index = objects.findIndex((o) => {
      const t = this.#target(o);
      return t !== undefined && resourceId(t) === id;
    });
    return path === undefined || index < 0 ? undefined : { o: objects[index] as Obj, path, index };
  }

  /** An object's target, or undefined for an unknown kind. */
  #target(o: Obj): Target | undefined {
    try {
      return this.#api.targetOf(o, this.#scope ?? "default");
    } catch {
      return undefined;
    }
  }

  /** An object's target. @returns undefined for an unknown kind, reported (KNV1021) */
  #targetOf(o: Obj): Target | undefined {
    try {
      return this.#api.targetOf(o, this.#scope ?? "default");
    } catch (err) {
      this.errors.push({ code: "1021", errorMessage: `KNV1021: ${(err as Error).message}` });
      return undefined;
    }
  }

  /** Whether a RepoSync may sync the object (KNV1039 if not); a RootSync may sync anything. */
  #inScope(o: Obj, t: Target): boolean {
    if (this.#scope === undefined || (t.type.namespaced && t.namespace === this.#scope)) return true;
    this.errors.push({
      code: "1039",
      errorMessage: `KNV1039: ${t.type.kind}/${t.namespace ? `${t.namespace}/` : ""}${t.name} is outside namespace ${this.#scope}, the only one a RepoSync may sync`,
      resources: this.#refOf(o, t),
    });
    return false;
  }

  /** Applies an object of the repository, unless another reconciler manages it (KNV1060); a failure is KNV2009. */
  #apply(o: Obj, t: Target, id: string): void {
    const st = this.#st;
    const label = `${t.type.kind}/${t.namespace ? `${t.namespace}/` : ""}${t.name}`;
    // KNV1060: an object another reconciler manages (its configsync.gke.io/manager names another RootSync or a
    // RepoSync) is not this one's to apply, nor to prune. (This emulator does not write the annotation itself:
    // several RootSyncs of one emulated edge may share objects, as its tests have them.)
    const owner = get(
      this.#store.get(storeKey(t.type), t.namespace, t.name ?? ""),
      "metadata",
      "annotations",
      MANAGER_ANNOTATION,
    );
    if (typeof owner === "string" && owner !== this.#managerId) {
      this.errors.push({
        code: "1060",
        errorMessage: `KNV1060: ${label} is managed by another reconciler (${owner}), not by ${this.#managerId}: remove it from one of the repositories`,
        resources: this.#refOf(o, t),
      });
      this.#foreign.add(id);
      return;
    }
    try {
      if (this.#failing.has(label)) throw new ApiError(500, "InternalError", "injected sync fault");
      if (t.namespace && !this.#store.get("/namespaces", undefined, t.namespace)) {
        this.#api.applyObject(
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
      const live = this.#api.applyObject(withMarks, MANAGER, this.#scope ?? "default");
      st.versions.set(id, t, String(live.metadata["resourceVersion"]));
      this.#applied.set(id, t);
    } catch (err) {
      // Still ours: a failed apply must not make the object look removed from the repository.
      if (st.inventory.has(id)) this.#applied.set(id, t);
      this.errors.push({
        code: "2009",
        errorMessage: `KNV2009: failed to apply ${label}: ${(err as Error).message}`,
        resources: this.#refOf(o, t),
      });
    }
  }

  /** Deletes what left the repository, namespaced objects before their namespaces. */
  #prune(gone: [string, Target][]): void {
    gone.sort(([, a], [, b]) => Number(!a.type.namespaced) - Number(!b.type.namespaced));
    for (const [, t] of gone) this.#api.deleteObject(t);
    for (const [id, t] of gone) this.#st.versions.delete(id, t);
  }

  #refOf(o: Obj, t: Target): ResourceRef[] {
    if (!this.#sourcePaths) {
      this.#sourcePaths = new Map();
      for (const [path, f] of this.#st.files.sorted()) for (const x of f.objects) this.#sourcePaths.set(x, path);
    }
    const ref: ResourceRef = {
      name: t.name ?? "",
      gvk: {
        group: t.type.group,
        version: String(o["apiVersion"] ?? "").replace(/^.*\//, ""),
        kind: t.type.kind,
      },
    };
    const path = this.#sourcePaths.get(o);
    if (path) ref.sourcePath = path;
    if (t.namespace) ref.namespace = t.namespace;
    return [ref];
  }
}

const resourceId = (t: Target) => `${t.type.group}/${t.type.kind}/${t.namespace ?? ""}/${t.name}`;

/** Namespaces and CRDs first, then the rest (in their order): an object's namespace is created when the repo lacks it. */
const forApply = (objects: Obj[]): Obj[] => {
  const order = (o: Obj) => (o["kind"] === "Namespace" ? 0 : o["kind"] === "CustomResourceDefinition" ? 1 : 2);
  return [...objects].sort((a, b) => order(a) - order(b));
};
