/**
 * The context the planning steps share (plan-steps.ts, plan-segments.ts, admission-steps.ts), and the lookups
 * they all use.
 */
import type { ResolvedBlueprint } from "../cad/catalogue.js";
import { millisOf, unitsOf } from "../../common/quantity.js";
import type { EdgeClient } from "../edge/edge-client.js";
import type { Intent, PackageIntent } from "../intent/model.js";
import type { NetworkPlan } from "../network/network-manager.js";
import type { Demand, EdgeState } from "./placement.js";
import type {
  ChainPlan,
  GivenSegment,
  PlannedPackage,
  PlannerDeps,
  ProposalHooks,
  RemoteSide,
  SegmentPlan,
} from "./planner.js";
import type { ReservationEntry } from "./reservations.js";
import type { StepContext } from "./steps.js";

/** One planning of one intent. */
export interface PlanContext extends StepContext {
  readonly intent: Intent;
  readonly deps: PlannerDeps;
  readonly revision: number;
  /** Record the reservations when every package is admitted (a deployment); a plan only looks. */
  readonly reserve: boolean;
  /** Propose the segments to their peers (a deployment), with these hooks around each call. */
  readonly proposals?: ProposalHooks;
  /** Planning a segment on the peer that runs it: the origin's side, given. */
  readonly given?: GivenSegment;
  /** Runs a wait on an edge or a peer: capacity readings, prerequisite checks, proposals (run-timing.ts). */
  readonly onEdge: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Domain → the other side of the boundary with it (given, or from the peer's offer in the propose step). */
  remotes: Map<string, RemoteSide>;
  /** Package → its blueprint, resolved to a commit (resolve). */
  resolved: Map<string, ResolvedBlueprint>;
  /** The chain-base blueprint (resolve). */
  chainBlueprint?: ResolvedBlueprint;
  /** The edges packages can go to (resolve). */
  edges: EdgeClient[];
  /** Every edge with a deployment repository as placement sees it: free room after others' reservations (place). */
  states: Map<string, EdgeState>;
  /** Package → its plan, in intent order (place; then every step adds to it). */
  planned: Map<string, PlannedPackage>;
  /** Packages placed in peer domains, one segment per domain (segments). */
  segments: SegmentPlan[];
  /** Edge → the chain's per-link files there (network). */
  links: Map<string, Map<string, string>>;
  /** What the Network Manager planned: objects per edge, each link's placement and notes (network). */
  network?: NetworkPlan;
  /** The reservations recorded for the intent (admit). */
  reservations: ReservationEntry[];
  /** Where admission's free capacity came from (admit): "kubernetes", "monitoring", "stricter", or a fallback. */
  capacitySource?: string;
  /** Wave 0 per edge (chain). */
  chains: ChainPlan[];
}

export const plannedOf = (ctx: PlanContext, name: string) => ctx.planned.get(name) as PlannedPackage;
export const packageOf = (ctx: PlanContext, name: string) =>
  ctx.intent.packages.find((p) => p.name === name) as PackageIntent;
export const isRemote = (ctx: PlanContext, pkg: PackageIntent) =>
  pkg.placement.kind === "domain" && pkg.placement.domain !== ctx.deps.domainId;
/** Whether a planned package runs in another domain (placed there, or auto-brokered to a peer). */
export const runsElsewhere = (ctx: PlanContext, name: string) => plannedOf(ctx, name).domain !== ctx.deps.domainId;

/** What a package is expected to ask for before it is hydrated: its (or its blueprint's default) requests × replicas. */
export function estimate(pkg: PackageIntent, r: ResolvedBlueprint): Demand {
  const cpu = pkg.resources.cpu?.millis ?? millisOf(r.blueprint.defaultResources.cpu);
  const memory = pkg.resources.memory?.bytes ?? unitsOf(r.blueprint.defaultResources.memory);
  return {
    total: { cpuMillis: cpu * pkg.replicas, memoryBytes: memory * pkg.replicas, pods: pkg.replicas },
    largestPod: { cpuMillis: cpu, memoryBytes: memory },
  };
}

type PodTemplate = {
  metadata?: { labels?: Record<string, string> };
  spec?: { serviceAccountName?: string; containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
};

/** The pod templates of a hydrated package's workloads. */
export function podTemplates(p: PlannedPackage): PodTemplate[] {
  return (p.hydrated?.objects ?? []).flatMap((o) => {
    const t = (o["spec"] as { template?: PodTemplate } | undefined)?.template;
    return ["Deployment", "StatefulSet", "DaemonSet"].includes(String(o["kind"])) && t ? [t] : [];
  });
}
