/**
 * The Network Manager (docs/network.md): the mesh and NetworkPolicy objects for every link of a chain, hydrated
 * from the network blueprints (blueprints/network/) with setters and checked against the Kubernetes and Istio
 * schemas. The planner's `network` step asks it, once every package is placed and hydrated, for the files each
 * edge's repository gets for the chain's links; they are committed in wave 0 with the chain's namespace, so they
 * are removed and rolled back with it.
 *
 * Which objects a link gets is decided by link-units.ts (pure); network-hydrator.ts turns those units into
 * files; the east-west gateways and networks are read from the edges (agent/edge/mesh-install.ts), only for
 * edges that have links to other edges.
 */
import type { Catalogue } from "../cad/catalogue.js";
import type { HydrationCache } from "../cad/hydration-cache.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import type { EdgeMesh } from "../edge/mesh-install.js";
import type { LinkProtocol, LoadBalancer } from "../intent/model.js";
import {
  planCrossDomainConsumer,
  planCrossDomainProvider,
  SegmentOfferError,
  crossDomainHost,
  type OfferedAddress,
  type SegmentOffer,
} from "./cross-domain.js";
import { linkUnits, type NetworkUnit } from "./link-units.js";
import { fingerprintOf, trustFiles, type TrustRecord } from "./mesh-trust.js";
import { hydrateUnits } from "./network-hydrator.js";

/** A link's consumer (`from`): where it runs and who it is. */
export interface ConsumerEnd {
  package: string;
  domain: string;
  /** Absent when it was not placed (its admission reasons say why). */
  edge?: string;
  /** The service account its pods run as (the pod template's, or "default"). */
  serviceAccount: string;
}

/** A link's provider (`to`) in the intent. */
export interface ProviderEnd {
  package: string;
  domain: string;
  edge?: string;
  /** The pod port behind the link's Service port (the Service's targetPort); the link's port when unknown. */
  targetPort: number;
  /** The service account its pods run as, for its SPIFFE identity offered to a peer. Default "default". */
  serviceAccount?: string;
}

/** The link's routing policy, as the intent gives it (validated: Istio accepts every value). */
export interface LinkPolicy {
  timeout?: string;
  retries?: number;
  loadBalancer?: LoadBalancer;
}

/** One link of an intent with both ends placed. */
export interface PlacedLink {
  /** The link's name, which its objects are named after: `<from>-<to>-<port>` (or `<from>-<external host>-<port>`). */
  name: string;
  from: ConsumerEnd;
  to: ProviderEnd | { external: { host: string; port: number } };
  port: number;
  protocol: LinkProtocol;
  policy: LinkPolicy;
}

/** What the network step gives the Network Manager. */
export interface NetworkPlanInput {
  intent: string;
  revision: number;
  /** This domain. */
  domain: string;
  links: readonly PlacedLink[];
  /** Edge → its deployment repository (recorded in each network package's IESD). */
  repositories: ReadonlyMap<string, string>;
  /**
   * The peers' offers for the links into their domains (federation's ProposeSegment answers). A cross-domain
   * link whose peer has an offer gets its consumer side ({@link planCrossDomainConsumer}); without one it gets
   * nothing yet, and the plan says so.
   */
  offers?: readonly SegmentOffer[];
  /**
   * The other domains' consumers of this domain's providers (from the peer's offer on the origin, from the
   * proposal on the peer): each link's exact principal. A link from another domain gets its provider side
   * ({@link planCrossDomainProvider}) only with one.
   */
  consumers?: readonly RemoteConsumers[];
  /** The intent the cross-domain hosts are named after (the origin's); default `intent`. */
  hostIntent?: string;
}

/** One domain's consumers of this domain's providers, and who that domain is. */
export interface RemoteConsumers {
  domain: string;
  trustDomain: string;
  links: readonly { from: string; to: string; port: number; principal: string }[];
}

/** A peer's root an edge must trust, because links of the chain on it cross to that peer. */
export interface TrustNeed {
  edge: string;
  peer: string;
  trustDomain: string;
  pem: string;
}

/** A provider of this domain a peer's consumer will call: what its address is made from. */
export interface ProviderAddressInput {
  package: string;
  edge: string;
  port: number;
  protocol: LinkProtocol;
  serviceAccount: string;
}

/** Files for the chain's links: edge → (repository path → text), under `<intent>/_chain/`. */
export type NetworkFiles = Map<string, Map<string, string>>;

/** Where a link's two ends are. */
export type LinkPlacement = "intra-edge" | "inter-edge" | "cross-domain" | "external";

/** One network object the plan commits, for people and tools. */
export interface NetworkObjectRef {
  edge: string;
  /** The link it serves, or empty for an object of the chain (chain-eastwest) or shared by links. */
  link: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  path: string;
}

/** One link as the plan shows it. */
export interface LinkNetworkPlan {
  link: string;
  from: string;
  to: string;
  placement: LinkPlacement;
  protocol: LinkProtocol;
  port: number;
  /** Whether the mesh carries it (false for udp and sctp: NetworkPolicy only). */
  meshed: boolean;
  /** Edges that get objects for it. */
  edges: string[];
  /** A cross-domain link with its consumer here: the consumer's exact principal, which the peer allows. */
  consumerPrincipal?: string;
  /** A cross-domain link with its provider here: the address offered to the peer's consumer. */
  offered?: OfferedAddress;
  /** Why the link gets what it gets, when that is not the whole table (udp, a DNS-named endpoint, …). */
  note?: string;
}

/** A link that cannot be made to work as placed: an admission reason on its consumer. */
export interface NetworkProblem {
  package: string;
  edge: string;
  message: string;
}

/** What the Network Manager plans for an intent. */
export interface NetworkPlan {
  files: NetworkFiles;
  objects: NetworkObjectRef[];
  links: LinkNetworkPlan[];
  problems: NetworkProblem[];
  /** The mesh of every edge that was read (edges with links to other edges). */
  meshes: EdgeMesh[];
  /** Peer roots the chain's edges must trust (one per edge and peer). */
  trust: TrustNeed[];
}

export interface NetworkManager {
  /** This domain's mesh trust domain, the first part of its principals. */
  readonly trustDomain: string;
  /** The link objects of an intent, per edge. Reads network blueprints, and the mesh of edges with remote links. */
  planLinks(input: NetworkPlanInput, signal?: AbortSignal): Promise<NetworkPlan>;
  /**
   * The addresses this domain offers a peer's consumers for these providers: the cross-domain host, the port,
   * the provider edge's east-west gateway, the provider's SPIFFE identity.
   * @throws SegmentOfferError when a provider's edge has no usable east-west gateway
   */
  providerAddresses(
    providers: readonly ProviderAddressInput[],
    ctx: { intent: string; domain: string; namespace: string },
    signal?: AbortSignal,
  ): Promise<OfferedAddress[]>;
  /** The files of an edge's `_camino/trust/` for these records (mesh-trust.ts). */
  trustFiles(
    edge: string,
    records: readonly TrustRecord[],
    input: { domain: string; repository: string },
    signal?: AbortSignal,
  ): Promise<Map<string, string>>;
}

/** Reads one edge's mesh (agent/edge/mesh-install.ts through the edge's client). */
export type MeshReader = (edge: string, signal?: AbortSignal) => Promise<EdgeMesh>;

/** Options of {@link createNetworkManager}. */
export interface NetworkManagerOptions {
  /** Where the network blueprints are resolved (by name, at their default revision). */
  catalogue: Pick<Catalogue, "resolve">;
  /** Hydration of the network packages (the same cache as the CNFs'). */
  hydration: Pick<HydrationCache, "hydrate">;
  /** Reads an edge's network and east-west gateway. */
  mesh: MeshReader;
  /** This domain's mesh trust domain, the first part of its principals. Default "cluster.local". */
  trustDomain?: string;
}

/** The trust domain of an Istio install that did not set one. */
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

/** The Network Manager. */
export function createNetworkManager(options: NetworkManagerOptions): NetworkManager {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  return {
    trustDomain,
    async planLinks(input, signal) {
      const remoteEdges = new Set<string>();
      for (const l of input.links) {
        if ("external" in l.to) continue;
        const local = (e: { domain: string; edge?: string }) => e.domain === input.domain && e.edge;
        if (local(l.from) && local(l.to) && l.from.edge !== l.to.edge) {
          remoteEdges.add(l.from.edge as string);
          remoteEdges.add(l.to.edge as string);
        }
        // A provider here called from another domain is offered through its edge's gateway.
        if (l.from.domain !== input.domain && local(l.to)) remoteEdges.add(l.to.edge as string);
      }
      const meshes = await Promise.all([...remoteEdges].sort().map((e) => options.mesh(e, signal)));
      const meshOf = new Map(meshes.map((m) => [m.edge, m]));
      const planned = linkUnits(input, { trustDomain, meshes: meshOf });
      const trust = new Map<string, TrustNeed>();
      const needTrust = (edge: string, domain: string, peerTrustDomain: string, pem: string | undefined) => {
        if (pem) trust.set(`${edge}\u0000${domain}`, { edge, peer: domain, trustDomain: peerTrustDomain, pem });
      };
      const problem = (pkg: string, edge: string, message: string) =>
        planned.problems.push({ package: pkg, edge, message });
      for (const l of input.links) {
        const to = l.to;
        if ("external" in to) continue;
        const lp = planned.links.find((x) => x.link === l.name);
        if (lp?.placement !== "cross-domain") continue;
        if (l.from.domain === input.domain && l.from.edge) {
          const offer = input.offers?.find((o) => o.domain === to.domain);
          if (!offer) continue;
          try {
            const consumer = planCrossDomainConsumer(l, offer, input.intent);
            planned.units.push(...consumer.units);
            lp.edges = [l.from.edge];
            lp.note = [`through ${offer.domain}'s offer`, ...consumer.notes].join("; ");
            lp.consumerPrincipal = `${trustDomain}/ns/${input.intent}/sa/${l.from.serviceAccount}`;
            needTrust(l.from.edge, offer.domain, offer.trustDomain, offer.meshRoot);
          } catch (err) {
            if (!(err instanceof SegmentOfferError)) throw err;
            const why = err.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
            problem(l.from.package, l.from.edge, `link ${l.name}: ${offer.domain}'s offer cannot be used: ${why}`);
          }
        } else if (to.domain === input.domain && to.edge) {
          const remote = input.consumers?.find((c) => c.domain === l.from.domain);
          const principal = remote?.links.find(
            (c) => c.from === l.from.package && c.to === to.package && c.port === l.port,
          )?.principal;
          if (!remote || principal === undefined) continue;
          const mesh = meshOf.get(to.edge);
          if (!mesh) continue;
          try {
            const provider = planCrossDomainProvider(
              {
                name: l.name,
                to: { package: to.package, edge: to.edge, targetPort: to.targetPort },
                port: l.port,
                protocol: l.protocol,
                consumerPrincipal: principal,
              },
              {
                intent: input.hostIntent ?? input.intent,
                namespace: input.intent,
                domain: input.domain,
                peerTrustDomain: remote.trustDomain,
                localTrustDomain: trustDomain,
                mesh,
                serviceAccount: to.serviceAccount ?? "default",
              },
            );
            addUnits(planned.units, provider.units);
            lp.edges = [to.edge];
            lp.offered = provider.offered;
            lp.note = `offered to ${l.from.domain} through ${to.edge}'s east-west gateway ${provider.offered.gatewayAddress}:${provider.offered.gatewayPort}`;
            const root = input.offers?.find((o) => o.domain === l.from.domain)?.meshRoot;
            needTrust(to.edge, l.from.domain, remote.trustDomain, root);
          } catch (err) {
            if (!(err instanceof SegmentOfferError)) throw err;
            const why = err.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
            problem(to.package, to.edge, `link ${l.name} from ${l.from.domain}: ${why}`);
          }
        }
      }
      for (const t of trust.values()) {
        try {
          fingerprintOf(t.pem);
        } catch (err) {
          problem("", t.edge, `${t.peer}'s mesh root cannot be trusted: ${(err as Error).message}`);
        }
      }
      const hydrated = await hydrateUnits(planned.units, input, options, signal);
      return { ...hydrated, links: planned.links, problems: planned.problems, meshes, trust: [...trust.values()] };
    },
    async providerAddresses(providers, ctx, signal) {
      const out: OfferedAddress[] = [];
      for (const p of providers) {
        const mesh = await options.mesh(p.edge, signal);
        if (!mesh.gateway)
          throw new SegmentOfferError([
            {
              path: "edge",
              message: `edge ${p.edge} has no usable east-west gateway (${mesh.problems.join("; ")})`,
            },
          ]);
        out.push({
          package: p.package,
          host: crossDomainHost(p.package, ctx.intent, ctx.domain),
          port: p.port,
          gatewayAddress: mesh.gateway.address,
          gatewayPort: mesh.gateway.port,
          network: mesh.network ?? "",
          protocol: p.protocol,
          spiffeIdentity: `spiffe://${trustDomain}/ns/${ctx.namespace}/sa/${p.serviceAccount}`,
        });
      }
      return out;
    },
    trustFiles: (edge, records, input, signal) => trustFiles(edge, records, input, options, signal),
  };
}

/** Adds units, once each: the chain's east-west unit is shared by every link that crosses on an edge. */
function addUnits(units: NetworkUnit[], more: readonly NetworkUnit[]): void {
  for (const u of more) {
    if (
      units.some((x) => x.edge === u.edge && x.blueprint === u.blueprint && x.folder === u.folder && x.link === u.link)
    )
      continue;
    units.push(u);
  }
}

/** A {@link MeshReader} over the domain's edge clients. */
export function meshReaderOf(edges: Pick<EdgeRegistry, "get">): MeshReader {
  return async (edge, signal) => {
    const client = edges.get(edge);
    if (!client)
      return {
        edge,
        multiRoot: false,
        xdsAgent: false,
        dnsProxy: false,
        problems: [`no Kubernetes connection to ${edge}`],
      };
    return client.mesh(signal);
  };
}

/** A plan with no network objects (for tests of planning that stand in their own Network Manager). */
export function emptyNetworkPlan(): NetworkPlan {
  return { files: new Map(), objects: [], links: [], problems: [], meshes: [], trust: [] };
}
