/**
 * The Network Manager slot (docs/network.md): the mesh and NetworkPolicy objects for every link of a chain,
 * hydrated from the network blueprints (blueprints/network/). The planner's `network` step asks it, once every
 * package is placed and hydrated, for the files each edge's repository gets for the chain's links; they are
 * committed in wave 0 with the chain's namespace. Until the Network Manager lands, {@link createNoNetwork} is
 * the component: chains get chain-base's namespace, PeerAuthentication and default-deny objects, nothing per link.
 */

/** One link of an intent with both ends placed. */
export interface PlacedLink {
  /** `<from>-<to>` (or `<from>-<external host>`). */
  name: string;
  from: { package: string; edge?: string; domain: string };
  to: { package: string; edge?: string; domain: string } | { external: { host: string; port: number } };
  port: number;
  protocol: string;
}

/** What the network step gives the Network Manager. */
export interface NetworkPlanInput {
  intent: string;
  revision: number;
  links: readonly PlacedLink[];
}

/** Files for the chain's links: edge → (repository path → text), under `<intent>/_chain/`. */
export type NetworkFiles = Map<string, Map<string, string>>;

export interface NetworkManager {
  /** The link objects of an intent, per edge. Pure of I/O except reading network blueprints. */
  planLinks(input: NetworkPlanInput, signal?: AbortSignal): Promise<NetworkFiles>;
}

/** The Network Manager until it lands: no per-link objects. */
export function createNoNetwork(): NetworkManager {
  return { planLinks: async () => new Map() };
}
