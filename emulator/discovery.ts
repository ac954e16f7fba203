/**
 * Discovery as kubectl 1.32 asks for it: `/version`, aggregated discovery (`apidiscovery.k8s.io/v2`, with
 * the exact content type; v2beta1 for older clients) and legacy discovery (APIVersions, APIGroupList,
 * APIResourceList), all from the type registry.
 */
import { groupVersion, VERBS, type ResourceType } from "./resources.js";
import type { TypeRegistry } from "./type-registry.js";

export const VERSION_INFO = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0",
  gitCommit: "camino-edge-emulator",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

/** The aggregated-discovery version the Accept header prefers, if any. */
export function aggregatedVersion(accept: string): "v2" | "v2beta1" | undefined {
  for (const part of accept.split(",")) {
    if (!part.includes("as=APIGroupDiscoveryList")) continue;
    if (part.includes("v=v2beta1")) return "v2beta1";
    if (part.includes("v=v2")) return "v2";
  }
  return undefined;
}

export const aggregatedContentType = (v: "v2" | "v2beta1") =>
  `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;

function resourceEntry(t: ResourceType) {
  const entry: Record<string, unknown> = {
    resource: t.plural,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? "Namespaced" : "Cluster",
    singularResource: t.singular,
    verbs: VERBS,
  };
  if (t.shortNames.length > 0) entry["shortNames"] = t.shortNames;
  if (t.categories) entry["categories"] = t.categories;
  if (t.subresources.length > 0) {
    entry["subresources"] = t.subresources.map((s) => ({
      subresource: s,
      responseKind:
        s === "scale"
          ? { group: "autoscaling", version: "v1", kind: "Scale" }
          : { group: t.group, version: t.version, kind: t.kind },
      verbs: ["get", "patch", "update"],
    }));
  }
  return entry;
}

/** `/api` (core) or `/apis` (groups) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(types: TypeRegistry, core: boolean, v: "v2" | "v2beta1"): Record<string, unknown> {
  const groups = new Map<string, Map<string, ResourceType[]>>();
  for (const t of types.all()) {
    if ((t.group === "") !== core) continue;
    const versions = groups.get(t.group) ?? new Map<string, ResourceType[]>();
    versions.set(t.version, [...(versions.get(t.version) ?? []), t]);
    groups.set(t.group, versions);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${v}`,
    metadata: {},
    items: [...groups].map(([group, versions]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: [...versions].map(([version, ts]) => ({
        version,
        resources: ts.map(resourceEntry),
        freshness: "Current",
      })),
    })),
  };
}

export function apiVersions(host: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
  };
}

export function apiGroupList(types: TypeRegistry): Record<string, unknown> {
  const groups = new Map<string, string[]>();
  for (const { group, version } of types.groupVersions())
    if (group) groups.set(group, [...(groups.get(group) ?? []), version]);
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function apiResourceList(
  types: TypeRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const ts = types.all().filter((t) => t.group === group && t.version === version);
  if (ts.length === 0) return undefined;
  const resources = ts.flatMap((t) => {
    const main: Record<string, unknown> = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
    };
    if (t.shortNames.length > 0) main["shortNames"] = t.shortNames;
    if (t.categories) main["categories"] = t.categories;
    return [
      main,
      ...t.subresources.map((s) => ({
        name: `${t.plural}/${s}`,
        singularName: "",
        namespaced: t.namespaced,
        kind: s === "scale" ? "Scale" : t.kind,
        ...(s === "scale" ? { group: "autoscaling", version: "v1" } : {}),
        verbs: ["get", "patch", "update"],
      })),
    ];
  });
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion({ group, version }), resources };
}
