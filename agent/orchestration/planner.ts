/**
 * Planning an intent: everything up to admission, nothing committed. Each package's blueprint is resolved
 * in the catalogue (to a commit), the package is placed — an explicit `placement.edge`, a peer domain, or
 * else the domain's first edge until the lifecycle's placement lands — every link gets its provider's address
 * (known at plan time: a local package's Service name, a remote one's cross-domain host), and every local
 * package is hydrated into the files its edge's deployment repository would receive.
 */
import { createHash } from "node:crypto";
import { CaminoError, IntentError, type FieldIssue } from "../errors.js";
import type { Catalogue, ResolvedBlueprint } from "../cad/catalogue.js";
import type { HydratedPackage } from "../cad/hydrate.js";
import type { HydrationCache } from "../cad/hydration-cache.js";
import { buildIesd, serviceHost, type IesdInput } from "../cad/iesd.js";
import type { RepositoryRegistry } from "../cad/repository-registry.js";
import { intentDigest } from "../intent/load.js";
import type { Intent, PackageIntent } from "../intent/model.js";
import { plainYaml } from "../cad/plain-yaml.js";

export interface PlannedPackage {
  package: string;
  /** Local placement: the edge; remote: the peer domain. */
  edge?: string;
  domain: string;
  /** The deployment repository (local packages). */
  repository?: string;
  reason: string;
  hydrated?: HydratedPackage;
  /** The IESD and PackageVariant as YAML text, for people and tools. */
  iesdYaml?: string;
  packageVariantYaml?: string;
}

export interface IntentPlan {
  intent: string;
  order: readonly string[];
  waves: readonly (readonly string[])[];
  digest: string;
  packages: PlannedPackage[];
  /** Every file per repository path, with its SHA-256. */
  files: { repository: string; path: string; sha256: string; size: number; content: string }[];
}

export interface PlannerDeps {
  domainId: string;
  registry: RepositoryRegistry;
  catalogue: Catalogue;
  hydration: HydrationCache;
}

/** The address a consumer is given for a link's provider. */
function providerHost(intent: Intent, placed: Map<string, PlannedPackage>, to: string): string {
  const target = placed.get(to) as PlannedPackage;
  // A remote provider is reached by its cross-domain host through the peer's east-west gateway.
  return target.edge ? serviceHost(to, intent.name) : `${to}.${intent.name}.${target.domain}.camino`;
}

/**
 * Plans an intent.
 * @throws IntentError naming the field for an unknown blueprint, revision or edge;
 *   CaminoError precondition when the domain has no edge; HydrationError from hydration.
 */
export async function planIntent(intent: Intent, deps: PlannerDeps, revision = 1): Promise<IntentPlan> {
  const edges = deps.registry.edges();
  const issues: FieldIssue[] = [];
  const resolved = new Map<string, ResolvedBlueprint>();
  const placed = new Map<string, PlannedPackage>();

  for (const pkg of intent.packages) {
    const at = `spec.packages[${pkg.index}]`;
    const p = pkg.placement;
    const remote = p.kind === "domain" && p.domain !== deps.domainId;
    if (remote) {
      placed.set(pkg.name, { package: pkg.name, domain: p.domain, reason: `placement.domain ${p.domain}` });
      continue;
    }
    try {
      resolved.set(pkg.name, await deps.catalogue.resolve(pkg.blueprint, pkg.blueprintRevision));
    } catch (err) {
      if (!(err instanceof CaminoError) || err.kind !== "not-found") throw err;
      issues.push({ path: `${at}.${err.code === "ERR_REVISION_NOT_FOUND" ? "blueprintRevision" : "blueprint"}`, message: err.message });
      continue;
    }
    let edge: string | undefined;
    let reason: string;
    if (p.kind === "edge") {
      if (!edges.includes(p.edge)) {
        issues.push({ path: `${at}.placement.edge`, message: `unknown edge ${JSON.stringify(p.edge)} (this domain has ${edges.join(", ") || "no edge"})` });
        continue;
      }
      edge = p.edge;
      reason = "placement.edge";
    } else {
      edge = edges[0];
      reason = "first edge (automatic placement arrives with the lifecycle)";
    }
    if (!edge) throw new CaminoError("ERR_NO_EDGE", "precondition", "this domain has no edge: register a deployment repository for one");
    placed.set(pkg.name, { package: pkg.name, edge, domain: deps.domainId, repository: deps.registry.forEdge(edge)?.record.name as string, reason });
  }
  if (issues.length > 0) throw new IntentError(issues);

  const files: IntentPlan["files"] = [];
  for (const pkg of intent.packages) {
    const plan = placed.get(pkg.name) as PlannedPackage;
    if (!plan.edge) continue;
    const r = resolved.get(pkg.name) as ResolvedBlueprint;
    const inputs: IesdInput[] = intent.links
      .filter((l) => l.from === pkg.name)
      .map((l) =>
        l.to !== undefined
          ? { link: `${l.from}-${l.to}`, package: l.to, host: providerHost(intent, placed, l.to), port: l.port, protocol: l.protocol }
          : { link: `${l.from}-${l.external?.host}`, package: l.external?.host as string, host: l.external?.host as string, port: l.port, protocol: l.protocol },
      );
    const iesd = buildIesd(
      {
        intent: intent.name,
        revision,
        pkg: pkg as PackageIntent,
        domain: deps.domainId,
        edge: plan.edge,
        namespace: intent.name,
        blueprint: { name: r.blueprint.name, repository: r.repository.record.name, url: r.repository.record.url, path: r.blueprint.path, revision: r.revision, commit: r.commit },
        deployment: { repository: plan.repository as string, path: `${intent.name}/${pkg.name}` },
        inputs,
      },
      r.blueprint,
    );
    plan.hydrated = deps.hydration.hydrate(r.blueprint, iesd);
    plan.iesdYaml = plan.hydrated.files.get(`${intent.name}/${pkg.name}/iesd.yaml`) as string;
    plan.packageVariantYaml = plainYaml(plan.hydrated.packageVariant);
    for (const [path, content] of plan.hydrated.files) {
      files.push({ repository: plan.repository as string, path, sha256: createHash("sha256").update(content).digest("hex"), size: Buffer.byteLength(content), content });
    }
  }
  return { intent: intent.name, order: intent.order, waves: intent.waves, digest: intentDigest(intent), packages: intent.order.map((n) => placed.get(n) as PlannedPackage), files };
}
