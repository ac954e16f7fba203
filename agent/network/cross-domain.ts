/**
 * The network of a link that crosses into a peer domain, generated from the segment offer (docs/network.md,
 * "cross-domain"; proto camino.v1 ServiceAddress, SegmentLink). Federation's part 2 calls these in both
 * directions when it proposes and accepts segments; until then they are called with hand-made offers.
 *
 * - Consumer side ({@link planCrossDomainConsumer}): a ServiceEntry for the offered host, whose one endpoint is
 *   the peer's east-west gateway (no `network` field: the endpoint is the gateway itself), its port the offer's
 *   (the SNI `outbound_.<port>_._.<host>` carries it), its protocol the link's, never TLS, `subjectAltNames` the
 *   provider's SPIFFE identity, and no `addresses` (istiod allocates VIPs); a DestinationRule with ISTIO_MUTUAL
 *   and no `sni`; the link's route; egress to the peer gateway.
 * - Provider side ({@link planCrossDomainProvider}): an AUTO_PASSTHROUGH Gateway on 15443 for this link's host
 *   only, the ServiceEntry mapping the host to the local Service, ingress from the local east-west gateway's
 *   pods on the pod port, and an AuthorizationPolicy naming exactly the caller's principal from the proposal.
 */
import { isIPv4 } from "node:net";
import { serviceHost } from "../cad/iesd.js";
import { ValidationError, type FieldIssue } from "../errors.js";
import type { EdgeMesh } from "../edge/mesh-install.js";
import type { LinkProtocol } from "../intent/model.js";
import {
  consumerMeshUnits,
  isHttpLike,
  isMeshed,
  list,
  meshPortProtocol,
  remoteEgressUnit,
  unit,
  type NetworkUnit,
} from "./link-units.js";
import type { PlacedLink } from "./network-manager.js";

/** An offered address (camino.v1.ServiceAddress): what the consumer side is generated from. */
export interface OfferedAddress {
  package: string;
  /** The host callers use. */
  host: string;
  /** The provider-side ServiceEntry's port. */
  port: number;
  gatewayAddress: string;
  gatewayPort: number;
  network: string;
  protocol: string;
  /** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
  spiffeIdentity: string;
}

/** A peer's offer for the links into it, and who the peer is (from Hello). */
export interface SegmentOffer {
  /** The peer domain's id. */
  domain: string;
  /** The peer's trust domain (DomainInfo.trust_domain). */
  trustDomain: string;
  addresses: readonly OfferedAddress[];
  /** The peer's mesh root (PEM, from Hello): edges with links to it trust it. */
  meshRoot?: string;
}

/** Thrown for an offer or proposal the network cannot be generated from; issues name the field. */
export class SegmentOfferError extends ValidationError {
  constructor(issues: readonly FieldIssue[]) {
    super("ERR_SEGMENT_OFFER_INVALID", "segment offer", issues);
  }
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const SEGMENT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const port = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;

/** The host a peer's caller uses for a package of this domain: `<package>.<intent>.<domain>.camino`. */
export function crossDomainHost(pkg: string, intent: string, domain: string): string {
  return `${pkg}.${intent}.${domain}.camino`;
}

/** `<trust domain>/ns/<ns>/sa/<sa>` split, or undefined when it is not one. */
function parsePrincipal(p: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^([^/\s*]+)\/ns\/([^/\s*]+)\/sa\/([^/\s*]+)$/.exec(p);
  return m ? { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string } : undefined;
}

/**
 * The consumer side of a link to a package of a peer domain, on the consumer's edge.
 * @param link the link, its consumer placed on an edge of this domain and its provider in `offer.domain`
 * @throws SegmentOfferError when the offer has no address for the provider, or the address is unusable (a
 *   protocol the mesh cannot carry or TLS, a port out of range, a gateway that is neither an IP nor a DNS name, a
 *   SPIFFE identity outside the peer's trust domain)
 */
export function planCrossDomainConsumer(
  link: PlacedLink,
  offer: SegmentOffer,
  namespace: string,
): { units: NetworkUnit[]; notes: string[] } {
  const edge = link.from.edge;
  if ("external" in link.to || !edge) throw new TypeError(`link ${link.name} has no placed consumer and peer provider`);
  const provider = link.to.package;
  const i = offer.addresses.findIndex((a) => a.package === provider);
  const at = `offeredAddresses[${i}]`;
  const a = offer.addresses[i];
  const issues: FieldIssue[] = [];
  if (!a) throw new SegmentOfferError([{ path: "offeredAddresses", message: `no address for ${provider}` }]);
  if (!DNS_NAME.test(a.host))
    issues.push({ path: `${at}.host`, message: `${JSON.stringify(a.host)} is not a DNS name` });
  if (!port(a.port)) issues.push({ path: `${at}.port`, message: `${a.port} is not a port (1-65535)` });
  if (!port(a.gatewayPort)) issues.push({ path: `${at}.gatewayPort`, message: `${a.gatewayPort} is not a port` });
  if (!isIPv4(a.gatewayAddress) && !DNS_NAME.test(a.gatewayAddress))
    issues.push({
      path: `${at}.gatewayAddress`,
      message: `${JSON.stringify(a.gatewayAddress)} is neither an IPv4 address nor a DNS name`,
    });
  if (a.protocol !== link.protocol)
    issues.push({
      path: `${at}.protocol`,
      message: `${JSON.stringify(a.protocol)} differs from the link's ${link.protocol}`,
    });
  if (!isMeshed(link.protocol))
    issues.push({ path: `${at}.protocol`, message: `${link.protocol} cannot cross a mesh gateway` });
  const prefix = `spiffe://${offer.trustDomain}/`;
  if (!a.spiffeIdentity.startsWith(prefix) || !parsePrincipal(a.spiffeIdentity.slice("spiffe://".length)))
    issues.push({
      path: `${at}.spiffeIdentity`,
      message: `${JSON.stringify(a.spiffeIdentity)} is not ${prefix}ns/<namespace>/sa/<service account>`,
    });
  if (issues.length > 0) throw new SegmentOfferError(issues);

  const hostname = !isIPv4(a.gatewayAddress);
  const units: NetworkUnit[] = [
    unit(edge, "link-cross-domain-consumer", link.name, {
      namespace,
      link: link.name,
      consumer: link.from.package,
      host: a.host,
      hosts: list(a.host),
      port: String(a.port),
      protocol: meshPortProtocol(link.protocol as LinkProtocol),
      "gateway-address": a.gatewayAddress,
      "gateway-port": String(a.gatewayPort),
      resolution: hostname ? "DNS" : "STATIC",
      "subject-alt-names": list(a.spiffeIdentity),
      ...(link.policy.loadBalancer ? { "load-balancer": link.policy.loadBalancer } : {}),
    }),
  ];
  // The DestinationRule is the cross-domain package's own (no sni); only the route is shared with local links.
  if (isHttpLike(link.protocol))
    units.push(...consumerMeshUnits(link, edge, namespace, a.host, a.port).filter((u) => u.blueprint === "link-route"));
  const egress = remoteEgressUnit(link, edge, namespace, { address: a.gatewayAddress, port: a.gatewayPort });
  units.push(egress.unit);
  return { units, notes: egress.note ? [egress.note] : [] };
}

/** The provider side's view of a link from a peer's package (camino.v1.SegmentLink). */
export interface IncomingLink {
  /** The link's name on this side. */
  name: string;
  /** The local provider package, placed on an edge here. */
  to: { package: string; edge: string; targetPort: number };
  port: number;
  protocol: LinkProtocol;
  /** The caller's exact principal, `<peer trust domain>/ns/<ns>/sa/<sa>`, from the proposal. */
  consumerPrincipal: string;
}

/**
 * The provider side of a link from a peer's package, on the provider's edge, and the address offered for it.
 * @param peerTrustDomain the proposing peer's trust domain (from Hello): the caller's principal must be in it
 * @param localTrustDomain this domain's trust domain, to build the provider's SPIFFE identity
 * @throws SegmentOfferError for a principal that is not exact (a wildcard, another trust domain), a protocol the
 *   mesh cannot carry, or an edge without an east-west gateway
 */
export function planCrossDomainProvider(
  link: IncomingLink,
  ctx: {
    intent: string;
    domain: string;
    peerTrustDomain: string;
    localTrustDomain: string;
    mesh: EdgeMesh;
    serviceAccount?: string;
    /** The namespace the provider runs in; default `intent`. */
    namespace?: string;
  },
): { units: NetworkUnit[]; offered: OfferedAddress } {
  const issues: FieldIssue[] = [];
  const p = parsePrincipal(link.consumerPrincipal);
  if (!p)
    issues.push({
      path: "links.consumerPrincipal",
      message: `${JSON.stringify(link.consumerPrincipal)} is not an exact <trust domain>/ns/<namespace>/sa/<service account>`,
    });
  else if (p.trustDomain !== ctx.peerTrustDomain)
    issues.push({
      path: "links.consumerPrincipal",
      message: `${JSON.stringify(link.consumerPrincipal)} is not in the peer's trust domain ${ctx.peerTrustDomain}`,
    });
  if (!isMeshed(link.protocol))
    issues.push({ path: "links.protocol", message: `${link.protocol} cannot cross a mesh gateway` });
  if (!port(link.port)) issues.push({ path: "links.port", message: `${link.port} is not a port (1-65535)` });
  if (!ctx.mesh.gateway)
    issues.push({
      path: "edge",
      message: `edge ${link.to.edge} has no usable east-west gateway (${ctx.mesh.problems.join("; ")})`,
    });
  if (issues.length > 0) throw new SegmentOfferError(issues);
  const gateway = ctx.mesh.gateway as NonNullable<EdgeMesh["gateway"]>;
  const namespace = ctx.namespace ?? ctx.intent;
  const host = crossDomainHost(link.to.package, ctx.intent, ctx.domain);
  if (!SEGMENT.test(host)) throw new SegmentOfferError([{ path: "host", message: `${host} is not a DNS name` }]);
  const edge = link.to.edge;
  const target = String(link.to.targetPort);
  const units = [
    unit(edge, "link-cross-domain-provider", link.name, {
      namespace,
      link: link.name,
      hosts: list(host),
      "gateway-hosts": list(`./${host}`),
      "local-host": serviceHost(link.to.package, namespace),
      port: String(link.port),
      protocol: meshPortProtocol(link.protocol),
      ...(gateway.port !== 15443 ? { "gateway-port": String(gateway.port) } : {}),
    }),
    unit(edge, "link-allow-gateway", link.name, {
      namespace,
      link: link.name,
      provider: link.to.package,
      "target-port": target,
    }),
    unit(edge, "link-authorization", link.name, {
      namespace,
      link: link.name,
      provider: link.to.package,
      principals: list(link.consumerPrincipal),
      "target-ports": list(target),
    }),
    { edge, blueprint: "chain-eastwest", folder: "eastwest", link: "", setters: { namespace } },
  ];
  const offered: OfferedAddress = {
    package: link.to.package,
    host,
    port: link.port,
    gatewayAddress: gateway.address,
    gatewayPort: gateway.port,
    network: ctx.mesh.network ?? "",
    protocol: link.protocol,
    spiffeIdentity: `spiffe://${ctx.localTrustDomain}/ns/${namespace}/sa/${ctx.serviceAccount ?? "default"}`,
  };
  return { units, offered };
}
