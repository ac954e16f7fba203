/**
 * Planning and admission of an intent: everything up to the first commit, as steps over one {@link PlanContext}
 * (plan-steps.ts): resolve ─► place ─► segments ─► hydrate ─► network ─► admit and reserve ─► prerequisites ─►
 * chain. Every reason of every package is collected (a refused package does not stop the others), so a plan
 * shows all that is wrong at once. Server-side dry runs need the chain's namespace on the edge, so they run
 * wave by wave at deployment (deploy-steps.ts).
 */
import { createHash } from "node:crypto";
import type { Federation } from "../../federation/federation.js";
import type { Catalogue, ResolvedBlueprint } from "../cad/catalogue.js";
import type { HydratedPackage } from "../cad/hydrate.js";
import type { HydrationCache } from "../cad/hydration-cache.js";
import type { RepositoryRegistry } from "../cad/repository-registry.js";
import type { EdgeClient } from "../edge/edge-client.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import { CaminoError, IntentError, type FieldIssue } from "../errors.js";
import { intentDigest } from "../intent/load.js";
import type { Intent } from "../intent/model.js";
import type { OfferedAddress } from "../network/cross-domain.js";
import type { NetworkManager, NetworkPlan } from "../network/network-manager.js";
import { objectsOf } from "./package-objects.js";
import type { PlanContext } from "./plan-context.js";
import { PLAN_STEPS } from "./plan-steps.js";
import type { Demand } from "./placement.js";
import type { CapacityBook, ReservationEntry } from "./reservations.js";
import { runSteps } from "./steps.js";

/** The network blueprint every chain's wave 0 is hydrated from. */
export const CHAIN_BLUEPRINT = "chain-base";

export type AdmissionCheck = "placement" | "schema" | "resources" | "prerequisite" | "dry-run";

export interface AdmissionReason {
  package: string;
  edge: string;
  check: AdmissionCheck;
  message: string;
  /** The resource that does not fit: cpu, memory, pods (resources), or Kind/name (prerequisite). */
  resource?: string;
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

/** The packages of an intent placed in one peer domain, proposed to it as one segment. */
export interface SegmentPlan {
  domain: string;
  /** `<origin>.<intent>.<domain>`, stable across revisions (federation/segments.ts segmentIdOf). */
  id: string;
  /** The generation proposed: the intent's revision (monotonic, so an update is always a newer generation). */
  generation: number;
  packages: string[];
  /** The first and last wave of its packages: committed at the first, waited READY at the last. */
  firstWave: number;
  lastWave: number;
  /** From the peer's offer (a deployment's plan only). */
  namespace?: string;
  leaseExpiresAt?: Date;
}

/**
 * The other side of the boundary with one domain, as planning needs it: who it is, the addresses it exposes
 * for this side's consumers, and its consumers of this side's providers. On the origin it comes from the
 * peer's offer; on the peer, from the origin's proposal.
 */
export interface RemoteSide {
  domain: string;
  /** Its mesh trust domain (Hello), which its principals must be in. */
  trustDomain: string;
  /** Its mesh root (PEM, from Hello), which this side's edges with links to it must trust. */
  meshRoot: string;
  /** The fingerprint its offer carried, checked against `meshRoot`. */
  fingerprint?: string;
  addresses: OfferedAddress[];
  /** Its consumers' exact principals, per link into this side. */
  consumers: { from: string; to: string; port: number; principal: string }[];
}

/** A segment being planned on the peer that runs it: the origin's side is given, nothing is proposed. */
export interface GivenSegment {
  /** The origin's intent: the cross-domain hosts are named after it. */
  hostIntent: string;
  remote: RemoteSide;
}

/** The origin's hooks around each proposal (a deployment journals the segment before and after the call). */
export interface ProposalHooks {
  before(segment: SegmentPlan): Promise<void>;
  after(segment: SegmentPlan): Promise<void>;
}

export interface IntentPlan {
  intent: string;
  order: readonly string[];
  waves: readonly (readonly string[])[];
  digest: string;
  packages: PlannedPackage[];
  chains: ChainPlan[];
  /** The segments proposed to peer domains (none until federation places packages there). */
  segments: SegmentPlan[];
  /** Every file per repository path, with its SHA-256. */
  files: { repository: string; path: string; sha256: string; size: number; content: string }[];
  admitted: boolean;
  admission: AdmissionReason[];
  /** Where admission's free capacity came from: "kubernetes", "monitoring", "stricter", or a fallback and why. */
  capacitySource: string;
  /** The reservations recorded (when admitting with `reserve`). */
  reservations: ReservationEntry[];
  /** The network objects per edge and every link's placement, as the Network Manager planned them. */
  network: Pick<NetworkPlan, "objects" | "links" | "meshes" | "trust">;
}

/** What planning reads. */
export interface PlannerDeps {
  domainId: string;
  registry: RepositoryRegistry;
  catalogue: Catalogue;
  hydration: HydrationCache;
  edges: EdgeRegistry;
  book: CapacityBook;
  /** Peers and segments: whether a package may be placed in another domain. */
  federation: Federation;
  /** The per-link network objects of a chain. */
  network: NetworkManager;
  /** Capacity readings this young (ms) are reused by admission. */
  capacityMaxAgeMs: number;
}

export interface PlanOptions {
  revision?: number;
  /** Record the intent's reservations when every package is admitted (deployment); plans only look. */
  reserve?: boolean;
  signal?: AbortSignal;
  /** Propose the segments to the peers (a deployment), with these hooks around each call. */
  proposals?: ProposalHooks;
  /** Planning a segment for its origin: the origin's packages are given, not placed or proposed. */
  given?: GivenSegment;
  /** Runs a wait on an edge or a peer (a run counts it as such, run-timing.ts). */
  onEdge?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The edges packages can go to: configured with a Kubernetes connection and served by a deployment repository. */
export function deployableEdges(deps: Pick<PlannerDeps, "registry" | "edges">): EdgeClient[] {
  const withRepo = new Set(deps.registry.edges());
  return deps.edges.list().filter((e) => withRepo.has(e.name));
}

/**
 * The packages placed in a domain this agent cannot place in now (federation's verdict), one issue each, at
 * `spec.packages[i].placement.domain`. The one place remote placement is judged: SubmitIntent refuses with
 * these, PlanIntent shows them as placement reasons (the segments step).
 */
export function remotePlacementIssues(
  intent: Intent,
  deps: Pick<PlannerDeps, "federation" | "domainId">,
  given?: GivenSegment,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const p of intent.packages) {
    if (p.placement.kind !== "domain" || p.placement.domain === deps.domainId) continue;
    if (given && p.placement.domain === given.remote.domain) continue;
    const verdict = deps.federation.segments.canPlace(p.placement.domain);
    if (!verdict.ok) issues.push({ path: `spec.packages[${p.index}].placement.domain`, message: verdict.reason });
  }
  return issues;
}

/**
 * Resolves every package's blueprint (to a commit) and checks that each named edge exists.
 * Returns the resolved blueprints and the deployment digest: the intent's digest with the commits its blueprints
 * resolve to (and, for a segment run for a peer, the origin's addresses and consumers its network objects name),
 * so an unchanged digest means a re-submission is a no-op.
 * @throws IntentError naming the field for an unknown blueprint, revision or edge
 */
export async function resolveIntent(
  intent: Intent,
  deps: Pick<PlannerDeps, "registry" | "catalogue" | "domainId" | "federation">,
  given?: GivenSegment,
): Promise<{ resolved: Map<string, ResolvedBlueprint>; digest: string }> {
  const repoEdges = deps.registry.edges();
  const issues: FieldIssue[] = [];
  const resolved = new Map<string, ResolvedBlueprint>();
  const remote = new Map<string, string>();
  for (const pkg of intent.packages) {
    const at = `spec.packages[${pkg.index}]`;
    const p = pkg.placement;
    if (p.kind === "domain" && p.domain !== deps.domainId) {
      // The peer resolves it against its own catalogue: here it must be one the peer exports (when its
      // catalogue is known), and the origin's side of a segment is not resolved at all.
      if (given && p.domain === given.remote.domain) {
        remote.set(pkg.name, `origin:${p.domain}`);
        continue;
      }
      const entry = deps.federation.peers.get(p.domain)?.catalogue?.entries.find((e) => e.name === pkg.blueprint);
      const known = deps.federation.peers.get(p.domain)?.catalogue;
      if (known && !entry) {
        issues.push({
          path: `${at}.blueprint`,
          message: `peer ${p.domain} does not export blueprint ${JSON.stringify(pkg.blueprint)}`,
        });
        continue;
      }
      const rev = pkg.blueprintRevision
        ? entry?.revisions.find((r) => r.tag === pkg.blueprintRevision || r.commit === pkg.blueprintRevision)
        : entry?.revisions.at(-1);
      remote.set(pkg.name, `peer:${p.domain}:${rev?.commit ?? pkg.blueprintRevision ?? ""}`);
      continue;
    }
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
      const field = err.code === "ERR_REVISION_NOT_FOUND" ? "blueprintRevision" : "blueprint";
      issues.push({ path: `${at}.${field}`, message: err.message });
    }
  }
  if (issues.length > 0) throw new IntentError(issues);
  const commits = intent.packages
    .map((p) => `${p.name}=${remote.get(p.name) ?? resolved.get(p.name)?.commit}`)
    .join(",");
  return {
    resolved,
    digest: createHash("sha256")
      .update(`${intentDigest(intent)}\0${commits}`)
      // A new generation of a segment whose origin moved (healing) changes what its network objects point at.
      .update(given ? `\0${JSON.stringify([given.remote.addresses, given.remote.consumers])}` : "")
      .digest("hex"),
  };
}

/**
 * Plans (and, with `reserve`, admits) an intent by running {@link PLAN_STEPS}.
 * @throws IntentError naming the field for an unknown blueprint, revision or edge; CaminoError precondition
 *   when the domain has no edge or the catalogue has no chain-base blueprint.
 */
export async function planIntent(intent: Intent, deps: PlannerDeps, options: PlanOptions = {}): Promise<IntentPlan> {
  const ctx: PlanContext = {
    intent,
    deps,
    revision: options.revision ?? 1,
    reserve: options.reserve ?? false,
    ...(options.proposals ? { proposals: options.proposals } : {}),
    ...(options.given ? { given: options.given } : {}),
    onEdge: options.onEdge ?? ((fn) => fn()),
    remotes: new Map(options.given ? [[options.given.remote.domain, options.given.remote]] : []),
    signal: options.signal ?? new AbortController().signal,
    stage: "",
    resolved: new Map(),
    edges: [],
    states: new Map(),
    planned: new Map(),
    segments: [],
    links: new Map(),
    reservations: [],
    chains: [],
  };
  try {
    await runSteps(PLAN_STEPS, ctx);
  } catch (err) {
    // A refused admission (or a failed step) never leaves the intent's reservations behind.
    if (ctx.reserve) deps.book.release(intent.name);
    throw err;
  }
  return planOf(ctx);
}

/** The plan a finished {@link PlanContext} describes. */
function planOf(ctx: PlanContext): IntentPlan {
  const { intent } = ctx;
  const files: IntentPlan["files"] = [];
  const addFiles = (repository: string, map: ReadonlyMap<string, string>) => {
    for (const [path, content] of map) {
      const sha256 = createHash("sha256").update(content).digest("hex");
      files.push({ repository, path, sha256, size: Buffer.byteLength(content), content });
    }
  };
  for (const c of ctx.chains) addFiles(c.repository, c.files);
  const packages = intent.order.map((n) => ctx.planned.get(n) as PlannedPackage);
  for (const p of packages) if (p.hydrated) addFiles(p.repository as string, p.hydrated.files);
  const admission = packages.flatMap((p) => p.admission);
  return {
    intent: intent.name,
    order: intent.order,
    waves: intent.waves,
    digest: intentDigest(intent),
    packages,
    chains: ctx.chains,
    segments: ctx.segments,
    files,
    admitted: admission.length === 0,
    admission,
    capacitySource: ctx.capacitySource ?? "kubernetes",
    reservations: ctx.reserve && admission.length === 0 ? ctx.reservations : [],
    network: {
      objects: ctx.network?.objects ?? [],
      links: ctx.network?.links ?? [],
      meshes: ctx.network?.meshes ?? [],
      trust: ctx.network?.trust ?? [],
    },
  };
}

/** The objects of an intent's chain on one edge. */
export function chainObjects(c: ChainPlan) {
  return objectsOf(c.files);
}
