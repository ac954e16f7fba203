/**
 * The resource types the emulator serves: the built-in kinds the agent and kubectl use, the Istio and
 * ConfigSync kinds a CAMINO edge has installed, and any custom resource a CustomResourceDefinition adds.
 * Names, short names, scopes and verbs as the real API server reports them.
 */

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Built into the API server (strategic merge patch applies); false for custom resources. */
  builtin: boolean;
  categories?: string[];
  /** A CRD's OpenAPI v3 schema for the version, when the type comes from one. */
  schema?: Record<string, unknown>;
  /** Subresources served (status). */
  subresources: string[];
}

export const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const t = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[] = [],
  builtin = true,
  subresources: string[] = [],
): ResourceType => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  shortNames,
  namespaced,
  builtin,
  subresources,
});

/** The types every emulated edge has. */
export function builtinTypes(): ResourceType[] {
  return [
    t("", "v1", "Namespace", "namespaces", false, ["ns"], true, ["status"]),
    t("", "v1", "Node", "nodes", false, ["no"], true, ["status"]),
    { ...t("", "v1", "Pod", "pods", true, ["po"], true, ["status"]), categories: ["all"] },
    { ...t("", "v1", "Service", "services", true, ["svc"], true, ["status"]), categories: ["all"] },
    t("", "v1", "Endpoints", "endpoints", true, ["ep"]),
    t("", "v1", "ConfigMap", "configmaps", true, ["cm"]),
    t("", "v1", "Secret", "secrets", true),
    t("", "v1", "ServiceAccount", "serviceaccounts", true, ["sa"]),
    {
      ...t("apps", "v1", "Deployment", "deployments", true, ["deploy"], true, ["status", "scale"]),
      categories: ["all"],
    },
    {
      ...t("apps", "v1", "StatefulSet", "statefulsets", true, ["sts"], true, ["status", "scale"]),
      categories: ["all"],
    },
    { ...t("apps", "v1", "DaemonSet", "daemonsets", true, ["ds"], true, ["status"]), categories: ["all"] },
    { ...t("apps", "v1", "ReplicaSet", "replicasets", true, ["rs"], true, ["status", "scale"]), categories: ["all"] },
    t("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, ["netpol"]),
    t("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false),
    t("networking.k8s.io", "v1", "Ingress", "ingresses", true, ["ing"], true, ["status"]),
    t(
      "apiextensions.k8s.io",
      "v1",
      "CustomResourceDefinition",
      "customresourcedefinitions",
      false,
      ["crd", "crds"],
      true,
      ["status"],
    ),
    t("configsync.gke.io", "v1beta1", "RootSync", "rootsyncs", true, [], false, ["status"]),
    t("configsync.gke.io", "v1beta1", "RepoSync", "reposyncs", true, [], false, ["status"]),
    t("networking.istio.io", "v1", "VirtualService", "virtualservices", true, ["vs"], false, ["status"]),
    t("networking.istio.io", "v1", "DestinationRule", "destinationrules", true, ["dr"], false, ["status"]),
    t("networking.istio.io", "v1", "ServiceEntry", "serviceentries", true, ["se"], false, ["status"]),
    t("networking.istio.io", "v1", "Gateway", "gateways", true, ["gw"], false, ["status"]),
    t("security.istio.io", "v1", "PeerAuthentication", "peerauthentications", true, ["pa"], false, ["status"]),
    t("security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies", true, ["ap"], false, ["status"]),
  ];
}

/** `group/version`, or `version` for the core group. */
export const groupVersion = (r: Pick<ResourceType, "group" | "version">) =>
  r.group ? `${r.group}/${r.version}` : r.version;

/** The types a CustomResourceDefinition object declares (one per served version). */
export function typesOfCrd(crd: Record<string, unknown>): ResourceType[] {
  const spec = (crd["spec"] ?? {}) as {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions?: {
      name: string;
      served?: boolean;
      schema?: { openAPIV3Schema?: Record<string, unknown> };
      subresources?: Record<string, unknown>;
    }[];
  };
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => {
      const out: ResourceType = {
        group: spec.group ?? "",
        version: v.name,
        kind: names.kind ?? "",
        plural: names.plural ?? "",
        singular: names.singular ?? (names.kind ?? "").toLowerCase(),
        shortNames: names.shortNames ?? [],
        namespaced: spec.scope !== "Cluster",
        builtin: false,
        subresources: Object.keys(v.subresources ?? {}),
      };
      if (names.categories) out.categories = names.categories;
      if (v.schema?.openAPIV3Schema) out.schema = v.schema.openAPIV3Schema;
      return out;
    });
}
