/**
 * The planning steps about other domains (plan-steps.ts runs them in PLAN_STEPS): `segments` groups the packages
 * placed in peer domains (and brokers to a peer a package no local edge takes); `propose` offers each segment
 * to its peer during a deployment's admission (docs/federation.md, "Segments").
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { segmentIdOf } from "../../federation/segments.js";
import type { PackageIntent } from "../intent/model.js";
import { crossDomainHost, SegmentOfferError, type OfferedAddress } from "../network/cross-domain.js";
import { istioDuration } from "../network/link-units.js";
import { estimate, isRemote, packageOf, plannedOf, podTemplates, type PlanContext } from "./plan-context.js";
import { remotePlacementIssues } from "./planner.js";
import type { Step } from "./steps.js";

/**
 * Segments. Packages placed in a peer domain are grouped into one segment per domain (`segments`), when
 * federation can place there; otherwise each gets a placement reason saying why (the same verdict SubmitIntent
 * refuses with). A package with automatic placement that no local edge can take is brokered to a trusted peer
 * that exports its blueprint and advertises room for it. On the peer planning a segment (`given`), the
 * origin's packages are only the other ends of links. Also marks local packages that no edge was chosen for,
 * and links between two other domains (a chain is a star around its origin).
 */
export const segments: Step<PlanContext> = {
  name: "segments",
  async run(ctx) {
    const { deps, intent } = ctx;
    const issues = new Map(remotePlacementIssues(intent, deps, ctx.given).map((i) => [i.path, i.message]));
    for (const name of intent.order) {
      const pkg = packageOf(ctx, name);
      const p = plannedOf(ctx, name);
      if (pkg.placement.kind === "domain" && isRemote(ctx, pkg)) {
        const domain = pkg.placement.domain;
        p.domain = domain;
        p.reason = ctx.given ? `the origin's package (${domain})` : `placement.domain ${domain}`;
        const path = `spec.packages[${pkg.index}].placement.domain`;
        const refused = issues.get(path);
        if (refused) p.admission.push({ package: name, edge: "", check: "placement", message: `${path}: ${refused}` });
      } else if (pkg.placement.kind === "auto" && !p.edge && !ctx.given) {
        const peer = brokerTo(ctx, name);
        if (peer) {
          p.domain = peer.domain;
          p.reason = peer.reason;
          p.admission = [];
        }
      }
      if (p.domain === deps.domainId && !p.edge && p.admission.length === 0)
        p.admission.push({ package: name, edge: "", check: "placement", message: "no edge was chosen" });
    }
    for (const l of intent.links) {
      if (l.to === undefined) continue;
      const a = plannedOf(ctx, l.from).domain;
      const b = plannedOf(ctx, l.to).domain;
      if (a !== deps.domainId && b !== deps.domainId && a !== b)
        plannedOf(ctx, l.from).admission.push({
          package: l.from,
          edge: "",
          check: "placement",
          message: `link ${l.from} → ${l.to} joins two other domains (${a} and ${b}): a chain's cross-domain links must start or end in ${deps.domainId}`,
        });
    }
    if (ctx.given) return;
    const byDomain = new Map<string, string[]>();
    for (const name of intent.order) {
      const p = plannedOf(ctx, name);
      if (p.domain !== deps.domainId && p.admission.length === 0)
        byDomain.set(p.domain, [...(byDomain.get(p.domain) ?? []), name]);
    }
    ctx.segments = [...byDomain].map(([domain, packages]) => {
      const waves = packages.map((n) => plannedOf(ctx, n).wave);
      return {
        domain,
        id: segmentIdOf(deps.domainId, intent.name, domain),
        generation: ctx.revision,
        packages,
        firstWave: Math.min(...waves),
        lastWave: Math.max(...waves),
      };
    });
  },
};

/**
 * The peer a package no local edge can take is brokered to: a healthy, compatible peer this domain may place
 * in, exporting the package's blueprint, whose advertised free capacity holds the package's estimate. The one
 * with the most free CPU wins; undefined when none.
 */
function brokerTo(ctx: PlanContext, name: string): { domain: string; reason: string } | undefined {
  const { deps } = ctx;
  const pkg = packageOf(ctx, name);
  const r = ctx.resolved.get(name);
  if (!r) return undefined;
  const need = estimate(pkg, r).total;
  const candidates = deps.federation.peers.list().flatMap((peer) => {
    if (!peer.healthy || !peer.compatible || !deps.federation.segments.canPlace(peer.id).ok) return [];
    if (!peer.catalogue?.entries.some((e) => e.name === pkg.blueprint)) return [];
    const free = peer.catalogue.capacity?.free;
    const cpu = Number(free?.cpuMillis ?? 0n);
    const memory = Number(free?.memoryBytes ?? 0n);
    if (cpu < need.cpuMillis || memory < need.memoryBytes) return [];
    return [{ id: peer.id, cpu, memory }];
  });
  const best = candidates.sort((a, b) => b.cpu - a.cpu || a.id.localeCompare(b.id))[0];
  if (!best) return undefined;
  const why = plannedOf(ctx, name)
    .admission.map((a) => a.message)
    .join("; ");
  return {
    domain: best.id,
    reason: `brokered to ${best.id}: no edge here fits (${why || "none"}); ${best.id} exports ${pkg.blueprint} and advertises ${best.cpu}m CPU free`,
  };
}

/**
 * Propose (deployments only). Each segment is proposed to its peer: its packages, every link that touches them
 * (with this side's consumers' exact principals), and this side's addresses for the peer's consumers. The
 * hooks journal the segment before the call (so a crash leaves a record to abort) and the offer after it. The
 * offer becomes the segment's {@link RemoteSide}: its addresses for this side's consumers must be the hosts
 * the consumers were hydrated with. Runs only when every package here is admitted.
 * @throws the peer's refusal or its unreachability, naming the peer: the run fails and rolls back
 */
export const propose: Step<PlanContext> = {
  name: "propose the segments",
  async run(ctx) {
    const { deps, intent } = ctx;
    const hooks = ctx.proposals;
    if (!hooks || ctx.segments.length === 0) return;
    if ([...ctx.planned.values()].some((p) => p.admission.length > 0)) return;
    const local = localTrustDomain(deps);
    await Promise.all(
      ctx.segments.map(async (seg) => {
        const info = deps.federation.segments.peerInfo(seg.domain);
        const inSeg = new Set(seg.packages);
        const touching = intent.links.filter((l) => l.to !== undefined && (inSeg.has(l.from) || inSeg.has(l.to)));
        const incoming = touching.filter((l) => inSeg.has(l.from) && !inSeg.has(l.to as string));
        const providers = incoming.map((l) => {
          const to = plannedOf(ctx, l.to as string);
          return {
            package: to.package,
            edge: to.edge as string,
            port: l.port,
            protocol: l.protocol,
            serviceAccount: podTemplates(to)[0]?.spec?.serviceAccountName ?? "default",
          };
        });
        let addresses: OfferedAddress[];
        try {
          addresses = await ctx.onEdge(() =>
            deps.network.providerAddresses(
              providers,
              { intent: intent.name, domain: deps.domainId, namespace: intent.name },
              ctx.signal,
            ),
          );
        } catch (err) {
          if (!(err instanceof SegmentOfferError)) throw err;
          for (const p of providers)
            plannedOf(ctx, p.package).admission.push({
              package: p.package,
              edge: p.edge,
              check: "placement",
              message: `${seg.domain}'s packages call it, but ${err.issues.map((i) => i.message).join("; ")}`,
            });
          return;
        }
        const packages = seg.packages.map((n) => segmentPackage(packageOf(ctx, n), inSeg));
        const links = touching.map((l) => {
          const consumer = plannedOf(ctx, l.from);
          const sa = podTemplates(consumer)[0]?.spec?.serviceAccountName ?? "default";
          return {
            from: l.from,
            to: l.to as string,
            port: l.port,
            protocol: l.protocol,
            policyTimeout: l.policy.timeoutMs !== undefined ? istioDuration(l.policy.timeoutMs) : "",
            policyRetries: l.policy.retries ?? -1,
            policyLoadBalancer: l.policy.loadBalancer ?? "",
            consumerPrincipal: inSeg.has(l.from) ? "" : `${local}/ns/${intent.name}/sa/${sa}`,
          };
        });
        await hooks.before(seg);
        const offer = await ctx.onEdge(() =>
          deps.federation.segments.propose(
            seg.domain,
            {
              segmentId: seg.id,
              intent: intent.name,
              revision: BigInt(ctx.revision),
              generation: BigInt(seg.generation),
              packages,
              links,
              originAddresses: addresses,
            },
            ctx.signal,
          ),
        );
        seg.namespace = offer.namespace;
        if (offer.reservationExpiresAt) seg.leaseExpiresAt = timestampDate(offer.reservationExpiresAt);
        await hooks.after(seg);
        ctx.remotes.set(seg.domain, {
          domain: seg.domain,
          trustDomain: info?.trustDomain ?? "",
          meshRoot: info?.meshRootCertificate ?? "",
          fingerprint: offer.meshRootFingerprint,
          addresses: offer.offeredAddresses.map((a) => ({ ...a })),
          consumers: offer.consumerLinks.map((c) => ({
            from: c.from,
            to: c.to,
            port: c.port,
            principal: c.consumerPrincipal,
          })),
        });
        // The consumers here were hydrated with the host the peer was expected to offer.
        for (const a of offer.offeredAddresses) {
          const expected = crossDomainHost(a.package, intent.name, seg.domain);
          if (a.host !== expected)
            plannedOf(ctx, a.package).admission.push({
              package: a.package,
              edge: "",
              check: "placement",
              message: `${seg.domain} offered host ${a.host} for ${a.package}, not ${expected}`,
            });
        }
      }),
    );
  },
};

/** This domain's mesh trust domain. */
function localTrustDomain(deps: PlanContext["deps"]): string {
  return deps.network.trustDomain;
}

/** A package as a segment proposal carries it: only its `after` within the segment (the origin orders the rest). */
function segmentPackage(pkg: PackageIntent, inSegment: ReadonlySet<string>) {
  const cpu = pkg.resources.cpu?.text ?? "";
  const memory = pkg.resources.memory?.text ?? "";
  return {
    name: pkg.name,
    blueprint: pkg.blueprint,
    blueprintRevision: pkg.blueprintRevision ?? "",
    version: pkg.version ?? "",
    replicas: pkg.replicas,
    cpu,
    memory,
    cpuLimit: pkg.resources.limits?.cpu?.text ?? "",
    memoryLimit: pkg.resources.limits?.memory?.text ?? "",
    qos: pkg.qos ?? "",
    after: pkg.after.filter((a) => inSegment.has(a)),
    config: Object.entries(pkg.config)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value })),
  };
}
