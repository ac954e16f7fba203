import type { PackageIntent } from "../intent/model.js";
import type { Blueprint } from "./blueprint.js";

/**
 * The IESD (Intent-Enriched Service Descriptor, paper Listing 2) of one package: everything hydration uses,
 * in one record. It is written into the deployment package as a local-config object, and maps onto the porch
 * PackageVariant that would reproduce the package.
 */

/** The address of a package a link leads to, as the consumer is given it. */
export interface IesdInput {
  /** The link's name: `<from>-<to>`. */
  link: string;
  package: string;
  host: string;
  port: number;
  protocol: string;
}

export interface Iesd {
  intent: string;
  /** The intent's revision (1 for the first submission). */
  revision: number;
  package: string;
  domain: string;
  edge: string;
  namespace: string;
  version?: string;
  replicas: number;
  resources: { cpu?: string; memory?: string; cpuLimit?: string; memoryLimit?: string };
  qos?: string;
  labels: Record<string, string>;
  blueprint: { name: string; repository: string; url: string; path: string; revision: string; commit: string };
  deployment: { repository: string; path: string };
  /**
   * Every setter value CAMINO gives the blueprint (its defaults apply to the rest), keys sorted: the package's
   * name, namespace and replicas where the blueprint declares them; version, resources, qos, the addresses of
   * the packages it calls (`upstreams`) and the intent's `config` values, each of which must be taken.
   */
  setters: Record<string, string>;
  inputs: IesdInput[];
}

/** The labels CAMINO puts on every object and pod template of a package. */
export function caminoLabels(iesd: Pick<Iesd, "intent" | "package" | "domain" | "edge">): Record<string, string> {
  return {
    "camino.io/domain": iesd.domain,
    "camino.io/edge": iesd.edge,
    "camino.io/intent": iesd.intent,
    "camino.io/package": iesd.package,
  };
}

/** The cluster-local DNS name of a package's Service. */
export function serviceHost(pkg: string, namespace: string): string {
  return `${pkg}.${namespace}.svc.cluster.local`;
}

/** What an IESD is built from. */
export interface IesdSource {
  intent: string;
  revision: number;
  pkg: PackageIntent;
  domain: string;
  edge: string;
  /** The chain's namespace. */
  namespace: string;
  blueprint: Iesd["blueprint"];
  deployment: Iesd["deployment"];
  inputs: IesdInput[];
}

/** Builds the IESD of a package for a blueprint. */
export function buildIesd(src: IesdSource, blueprint: Blueprint): Iesd {
  const { pkg } = src;
  const declared = new Set(blueprint.setters.map((s) => s.name));
  // A Map: a setter named like an Object property ("__proto__") is a value like any other.
  const setters = new Map<string, string>();
  const context: Record<string, string> = { name: pkg.name, namespace: src.namespace, replicas: String(pkg.replicas) };
  for (const [k, v] of Object.entries(context)) if (declared.has(k)) setters.set(k, v);
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined) setters.set(k, v);
  };
  const cpu = pkg.resources.cpu?.text;
  const memory = pkg.resources.memory?.text;
  put("version", pkg.version);
  put("cpu", cpu);
  put("memory", memory);
  // Limits equal requests unless given.
  put("cpu-limit", pkg.resources.limits?.cpu?.text ?? cpu);
  put("memory-limit", pkg.resources.limits?.memory?.text ?? memory);
  put("qos", pkg.qos);
  if (src.inputs.length > 0) put("upstreams", src.inputs.map((i) => `${i.package}=${i.host}:${i.port}`).join(","));
  for (const [k, v] of Object.entries(pkg.config)) put(k, v);
  const resources: Iesd["resources"] = {};
  if (cpu !== undefined) resources.cpu = cpu;
  if (memory !== undefined) resources.memory = memory;
  const cpuLimit = setters.get("cpu-limit");
  const memoryLimit = setters.get("memory-limit");
  if (cpuLimit !== undefined) resources.cpuLimit = cpuLimit;
  if (memoryLimit !== undefined) resources.memoryLimit = memoryLimit;
  const iesd: Iesd = {
    intent: src.intent,
    revision: src.revision,
    package: pkg.name,
    domain: src.domain,
    edge: src.edge,
    namespace: src.namespace,
    replicas: pkg.replicas,
    resources,
    labels: caminoLabels({ intent: src.intent, package: pkg.name, domain: src.domain, edge: src.edge }),
    blueprint: src.blueprint,
    deployment: src.deployment,
    setters: Object.fromEntries([...setters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    inputs: src.inputs,
  };
  if (pkg.version !== undefined) iesd.version = pkg.version;
  if (pkg.qos !== undefined) iesd.qos = pkg.qos;
  return iesd;
}
