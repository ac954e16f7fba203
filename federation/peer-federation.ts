/**
 * The federation component of an agent that peers with other domains: its trust, its peer registry, the
 * Federation service peers call (with the interceptor that verifies them), and reload of the trust list.
 * The agent builds it from its `federation` config section and serves {@link PeerFederation.service} on its
 * peer listener.
 */
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { Federation as FederationService } from "../gen/camino/v1/federation_pb.js";
import type { DomainInfo } from "../gen/camino/v1/types_pb.js";
import { federationServerAuth, type FederationLogger } from "./call-auth.js";
import type { Federation, PlacementVerdict } from "./federation.js";
import { createSegmentBroker } from "./segment-broker.js";
import type { SegmentHost } from "./segments.js";
import { PeerRegistry, type PeerRegistryOptions, type RegistryPeer } from "./peer-registry.js";
import { createPeeringService, type ExportedCatalogue, type PeeringServiceDeps } from "./peering-service.js";
import type { PeerTrust } from "./trust.js";

/** A peer of the trust list, ready for the registry, with the methods it may call. */
export interface FederationPeer extends RegistryPeer {
  allow: readonly string[];
}

export interface PeerFederationOptions {
  domainId: string;
  trust: PeerTrust;
  peers: readonly FederationPeer[];
  localInfo(): Promise<DomainInfo>;
  exportedCatalogue(signal: AbortSignal): Promise<ExportedCatalogue>;
  /** Monitoring aggregates for peers (Federation/QueryMonitoring); absent: not served. */
  queryMonitoring?: PeeringServiceDeps["queryMonitoring"];
  clientTls?: { cert: string; key: string };
  refreshIntervalMs: number;
  callTimeoutMs: number;
  logger: FederationLogger;
  /** More client interceptors per peer (metrics). */
  clientInterceptors?: PeerRegistryOptions["clientInterceptors"];
}

export interface PeerFederation extends Federation {
  readonly peers: PeerRegistry;
  readonly trust: PeerTrust;
  /** The Federation service's handlers, and the interceptor that must run before them. */
  readonly service: Partial<ServiceImpl<typeof FederationService>>;
  readonly auth: Interceptor;
  /** Applies a new trust list (SIGHUP): a removed peer is refused from now on. */
  setPeers(peers: readonly FederationPeer[]): void;
  /** Serves the segment methods with `host` (the agent builds it once its lifecycle exists). */
  setSegmentHost(host: SegmentHost): void;
}

export function createPeerFederation(options: PeerFederationOptions): PeerFederation {
  const allowed = new Map<string, ReadonlySet<string>>();
  const registry = new PeerRegistry({
    trust: options.trust,
    localInfo: options.localInfo,
    refreshIntervalMs: options.refreshIntervalMs,
    callTimeoutMs: options.callTimeoutMs,
    logger: options.logger,
    ...(options.clientTls ? { clientTls: options.clientTls } : {}),
    ...(options.clientInterceptors ? { clientInterceptors: options.clientInterceptors } : {}),
  });
  const setPeers = (peers: readonly FederationPeer[]) => {
    allowed.clear();
    for (const p of peers) allowed.set(p.id, new Set(p.allow));
    registry.setPeers(peers);
  };
  setPeers(options.peers);
  let host: SegmentHost | undefined;
  const canPlace = (domain: string): PlacementVerdict => {
    if (domain === options.domainId) return { ok: true };
    const peer = registry.get(domain);
    if (!peer)
      return {
        ok: false,
        reason: `domain ${JSON.stringify(domain)} is neither this domain (${options.domainId}) nor a trusted peer`,
      };
    if (!peer.compatible) return { ok: false, reason: `peer ${domain} is incompatible: ${peer.reason}` };
    // Its trust domain and mesh root come from Hello: a peer never reached cannot be wired to.
    if (!peer.info)
      return {
        ok: false,
        reason: `peer ${domain} has not answered Hello yet${peer.lastError ? ` (${peer.lastError})` : ""}`,
      };
    return { ok: true };
  };
  return {
    peers: registry,
    trust: options.trust,
    service: createPeeringService({
      trust: options.trust,
      localInfo: options.localInfo,
      exportedCatalogue: options.exportedCatalogue,
      ...(options.queryMonitoring ? { queryMonitoring: options.queryMonitoring } : {}),
      segments: () => host,
    }),
    auth: federationServerAuth({ trust: options.trust, allowed: (p) => allowed.get(p), logger: options.logger }),
    segments: createSegmentBroker({
      registry,
      callTimeoutMs: options.callTimeoutMs,
      canPlace,
      localInfo: options.localInfo,
    }),
    setPeers,
    setSegmentHost(h) {
      host = h;
    },
    async start(signal) {
      registry.start(signal);
    },
    close: () => registry.close(),
  };
}
