/** Conversions between domain objects and camino.v1 messages, for the RPC handlers. */
import { create } from "@bufbuild/protobuf";
import {
  CatalogueEntrySchema,
  PackagePlanSchema,
  PlannedFileSchema,
  PlanSchema,
  NetworkObjectSchema,
  LinkPlanSchema,
  RepositoryRole,
  RepositorySchema,
  WaveSchema,
  type CatalogueEntry,
  type Plan,
  type Repository,
} from "../../gen/camino/v1/types_pb.js";
import type { CatalogueEntry as Entry } from "../cad/catalogue.js";
import type { RegisteredRepository, RepositoryRecord } from "../cad/repository-registry.js";
import { parseQuantity, toMilli, toUnits } from "../../common/quantity.js";
import type { IntentPlan, AdmissionReason as Reason } from "../orchestration/planner.js";
import type { DeploymentRecord, EventRecord, StateName } from "../orchestration/journal.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AdmissionReasonSchema,
  DeploymentEventSchema,
  DeploymentSchema,
  DeploymentTimingSchema,
  DeploymentState,
  type Deployment,
  type DeploymentEvent,
} from "../../gen/camino/v1/types_pb.js";
import type { EdgeView } from "../edge/edge-registry.js";
import {
  type DependencyHealth,
  DependencyHealthSchema,
  EdgeSchema,
  type Edge,
  type Peer,
  PeerSchema,
} from "../../gen/camino/v1/types_pb.js";
import type { PeerView } from "../../federation/federation.js";
import { historyToProto } from "./history-convert.js";
import { waitingOnToProto } from "./blocker-convert.js";

export function edgeToProto(e: EdgeView): Edge {
  const q = (r: { cpuMillis: number; memoryBytes: number } | undefined) => ({
    cpuMillis: BigInt(r?.cpuMillis ?? 0),
    memoryBytes: BigInt(r?.memoryBytes ?? 0),
  });
  return create(EdgeSchema, {
    name: e.name,
    labels: Object.entries(e.labels).map(([key, value]) => ({ key, value })),
    healthy: e.healthy,
    message: e.message,
    repository: e.repository ?? "",
    ...(e.capacity
      ? {
          capacity: {
            allocatable: q(e.capacity.allocatable),
            requested: q(e.capacity.requested),
            free: q(e.capacity.free),
            used: q(undefined),
          },
        }
      : {}),
    ...(e.rootSync ? { rootSync: e.rootSync } : {}),
  });
}

export function repositoryToProto(r: RegisteredRepository, head: string | undefined): Repository {
  return create(RepositorySchema, {
    name: r.record.name,
    role: r.record.role === "blueprint" ? RepositoryRole.BLUEPRINT : RepositoryRole.DEPLOYMENT,
    url: r.record.url,
    branch: r.record.branch,
    edge: r.record.edge ?? "",
    credentialsRef: r.record.credentialsRef ?? "",
    headCommit: head ?? "",
  });
}

export function repositoryFromProto(r: Repository | undefined): Partial<RepositoryRecord> {
  if (!r) return {};
  const out: Partial<RepositoryRecord> = { name: r.name, url: r.url, branch: r.branch };
  if (r.role === RepositoryRole.BLUEPRINT) out.role = "blueprint";
  if (r.role === RepositoryRole.DEPLOYMENT) out.role = "deployment";
  if (r.edge) out.edge = r.edge;
  return out;
}

function quantityOr0(text: string | undefined, unit: "milli" | "bytes"): bigint {
  if (!text) return 0n;
  try {
    const q = parseQuantity(text);
    return unit === "milli" ? toMilli(q) : toUnits(q);
  } catch {
    return 0n;
  }
}

export function catalogueEntryToProto(e: Entry): CatalogueEntry {
  return create(CatalogueEntrySchema, {
    name: e.name,
    description: e.description,
    repository: e.repository,
    path: e.path,
    revisions: e.revisions,
    setters: e.setters.map((s) => ({
      name: s.name,
      defaultValue: s.default ?? "",
      required: s.required,
      description: s.uses.join("; "),
    })),
    defaultResources: {
      cpuMillis: quantityOr0(e.defaultResources.cpu, "milli"),
      memoryBytes: quantityOr0(e.defaultResources.memory, "bytes"),
    },
    exposes: e.exposes,
    prerequisites: e.prerequisites,
    exported: e.exported,
  });
}

export function planToProto(plan: IntentPlan): Plan {
  return create(PlanSchema, {
    intent: plan.intent,
    order: [...plan.order],
    waves: plan.waves.map((packages, i) => create(WaveSchema, { index: i + 1, packages: [...packages] })),
    placements: plan.packages.map((p) => ({
      package: p.package,
      edge: p.edge ?? "",
      domain: p.edge ? "" : p.domain,
      reason: p.reason,
    })),
    files: plan.files.map((f) =>
      create(PlannedFileSchema, { repository: f.repository, path: f.path, sha256: f.sha256, size: BigInt(f.size) }),
    ),
    intentDigest: plan.digest,
    capacitySource: plan.capacitySource,
    packages: plan.packages.map((p) =>
      create(PackagePlanSchema, {
        package: p.package,
        edge: p.edge ?? "",
        domain: p.domain,
        repository: p.repository ?? "",
        iesd: p.iesdYaml ?? "",
        packageVariant: p.packageVariantYaml ?? "",
        reason: p.reason,
        files: plan.files
          .filter((f) => f.path.startsWith(`${plan.intent}/${p.package}/`))
          .map((f) => create(PlannedFileSchema, { ...f, size: BigInt(f.size) })),
        admitted: p.admission.length === 0,
        admission: p.admission.map(reasonToProto),
      }),
    ),
    admitted: plan.admitted,
    admission: plan.admission.map(reasonToProto),
    networkObjects: plan.network.objects.map((o) => create(NetworkObjectSchema, o)),
    links: plan.network.links.map((l) => {
      const { note, ...rest } = l;
      return create(LinkPlanSchema, { ...rest, edges: [...l.edges], ...(note ? { note } : {}) });
    }),
  });
}

function reasonToProto(r: Reason) {
  return create(AdmissionReasonSchema, r);
}

export function stateToProto(s: StateName): DeploymentState {
  return DeploymentState[s];
}

/**
 * A deployment as the API shows it; with `history`, every kept revision too (GetDeployment only: ListDeployments
 * stays lean).
 */
export function deploymentToProto(r: DeploymentRecord, options: { history?: boolean } = {}): Deployment {
  const waiting = waitingOnToProto(r);
  return create(DeploymentSchema, {
    waitingOn: waiting.intent,
    ...(options.history ? { history: historyToProto(r) } : {}),
    ...(r.timing ? { timing: create(DeploymentTimingSchema, r.timing) } : {}),
    id: r.id,
    intent: r.intent,
    revision: BigInt(r.revision),
    state: stateToProto(r.state),
    reason: r.reason,
    intentDigest: r.digest,
    createdAt: timestampFromDate(new Date(r.createdAt)),
    updatedAt: timestampFromDate(new Date(r.updatedAt)),
    timeoutMs: BigInt(r.timeoutMs),
    admission: r.admission.map(reasonToProto),
    origin: r.segment?.origin ?? "",
    segmentId: r.segment?.id ?? "",
    segments: (r.segments ?? []).map((s) => ({
      id: s.id,
      domain: s.domain,
      packages: s.packages,
      state: s.state ? stateToProto(s.state) : DeploymentState.UNSPECIFIED,
      reason: s.reason,
      generation: BigInt(s.generation),
      ...(s.leaseExpiresAt ? { leaseExpiresAt: timestampFromDate(new Date(s.leaseExpiresAt)) } : {}),
      intent: r.intent,
      namespace: s.namespace,
      role: "origin",
      phase: s.phase.toUpperCase(),
    })),
    packages: r.packages.map((p) => ({
      package: p.package,
      state: stateToProto(p.state),
      reason: p.reason,
      edge: p.edge,
      domain: p.domain,
      blueprintCommit: p.blueprintCommit,
      updatedAt: timestampFromDate(new Date(p.updatedAt)),
      wave: p.wave,
      repository: p.repository,
      commit: p.commit,
      waitingOn: waiting.of(p.package),
    })),
  });
}

export function eventToProto(r: DeploymentRecord, e: EventRecord): DeploymentEvent {
  return create(DeploymentEventSchema, {
    deploymentId: r.id,
    intent: r.intent,
    revision: BigInt(r.revision),
    time: timestampFromDate(new Date(e.time)),
    package: e.package,
    state: stateToProto(e.state),
    reason: e.reason,
    kind: e.kind,
    wave: e.wave,
  });
}

/** A peer as ListPeers shows it. */
export function peerToProto(p: PeerView): Peer {
  return create(PeerSchema, {
    id: p.id,
    endpoint: p.endpoint,
    reachable: p.reachable,
    message: p.healthy ? "" : p.reason,
    ...(p.info ? { info: p.info } : {}),
    ...(p.lastSeen ? { lastSeen: timestampFromDate(p.lastSeen) } : {}),
    roundTripMs: p.roundTripMs ?? 0,
    keyIds: p.keyIds,
    lastError: p.lastError,
    compatible: p.compatible,
    exportedBlueprints: p.catalogue?.entries.length ?? 0,
  });
}

/** A peer as a dependency of the agent (GetDomainInfo). */
export function peerHealthToProto(p: PeerView): DependencyHealth {
  return create(DependencyHealthSchema, {
    name: p.id,
    kind: "peer",
    healthy: p.healthy,
    message: p.healthy ? `reachable, ${Math.round(p.roundTripMs ?? 0)} ms` : p.reason,
    ...(p.lastSeen ? { checkedAt: timestampFromDate(p.lastSeen) } : {}),
  });
}
