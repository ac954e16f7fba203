/**
 * Which network packages each link of a chain gets, by where its two ends are placed (docs/network.md, "Per
 * link"): pure, no I/O. A unit is one network blueprint, the setter values it is hydrated with, and the edge and
 * folder (under `<intent>/_chain/`) it goes to. Everything is named after its link, except what several links
 * of one edge must share because Istio keys it by host: the ServiceEntry that makes a provider on another edge
 * resolve here (one per provider host and port), and the chain's east-west egress (one per edge).
 */
import { isIPv4 } from "node:net";
import { serviceHost } from "../cad/iesd.js";
import type { EdgeMesh } from "../edge/mesh-install.js";
import type { LinkProtocol } from "../intent/model.js";
import type {
  LinkNetworkPlan,
  LinkPlacement,
  NetworkPlanInput,
  NetworkProblem,
  PlacedLink,
  ProviderEnd,
} from "./network-manager.js";

/** One network package to hydrate. */
export interface NetworkUnit {
  edge: string;
  /** The network blueprint's name (blueprints/network/<name>). */
  blueprint: string;
  /** Folder under `<intent>/_chain/`. */
  folder: string;
  /** The link it serves; empty for a unit of the chain or one shared by links. */
  link: string;
  setters: Record<string, string>;
}

/** What {@link linkUnits} reads besides the links. */
export interface LinkUnitsContext {
  /** This domain's trust domain, the first part of a local consumer's principal. */
  trustDomain: string;
  /** The mesh of every edge with links to other edges. */
  meshes: ReadonlyMap<string, EdgeMesh>;
}

/** Protocols the mesh carries (Istio cannot proxy udp or sctp). */
export function isMeshed(p: LinkProtocol): boolean {
  return p !== "udp" && p !== "sctp";
}

/** Protocols whose links get a VirtualService (timeout and retries are HTTP features). */
export function isHttpLike(p: LinkProtocol): boolean {
  return p === "http" || p === "http2" || p === "grpc";
}

/** The NetworkPolicy protocol of a link. */
export function networkProtocol(p: LinkProtocol): "TCP" | "UDP" | "SCTP" {
  return p === "udp" ? "UDP" : p === "sctp" ? "SCTP" : "TCP";
}

/**
 * The Istio port protocol of a meshed link between sidecars. `tls` means the application speaks TLS inside the
 * mesh's mutual TLS, which Istio proxies as TCP; Istio's `TLS` would mean no mesh TLS of its own.
 */
export function meshPortProtocol(p: LinkProtocol): "HTTP" | "HTTP2" | "GRPC" | "TCP" {
  return p === "http" ? "HTTP" : p === "http2" ? "HTTP2" : p === "grpc" ? "GRPC" : "TCP";
}

/** The Istio port protocol of a link to an external endpoint (there `TLS` is what the application speaks). */
export function externalPortProtocol(p: LinkProtocol): string {
  return p === "tls" ? "TLS" : meshPortProtocol(p);
}

/** A local consumer's principal, as AuthorizationPolicies name it. */
export function principalOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** An Istio duration for a number of milliseconds (seconds with a fraction, which every Istio version parses). */
export function istioDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** Where a link's ends are, relative to this domain. */
export function placementOf(link: PlacedLink, domain: string): LinkPlacement {
  if ("external" in link.to) return "external";
  if (link.to.domain !== domain || link.from.domain !== domain) return "cross-domain";
  return link.from.edge === link.to.edge ? "intra-edge" : "inter-edge";
}

/** The setters every meshed link's consumer side shares: its DestinationRule, and its route when HTTP-like. */
export function consumerMeshUnits(
  link: PlacedLink,
  edge: string,
  namespace: string,
  host: string,
  port: number,
): NetworkUnit[] {
  const units: NetworkUnit[] = [];
  const base = { namespace, link: link.name, consumer: link.from.package, host };
  const dr: Record<string, string> = { ...base };
  if (link.policy.loadBalancer) dr["load-balancer"] = link.policy.loadBalancer;
  units.push(unit(edge, "link-destination", link.name, dr));
  if (isHttpLike(link.protocol)) {
    const vs: Record<string, string> = { ...base, hosts: list(host), port: String(port) };
    if (link.policy.timeout !== undefined) vs["timeout"] = link.policy.timeout;
    if (link.policy.retries !== undefined) vs["retries"] = String(link.policy.retries);
    units.push(unit(edge, "link-route", link.name, vs));
  }
  return units;
}

/** A list setter's value: a YAML flow list (JSON is one), each item one string. */
export function list(...items: string[]): string {
  return JSON.stringify(items);
}

/** A unit for a link, in `links/<link>/<blueprint>`. */
export function unit(edge: string, blueprint: string, link: string, setters: Record<string, string>): NetworkUnit {
  return { edge, blueprint, folder: `links/${link}/${blueprint}`, link, setters };
}

/** The egress rule to a remote gateway, and a note when the gateway is named rather than addressed. */
export function remoteEgressUnit(
  link: PlacedLink,
  edge: string,
  namespace: string,
  gateway: { address: string; port: number },
): { unit: NetworkUnit; note?: string } {
  const ip = isIPv4(gateway.address);
  const setters: Record<string, string> = {
    namespace,
    link: link.name,
    consumer: link.from.package,
    cidr: ip ? `${gateway.address}/32` : "0.0.0.0/0",
  };
  if (gateway.port !== 15443) setters["port"] = String(gateway.port);
  const u = unit(edge, "link-allow-remote", link.name, setters);
  if (ip) return { unit: u };
  return {
    unit: u,
    note: `the gateway ${gateway.address} is a DNS name, which a NetworkPolicy cannot name: egress to port ${gateway.port} is open to any address`,
  };
}

/** The units of every link of an intent, what the plan says of each, and the links that cannot work as placed. */
export function linkUnits(
  input: NetworkPlanInput,
  ctx: LinkUnitsContext,
): { units: NetworkUnit[]; links: LinkNetworkPlan[]; problems: NetworkProblem[] } {
  const ns = input.intent;
  const units: NetworkUnit[] = [];
  const shared = new Map<string, NetworkUnit>();
  const links: LinkNetworkPlan[] = [];
  const problems: NetworkProblem[] = [];
  /** "edge host" → the first link that routes it there. */
  const routed = new Map<string, string>();
  const share = (u: NetworkUnit) => {
    const key = `${u.edge}/${u.folder}`;
    if (!shared.has(key)) shared.set(key, u);
  };

  for (const link of input.links) {
    const placement = placementOf(link, input.domain);
    const to = "external" in link.to ? link.to.external.host : link.to.package;
    const plan: LinkNetworkPlan = {
      link: link.name,
      from: link.from.package,
      to,
      placement,
      protocol: link.protocol,
      port: link.port,
      meshed: isMeshed(link.protocol),
      edges: [],
    };
    links.push(plan);
    const notes: string[] = [];
    if (!isMeshed(link.protocol))
      notes.push(
        `${link.protocol}: Istio cannot carry ${link.protocol}, so this link gets NetworkPolicy rules only (no AuthorizationPolicy, DestinationRule or VirtualService)`,
      );
    const consumerEdge = link.from.edge;

    if ("external" in link.to) {
      if (!consumerEdge) continue;
      const { host, port } = link.to.external;
      const ip = isIPv4(host);
      if (!isMeshed(link.protocol)) {
        // No ServiceEntry: the mesh does not carry it. Only the egress rule to the endpoint on its port.
        units.push(
          unit(consumerEdge, "link-allow-remote", link.name, {
            namespace: ns,
            link: link.name,
            consumer: link.from.package,
            cidr: ip ? `${host}/32` : "0.0.0.0/0",
            port: String(port),
            protocol: networkProtocol(link.protocol),
          }),
        );
      } else
        units.push(
          unit(consumerEdge, "link-external", link.name, {
            namespace: ns,
            link: link.name,
            consumer: link.from.package,
            hosts: list(host),
            port: String(port),
            protocol: externalPortProtocol(link.protocol),
            resolution: ip ? "NONE" : "DNS",
            addresses: ip ? list(`${host}/32`) : list(),
            cidr: ip ? `${host}/32` : "0.0.0.0/0",
            "network-protocol": networkProtocol(link.protocol),
          }),
        );
      if (!ip)
        notes.push(
          `${host} is a DNS name, which a NetworkPolicy cannot name: egress to port ${port} is open to any address, and the ServiceEntry names the host for the mesh`,
        );
      if (isHttpLike(link.protocol)) {
        const vs: Record<string, string> = {
          namespace: ns,
          link: link.name,
          consumer: link.from.package,
          host,
          hosts: list(host),
          port: String(port),
        };
        if (link.policy.timeout !== undefined) vs["timeout"] = link.policy.timeout;
        if (link.policy.retries !== undefined) vs["retries"] = String(link.policy.retries);
        units.push(unit(consumerEdge, "link-route", link.name, vs));
      }
    } else if (placement === "cross-domain") {
      notes.push("waiting for the peer's segment offer: its objects are generated from it");
    } else {
      const provider = link.to as ProviderEnd;
      const providerEdge = provider.edge;
      if (!consumerEdge || !providerEdge) continue;
      const host = serviceHost(provider.package, ns);
      const target = String(provider.targetPort);
      const principal = principalOf(ctx.trustDomain, ns, link.from.serviceAccount);
      const authorization = () =>
        unit(providerEdge, "link-authorization", link.name, {
          namespace: ns,
          link: link.name,
          provider: provider.package,
          principals: list(principal),
          "target-ports": list(target),
        });
      if (placement === "intra-edge") {
        units.push(
          unit(consumerEdge, "link-allow-local", link.name, {
            namespace: ns,
            link: link.name,
            consumer: link.from.package,
            provider: provider.package,
            "target-port": target,
            protocol: networkProtocol(link.protocol),
          }),
        );
        if (isMeshed(link.protocol)) {
          units.push(authorization());
          units.push(...consumerMeshUnits(link, consumerEdge, ns, host, link.port));
        }
      } else if (!isMeshed(link.protocol)) {
        problems.push({
          package: link.from.package,
          edge: consumerEdge,
          message: `link ${link.name}: a ${link.protocol} link cannot cross edges (the mesh cannot carry ${link.protocol} through the east-west gateways); place ${link.from.package} and ${provider.package} on one edge`,
        });
        notes.push(`not connected: ${link.protocol} cannot cross edges`);
      } else {
        const theirs = ctx.meshes.get(providerEdge);
        const gateway = theirs?.gateway;
        if (!gateway) {
          problems.push({
            package: link.from.package,
            edge: consumerEdge,
            message: `link ${link.name}: edge ${providerEdge} has no usable east-west gateway for links from other edges (${theirs?.problems.join("; ") || "its mesh could not be read"})`,
          });
          continue;
        }
        const ours = ctx.meshes.get(consumerEdge);
        if (ours?.network && theirs.network && ours.network === theirs.network)
          notes.push(`edges ${consumerEdge} and ${providerEdge} report the same network ${ours.network}`);
        else
          notes.push(
            `network ${ours?.network ?? "?"} → ${theirs.network ?? "?"} through ${gateway.address}:${gateway.port}`,
          );
        if (ours && !ours.dnsProxy)
          notes.push(
            `edge ${consumerEdge}'s mesh does not proxy DNS (ISTIO_META_DNS_CAPTURE, ISTIO_META_DNS_AUTO_ALLOCATE): ${host} will not resolve there`,
          );
        // Consumer edge: the provider's name resolves here (one ServiceEntry per host and port, shared by the
        // links that need it), the egress to the provider edge's gateway, and the link's own routing.
        share({
          edge: consumerEdge,
          blueprint: "link-inter-edge-consumer",
          folder: `remote/${provider.package}-${link.port}`,
          link: "",
          setters: {
            namespace: ns,
            name: `remote-${provider.package}-${link.port}`,
            hosts: list(host),
            port: String(link.port),
            protocol: meshPortProtocol(link.protocol),
            "gateway-address": gateway.address,
            resolution: gateway.hostname ? "DNS" : "STATIC",
            ...(gateway.port !== 15443 ? { "gateway-port": String(gateway.port) } : {}),
          },
        });
        const egress = remoteEgressUnit(link, consumerEdge, ns, gateway);
        units.push(egress.unit);
        if (egress.note) notes.push(egress.note);
        units.push(...consumerMeshUnits(link, consumerEdge, ns, host, link.port));
        // Provider edge: its pods accept the local gateway on the pod port, and only this consumer.
        units.push(
          unit(providerEdge, "link-allow-gateway", link.name, {
            namespace: ns,
            link: link.name,
            provider: provider.package,
            "target-port": target,
          }),
        );
        units.push(authorization());
        for (const e of [consumerEdge, providerEdge])
          share({ edge: e, blueprint: "chain-eastwest", folder: "eastwest", link: "", setters: { namespace: ns } });
      }
    }
    // Istio applies one VirtualService per host to a sidecar: a second consumer's route on the same edge is shadowed.
    for (const u of units) {
      if (u.link !== link.name || u.blueprint !== "link-route") continue;
      const key = `${u.edge} ${u.setters["host"]}`;
      const first = routed.get(key);
      if (first === undefined) routed.set(key, link.name);
      else
        notes.push(
          `link ${first} already routes ${u.setters["host"]} on ${u.edge}; Istio applies one VirtualService per host there, so this link's timeout and retries may not apply`,
        );
    }
    if (notes.length > 0) plan.note = notes.join("; ");
    plan.edges = [...new Set(units.filter((u) => u.link === link.name).map((u) => u.edge))].sort();
  }
  return { units: [...units, ...shared.values()], links, problems };
}
