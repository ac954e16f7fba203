/**
 * Planning and admission of an intent: everything up to the first commit.
 *
 * 1. Each package's blueprint is resolved in the catalogue (to a commit); unknown blueprints, revisions and
 *    edges are intent errors (INVALID_ARGUMENT, nothing written).
 * 2. The edges' capacity is read (shared readings, see reservations.ts) and each package is placed
 *    (placement.ts: explicit edge, edgeSelector, or automatic), against what the edges have free after the
 *    reservations of intents in flight.
 * 3. Every placed package is hydrated, its links given their providers' addresses (a local package's Service
 *    name is known before it exists). Schema problems of hydrated objects are admission reasons.
 * 4. The exact requests of the hydrated pods must fit the edge chosen; when admitting for deployment, the
 *    intent's reservations are recorded in the same synchronous step as that check.
 * 5. Prerequisites a blueprint declares must be met by the edge or by a package of the same intent in an
 *    earlier wave.
 * Every reason of every package is collected. Server-side dry runs need the chain's namespace on the edge,
 * so they run wave by wave at deployment (deployments.ts).
 */
import { createHash } from "node:crypto";
import { CaminoError, IntentError, ValidationError, type FieldIssue } from "../errors.js";
import type { Catalogue, ResolvedBlueprint } from "../cad/catalogue.js";
import type { HydratedPackage } from "../cad/hydrate.js";
import type { HydrationCache } from "../cad/hydration-cache.js";
import { buildIesd, serviceHost, type IesdInput } from "../cad/iesd.js";
import type { RepositoryRegistry } from "../cad/repository-registry.js";
import type { EdgeClient } from "../edge/edge-client.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import { intentDigest } from "../intent/load.js";
import { millisOf, unitsOf } from "../intent/quantity.js";
import type { Intent, PackageIntent } from "../intent/model.js";
import { plainYaml } from "../cad/plain-yaml.js";
import { demandOf, objectsOf, packageObjects, provides } from "./package-objects.js";
import {
  afterPlacing,
  fits,
  formatAmount,
  placePackages,
  type Demand,
  type EdgeState,
  type PackageToPlace,
} from "./placement.js";
import type { CapacityBook, ReservationEntry } from "./reservations.js";

/** The network blueprint every chain's wave 0 is hydrated from. */
export const CHAIN_BLUEPRINT = "chain-base";

export type AdmissionCheck = "placement" | "schema" | "resources" | "prerequisite" | "dry-run";

export interface AdmissionReason {
  package: string;
  edge: string;
  check: AdmissionCheck;
  message: string;
}

export interface PlannedPackage {
  package: string;
  /** The wave (1..n) the package deploys in. */
  wave: number;
  /** Local placement: the edge; remote: the peer domain. */
  edge?: string;
  domain: string;
  /** The deployment repository (local packages). */
  repository?: string;
  reason: string;
  blueprintCommit?: string;
  hydrated?: HydratedPackage;
  /** What the hydrated pods request. */
  demand?: Demand;
  /** The IESD and PackageVariant as YAML text, for people and tools. */
  iesdYaml?: string;
  packageVariantYaml?: string;
  admission: AdmissionReason[];
}

/** The chain's shared objects on one edge (wave 0). */
export interface ChainPlan {
  edge: string;
  repository: string;
  files: Map<string, string>;
}

export interface IntentPlan {
  intent: string;
  order: readonly string[];
  waves: readonly (readonly string[])[];
  digest: string;
  packages: PlannedPackage[];
  chains: ChainPlan[];
  /** Every file per repository path, with its SHA-256. */
  files: { repository: string; path: string; sha256: string; size: number; content: string }[];
  admitted: boolean;
  admission: AdmissionReason[];
  /** The reservations recorded (when admitting with `reserve`). */
  reservations: ReservationEntry[];
}

export interface PlannerDeps {
  domainId: string;
  registry: RepositoryRegistry;
  catalogue: Catalogue;
  hydration: HydrationCache;
  edges: EdgeRegistry;
  book: CapacityBook;
  /** Reuse capacity readings this young (ms). Default 250. */
  capacityMaxAgeMs?: number;
}

export interface PlanOptions {
  revision?: number;
  /** Record the intent's reservations when every package is admitted (deployment); plans only look. */
  reserve?: boolean;
  signal?: AbortSignal;
}

/** What a package is expected to ask for before it is hydrated: its (or its blueprint's default) requests × replicas. */
function estimate(pkg: PackageIntent, r: ResolvedBlueprint): Demand {
  const cpu = pkg.resources.cpu?.millis ?? millisOf(r.blueprint.defaultResources.cpu);
  const memory = pkg.resources.memory?.bytes ?? unitsOf(r.blueprint.defaultResources.memory);
  return {
    total: { cpuMillis: cpu * pkg.replicas, memoryBytes: memory * pkg.replicas, pods: pkg.replicas },
    largestPod: { cpuMillis: cpu, memoryBytes: memory },
  };
}

/** Why a package placed in a peer domain cannot be deployed yet. */
export function remotePlacementMessage(domain: string): string {
  return `placement in peer domain ${JSON.stringify(domain)} is not available yet: this agent does not federate with peers (cross-domain placement arrives with federation)`;
}

/** The address a consumer is given for a link's provider: its Service name, or for a peer's package its cross-domain host. */
function providerHost(intent: string, target: PlannedPackage, domainId: string): string {
  return target.domain === domainId
    ? serviceHost(target.package, intent)
    : `${target.package}.${intent}.${target.domain}.camino`;
}

/** The edges packages can go to: configured with a Kubernetes connection and served by a deployment repository. */
export function deployableEdges(deps: Pick<PlannerDeps, "registry" | "edges">): EdgeClient[] {
  const withRepo = new Set(deps.registry.edges());
  return deps.edges.list().filter((e) => withRepo.has(e.name));
}

/**
 * Resolves every package's blueprint (to a commit) and checks that each named edge exists.
 * Returns the resolved blueprints and the deployment digest: the intent's digest with the commits its blueprints
 * resolve to, so an unchanged digest means a re-submission is a no-op.
 * @throws IntentError naming the field for an unknown blueprint, revision or edge
 */
export async function resolveIntent(
  intent: Intent,
  deps: Pick<PlannerDeps, "registry" | "catalogue">,
): Promise<{ resolved: Map<string, ResolvedBlueprint>; digest: string }> {
  const repoEdges = deps.registry.edges();
  const issues: FieldIssue[] = [];
  const resolved = new Map<string, ResolvedBlueprint>();
  for (const pkg of intent.packages) {
    const at = `spec.packages[${pkg.index}]`;
    const p = pkg.placement;
    if (p.kind === "edge" && !repoEdges.includes(p.edge)) {
      issues.push({
        path: `${at}.placement.edge`,
        message: `unknown edge ${JSON.stringify(p.edge)} (this domain has ${repoEdges.join(", ") || "no edge"})`,
      });
    }
    try {
      resolved.set(pkg.name, await deps.catalogue.resolve(pkg.blueprint, pkg.blueprintRevision));
    } catch (err) {
      if (!(err instanceof CaminoError) || err.kind !== "not-found") throw err;
      issues.push({
        path: `${at}.${err.code === "ERR_REVISION_NOT_FOUND" ? "blueprintRevision" : "blueprint"}`,
        message: err.message,
      });
    }
  }
  if (issues.length > 0) throw new IntentError(issues);
  const commits = intent.packages.map((p) => `${p.name}=${resolved.get(p.name)?.commit}`).join(",");
  return {
    resolved,
    digest: createHash("sha256")
      .update(`${intentDigest(intent)}\0${commits}`)
      .digest("hex"),
  };
}

/**
 * Plans (and, with `reserve`, admits) an intent.
 * @throws IntentError naming the field for an unknown blueprint, revision or edge; CaminoError precondition
 *   when the domain has no edge or the catalogue has no chain-base blueprint.
 */
export async function planIntent(intent: Intent, deps: PlannerDeps, options: PlanOptions = {}): Promise<IntentPlan> {
  const revision = options.revision ?? 1;
  const repoEdges = deps.registry.edges();
  const edges = deployableEdges(deps);
  const waveOf = new Map(intent.waves.flatMap((w, i) => w.map((p) => [p, i + 1] as const)));
  const { resolved } = await resolveIntent(intent, deps);
  if (repoEdges.length === 0)
    throw new CaminoError("ERR_NO_EDGE", "this domain has no edge: register a deployment repository for one");
  let chainBlueprint: ResolvedBlueprint;
  try {
    chainBlueprint = await deps.catalogue.resolve(CHAIN_BLUEPRINT);
  } catch (err) {
    throw new CaminoError(
      "ERR_NO_CHAIN_BLUEPRINT",
      `the catalogue has no ${CHAIN_BLUEPRINT} network blueprint, which every chain's namespace is made from`,
      { cause: err },
    );
  }

  await deps.book.refresh({
    maxAgeMs: deps.capacityMaxAgeMs ?? 250,
    ...(options.signal ? { signal: options.signal } : {}),
  });

  // From here to the reservation nothing awaits: the free amounts read are the ones reserved against.
  const states = deps.book.edgeStates(edges, intent.name);
  // An edge with a deployment repository but no Kubernetes connection can be named, never used.
  for (const name of repoEdges) {
    if (!edges.some((e) => e.name === name))
      states.push({
        name,
        labels: {},
        healthy: false,
        reason: "no Kubernetes connection is configured for it (edges: in the agent's config)",
        allocatable: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
        free: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
        nodeFree: [],
      });
  }
  const byName = new Map(states.map((s) => [s.name, s]));
  const linked = new Map<string, string[]>(intent.packages.map((p) => [p.name, []]));
  for (const l of intent.links) {
    if (l.to === undefined) continue;
    linked.get(l.from)?.push(l.to);
    linked.get(l.to)?.push(l.from);
  }
  const byPkg = new Map(intent.packages.map((p) => [p.name, p]));
  const remote = (pkg: PackageIntent) => pkg.placement.kind === "domain" && pkg.placement.domain !== deps.domainId;
  const toPlace: PackageToPlace[] = intent.order
    .filter((name) => !remote(byPkg.get(name) as PackageIntent))
    .map((name) => {
      const pkg = byPkg.get(name) as PackageIntent;
      const p = pkg.placement;
      const request =
        p.kind === "edge"
          ? { kind: "edge" as const, edge: p.edge }
          : p.kind === "selector"
            ? { kind: "selector" as const, selector: p.selector }
            : { kind: "auto" as const };
      return {
        name,
        index: pkg.index,
        request,
        demand: estimate(pkg, resolved.get(name) as ResolvedBlueprint),
        linked: linked.get(name) ?? [],
      };
    });
  const placement = placePackages(toPlace, states);

  const planned = new Map<string, PlannedPackage>();
  for (const name of intent.order) {
    const pkg = byPkg.get(name) as PackageIntent;
    const r = resolved.get(name) as ResolvedBlueprint;
    const plan: PlannedPackage = {
      package: name,
      wave: waveOf.get(name) ?? 1,
      domain: deps.domainId,
      reason: "",
      blueprintCommit: r.commit,
      admission: [],
    };
    if (pkg.placement.kind === "domain" && remote(pkg)) {
      plan.domain = pkg.placement.domain;
      plan.reason = `placement.domain ${pkg.placement.domain}`;
      plan.admission.push({
        package: name,
        edge: "",
        check: "placement",
        message: `spec.packages[${pkg.index}].placement.domain: ${remotePlacementMessage(pkg.placement.domain)}`,
      });
    }
    planned.set(name, plan);
  }
  for (const d of placement.decisions) {
    const p = planned.get(d.package) as PlannedPackage;
    p.edge = d.edge;
    p.reason = d.reason;
  }
  const indexOf = new Map(intent.packages.map((p) => [p.index, p.name]));
  for (const issue of placement.issues) {
    const name = indexOf.get(Number(/^spec\.packages\[(\d+)\]/.exec(issue.path)?.[1])) ?? "";
    const p = planned.get(name);
    const pkg = byPkg.get(name);
    // An explicit edge stays the package's edge even when it cannot take it now, so the plan shows its files.
    if (p && pkg?.placement.kind === "edge") {
      p.edge = pkg.placement.edge;
      p.reason = "placement.edge";
    }
    p?.admission.push({
      package: name,
      edge: p?.edge ?? "",
      check: /\.resources$/.test(issue.path) ? "resources" : "placement",
      message: `${issue.path}: ${issue.message}`,
    });
  }
  for (const p of planned.values()) {
    if (p.edge) p.repository = deps.registry.forEdge(p.edge)?.record.name as string;
    if (!p.edge && p.admission.length === 0)
      p.admission.push({ package: p.package, edge: "", check: "placement", message: "no edge was chosen" });
  }

  // Hydration: every placed package, with its links' provider addresses.
  for (const name of intent.order) {
    const plan = planned.get(name) as PlannedPackage;
    if (!plan.edge) continue;
    const pkg = byPkg.get(name) as PackageIntent;
    const r = resolved.get(name) as ResolvedBlueprint;
    const inputs: IesdInput[] = intent.links
      .filter((l) => l.from === name)
      .map((l) =>
        l.to !== undefined
          ? {
              link: `${l.from}-${l.to}`,
              package: l.to,
              host: providerHost(intent.name, planned.get(l.to) as PlannedPackage, deps.domainId),
              port: l.port,
              protocol: l.protocol,
            }
          : {
              link: `${l.from}-${l.external?.host}`,
              package: l.external?.host as string,
              host: l.external?.host as string,
              port: l.port,
              protocol: l.protocol,
            },
      );
    const iesd = buildIesd(
      {
        intent: intent.name,
        revision,
        pkg,
        domain: deps.domainId,
        edge: plan.edge,
        namespace: intent.name,
        blueprint: {
          name: r.blueprint.name,
          repository: r.repository.record.name,
          url: r.repository.record.url,
          path: r.blueprint.path,
          revision: r.revision,
          commit: r.commit,
        },
        deployment: { repository: plan.repository as string, path: `${intent.name}/${name}` },
        inputs,
      },
      r.blueprint,
    );
    try {
      plan.hydrated = deps.hydration.hydrate(r.blueprint, iesd);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const i of err.issues)
        plan.admission.push({
          package: name,
          edge: plan.edge,
          check: "schema",
          message: i.path ? `${i.path}: ${i.message}` : i.message,
        });
      continue;
    }
    plan.iesdYaml = plan.hydrated.files.get(`${intent.name}/${name}/iesd.yaml`) as string;
    plan.packageVariantYaml = plainYaml(plan.hydrated.packageVariant);
    plan.demand = demandOf(packageObjects(plan.hydrated));
  }

  // The exact requests of the hydrated pods against what each edge has free, packages in order.
  const working = new Map<string, EdgeState>(
    [...byName].map(([k, s]) => [k, { ...s, free: { ...s.free }, nodeFree: s.nodeFree.map((n) => ({ ...n })) }]),
  );
  const reservations: ReservationEntry[] = [];
  for (const name of intent.order) {
    const plan = planned.get(name) as PlannedPackage;
    if (!plan.edge || !plan.demand || plan.admission.length > 0) continue;
    const edge = working.get(plan.edge);
    // What the edge already shows of this package (an update) is not asked for twice.
    const seen = deps.book.observed(plan.edge, intent.name, name);
    const more: Demand = {
      total: {
        cpuMillis: Math.max(0, plan.demand.total.cpuMillis - seen.cpuMillis),
        memoryBytes: Math.max(0, plan.demand.total.memoryBytes - seen.memoryBytes),
        pods: Math.max(0, plan.demand.total.pods - seen.pods),
      },
      largestPod: plan.demand.largestPod,
    };
    if (!edge?.healthy) {
      plan.admission.push({
        package: name,
        edge: plan.edge,
        check: "resources",
        message: `edge ${plan.edge} cannot be asked for its capacity: ${edge?.reason ?? "not connected"}`,
      });
      continue;
    }
    if (!fits(more, edge)) {
      plan.admission.push({
        package: name,
        edge: plan.edge,
        check: "resources",
        message: `needs ${formatAmount(more.total)} and ${more.total.pods} pods (largest pod ${formatAmount(more.largestPod)}); edge ${plan.edge} has ${formatAmount(edge.free)} and ${edge.free.pods} pods free after reservations`,
      });
      continue;
    }
    // Totals and the nodes' room both shrink, so the next package's pods must fit the nodes that are left.
    working.set(plan.edge, afterPlacing(more, edge));
    reservations.push({ edge: plan.edge, package: name, amount: more.total, target: plan.demand.total });
  }
  let all = [...planned.values()].flatMap((p) => p.admission);
  if (options.reserve && all.length === 0) deps.book.reserve(intent.name, reservations);

  // Prerequisites: met by a package of an earlier wave, or present on the edge.
  const needs: { plan: PlannedPackage; kind: string; name: string }[] = [];
  for (const name of intent.order) {
    const plan = planned.get(name) as PlannedPackage;
    if (!plan.edge) continue;
    for (const pre of (resolved.get(name) as ResolvedBlueprint).blueprint.prerequisites) {
      const earlier = intent.order.some((other) => {
        const o = planned.get(other) as PlannedPackage;
        return (
          o.wave < plan.wave &&
          o.edge === plan.edge &&
          o.hydrated !== undefined &&
          provides(packageObjects(o.hydrated), pre.kind, pre.name)
        );
      });
      if (!earlier) needs.push({ plan, kind: pre.kind, name: pre.name });
    }
  }
  await Promise.all(
    needs.map(async (n) => {
      const edge = deps.edges.get(n.plan.edge as string) as EdgeClient;
      try {
        const [r] = await edge.prerequisites([{ kind: n.kind, name: n.name }], options.signal);
        if (!r?.present)
          n.plan.admission.push({
            package: n.plan.package,
            edge: edge.name,
            check: "prerequisite",
            message: `needs ${n.kind}/${n.name}, which edge ${edge.name} does not have and no package of an earlier wave provides`,
          });
      } catch (err) {
        n.plan.admission.push({
          package: n.plan.package,
          edge: edge.name,
          check: "prerequisite",
          message: `cannot check ${n.kind}/${n.name} on edge ${edge.name}: ${(err as Error).message}`,
        });
      }
    }),
  );
  all = [...planned.values()].flatMap((p) => p.admission);
  if (options.reserve && all.length > 0) deps.book.release(intent.name);

  // Wave 0: the chain's namespace and shared objects on every edge the intent uses.
  const chains: ChainPlan[] = [];
  for (const edge of [
    ...new Set(intent.order.map((n) => planned.get(n)?.edge).filter((e): e is string => !!e)),
  ].sort()) {
    const repository = deps.registry.forEdge(edge)?.record.name as string;
    const chainPkg: PackageIntent = {
      name: "chain",
      index: -1,
      blueprint: CHAIN_BLUEPRINT,
      replicas: 1,
      resources: {},
      after: [],
      placement: { kind: "edge", edge },
      config: { intent: intent.name },
    };
    const r = chainBlueprint;
    const iesd = buildIesd(
      {
        intent: intent.name,
        revision,
        pkg: chainPkg,
        domain: deps.domainId,
        edge,
        namespace: intent.name,
        blueprint: {
          name: r.blueprint.name,
          repository: r.repository.record.name,
          url: r.repository.record.url,
          path: r.blueprint.path,
          revision: r.revision,
          commit: r.commit,
        },
        deployment: { repository, path: `${intent.name}/_chain` },
        inputs: [],
      },
      r.blueprint,
    );
    chains.push({ edge, repository, files: deps.hydration.hydrate(r.blueprint, iesd).files });
  }

  const files: IntentPlan["files"] = [];
  const addFiles = (repository: string, map: ReadonlyMap<string, string>) => {
    for (const [path, content] of map)
      files.push({
        repository,
        path,
        sha256: createHash("sha256").update(content).digest("hex"),
        size: Buffer.byteLength(content),
        content,
      });
  };
  for (const c of chains) addFiles(c.repository, c.files);
  for (const name of intent.order) {
    const p = planned.get(name) as PlannedPackage;
    if (p.hydrated) addFiles(p.repository as string, p.hydrated.files);
  }
  const digest = intentDigest(intent);
  return {
    intent: intent.name,
    order: intent.order,
    waves: intent.waves,
    digest,
    packages: intent.order.map((n) => planned.get(n) as PlannedPackage),
    chains,
    files,
    admitted: all.length === 0,
    admission: all,
    reservations: options.reserve && all.length === 0 ? reservations : [],
  };
}

/** The objects of an intent's chain on one edge. */
export function chainObjects(c: ChainPlan) {
  return objectsOf(c.files);
}
