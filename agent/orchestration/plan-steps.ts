/**
 * The planning of one intent, as steps over a {@link PlanContext}:
 *
 *   resolve ─► place ─► segments ─► hydrate ─► network ─► admit and reserve ─► prerequisites ─► propose
 *   ─► network with the peers' offers (when there are segments) ─► chain
 *
 * (segments and propose live in plan-segments.ts; admit and prerequisites in admission-steps.ts; the context
 * in plan-context.ts.)
 * Each step collects admission reasons on the packages it judges and goes on; only an error that makes the
 * whole plan meaningless (an unknown blueprint, no edge at all) is thrown. planner.ts runs the list and builds
 * the IntentPlan from the context.
 */
import { INTENT_RECORD_FILE, intentRecordText } from "../cad/intent-record.js";
import type { ResolvedBlueprint } from "../cad/catalogue.js";
import { buildIesd, serviceHost, type IesdInput } from "../cad/iesd.js";
import { plainYaml } from "../cad/plain-yaml.js";
import { CaminoError, ValidationError } from "../errors.js";
import type { LinkIntent, PackageIntent } from "../intent/model.js";
import { crossDomainHost } from "../network/cross-domain.js";
import { istioDuration } from "../network/link-units.js";
import type { PlacedLink } from "../network/network-manager.js";
import { admit, prerequisites } from "./admission-steps.js";
import { demandOf, packageObjects } from "./package-objects.js";
import { estimate, isRemote, packageOf, plannedOf, podTemplates, type PlanContext } from "./plan-context.js";
import { propose, segments } from "./plan-segments.js";
import { placePackages, type PackageToPlace } from "./placement.js";
import { CHAIN_BLUEPRINT, deployableEdges, resolveIntent, type PlannedPackage } from "./planner.js";
import type { Step } from "./steps.js";

/**
 * The address a consumer is given for a link's provider: its Service name, or for another domain's package
 * its cross-domain host (the one that domain offers; named after the origin's intent).
 */
function providerHost(ctx: PlanContext, target: PlannedPackage): string {
  const { deps, intent } = ctx;
  if (target.domain === deps.domainId) return serviceHost(target.package, intent.name);
  const given = ctx.remotes.get(target.domain)?.addresses.find((a) => a.package === target.package);
  return given?.host ?? crossDomainHost(target.package, ctx.given?.hostIntent ?? intent.name, target.domain);
}

/**
 * Resolve. Reads the intent and the catalogue. Writes `resolved` (every blueprint to a commit),
 * `chainBlueprint` and `edges`. Throws IntentError naming the field for an unknown blueprint, revision or edge,
 * and a precondition error when the domain has no edge or no chain-base blueprint.
 */
export const resolve: Step<PlanContext> = {
  name: "resolve",
  async run(ctx) {
    const { deps } = ctx;
    ctx.resolved = (await resolveIntent(ctx.intent, deps, ctx.given)).resolved;
    if (deps.registry.edges().length === 0) {
      throw new CaminoError("ERR_NO_EDGE", "this domain has no edge: register a deployment repository for one");
    }
    try {
      ctx.chainBlueprint = await deps.catalogue.resolve(CHAIN_BLUEPRINT);
    } catch (err) {
      throw new CaminoError(
        "ERR_NO_CHAIN_BLUEPRINT",
        `the catalogue has no ${CHAIN_BLUEPRINT} network blueprint, which every chain's namespace is made from`,
        { cause: err },
      );
    }
    ctx.edges = deployableEdges(deps);
  },
};

/**
 * Place. Reads the edges' capacity (a shared reading no older than `capacityMaxAgeMs`) minus other intents'
 * reservations, and places every local package (placement.ts: explicit edge, edgeSelector, or automatic).
 * Writes `states` and `planned` (edge, repository, reason), and placement/resources reasons.
 */
export const place: Step<PlanContext> = {
  name: "place",
  async run(ctx) {
    const { deps, intent } = ctx;
    await ctx.onEdge(() => deps.book.refresh({ maxAgeMs: deps.capacityMaxAgeMs, signal: ctx.signal }));
    // Placement works on this reading; the admit step reads the book again before it reserves.
    const states = deps.book.edgeStates(ctx.edges, intent.name);
    // An edge with a deployment repository but no Kubernetes connection can be named, never used.
    for (const name of deps.registry.edges()) {
      if (ctx.edges.some((e) => e.name === name)) continue;
      const none = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
      const reason = "no Kubernetes connection is configured for it (edges: in the agent's config)";
      states.push({ name, labels: {}, healthy: false, reason, allocatable: none, free: none, nodeFree: [] });
    }
    ctx.states = new Map(states.map((s) => [s.name, s]));
    const linked = new Map<string, string[]>(intent.packages.map((p) => [p.name, []]));
    for (const l of intent.links) {
      if (l.to === undefined) continue;
      linked.get(l.from)?.push(l.to);
      linked.get(l.to)?.push(l.from);
    }
    const waveOf = new Map(intent.waves.flatMap((w, i) => w.map((p) => [p, i + 1] as const)));
    const toPlace: PackageToPlace[] = [];
    for (const name of intent.order) {
      const pkg = packageOf(ctx, name);
      const r = ctx.resolved.get(name);
      ctx.planned.set(name, {
        package: name,
        wave: waveOf.get(name) ?? 1,
        domain: deps.domainId,
        reason: "",
        blueprintCommit: r?.commit ?? "",
        admission: [],
      });
      if (isRemote(ctx, pkg) || !r) continue;
      const p = pkg.placement;
      const request =
        p.kind === "edge"
          ? { kind: "edge" as const, edge: p.edge }
          : p.kind === "selector"
            ? { kind: "selector" as const, selector: p.selector }
            : { kind: "auto" as const };
      toPlace.push({ name, index: pkg.index, request, demand: estimate(pkg, r), linked: linked.get(name) ?? [] });
    }
    const placement = placePackages(toPlace, states);
    for (const d of placement.decisions) {
      const p = plannedOf(ctx, d.package);
      p.edge = d.edge;
      p.reason = d.reason;
    }
    const nameAt = new Map(intent.packages.map((p) => [p.index, p.name]));
    for (const issue of placement.issues) {
      const name = nameAt.get(Number(/^spec\.packages\[(\d+)\]/.exec(issue.path)?.[1])) ?? "";
      const p = ctx.planned.get(name);
      if (!p) continue;
      const pkg = packageOf(ctx, name);
      // An explicit edge stays the package's edge even when it cannot take it now, so the plan shows its files.
      if (pkg.placement.kind === "edge") {
        p.edge = pkg.placement.edge;
        p.reason = "placement.edge";
      }
      const check = issue.path.endsWith(".resources") ? "resources" : "placement";
      p.admission.push({ package: name, edge: p.edge ?? "", check, message: `${issue.path}: ${issue.message}` });
    }
    for (const p of ctx.planned.values()) {
      if (p.edge) p.repository = deps.registry.forEdge(p.edge)?.record.name as string;
    }
  },
};

/**
 * Hydrate. Every locally placed package, its links given their providers' addresses (a local package's Service
 * name is known before it exists; a remote one's from its segment). Writes each plan's `hydrated`, `iesdYaml`,
 * `packageVariantYaml` and `demand`; schema problems of hydrated objects are `schema` reasons.
 */
export const hydrate: Step<PlanContext> = {
  name: "hydrate",
  async run(ctx) {
    const { deps, intent } = ctx;
    for (const name of intent.order) {
      const plan = plannedOf(ctx, name);
      if (!plan.edge) continue;
      const pkg = packageOf(ctx, name);
      const r = ctx.resolved.get(name) as ResolvedBlueprint;
      const inputs: IesdInput[] = intent.links
        .filter((l) => l.from === name)
        .map((l) =>
          l.to !== undefined
            ? {
                link: linkName(l),
                package: l.to,
                host: providerHost(ctx, plannedOf(ctx, l.to)),
                port: l.port,
                protocol: l.protocol,
              }
            : {
                link: linkName(l),
                package: l.external?.host as string,
                host: l.external?.host as string,
                port: l.port,
                protocol: l.protocol,
              },
        );
      const iesd = buildIesd(
        {
          intent: intent.name,
          revision: ctx.revision,
          pkg,
          domain: deps.domainId,
          edge: plan.edge,
          namespace: intent.name,
          blueprint: blueprintRef(r),
          deployment: { repository: plan.repository as string, path: `${intent.name}/${name}` },
          inputs,
        },
        r.blueprint,
      );
      try {
        plan.hydrated = deps.hydration.hydrate(r.blueprint, iesd);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        for (const i of err.issues) {
          const message = i.path ? `${i.path}: ${i.message}` : i.message;
          plan.admission.push({ package: name, edge: plan.edge, check: "schema", message });
        }
        continue;
      }
      plan.iesdYaml = plan.hydrated.files.get(`${intent.name}/${name}/iesd.yaml`) as string;
      plan.packageVariantYaml = plainYaml(plan.hydrated.packageVariant);
      plan.demand = demandOf(packageObjects(plan.hydrated));
    }
  },
};

/** A link's name, which its network objects are named after: `<from>-<to>-<port>` (unique: duplicates are refused). */
export function linkName(l: LinkIntent): string {
  return `${l.from}-${l.to ?? l.external?.host}-${l.port}`;
}

/** The pod port behind a provider's Service port (its targetPort, a named port looked up), or the port itself. */
function targetPortOf(p: PlannedPackage, port: number): number {
  for (const o of p.hydrated?.objects ?? []) {
    if (o["kind"] !== "Service") continue;
    const ports = ((o["spec"] as { ports?: unknown[] } | undefined)?.ports ?? []) as {
      port?: number;
      targetPort?: number | string;
    }[];
    const sp = ports.find((x) => x.port === port);
    if (!sp) continue;
    if (typeof sp.targetPort === "number") return sp.targetPort;
    if (typeof sp.targetPort === "string") {
      for (const t of podTemplates(p))
        for (const c of t.spec?.containers ?? [])
          for (const cp of c.ports ?? []) if (cp.name === sp.targetPort && cp.containerPort) return cp.containerPort;
    }
    return port;
  }
  return port;
}

/**
 * Network. Asks the Network Manager for the chain's per-link objects on every edge, now that every end of every
 * link is placed and hydrated (the provider's pod port and the consumer's service account come from its
 * objects). Writes `links` (edge → files, committed with the chain in wave 0) and `network`; a link that cannot
 * work as placed is a placement reason on its consumer.
 */
export const network: Step<PlanContext> = {
  name: "network",
  async run(ctx) {
    // With segments to propose, the network waits for the offers (networkWithOffers).
    if (proposing(ctx)) return;
    await planNetwork(ctx);
  },
};

/** The network once the peers' offers are in: the cross-domain links' objects are generated from them. */
export const networkWithOffers: Step<PlanContext> = {
  name: "network with the peers' offers",
  async run(ctx) {
    if (proposing(ctx)) await planNetwork(ctx);
  },
};

const proposing = (ctx: PlanContext) => ctx.proposals !== undefined && ctx.segments.length > 0;

async function planNetwork(ctx: PlanContext): Promise<void> {
  const { intent, deps } = ctx;
  const end = (name: string) => {
    const p = plannedOf(ctx, name);
    return { package: name, domain: p.domain, ...(p.edge ? { edge: p.edge } : {}) };
  };
  const links: PlacedLink[] = intent.links.map((l) => {
    const from = plannedOf(ctx, l.from);
    const policy: PlacedLink["policy"] = {};
    if (l.policy.timeoutMs !== undefined) policy.timeout = istioDuration(l.policy.timeoutMs);
    if (l.policy.retries !== undefined) policy.retries = l.policy.retries;
    if (l.policy.loadBalancer !== undefined) policy.loadBalancer = l.policy.loadBalancer;
    return {
      name: linkName(l),
      from: { ...end(l.from), serviceAccount: podTemplates(from)[0]?.spec?.serviceAccountName ?? "default" },
      to:
        l.to !== undefined
          ? {
              ...end(l.to),
              targetPort: targetPortOf(plannedOf(ctx, l.to), l.port),
              serviceAccount: podTemplates(plannedOf(ctx, l.to))[0]?.spec?.serviceAccountName ?? "default",
            }
          : { external: { host: l.external?.host as string, port: l.port } },
      port: l.port,
      protocol: l.protocol,
      policy,
    };
  });
  const repositories = new Map<string, string>();
  for (const p of ctx.planned.values()) if (p.edge && p.repository) repositories.set(p.edge, p.repository);
  const remotes = [...ctx.remotes.values()];
  const plan = await deps.network.planLinks(
    {
      intent: intent.name,
      revision: ctx.revision,
      domain: deps.domainId,
      links,
      repositories,
      offers: remotes.map((r) => ({
        domain: r.domain,
        trustDomain: r.trustDomain,
        addresses: r.addresses,
        meshRoot: r.meshRoot,
      })),
      consumers: remotes.map((r) => ({ domain: r.domain, trustDomain: r.trustDomain, links: r.consumers })),
      ...(ctx.given ? { hostIntent: ctx.given.hostIntent } : {}),
    },
    ctx.signal,
  );
  ctx.network = plan;
  ctx.links = plan.files;
  for (const problem of plan.problems) {
    // A problem of no one package (a peer's root) is the first local package's, so that it is shown.
    const first = intent.order.find((n) => plannedOf(ctx, n).edge === problem.edge) ?? intent.order[0] ?? "";
    const p = ctx.planned.get(problem.package) ?? ctx.planned.get(first);
    p?.admission.push({ package: p.package, edge: problem.edge, check: "placement", message: problem.message });
  }
  // After the offers, admission has reserved: a link that cannot work releases the reservations.
  if (ctx.reserve && plan.problems.length > 0) deps.book.release(intent.name);
}

/**
 * Chain. Wave 0 on every edge the intent uses: the chain's namespace and shared objects hydrated from the
 * chain-base blueprint, plus the Network Manager's per-link files for that edge. Writes `chains`.
 */
export const chain: Step<PlanContext> = {
  name: "chain",
  async run(ctx) {
    const { deps, intent } = ctx;
    const r = ctx.chainBlueprint as ResolvedBlueprint;
    const used = new Set(intent.order.map((n) => ctx.planned.get(n)?.edge).filter((e): e is string => !!e));
    for (const edge of [...used].sort()) {
      const repository = deps.registry.forEdge(edge)?.record.name as string;
      const chainPkg: PackageIntent = {
        name: "chain",
        index: -1,
        blueprint: CHAIN_BLUEPRINT,
        replicas: 1,
        resources: {},
        after: [],
        placement: { kind: "edge", edge },
        config: { intent: intent.name },
      };
      const iesd = buildIesd(
        {
          intent: intent.name,
          revision: ctx.revision,
          pkg: chainPkg,
          domain: deps.domainId,
          edge,
          namespace: intent.name,
          blueprint: blueprintRef(r),
          deployment: { repository, path: `${intent.name}/_chain` },
          inputs: [],
        },
        r.blueprint,
      );
      const files = new Map(deps.hydration.hydrate(r.blueprint, iesd).files);
      for (const [path, text] of ctx.links.get(edge) ?? []) files.set(path, text);
      // The intent as deployed, for a rebuild of the records from the repositories (local-config: never applied).
      files.set(`${intent.name}/_chain/${INTENT_RECORD_FILE}`, intentRecordText(intent, ctx.revision));
      ctx.chains.push({ edge, repository, files });
    }
  },
};

function blueprintRef(r: ResolvedBlueprint) {
  return {
    name: r.blueprint.name,
    repository: r.repository.record.name,
    url: r.repository.record.url,
    path: r.blueprint.path,
    revision: r.revision,
    commit: r.commit,
  };
}

/** The planning of an intent, in order. */
export const PLAN_STEPS: readonly Step<PlanContext>[] = [
  resolve,
  place,
  segments,
  hydrate,
  network,
  admit,
  prerequisites,
  propose,
  networkWithOffers,
  chain,
];
