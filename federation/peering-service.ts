/**
 * camino.v1.Federation handlers, as a peer calls them. Every call reaching a handler has been verified by the
 * server interceptor (call-auth.ts), so handlers only answer. The segment methods are the agent's segment
 * host's (agent/segments/segment-host.ts), each called with the verified peer as the segment's origin.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { Federation, FederationQueryMonitoringRequest } from "../gen/camino/v1/federation_pb.js";
import type { Capacity, CatalogueEntry, DomainInfo, MetricSample } from "../gen/camino/v1/types_pb.js";
import type { PeerTrust } from "./trust.js";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RenewSegmentResponseSchema } from "../gen/camino/v1/federation_pb.js";
import { verifiedPeerKey } from "./call-auth.js";
import type { SegmentHost } from "./segments.js";

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
  /** The segments this domain runs for peers (agent/segments/segment-host.ts). Absent: segment calls are not served. */
  segments?: () => SegmentHost | undefined;
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
    ...segmentHandlers(deps),
    ...(deps.queryMonitoring
      ? {
          queryMonitoring: async (req: FederationQueryMonitoringRequest, ctx: { signal: AbortSignal }) => ({
            samples: await (deps.queryMonitoring as NonNullable<typeof deps.queryMonitoring>)(req, ctx.signal),
          }),
        }
      : {}),
  };
}

/** The caller, as the server interceptor verified it. */
function callerOf(ctx: HandlerContext): string {
  const peer = ctx.values.get(verifiedPeerKey);
  if (!peer) throw new ConnectError("the call was not verified", Code.Unauthenticated);
  return peer.domain;
}

/** The segment methods, each for the verified caller as the segment's origin (or, for GetSegment, either side). */
function segmentHandlers(deps: PeeringServiceDeps): Partial<ServiceImpl<typeof Federation>> {
  const hostOf = () => {
    const h = deps.segments?.();
    if (!h) throw new ConnectError("this domain does not run segments for peers", Code.Unimplemented);
    return h;
  };
  if (!deps.segments) return {};
  return {
    proposeSegment: (req, ctx) => hostOf().propose(callerOf(ctx), req, ctx.signal),
    renewSegment: async (req, ctx) =>
      create(RenewSegmentResponseSchema, {
        reservationExpiresAt: timestampFromDate(hostOf().renew(callerOf(ctx), req.segmentId, Number(req.generation))),
      }),
    commitSegment: async (req, ctx) => ({
      segment: await hostOf().commit(callerOf(ctx), req.segmentId, Number(req.generation), ctx.signal),
    }),
    abortSegment: async (req, ctx) => {
      await hostOf().abort(callerOf(ctx), req.segmentId, Number(req.generation), req.reason);
      return {};
    },
    terminateSegment: async (req, ctx) => ({
      segment: await hostOf().terminate(callerOf(ctx), req.segmentId, ctx.signal),
    }),
    getSegment: async (req, ctx) => ({ segment: hostOf().get(callerOf(ctx), req.segmentId) }),
    watchSegment: async function* (req, ctx) {
      for await (const segment of hostOf().watch(callerOf(ctx), req.segmentId, ctx.signal))
        yield { segment, time: timestampFromDate(new Date()) };
    },
  };
}
