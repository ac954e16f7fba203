/**
 * The admission steps of planning (plan-steps.ts runs them in PLAN_STEPS): the exact requests of the hydrated
 * pods against what each edge and each of its nodes has free, the reservations recorded in the same synchronous
 * step, and the prerequisites a blueprint declares.
 */
import type { ResolvedBlueprint } from "../cad/catalogue.js";
import type { EdgeClient } from "../edge/edge-client.js";
import { packageObjects, provides } from "./package-objects.js";
import { afterPlacing, fits, formatAmount, type Demand, type EdgeState } from "./placement.js";
import type { PlannedPackage } from "./planner.js";
import { plannedOf, type PlanContext } from "./plan-context.js";
import type { Step } from "./steps.js";

/**
 * Admit and reserve. The exact requests of the hydrated pods, packages in order, against what each edge (and
 * each of its nodes) has free after other intents' reservations, read again at this step's start; what the edge already runs of a package (an
 * update) is not asked for twice. Writes `reservations` and `resources` reasons; with `reserve` and no reason
 * anywhere, records the intent's reservations in the same synchronous step as the checks.
 */
export const admit: Step<PlanContext> = {
  name: "admit and reserve",
  async run(ctx) {
    const { deps, intent } = ctx;
    // The edges as the book sees them now, not as the place step saw them: steps are awaited one after the other,
    // so another intent's admission may have reserved in between. From this read to `reserve` below nothing
    // awaits, so the free amounts checked are the ones reserved against (placement may then be refused here).
    const now = new Map(deps.book.edgeStates(ctx.edges, intent.name).map((s) => [s.name, s]));
    ctx.capacitySource = deps.book.capacitySource;
    const working = new Map<string, EdgeState>(
      [...ctx.states].map(([k, placed]) => {
        const s = now.get(k) ?? placed;
        return [k, { ...s, free: { ...s.free }, nodeFree: s.nodeFree.map((n) => ({ ...n })) }];
      }),
    );
    for (const name of intent.order) {
      const plan = plannedOf(ctx, name);
      if (!plan.edge || !plan.demand || plan.admission.length > 0) continue;
      const edge = working.get(plan.edge);
      const seen = deps.book.observed(plan.edge, intent.name, name);
      const d = plan.demand;
      const more: Demand = {
        total: {
          cpuMillis: Math.max(0, d.total.cpuMillis - seen.cpuMillis),
          memoryBytes: Math.max(0, d.total.memoryBytes - seen.memoryBytes),
          pods: Math.max(0, d.total.pods - seen.pods),
        },
        largestPod: d.largestPod,
      };
      if (!edge?.healthy) {
        const why = edge?.reason ?? "not connected";
        const message = `edge ${plan.edge} cannot be asked for its capacity: ${why}`;
        plan.admission.push({ package: name, edge: plan.edge, check: "resources", message });
        continue;
      }
      if (!fits(more, edge)) {
        const message = `needs ${formatAmount(more.total)} and ${more.total.pods} pods (largest pod ${formatAmount(more.largestPod)}); edge ${plan.edge} has ${formatAmount(edge.free)} and ${edge.free.pods} pods free after reservations; ${roomPerNode(edge)}`;
        plan.admission.push({
          package: name,
          edge: plan.edge,
          check: "resources",
          message,
          resource: shortOf(more, edge),
        });
        continue;
      }
      // Totals and the nodes' room both shrink, so the next package's pods must fit the nodes that are left; other
      // intents then see the pods booked onto the nodes by the same first fit (reservations.ts).
      working.set(plan.edge, afterPlacing(more, edge));
      ctx.reservations.push({ edge: plan.edge, package: name, amount: more.total, target: d.total, pod: d.largestPod });
    }
    const refused = [...ctx.planned.values()].some((p) => p.admission.length > 0);
    if (ctx.reserve && !refused) deps.book.reserve(intent.name, ctx.reservations);
  },
};

/**
 * Prerequisites. What a blueprint declares it needs (an IngressClass, a CRD) must be provided by a package of an
 * earlier wave on the same edge, or be present on the edge (asked in parallel). Adds `prerequisite` reasons;
 * any reason anywhere releases the reservations `admit` recorded.
 */
export const prerequisites: Step<PlanContext> = {
  name: "prerequisites",
  async run(ctx) {
    const { deps, intent } = ctx;
    const needs: { plan: PlannedPackage; kind: string; name: string }[] = [];
    for (const name of intent.order) {
      const plan = plannedOf(ctx, name);
      if (!plan.edge) continue;
      for (const pre of (ctx.resolved.get(name) as ResolvedBlueprint).blueprint.prerequisites) {
        const earlier = intent.order.some((other) => {
          const o = plannedOf(ctx, other);
          return (
            o.wave < plan.wave &&
            o.edge === plan.edge &&
            o.hydrated !== undefined &&
            provides(packageObjects(o.hydrated), pre.kind, pre.name)
          );
        });
        if (!earlier) needs.push({ plan, kind: pre.kind, name: pre.name });
      }
    }
    await Promise.all(
      needs.map(async (n) => {
        const edge = deps.edges.get(n.plan.edge as string) as EdgeClient;
        const reason = (message: string) =>
          n.plan.admission.push({
            package: n.plan.package,
            edge: edge.name,
            check: "prerequisite",
            message,
            resource: `${n.kind}/${n.name}`,
          });
        try {
          const [r] = await ctx.onEdge(() => edge.prerequisites([{ kind: n.kind, name: n.name }], ctx.signal));
          if (!r?.present) {
            reason(
              `needs ${n.kind}/${n.name}, which edge ${edge.name} does not have and no package of an earlier wave provides`,
            );
          }
        } catch (err) {
          reason(`cannot check ${n.kind}/${n.name} on edge ${edge.name}: ${(err as Error).message}`);
        }
      }),
    );
    const refused = [...ctx.planned.values()].some((p) => p.admission.length > 0);
    if (ctx.reserve && refused) deps.book.release(intent.name);
  },
};

/**
 * The resources a demand does not fit on an edge, as admission names them: those its totals exceed (cpu, memory,
 * pods), else those of its largest pod no single node has room for.
 */
function shortOf(d: Demand, edge: EdgeState): string {
  const t = d.total;
  const f = edge.free;
  const total = [
    ...(t.cpuMillis > f.cpuMillis ? ["cpu"] : []),
    ...(t.memoryBytes > f.memoryBytes ? ["memory"] : []),
    ...(t.pods > f.pods ? ["pods"] : []),
  ];
  if (total.length > 0) return total.join(", ");
  const cpu = edge.nodeFree.every((n) => n.cpuMillis < d.largestPod.cpuMillis);
  const memory = edge.nodeFree.every((n) => n.memoryBytes < d.largestPod.memoryBytes);
  const node = [...(cpu ? ["cpu"] : []), ...(memory ? ["memory"] : [])];
  return node.length > 0 ? `${node.join(", ")} (per node)` : "cpu, memory (per node)";
}

/** The free room of each of an edge's ready nodes after reservations, largest first (at most 8 named). */
function roomPerNode(edge: EdgeState): string {
  if (edge.nodeFree.length === 0) return "it has no ready node";
  const nodes = [...edge.nodeFree].sort((a, b) => b.cpuMillis - a.cpuMillis || b.memoryBytes - a.memoryBytes);
  const shown = nodes.slice(0, 8).map((n, i) => `${n.name ?? `node ${i + 1}`} ${formatAmount(n)}`);
  const more = nodes.length > 8 ? `, and ${nodes.length - 8} more` : "";
  return `largest free room per node after reservations: ${shown.join("; ")}${more}`;
}
