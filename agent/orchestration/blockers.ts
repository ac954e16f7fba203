/**
 * What a deployment waits on, as structured blockers ("why is it not READY yet?"). A run records them where it
 * starts waiting — its turn (queue), admission, an edge's sync of a commit, a wave's rollout — on the record's
 * `waitingOn`, per package ("" for the intent itself), and drops them when the wait is over. Blockers that follow
 * from the record alone (an earlier wave not READY, a segment on its peer, a DEGRADED package's reason, a
 * ROLLED_BACK intent's reason) are derived when the deployment is read (agent/rpc/blocker-convert.ts,
 * {@link derivedBlockers}), so they are always current.
 *
 * When a run fails, the blockers it had stay on the record: they say what the intent still waited on when it was
 * rolled back (a rollout that never became available, an edge that never synced).
 */
import { millisOf, unitsOf } from "../../common/quantity.js";
import { resourceLabel, type RootSyncStatus } from "../edge/root-sync.js";
import type { WorkloadStatus } from "../edge/readiness.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { DeploymentRecord, PackageRecord } from "./journal.js";

/** The kinds of blocker (proto `Blocker.kind`). */
export type BlockerKind =
  | "admission"
  | "wave"
  | "sync"
  | "rollout"
  | "segment"
  | "edge"
  | "heal"
  | "drift"
  | "dependency"
  | "queue";

/** One thing a package (or the intent) waits on before it can be READY. Mirrors proto `camino.v1.Blocker`. */
export interface Blocker {
  kind: BlockerKind;
  /** One line for people, naming what is waited on. */
  message: string;
  edge?: string;
  /** admission: the resource that does not fit (cpu, memory, pods, Kind/name of a prerequisite). */
  resource?: string;
  /** wave: the packages of earlier waves not READY yet. */
  packages?: string[];
  /** sync: the commit the edge must reach. */
  commit?: string;
  /** sync: what the edge's RootSync reports now. */
  syncStatus?: string;
  /** rollout: replicas available out of desired, and the pods' waiting reasons. */
  replicasAvailable?: number;
  replicasDesired?: number;
  podReasons?: string[];
  /** segment: the peer domain and the segment's state there. */
  peer?: string;
  segmentState?: string;
  /** sync or drift: the object concerned (Kind/namespace/name). */
  object?: string;
}

/** The key of the intent's own blockers in `waitingOn`. */
export const INTENT = "";

/**
 * Records what `pkg` (or the intent, {@link INTENT}) waits on now, replacing what it waited on before; also kept as
 * `live.waiting` for the timeout's message.
 */
export function waitOn(live: LiveDeployment, pkg: string, blockers: readonly Blocker[]): void {
  const r = live.record;
  r.waitingOn = { ...r.waitingOn, [pkg]: [...blockers] };
  const first = blockers[0];
  if (first) live.waiting = `${pkg ? `${pkg}: ` : ""}${first.kind}: ${first.message}`;
}

/**
 * Adds one blocker to what `pkg` (or the intent) waits on, next to the others (waits that run in parallel, such
 * as one edge's sync each); returns it, so the waiter can update it in place as it learns more, and end it with
 * {@link endWait}.
 */
export function addWait(live: LiveDeployment, pkg: string, blocker: Blocker): Blocker {
  const r = live.record;
  r.waitingOn = { ...r.waitingOn, [pkg]: [...(r.waitingOn?.[pkg] ?? []), blocker] };
  live.waiting = `${pkg ? `${pkg}: ` : ""}${blocker.kind}: ${blocker.message}`;
  return blocker;
}

/** Ends one wait {@link addWait} recorded (the same object); the others of `pkg` stay. */
export function endWait(live: LiveDeployment, pkg: string, blocker: Blocker): void {
  const r = live.record;
  const left = (r.waitingOn?.[pkg] ?? []).filter((b) => b !== blocker);
  if (left.length > 0) r.waitingOn = { ...r.waitingOn, [pkg]: left };
  else doneWaiting(live, pkg);
}

/** `pkg` (or the intent) no longer waits on anything recorded. */
export function doneWaiting(live: LiveDeployment, pkg: string): void {
  const r = live.record;
  if (!r.waitingOn || !(pkg in r.waitingOn)) return;
  const { [pkg]: _, ...rest } = r.waitingOn;
  r.waitingOn = rest;
}

/** Nothing is waited on any more (the run reached READY). */
export function doneWaitingAll(live: LiveDeployment): void {
  delete live.record.waitingOn;
  live.waiting = undefined;
}

/** A recorded wait of a package or the intent. */
export function recorded(r: DeploymentRecord, pkg: string): readonly Blocker[] {
  return r.waitingOn?.[pkg] ?? [];
}

/**
 * A rollout blocker's fields from the package's workloads short of replicas, as the edge observer gives them
 * (each with its pods' reasons): replicas available and desired summed over them, one reason per pod not ready.
 * @example rollout([{ kind: "Deployment", name: "upf", available: 0, desired: 1, pods: [{ pod: "upf-7c9", … }] }])
 *   // { message: "Deployment/upf 0/1 available — pod upf-7c9 ImagePullBackOff: upf", replicasAvailable: 0, … }
 */
export function rollout(
  short: readonly WorkloadStatus[],
): Pick<Blocker, "message" | "replicasAvailable" | "replicasDesired" | "podReasons"> {
  const podReasons = short.flatMap((w) => (w.pods ?? []).map((p) => `pod ${p.pod} ${p.reasons[0] ?? p.phase}`));
  const each = short.map((w) => `${w.kind}/${w.name} ${w.available}/${w.desired} available`).join(", ");
  return {
    message: `${each}${podReasons.length > 0 ? ` — ${podReasons.join(", ")}` : ""}`,
    replicasAvailable: short.reduce((n, w) => n + w.available, 0),
    replicasDesired: short.reduce((n, w) => n + w.desired, 0),
    podReasons,
  };
}

/**
 * What an edge's RootSync reports now, in one line, for a sync blocker: the commit it is at, whether it is
 * syncing, and its errors with the objects they name.
 */
export function syncStatusLine(s: RootSyncStatus | undefined): string {
  if (!s) return "not read yet";
  if (s.error) return `cannot be read: ${s.error}`;
  const at = s.commit ? `at ${s.commit.slice(0, 12)}` : "no commit synced yet";
  const syncing = s.syncing ? ", syncing" : "";
  const errors = s.errors.map(
    (e) => `KNV${e.code}${e.resources.length > 0 ? ` ${e.resources.map(resourceLabel).join(", ")}` : ""}: ${e.message}`,
  );
  return `${at}${syncing}${errors.length > 0 ? `; errors: ${errors.join("; ")}` : ""}`;
}

/** The first object of `intent` a RootSync error names (Kind/namespace/name), if any. */
export function syncErrorObject(s: RootSyncStatus | undefined, intent: string): string | undefined {
  for (const e of s?.errors ?? [])
    for (const r of e.resources) if (r.namespace === intent || r.name === intent) return resourceLabel(r);
  return undefined;
}

const RUNNING = new Set(["PENDING", "ADMITTED", "COMMITTED", "SYNCED"]);

/**
 * Every blocker of a deployment, per package ("" for the intent): those the run recorded, and those that follow
 * from the record (see the file's comment). A READY or TERMINATED deployment, and a READY package, wait on
 * nothing.
 */
export function derivedBlockers(r: DeploymentRecord): Map<string, Blocker[]> {
  const out = new Map<string, Blocker[]>();
  const add = (pkg: string, b: readonly Blocker[]) => {
    if (b.length > 0) out.set(pkg, [...(out.get(pkg) ?? []), ...b]);
  };
  if (r.state === "READY" || r.state === "TERMINATED" || r.state === "TERMINATING") return out;
  const segmentOf = (p: PackageRecord) =>
    r.segments?.find((s) => s.packages.includes(p.package) && s.phase !== "aborted" && s.phase !== "terminated");

  if (r.state === "ROLLED_BACK" || r.state === "FAILED") {
    add(INTENT, [rolledBack(r)]);
    for (const p of r.packages) {
      const refused = r.admission.filter((a) => a.package === p.package);
      if (refused.length > 0) add(p.package, refused.map(admissionBlocker));
      else add(p.package, recorded(r, p.package));
    }
    return out;
  }

  add(INTENT, recorded(r, INTENT));
  for (const p of r.packages) {
    if (p.state === "READY") continue;
    if (p.state === "DEGRADED") {
      add(p.package, [degraded(p)]);
      continue;
    }
    const own = recorded(r, p.package);
    if (own.length > 0) {
      add(p.package, own);
      continue;
    }
    const seg = segmentOf(p);
    if (seg && seg.state !== "READY") {
      const state = seg.state || seg.phase.toUpperCase();
      add(p.package, [
        {
          kind: "segment",
          peer: seg.domain,
          segmentState: state,
          message: `segment ${seg.id} in ${seg.domain}: ${state}${seg.reason ? ` (${seg.reason})` : ""}`,
        },
      ]);
      continue;
    }
    if (!RUNNING.has(r.state) || !RUNNING.has(p.state)) continue;
    const queued = recorded(r, INTENT).filter((b) => b.kind === "queue");
    if (queued.length > 0) {
      add(p.package, queued);
      continue;
    }
    const earlier = r.packages.filter((q) => q.wave < p.wave && q.state !== "READY").map((q) => q.package);
    if (earlier.length > 0) {
      add(p.package, [
        {
          kind: "wave",
          packages: earlier,
          message: `wave ${p.wave} waits for ${earlier.join(", ")} (an earlier wave) to be READY`,
        },
      ]);
      continue;
    }
    const chain = recorded(r, INTENT).filter((b) => b.kind === "sync" && (!p.edge || b.edge === p.edge));
    if (chain.length > 0)
      add(
        p.package,
        chain.map((b) => ({ ...b, message: `wave 0 (the chain's namespace): ${b.message}` })),
      );
  }
  return out;
}

/** An admission reason as a blocker: which check, which edge, which resource. */
function admissionBlocker(a: DeploymentRecord["admission"][number]): Blocker {
  const resource = a.resource ?? (a.check === "resources" ? shortInMessage(a.message) : a.check);
  return {
    kind: "admission",
    message: `${a.check}${a.edge ? ` on ${a.edge}` : ""}: ${a.message}`,
    ...(a.edge ? { edge: a.edge } : {}),
    ...(resource ? { resource } : {}),
  };
}

/**
 * The resources a placement reason says do not fit (placement.ts words them "needs 4 CPU, 1Gi memory[, 3 pods];
 * edge-1 has 2 CPU, 8Gi memory[, 1 pod] free…"): those needed beyond what is free, or "node room" when the totals
 * fit and the pods do not fit the nodes. Undefined when the message says neither.
 */
export function shortInMessage(message: string): string | undefined {
  const amount = String.raw`([\d.]+m?) CPU, ([\d.]+[A-Za-z]*) memory(?:, (\d+) pods?)?`;
  const m = new RegExp(`needs ${amount}; .*? has ${amount} free`).exec(message);
  if (!m) return undefined;
  if (/ in total, but /.test(message)) return "node room";
  const [, cpu, memory, pods, freeCpu, freeMemory, freePods] = m as unknown as string[];
  const short = [
    ...(millisOf(cpu) > millisOf(freeCpu) ? ["cpu"] : []),
    ...(unitsOf(memory) > unitsOf(freeMemory) ? ["memory"] : []),
    ...(pods !== undefined && freePods !== undefined && Number(pods) > Number(freePods) ? ["pods"] : []),
  ];
  return short.length > 0 ? short.join(", ") : undefined;
}

/** A ROLLED_BACK (or FAILED) intent's own blocker: its reason, with the kind of what stopped it. */
function rolledBack(r: DeploymentRecord): Blocker {
  const kept = Object.values(r.waitingOn ?? {}).flat();
  const kind: BlockerKind = r.admission.length > 0 ? "admission" : (kept[0]?.kind ?? kindOfReason(r.reason, "rollout"));
  return { kind, message: `${r.state === "FAILED" ? "failed" : "rolled back"}: ${r.reason}` };
}

/**
 * A DEGRADED package's blocker, from what the health watch found (health-watch.ts writes the reasons): the edge
 * unreachable, a workload short of replicas or missing, a sync error, a prerequisite gone.
 */
function degraded(p: PackageRecord): Blocker {
  const kind = kindOfReason(p.reason, "rollout");
  const b: Blocker = { kind, message: `DEGRADED: ${p.reason}`, ...(p.edge ? { edge: p.edge } : {}) };
  const counts = /\b([A-Z][A-Za-z]+\/[a-z0-9][a-z0-9.-]*) (\d+)\/(\d+) available/.exec(p.reason);
  if (kind === "rollout" && counts) {
    b.replicasAvailable = Number(counts[2]);
    b.replicasDesired = Number(counts[3]);
  }
  // The sync-error check names the object: "sync error KNV2009 for Deployment/ns/name".
  const object = /sync error \S+ for ([A-Z][A-Za-z]+\/[a-z0-9][a-z0-9.-]*(?:\/[a-z0-9][a-z0-9.-]*)?)/.exec(p.reason);
  if (kind === "sync" && object) b.object = object[1] as string;
  const prerequisite = /prerequisite ([A-Z][A-Za-z]+\/[a-z0-9][a-z0-9.-]*)/.exec(p.reason);
  if (kind === "dependency" && prerequisite) b.resource = prerequisite[1] as string;
  return b;
}

/** The kind of blocker a reason written by the lifecycle or the health watch names. */
export function kindOfReason(reason: string, fallback: BlockerKind): BlockerKind {
  if (/^admission|\bdry run\b/.test(reason)) return "admission";
  if (/\bprerequisite\b/.test(reason)) return "dependency";
  if (/\bunreachable\b|no longer configured/.test(reason)) return "edge";
  if (/\bsync error\b|\bsync(ed)? commit\b|\bcannot sync\b|\bdid not sync\b/.test(reason)) return "sync";
  if (/\bsegment\b/.test(reason)) return "segment";
  if (/\bdrift\b/.test(reason)) return "drift";
  if (/\bavailable\b|\bmissing\b/.test(reason)) return "rollout";
  return fallback;
}
