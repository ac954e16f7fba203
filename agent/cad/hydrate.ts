/**
 * Hydration: a blueprint plus an IESD give a deployment package — setters applied (strict), namespace and
 * `camino.io/*` labels set as kpt's set-namespace and set-labels set them, every object checked against its
 * schema, a Kptfile recording the upstream and its resolved commit, and the IESD kept as local config.
 * Also the porch PackageVariant that would reproduce the same package. Same inputs, byte-identical output.
 */
import { isMap, type Document } from "yaml";
import { ValidationError, type FieldIssue } from "../errors.js";
import { LOCAL_CONFIG, type Blueprint } from "./blueprint.js";
import { caminoLabels, type Iesd } from "./iesd.js";
import { validatePackageVariant } from "./package-variant-schema.js";
import { validateObject } from "../../common/schema.js";
import { applySetters, SetterValueError } from "./setters.js";
import { plainYaml } from "./plain-yaml.js";
import { stringifyYamlFile } from "./yaml-io.js";

/** Hydration failed; `issues` name package, file, object and field. */
export class HydrationError extends ValidationError {
  constructor(issues: readonly FieldIssue[]) {
    super("ERR_HYDRATION", "package", issues);
  }
}

export interface HydratedPackage {
  iesd: Iesd;
  /** The porch PackageVariant (config.porch.kpt.dev/v1alpha1) that reproduces this package. */
  packageVariant: Record<string, unknown>;
  /** Repository path → file text, sorted by path; everything under `<intent>/<package>/`. */
  files: Map<string, string>;
  /** The Kubernetes objects of those files as the edge gets them (local-config objects left out), in file order. */
  objects: Record<string, unknown>[];
}

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "IngressClass",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
]);
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

/** Function images of the PackageVariant pipeline (the versions porch registers as built-ins). */
export const KPT_FUNCTIONS = {
  applySetters: "gcr.io/kpt-fn/apply-setters:v0.2.0",
  setNamespace: "gcr.io/kpt-fn/set-namespace:v0.4.1",
  setLabels: "gcr.io/kpt-fn/set-labels:v0.1.5",
} as const;

function setLabelsOn(doc: Document, path: (string | number)[], labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) doc.setIn([...path, k], v);
}

/** set-namespace and set-labels, as kpt's functions apply them (selectors only where they exist). */
function setNamespaceAndLabels(doc: Document, kind: string, namespace: string, labels: Record<string, string>): void {
  if (kind === "Namespace") doc.setIn(["metadata", "name"], namespace);
  else if (!CLUSTER_SCOPED.has(kind)) doc.setIn(["metadata", "namespace"], namespace);
  setLabelsOn(doc, ["metadata", "labels"], labels);
  if (WORKLOADS.has(kind)) {
    setLabelsOn(doc, ["spec", "selector", "matchLabels"], labels);
    setLabelsOn(doc, ["spec", "template", "metadata", "labels"], labels);
  } else if (kind === "Service" && doc.hasIn(["spec", "selector"])) {
    setLabelsOn(doc, ["spec", "selector"], labels);
  }
}

function kptfile(iesd: Iesd, description: string): string {
  const git = { repo: iesd.blueprint.url, directory: `/${iesd.blueprint.path}`, ref: iesd.blueprint.revision };
  const doc = {
    apiVersion: "kpt.dev/v1",
    kind: "Kptfile",
    metadata: { name: iesd.package, annotations: { [LOCAL_CONFIG]: "true" } },
    upstream: { type: "git", git, updateStrategy: "resource-merge" },
    upstreamLock: { type: "git", git: { ...git, commit: iesd.blueprint.commit } },
    info: { description },
  };
  return plainYaml(doc);
}

function iesdObject(iesd: Iesd): string {
  // Without the intent's revision: an update rewrites only the packages whose descriptor changes (the revision
  // is in the intent record, <intent>/_chain/intent.yaml, and in the commits' trailers).
  const { revision: _, ...spec } = iesd;
  const doc = {
    apiVersion: "camino.io/v1",
    kind: "IESD",
    metadata: { name: iesd.package, annotations: { [LOCAL_CONFIG]: "true" } },
    spec,
  };
  return plainYaml(doc);
}

/** The porch PackageVariant that reproduces the package from its blueprint. */
export function packageVariantOf(iesd: Iesd, blueprint: Blueprint): Record<string, unknown> {
  return {
    apiVersion: "config.porch.kpt.dev/v1alpha1",
    kind: "PackageVariant",
    metadata: { name: `${iesd.intent}-${iesd.package}-${iesd.edge}`.slice(0, 253), labels: caminoLabels(iesd) },
    spec: {
      upstream: { repo: iesd.blueprint.repository, package: blueprint.path, revision: iesd.blueprint.revision },
      downstream: { repo: iesd.deployment.repository, package: iesd.deployment.path },
      adoptionPolicy: "adoptNone",
      deletionPolicy: "delete",
      labels: caminoLabels(iesd),
      pipeline: {
        mutators: [
          { image: KPT_FUNCTIONS.applySetters, configMap: { ...iesd.setters } },
          { image: KPT_FUNCTIONS.setNamespace, configMap: { namespace: iesd.namespace } },
          { image: KPT_FUNCTIONS.setLabels, configMap: caminoLabels(iesd) },
        ],
      },
    },
  };
}

/**
 * Hydrates one package.
 * @throws HydrationError listing every problem: required setters without a value, values no setter takes,
 *   bad list values, and schema violations, each with package, file, object and field path.
 */
export function hydratePackage(blueprint: Blueprint, iesd: Iesd): HydratedPackage {
  const all = { ...blueprint.defaults, ...iesd.setters };
  const issues: FieldIssue[] = [];
  const used = new Set<string>();
  const labels = caminoLabels(iesd);
  const base = iesd.deployment.path;
  const files = new Map<string, string>();
  const objects: [string, Record<string, unknown>][] = [];

  for (const [file, docs] of blueprint.resources) {
    const out: Document[] = [];
    for (const original of docs) {
      const doc = original.clone();
      out.push(doc);
      if (!isMap(doc.contents)) continue;
      try {
        const r = applySetters(doc, all);
        r.used.forEach((s) => {
          used.add(s);
        });
        for (const u of r.unresolved)
          issues.push({
            path: `${iesd.package}/${file}: ${u.path}`,
            message: `required setter ${u.setter} has no value`,
          });
      } catch (err) {
        if (!(err instanceof SetterValueError)) throw err;
        issues.push({ path: `${iesd.package}/${file}: ${err.path}`, message: err.message });
        continue;
      }
      // Read from the document itself; the plain object is built once, after namespace and labels are set.
      const local = doc.getIn(["metadata", "annotations", LOCAL_CONFIG]);
      if (local !== undefined && String(local) !== "false") continue;
      const kind = String(doc.get("kind") ?? "");
      setNamespaceAndLabels(doc, kind, iesd.namespace, labels);
      const name = String(doc.getIn(["metadata", "name"]) ?? "?");
      const object = doc.toJS() as Record<string, unknown>;
      objects.push([file, object]);
      for (const i of validateObject(object)) {
        issues.push({
          path: `${iesd.package}/${file}: ${kind}/${name}${i.path ? `: ${i.path}` : ""}`,
          message: i.message,
        });
      }
    }
    files.set(`${base}/${file}`, stringifyYamlFile(out));
  }
  // Strict mode: every value CAMINO gives must be taken by some field.
  for (const s of Object.keys(iesd.setters)) {
    if (!used.has(s))
      issues.push({
        path: `${iesd.package}`,
        message: `value for setter ${s} is taken by no field of blueprint ${blueprint.name}`,
      });
  }
  if (issues.length > 0) throw new HydrationError(issues);

  files.set(`${base}/Kptfile`, kptfile(iesd, blueprint.description));
  files.set(`${base}/iesd.yaml`, iesdObject(iesd));
  const sorted = new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const packageVariant = packageVariantOf(iesd, blueprint);
  const pvIssues = validatePackageVariant(packageVariant);
  if (pvIssues.length > 0)
    throw new HydrationError(
      pvIssues.map((i) => ({ path: `${iesd.package}: PackageVariant: ${i.path}`, message: i.message })),
    );
  // In the order of the files as written (by path), each file's objects in document order.
  const ordered = objects
    .map(([file, o], i) => ({ path: `${base}/${file}`, o, i }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.i - b.i));
  return { iesd, packageVariant, files: sorted, objects: ordered.map((x) => x.o) };
}
