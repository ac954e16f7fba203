/**
 * Healing (`spec.heal: replace`): a package whose edge stays lost beyond the grace period is re-placed onto
 * another edge that fits, by a new revision of the intent that moves it.
 *
 * The health watch (health-watch.ts) reports each watched edge's DEGRADED packages here on every tick; nothing
 * happens before the grace period has passed. Then the edge is judged lost when it does not answer, or when a
 * fresh capacity reading shows none of its nodes Ready (a workload that is merely unavailable on a healthy edge
 * is not moved: another edge would not fix it). The move is planned first without reserving anything, with
 * every other package of the intent pinned where it runs, so only the lost edge's packages move. If no edge
 * fits (or a package is placed on that edge by the intent itself), the packages stay DEGRADED and their reason
 * says why; the attempt is made again once per grace period. Otherwise the lifecycle starts the move as a
 * revision of its own (deployment-manager.ts): it admits and reserves on the new edges, commits the packages
 * and the links' network objects there and waits for them READY, and only then removes the packages from the
 * lost edge's repository, without waiting for that edge to sync it (deploy-steps.ts `removeDropped`): when the
 * edge comes back, its ConfigSync removes the old copy, as its repository says. A package placed in a peer
 * domain is moved by the same revision with a new generation of its segment.
 */
import { toJson } from "@bufbuild/protobuf";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import { intentToMessage } from "../intent/load.js";
import type { Intent } from "../intent/model.js";
import { validateIntent } from "../intent/validate.js";
import { linkSignals } from "../util/signals.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { WorkloadReport } from "./edge-observer.js";
import { planIntent } from "./planner.js";
import type { LifecycleDeps } from "./run-context.js";

/** The healing settings (agent config `lifecycle.healGraceSeconds`). */
export interface HealOptions {
  /** How long an edge must stay lost before its packages are re-placed, in ms. */
  graceMs: number;
}

/** Starts the move: a new revision of `live`'s intent, planned as `intent`, away from `from`. */
export type StartHeal = (live: LiveDeployment, intent: Intent, from: string, reason: string) => Promise<boolean>;

type Deps = Pick<LifecycleDeps, "book" | "edges" | "logger" | "domainId" | "shutdown"> &
  Parameters<typeof planIntent>[1];

/** How long one attempt's planning may take. */
const ATTEMPT_TIMEOUT_MS = 30_000;

export class Healer {
  readonly #deps: Deps;
  readonly #options: HealOptions;
  readonly #start: StartHeal;
  /** Intents with an attempt under way. */
  readonly #busy = new Set<string>();
  /** `intent edge` → not before this time (ms) is the next attempt. */
  readonly #next = new Map<string, number>();
  /** `intent edge` → why the last attempt could not move the packages, for their reason. */
  readonly #notes = new Map<string, string>();

  constructor(deps: Deps, options: HealOptions, start: StartHeal) {
    this.#deps = deps;
    this.#options = options;
    this.#start = start;
  }

  /** Why the packages of `intent` on `edge` could not be moved, if an attempt failed to (for their reason). */
  note(intent: string, edge: string): string | undefined {
    return this.#notes.get(`${intent} ${edge}`);
  }

  /** Forgets what was noted about `intent` (its watch ended: a new revision, a termination). */
  forget(intent: string): void {
    for (const key of [...this.#notes.keys(), ...this.#next.keys()])
      if (key.startsWith(`${intent} `)) {
        this.#notes.delete(key);
        this.#next.delete(key);
      }
  }

  /**
   * The health watch's word on `edge` for `live`: its packages there have been DEGRADED since `since` (ms), and
   * this is the edge's latest report. Starts an attempt when the intent asks for healing and the grace is over.
   */
  consider(live: LiveDeployment, edge: string, report: WorkloadReport, since: number): void {
    const r = live.record;
    if (healPolicy(r.intentJson) !== "replace" || r.segment) return;
    const now = Date.now();
    const key = `${r.intent} ${edge}`;
    if (now - since < this.#options.graceMs || (this.#next.get(key) ?? 0) > now || this.#busy.has(r.intent)) return;
    this.#busy.add(r.intent);
    this.#next.set(key, now + this.#options.graceMs);
    void this.#attempt(live, edge, report, now - since)
      .catch((err) => this.#deps.logger.error("cannot heal", { intent: r.intent, edge, error: String(err) }))
      .finally(() => this.#busy.delete(r.intent));
  }

  async #attempt(live: LiveDeployment, edge: string, report: WorkloadReport, lostMs: number): Promise<void> {
    const r = live.record;
    const key = `${r.intent} ${edge}`;
    const lost = await this.#lost(edge, report);
    if (!lost) return;
    const moving = r.packages.filter((p) => p.edge === edge && p.domain === this.#deps.domainId);
    if (moving.length === 0) return;
    const intent = validateIntent(r.intentJson);
    const fixed = intent.packages.filter(
      (p) => moving.some((m) => m.package === p.name) && p.placement.kind === "edge",
    );
    if (fixed.length > 0) {
      this.#notes.set(key, `cannot heal: ${fixed.map((p) => p.name).join(", ")} placed on ${edge} by the intent`);
      return;
    }
    // Every other package stays where it runs: only the lost edge's packages move.
    const pins = new Map(
      r.packages
        .filter((p) => p.edge !== "" && p.edge !== edge && p.domain === this.#deps.domainId)
        .map((p) => [p.package, p.edge] as const),
    );
    const healed = pinnedIntent(intent, pins);
    const link = linkSignals(this.#deps.shutdown, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS));
    let plan: Awaited<ReturnType<typeof planIntent>>;
    try {
      plan = await planIntent(healed, this.#deps, { signal: link.signal });
    } finally {
      link.dispose();
    }
    const placed = plan.packages.filter((p) => moving.some((m) => m.package === p.package));
    const refused = plan.admission.filter((a) => moving.some((m) => m.package === a.package) || !a.package);
    if (!plan.admitted || placed.some((p) => p.edge === edge)) {
      const why = refused.map((a) => `${a.package ? `${a.package}: ` : ""}${a.message}`).join("; ");
      this.#notes.set(key, `cannot heal: no other edge fits${why ? ` (${why})` : ""}`);
      return;
    }
    this.#notes.delete(key);
    const to = placed.map((p) => `${p.package} → ${p.edge}`).join(", ");
    const reason = `healing: edge ${edge} lost (${lost}) for ${Math.round(lostMs / 1000)} s; moving ${to}`;
    if (!(await this.#start(live, healed, edge, reason))) this.#next.delete(key);
  }

  /** Why `edge` counts as lost (it does not answer, or no node of it is Ready), or undefined when it does not. */
  async #lost(edge: string, report: WorkloadReport): Promise<string | undefined> {
    if ("error" in report) return `unreachable: ${report.error}`;
    const client = this.#deps.edges.get(edge);
    if (!client) return "no longer configured";
    await this.#deps.book.refresh({ edges: [edge], signal: this.#deps.shutdown });
    const [state] = this.#deps.book.edgeStates([client]);
    if (!state?.healthy) return `unreachable: ${state?.reason ?? "no capacity reading"}`;
    return state.nodeFree.length === 0 ? "no node Ready" : undefined;
  }
}

/** The intent's `spec.heal` as recorded ("none" when absent). */
export function healPolicy(intentJson: unknown): string {
  return (intentJson as { spec?: { heal?: string } } | undefined)?.spec?.heal || "none";
}

/** `intent` with the packages in `edges` placed on those edges (their placement in the spec replaced). */
export function pinnedIntent(intent: Intent, edges: ReadonlyMap<string, string>): Intent {
  const doc = toJson(DeploymentIntentSchema, intentToMessage(intent)) as {
    spec: { packages: { name: string; placement?: Record<string, unknown> }[] };
  };
  for (const p of doc.spec.packages) {
    const edge = edges.get(p.name);
    if (edge) p.placement = { edge };
  }
  return validateIntent(doc);
}
