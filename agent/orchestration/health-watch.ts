/**
 * The closed loop's eyes: a settled deployment's packages watched on their edges, so that losing pods (a node
 * lost, the edge unreachable, a workload unavailable, an object deleted by hand) is seen as it happens.
 *
 * A deployment is watched from the moment its run leaves it READY until a new run or a termination starts on it
 * (deployment-manager.ts starts and stops it; nothing here runs while a run is in flight on the intent). Its
 * packages are watched through the one observer of each edge (edge-observer.ts `watchWorkloads`), whose reading
 * of the edge's watched copy at each watch period serves every intent on the edge, with no request but the
 * RootSync's: watching costs the edge the same whatever the number of intents.
 *
 * Each report judges each package on the shared answer:
 * - the edge did not answer: DEGRADED, "edge X unreachable: …";
 * - a workload of the package seen before is gone: DEGRADED, "Deployment/x missing on edge X";
 * - a workload has fewer replicas available than desired: DEGRADED, "Deployment/x 0/2 available on edge X";
 * - otherwise READY (again).
 * The workloads a package is expected to have are those the edge showed for it since the watch began (the run
 * left them all available). Each change is a `setState` (an event on the bus, so `WatchDeployment` with `follow`
 * shows it, and the record journalled behind, so `GetDeployment` shows it), and the intent's own state is rolled
 * up from its packages' ({@link rollUp}).
 */
import type { WorkloadStatus } from "../edge/readiness.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { WorkloadReport } from "./edge-observer.js";
import type { DeploymentRecord, PackageRecord, StateName } from "./journal.js";
import { setState, type LifecycleDeps } from "./run-context.js";

type Deps = Pick<LifecycleDeps, "events" | "journal" | "logger" | "edges" | "observers" | "domainId">;

/**
 * A further judgement of a package whose workloads are all available on an edge that answered: the problems it
 * finds (each a short phrase naming what is wrong, e.g. the object a sync error names) make the package DEGRADED.
 * Called on every tick for every watched package, on the edge's shared answer: it must not call out itself.
 */
export type HealthCheck = (on: {
  record: DeploymentRecord;
  pkg: PackageRecord;
  edge: string;
  report: Extract<WorkloadReport, { workloads: unknown }>;
}) => string[];

/** One watched deployment. */
interface Watched {
  live: LiveDeployment;
  /** The revision's record the watch began with: a later revision is not judged by this watch. */
  record: DeploymentRecord;
  /** Ends the watch on each edge. */
  stops: (() => void)[];
  active: boolean;
  /** Per package, the workloads ("Kind/name") the edge has shown for it since the watch began. */
  known: Map<string, Set<string>>;
  /** Per DEGRADED package, since when (ms) this watch has judged it so; made when one first is. */
  since?: Map<string, number>;
}

/** What healing (heal.ts) is told and asked by the watch. */
export interface HealHook {
  /** The edge's DEGRADED packages of `live` have been so since `since` (ms); `report` is the edge's latest. */
  consider(live: LiveDeployment, edge: string, report: WorkloadReport, since: number): void;
  /** Why the packages of `intent` on `edge` could not be moved, added to their reason. */
  note(intent: string, edge: string): string | undefined;
  /** The watch of `intent` ended. */
  forget(intent: string): void;
}

/** The intent's state from its packages': DEGRADED when any is, READY when all are; otherwise none (unchanged). */
export function rollUp(r: DeploymentRecord): { state: StateName; reason: string } | undefined {
  const degraded = r.packages.filter((p) => p.state === "DEGRADED");
  if (degraded.length > 0) {
    const what = degraded.map((p) => `${p.package}: ${p.reason}`).join("; ");
    return { state: "DEGRADED", reason: `${degraded.length} of ${r.packages.length} packages DEGRADED: ${what}` };
  }
  if (r.packages.every((p) => p.state === "READY")) {
    const edges = [...new Set(r.packages.map((p) => p.edge || `${p.domain} (segment)`))].join(", ");
    return { state: "READY", reason: `every package READY again (${r.packages.length} on ${edges})` };
  }
  return undefined;
}

/** How one package stands on its edge's answer, and the workloads it now knows of. */
export function judgePackage(
  edge: string,
  pkg: string,
  report: WorkloadReport,
  known: Set<string>,
): { state: StateName; reason: string } {
  if ("error" in report) return { state: "DEGRADED", reason: `edge ${edge} unreachable: ${report.error}` };
  const mine = report.workloads.filter((x) => x.package === pkg);
  for (const x of mine) known.add(`${x.kind}/${x.name}`);
  const present = new Set(mine.map((x) => `${x.kind}/${x.name}`));
  const problems = [
    ...[...known].filter((k) => !present.has(k)).map((k) => `${k} missing`),
    ...mine.filter((x) => x.available < x.desired).map(short),
  ];
  if (problems.length === 0) return { state: "READY", reason: `workloads available again on ${edge}` };
  return { state: "DEGRADED", reason: `${problems.join(", ")} on ${edge}` };
}

const short = (x: WorkloadStatus) => `${x.kind}/${x.name} ${x.available}/${x.desired} available`;

export class HealthWatch {
  readonly #deps: Deps;
  readonly #checks: readonly HealthCheck[];
  readonly #heal: HealHook | undefined;
  readonly #restless: (intent: string) => boolean;
  readonly #watched = new Map<string, Watched>();
  #closed = false;

  /**
   * @param checks further judgements of packages whose workloads are available (sync errors, prerequisites)
   * @param heal told of each edge's DEGRADED packages on every tick (healing, heal.ts)
   * @param restless whether an intent is to be judged at every watch period even when nothing of it changed on
   *   its edges (a check's judgement of it may change on its own: a prerequisite its dependants lost)
   */
  constructor(
    deps: Deps,
    checks: readonly HealthCheck[] = [],
    heal?: HealHook,
    restless: (intent: string) => boolean = () => false,
  ) {
    this.#deps = deps;
    this.#checks = checks;
    this.#heal = heal;
    this.#restless = restless;
  }

  /** How many deployments are watched. */
  get size(): number {
    return this.#watched.size;
  }

  /**
   * Watches `live`'s packages in this domain on their edges (replacing any watch of the intent). Call it only
   * when no run or termination is in flight on the deployment and it is READY or DEGRADED.
   */
  watch(live: LiveDeployment): void {
    if (this.#closed) return;
    const r = live.record;
    this.unwatch(r.intent);
    // Kept for every settled deployment: no room is taken ahead (an empty Map is about 180 bytes, an array pushed
    // to from empty takes room for 16).
    const w: Watched = { live, record: r, stops: [], active: true, known: new Map() };
    this.#watched.set(r.intent, w);
    const byEdge = new Map<string, PackageRecord[]>();
    for (const p of r.packages) {
      if (p.domain !== this.#deps.domainId || p.edge === "") continue;
      if (p.state !== "READY" && p.state !== "DEGRADED") continue;
      byEdge.set(p.edge, (byEdge.get(p.edge) ?? []).concat(p));
    }
    for (const [name, pkgs] of byEdge) {
      const edge = this.#deps.edges.get(name);
      if (!edge) {
        this.#judge(w, name, pkgs, { error: "the edge is no longer configured" });
        continue;
      }
      w.stops = w.stops.concat(
        this.#deps.observers.of(edge).watchWorkloads(
          r.intent,
          (report) => this.#judge(w, name, pkgs, report),
          // Judged at every watch period while anything is DEGRADED (healing counts the time, a check may clear
          // it) or a check has something to say of the intent; otherwise only when its workloads or the edge's
          // sync errors change (and every minute).
          () => (w.since?.size ?? 0) > 0 || this.#restless(r.intent),
        ),
      );
    }
  }

  /** Stops watching `intent` (a run or a termination is starting on it); nothing it judged later is recorded. */
  unwatch(intent: string): void {
    const w = this.#watched.get(intent);
    if (!w) return;
    w.active = false;
    for (const stop of w.stops) stop();
    this.#watched.delete(intent);
    this.#heal?.forget(intent);
  }

  /** Stops every watch (the agent is shutting down). */
  close(): void {
    this.#closed = true;
    for (const intent of [...this.#watched.keys()]) this.unwatch(intent);
  }

  /** Judges one edge's report; never throws into the observer's loop (a failure is logged). */
  #judge(w: Watched, edge: string, pkgs: readonly PackageRecord[], report: WorkloadReport): void {
    try {
      this.#judgeNow(w, edge, pkgs, report);
    } catch (err) {
      this.#deps.logger.error("cannot record a package's health", {
        intent: w.record.intent,
        edge,
        error: String(err),
      });
    }
  }

  #judgeNow(w: Watched, edge: string, pkgs: readonly PackageRecord[], report: WorkloadReport): void {
    const { live } = w;
    if (!w.active || live.record !== w.record || live.controller || live.terminating) return;
    let changed = false;
    const note = this.#heal?.note(live.record.intent, edge);
    for (const p of pkgs) {
      let known = w.known.get(p.package);
      if (!known) {
        known = new Set();
        w.known.set(p.package, known);
      }
      let next = judgePackage(edge, p.package, report, known);
      if (next.state === "READY" && !("error" in report) && this.#checks.length > 0) {
        const problems = this.#checks.flatMap((check) => check({ record: live.record, pkg: p, edge, report }));
        if (problems.length > 0) next = { state: "DEGRADED", reason: `${problems.join(", ")} on ${edge}` };
      }
      if (next.state === "DEGRADED") {
        w.since ??= new Map();
        if (!w.since.has(p.package)) w.since.set(p.package, Date.now());
        if (note) next = { state: "DEGRADED", reason: `${next.reason}; ${note}` };
      } else w.since?.delete(p.package);
      if (next.state === p.state && (next.state === "READY" || next.reason === p.reason)) continue;
      setState(this.#deps, live, { package: p.package, ...next });
      changed = true;
    }
    const since = pkgs.flatMap((p) => w.since?.get(p.package) ?? []);
    if (since.length > 0) this.#heal?.consider(live, edge, report, Math.min(...since));
    if (!changed) return;
    const up = rollUp(live.record);
    if (up && (up.state !== live.record.state || up.reason !== live.record.reason)) setState(this.#deps, live, up);
  }
}
