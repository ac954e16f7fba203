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
import { planCrossDomainConsumer, SegmentOfferError, type SegmentOffer } from "./cross-domain.js";
import { linkUnits } from "./link-units.js";
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
}

export interface NetworkManager {
  /** The link objects of an intent, per edge. Reads network blueprints, and the mesh of edges with remote links. */
  planLinks(input: NetworkPlanInput, signal?: AbortSignal): Promise<NetworkPlan>;
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
    async planLinks(input, signal) {
      const remoteEdges = new Set<string>();
      for (const l of input.links) {
        if ("external" in l.to || !l.from.edge || !l.to.edge || l.to.domain !== input.domain) continue;
        if (l.from.edge !== l.to.edge) {
          remoteEdges.add(l.from.edge);
          remoteEdges.add(l.to.edge);
        }
      }
      const meshes = await Promise.all([...remoteEdges].sort().map((e) => options.mesh(e, signal)));
      const planned = linkUnits(input, { trustDomain, meshes: new Map(meshes.map((m) => [m.edge, m])) });
      for (const l of input.links) {
        const to = l.to;
        const offer = "external" in to ? undefined : input.offers?.find((o) => o.domain === to.domain);
        const lp = planned.links.find((x) => x.link === l.name);
        if (!offer || !lp || lp.placement !== "cross-domain" || !l.from.edge) continue;
        try {
          const consumer = planCrossDomainConsumer(l, offer, input.intent);
          planned.units.push(...consumer.units);
          lp.edges = [l.from.edge];
          lp.note = [`through ${offer.domain}'s offer`, ...consumer.notes].join("; ");
        } catch (err) {
          if (!(err instanceof SegmentOfferError)) throw err;
          const why = err.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
          planned.problems.push({
            package: l.from.package,
            edge: l.from.edge,
            message: `link ${l.name}: ${offer.domain}'s offer cannot be used: ${why}`,
          });
        }
      }
      const hydrated = await hydrateUnits(planned.units, input, options, signal);
      return { ...hydrated, links: planned.links, problems: planned.problems, meshes };
    },
  };
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
  return { files: new Map(), objects: [], links: [], problems: [], meshes: [] };
}
