/**
 * camino.v1.Federation handlers, as a peer calls them. Every call reaching a handler has been verified by the
 * server interceptor (call-auth.ts), so handlers only answer. Segment methods arrive with cross-domain
 * segments (federation part 2); until then connect answers them UNIMPLEMENTED.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Federation, FederationQueryMonitoringRequest } from "../gen/camino/v1/federation_pb.js";
import type { Capacity, CatalogueEntry, DomainInfo, MetricSample } from "../gen/camino/v1/types_pb.js";
import type { PeerTrust } from "./trust.js";

/** What this domain exports to peers. */
export interface ExportedCatalogue {
  /** Exported blueprints only, with nothing that names an edge or a repository path. */
  entries: CatalogueEntry[];
  /** The sum over the domain's edges: no per-edge figure. */
  capacity: Capacity;
  /** SHA-256 (hex) of the entries' encoding: peers fetch the catalogue again when it changes. */
  digest: string;
}

export interface PeeringServiceDeps {
  trust: PeerTrust;
  localInfo(): Promise<DomainInfo>;
  exportedCatalogue(signal: AbortSignal): Promise<ExportedCatalogue>;
  /** This domain's monitoring figures for a peer: domain aggregates only. Absent: QueryMonitoring is not served. */
  queryMonitoring?(req: FederationQueryMonitoringRequest, signal: AbortSignal): Promise<MetricSample[]>;
}

export function createPeeringService(deps: PeeringServiceDeps): Partial<ServiceImpl<typeof Federation>> {
  return {
    async hello() {
      return { callee: await deps.localInfo() };
    },
    async getKeys() {
      const own = await deps.trust.ownKeys();
      return { jwks: JSON.stringify(own.jwks), announcement: own.announcement };
    },
    async getCatalogue(_req, ctx) {
      return deps.exportedCatalogue(ctx.signal);
    },
    ...(deps.queryMonitoring
      ? {
          queryMonitoring: async (req: FederationQueryMonitoringRequest, ctx: { signal: AbortSignal }) => ({
            samples: await (deps.queryMonitoring as NonNullable<typeof deps.queryMonitoring>)(req, ctx.signal),
          }),
        }
      : {}),
  };
}
