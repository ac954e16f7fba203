/**
 * The lifecycle's figures, read from its event bus (agent/orchestration/event-bus.ts): how long packages take to
 * be committed, synced by their edge and READY; how long intents take from submission to READY; how runs end;
 * and every admission refusal by the check that refused it. Nothing in the lifecycle calls this: it taps the bus.
 *
 * Per package (labelled with its edge), from the events of one run:
 *   commit   its wave's start (the previous wave READY, or wave 0 synced) → COMMITTED: dry run, commit and push
 *   sync     COMMITTED → SYNCED: the edge's GitOps reconciler pulling and applying the commit
 *   ready    SYNCED → READY: the workloads becoming available on the edge
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { EventBus } from "../orchestration/event-bus.js";
import type { DeploymentRecord, EventRecord, StateName } from "../orchestration/journal.js";

/** The ends of a run the outcome counter counts. */
const OUTCOMES: ReadonlySet<StateName> = new Set(["READY", "ROLLED_BACK", "FAILED", "TERMINATED"]);

/** What one run of one deployment has shown so far (dropped when the run ends). */
interface RunTrack {
  /** Time of the deployment's previous event, in ms. */
  lastEventMs: number;
  /** Wave → the time it started: the time of the event before its first COMMITTED. */
  waveStart: Map<number, number>;
  committed: Map<string, number>;
  synced: Map<string, number>;
}

/** The lifecycle's metrics in one registry. */
export interface LifecycleMetrics {
  /** Feeds the metrics from every event of `bus` until the returned function is called. */
  observe(bus: EventBus): () => void;
}

/** Creates the lifecycle's metrics in `registry`. */
export function createLifecycleMetrics(registry: Registry): LifecycleMetrics {
  const registers = [registry];
  const commit = new Histogram({
    name: "camino_package_commit_seconds",
    help: "From the start of a package's wave to its commit in the edge's deployment repository (dry run, commit, push).",
    labelNames: ["edge"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const sync = new Histogram({
    name: "camino_package_sync_seconds",
    help: "From a package's commit to its edge reporting the commit synced (GitOps pull and apply).",
    labelNames: ["edge"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300],
    registers,
  });
  const ready = new Histogram({
    name: "camino_package_ready_seconds",
    help: "From a package synced on its edge to its workloads available (READY).",
    labelNames: ["edge"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300],
    registers,
  });
  const intentReady = new Histogram({
    name: "camino_intent_ready_seconds",
    help: "From an intent's submission to the intent READY (every package READY).",
    buckets: [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const outcomes = new Counter({
    name: "camino_deployment_outcomes_total",
    help: "Deployment runs (deploy, update, termination) by the state they ended in.",
    labelNames: ["state"],
    registers,
  });
  const rejections = new Counter({
    name: "camino_admission_rejections_total",
    help: "Admission reasons that refused a package of a submitted intent, by check (placement, schema, resources, prerequisite, dry-run).",
    labelNames: ["check"],
    registers,
  });
  for (const state of OUTCOMES) outcomes.inc({ state }, 0);
  for (const check of ["placement", "schema", "resources", "prerequisite", "dry-run"]) rejections.inc({ check }, 0);

  const runs = new Map<string, RunTrack>();
  const edgeOf = (r: DeploymentRecord, pkg: string) => r.packages.find((p) => p.package === pkg)?.edge || "none";

  function onEvent(r: DeploymentRecord, e: EventRecord): void {
    if (e.kind === "settled") {
      runs.delete(r.id);
      return;
    }
    const at = Date.parse(e.time);
    let run = runs.get(r.id);
    if (!run) {
      run = { lastEventMs: at, waveStart: new Map(), committed: new Map(), synced: new Map() };
      runs.set(r.id, run);
    }
    const previous = run.lastEventMs;
    run.lastEventMs = at;
    if (e.kind !== "state") return;
    if (e.package === "") {
      if (e.state === "READY") intentReady.observe(Math.max(0, at - Date.parse(r.createdAt)) / 1000);
      if (OUTCOMES.has(e.state)) {
        outcomes.inc({ state: e.state });
        runs.delete(r.id);
      }
      return;
    }
    const edge = edgeOf(r, e.package);
    switch (e.state) {
      case "COMMITTED": {
        if (!run.waveStart.has(e.wave)) run.waveStart.set(e.wave, previous);
        commit.observe({ edge }, Math.max(0, at - (run.waveStart.get(e.wave) as number)) / 1000);
        run.committed.set(e.package, at);
        break;
      }
      case "SYNCED": {
        const from = run.committed.get(e.package);
        if (from !== undefined) sync.observe({ edge }, Math.max(0, at - from) / 1000);
        run.synced.set(e.package, at);
        break;
      }
      case "READY": {
        const from = run.synced.get(e.package);
        if (from !== undefined) ready.observe({ edge }, Math.max(0, at - from) / 1000);
        break;
      }
      case "FAILED":
        // A package refused at admission or by its edge's dry run: the record holds the reasons when it fails.
        for (const a of r.admission) if (a.package === e.package) rejections.inc({ check: a.check });
        break;
      default:
    }
  }

  return {
    observe(bus) {
      return bus.tap((r, e) => {
        // The lifecycle must never fail because of its metrics.
        try {
          onEvent(r, e);
        } catch {
          runs.delete(r.id);
        }
      });
    },
  };
}
