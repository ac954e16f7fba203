/**
 * How the Kubernetes API server merges lists of built-in kinds, by field name (the `patchMergeKey` /
 * `x-kubernetes-list-map-keys` of the real types): a list whose items are merged by a key, a set of
 * primitives, or (anything else) an atomic list replaced whole. Shared by strategic merge patch and
 * server-side apply, which must agree.
 */

/** A list merged by item key(s). */
export interface MapListStrategy {
  type: "map";
  keys: readonly string[];
}

/** A list of primitives merged as a set. */
export interface SetListStrategy {
  type: "set";
}

/** A list replaced whole. */
export interface AtomicListStrategy {
  type: "atomic";
}

export type ListStrategy = MapListStrategy | SetListStrategy | AtomicListStrategy;

/** Field name → strategy, for lists of the core and apps kinds (the field names are unique enough in practice). */
const BY_FIELD: Readonly<Record<string, ListStrategy>> = {
  containers: { type: "map", keys: ["name"] },
  initContainers: { type: "map", keys: ["name"] },
  ephemeralContainers: { type: "map", keys: ["name"] },
  volumes: { type: "map", keys: ["name"] },
  volumeMounts: { type: "map", keys: ["mountPath"] },
  volumeDevices: { type: "map", keys: ["devicePath"] },
  env: { type: "map", keys: ["name"] },
  imagePullSecrets: { type: "map", keys: ["name"] },
  hostAliases: { type: "map", keys: ["ip"] },
  topologySpreadConstraints: { type: "map", keys: ["topologyKey", "whenUnsatisfiable"] },
  resourceClaims: { type: "map", keys: ["name"] },
  conditions: { type: "map", keys: ["type"] },
  finalizers: { type: "set" },
  // Container ports merge by containerPort (and protocol for server-side apply).
  "containers[].ports": { type: "map", keys: ["containerPort", "protocol"] },
  // Service ports merge by port (and protocol).
  "Service.spec.ports": { type: "map", keys: ["port", "protocol"] },
  ownerReferences: { type: "map", keys: ["uid"] },
};

/**
 * The strategy of the list at `path` (field names from the object root, e.g. ["spec", "template", "spec",
 * "containers"]) in an object of `kind`. Custom resources (`builtin` false) only have atomic lists, as the
 * API server treats lists of CRDs without list-type markers.
 */
export function listStrategy(kind: string, path: readonly string[], builtin = true): ListStrategy {
  if (!builtin) return { type: "atomic" };
  const field = path[path.length - 1] ?? "";
  const parent = path[path.length - 2] ?? "";
  if (field === "ports") {
    if (kind === "Service" && parent === "spec") return BY_FIELD["Service.spec.ports"] as ListStrategy;
    if (path.includes("containers") || path.includes("initContainers") || path.includes("ephemeralContainers"))
      return BY_FIELD["containers[].ports"] as ListStrategy;
    return { type: "atomic" };
  }
  if (field === "finalizers" && parent === "metadata") return { type: "set" };
  return BY_FIELD[field] ?? { type: "atomic" };
}
