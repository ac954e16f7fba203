/**
 * Drift: what each edge an intent runs on has, against what its deployment repository says now. For every object
 * of the intent's files at the repository's head (`<intent>/<package>/…` and `<intent>/_chain/…`, local-config
 * objects left out as ConfigSync leaves them out), on the repository's edge:
 * - `missing`: the edge does not have it (or does not serve its kind);
 * - `changed`: it differs, field by field, from what the server makes of the file — a server-side dry-run apply of
 *   the file (as its own field manager, forced), compared with the live object as `kubectl diff` compares them
 *   (drift-fields.ts): defaults the server fills in are on both sides, and a field someone else added that the
 *   file does not set is not drift (ConfigSync would not change it either);
 * - `extra`: an object labelled as the intent's (`camino.io/intent`) of a kind the files have (or a workload,
 *   Service or ConfigMap) that the files do not have, and that no controller owns.
 * An edge that cannot be read is named in `unknown` with the reason, not an error. The edges are read through
 * the edge client (its transport: deadline, health, failures explained) and in parallel; nothing is written.
 */
import { parseAllDocuments } from "yaml";
import { PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import type { RepositoryRegistry } from "../cad/repository-registry.js";
import type { EdgeClient } from "../edge/edge-client.js";
import { EdgeError, httpCodeOf, apiStatusOf } from "../edge/edge-errors.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import { driftFields, type FieldDrift } from "./drift-fields.js";
import type { DeploymentRecord } from "./journal.js";

export type { FieldDrift } from "./drift-fields.js";

/** One object whose state on an edge differs from the repository. */
export interface ObjectDrift {
  edge: string;
  /** The package folder the object is in (`_chain` for the chain's files), or its `camino.io/package` label. */
  package: string;
  repository: string;
  /** The file in the repository ("" for an object only the edge has). */
  path: string;
  apiVersion: string;
  kind: string;
  /** "" for a cluster-scoped object. */
  namespace: string;
  name: string;
  change: "missing" | "extra" | "changed";
  /** For `changed`: the fields that differ. */
  fields: FieldDrift[];
}

/** An intent's drift over its edges. */
export interface DriftReport {
  /** Sorted by edge, package, kind, namespace, name. */
  drift: ObjectDrift[];
  /** Edges whose drift is unknown, as "edge: reason" (unreachable, refused a read, no repository). */
  unknown: string[];
}

/** What drift reads. */
export interface DriftDeps {
  /** This domain: only its packages run on its edges. */
  domainId: string;
  registry: RepositoryRegistry;
  edges: EdgeRegistry;
}

/** The field manager of the dry runs: not the one ConfigSync or CAMINO applies with. */
const DRIFT_MANAGER = "camino-drift";

/** Kinds looked at for extra objects besides those the files have. */
const EXTRA_KINDS = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "ConfigMap" },
];

type Obj = Record<string, unknown>;

/** An object of the repository, with its file. */
interface Declared {
  path: string;
  package: string;
  object: KubernetesObject & Obj;
}

const keyOf = (kind: string, namespace: string | undefined, name: string | undefined) =>
  `${kind}/${namespace ?? ""}/${name ?? ""}`;

/**
 * The drift of `record`'s intent on every edge of this domain it runs on.
 * @throws the signal's reason when it aborts; nothing else (an edge that fails is in `unknown`)
 */
export async function computeDrift(
  deps: DriftDeps,
  record: DeploymentRecord,
  signal: AbortSignal,
): Promise<DriftReport> {
  const byEdge = new Map<string, string>();
  for (const p of record.packages)
    if (p.domain === deps.domainId && p.edge !== "" && p.repository !== "") byEdge.set(p.edge, p.repository);
  const results = await Promise.all(
    [...byEdge]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(async ([edge, repository]) => {
        try {
          return { drift: await edgeDrift(deps, record.intent, edge, repository, signal) };
        } catch (err) {
          if (signal.aborted) throw err;
          return { unknown: `${edge}: ${reasonOf(err)}` };
        }
      }),
  );
  return {
    drift: results.flatMap((r) => r.drift ?? []),
    unknown: results.flatMap((r) => (r.unknown ? [r.unknown] : [])),
  };
}

const reasonOf = (err: unknown): string =>
  err instanceof EdgeError ? String(err.data["reason"] ?? err.message) : (err as Error).message;

async function edgeDrift(
  deps: DriftDeps,
  intent: string,
  edgeName: string,
  repository: string,
  signal: AbortSignal,
): Promise<ObjectDrift[]> {
  const edge = deps.edges.get(edgeName);
  if (!edge) throw new Error("the edge is no longer configured");
  const repo = deps.registry.get(repository);
  if (!repo) throw new Error(`its deployment repository ${repository} is no longer registered`);
  const files = await repo.git.readFiles(undefined, intent);
  const declared = declaredObjects(files);
  const base = { edge: edgeName, repository };
  const out = await Promise.all(
    declared.map(async (d): Promise<ObjectDrift | undefined> => {
      const o = d.object;
      const meta = o.metadata ?? {};
      const drift = (change: ObjectDrift["change"], fields: FieldDrift[] = []): ObjectDrift => ({
        ...base,
        package: d.package,
        path: d.path,
        apiVersion: o.apiVersion ?? "",
        kind: o.kind ?? "",
        namespace: meta.namespace ?? "",
        name: meta.name ?? "",
        change,
        fields,
      });
      const live = await readLive(edge, o, signal);
      if (!live) return drift("missing");
      const want = await dryRun(edge, o, signal);
      const fields = driftFields(want as Obj, live as Obj);
      return fields.length > 0 ? drift("changed", fields) : undefined;
    }),
  );
  const extra = await extraObjects(edge, intent, declared, signal);
  return [
    ...out.filter((x): x is ObjectDrift => x !== undefined),
    ...extra.map(
      (o): ObjectDrift => ({
        ...base,
        package: o.metadata?.labels?.["camino.io/package"] ?? "",
        path: "",
        apiVersion: o.apiVersion ?? "",
        kind: o.kind ?? "",
        namespace: o.metadata?.namespace ?? "",
        name: o.metadata?.name ?? "",
        change: "extra",
        fields: [],
      }),
    ),
  ].sort(
    (a, b) =>
      a.package.localeCompare(b.package) ||
      a.kind.localeCompare(b.kind) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

/** The objects of an intent's files, local-config ones left out (as ConfigSync reads them). */
export function declaredObjects(files: ReadonlyMap<string, string>): Declared[] {
  const out: Declared[] = [];
  for (const [path, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!/\.(ya?ml|json)$/.test(path)) continue;
    const pkg = path.split("/")[1] ?? "";
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) continue;
      const o = doc.toJS() as unknown;
      if (!o || typeof o !== "object" || Array.isArray(o)) continue;
      const obj = o as KubernetesObject & Obj;
      if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) continue;
      const local = obj.metadata.annotations?.["config.kubernetes.io/local-config"];
      if (local !== undefined && String(local) !== "false") continue;
      out.push({ path, package: pkg, object: obj });
    }
  }
  return out;
}

/** The live object, or undefined when the edge does not have it (or does not serve its kind). */
async function readLive(
  edge: EdgeClient,
  o: KubernetesObject,
  signal: AbortSignal,
): Promise<KubernetesObject | undefined> {
  const what = `read ${o.kind}/${o.metadata?.name}`;
  try {
    return await edge.call(
      what,
      async (api) => {
        if (!(await api.objects.serves(o.apiVersion ?? "", o.kind ?? ""))) return undefined;
        return api.objects.read({
          apiVersion: o.apiVersion ?? "",
          kind: o.kind ?? "",
          metadata: {
            name: o.metadata?.name ?? "",
            ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
          },
        });
      },
      signal,
    );
  } catch (err) {
    if (err instanceof EdgeError && httpCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** What the edge would make of the file: a server-side dry-run apply, forced, as {@link DRIFT_MANAGER}. */
async function dryRun(edge: EdgeClient, o: KubernetesObject, signal: AbortSignal): Promise<KubernetesObject> {
  const label = `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`;
  try {
    return await edge.call(
      `dry run of ${label}`,
      (api) => api.objects.patch(o, undefined, "All", DRIFT_MANAGER, true, PatchStrategy.ServerSideApply),
      signal,
    );
  } catch (err) {
    if (err instanceof EdgeError && err.code === "ERR_EDGE_API")
      throw new Error(`the edge refused a dry run of ${label}: ${apiStatusOf(err)?.message ?? err.message}`);
    throw err;
  }
}

/** Objects labelled as the intent's that the files do not have and no controller owns. */
async function extraObjects(
  edge: EdgeClient,
  intent: string,
  declared: readonly Declared[],
  signal: AbortSignal,
): Promise<KubernetesObject[]> {
  const known = new Set(
    declared.map((d) => keyOf(d.object.kind ?? "", d.object.metadata?.namespace, d.object.metadata?.name)),
  );
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const k of [
    ...declared.map((d) => ({ apiVersion: d.object.apiVersion ?? "", kind: d.object.kind ?? "" })),
    ...EXTRA_KINDS,
  ])
    kinds.set(`${k.apiVersion}/${k.kind}`, k);
  const lists = await Promise.all(
    [...kinds.values()].map((k) =>
      edge.call(
        `list ${k.kind}s of ${intent}`,
        async (api) => {
          if (!(await api.objects.serves(k.apiVersion, k.kind))) return [];
          const list = await api.objects.list(
            k.apiVersion,
            k.kind,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            `camino.io/intent=${intent}`,
          );
          return list.items.map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.kind }));
        },
        signal,
      ),
    ),
  );
  return lists
    .flat()
    .filter(
      (o) =>
        !o.metadata?.ownerReferences?.length &&
        !known.has(keyOf(o.kind ?? "", o.metadata?.namespace, o.metadata?.name)),
    );
}
