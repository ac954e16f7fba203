/**
 * Gauges read when Prometheus scrapes: intents and packages by state (from the lifecycle's deployments), each
 * edge's health and each peer's. Read at scrape time, so they are never stale by more than one scrape, and
 * nothing keeps a copy of the deployments.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { EdgeClient } from "../edge/edge-client.js";
import type { DeploymentRecord, StateName } from "../orchestration/journal.js";
import type { PeerView } from "../../federation/peers.js";

/** Every state a deployment or package can be in, so each series exists (at 0) from the first scrape. */
const STATES: readonly StateName[] = [
  "PENDING",
  "ADMITTED",
  "COMMITTED",
  "SYNCED",
  "READY",
  "DEGRADED",
  "FAILED",
  "ROLLED_BACK",
  "TERMINATED",
  "TERMINATING",
];

/** What the gauges are read from; each part is optional and read at every scrape. */
export interface StateSources {
  /** The lifecycle's deployments, one per intent, paged (DeploymentManager.list). */
  deployments?: { list(pageSize: number, pageToken: string): { records: DeploymentRecord[]; next: string } };
  /** The domain's edges (EdgeRegistry.list). */
  edges?: () => readonly EdgeClient[];
  /** The trusted peers (the federation's peer directory). */
  peers?: () => readonly PeerView[];
  /** The reservations held (admission's book: CapacityBook.all), per intent and edge. */
  reservations?: () => readonly {
    intent: string;
    edge: string;
    amount: { cpuMillis: number; memoryBytes: number; pods: number };
  }[];
  /** The deployment journal's writes and the fsyncs they took (Journal.stats). */
  journal?: () => { records: number; fileSyncs: number; folderSyncs: number };
  /**
   * An edge whose health was last seen longer ago than this (ms) is checked when a scrape comes; the scrape
   * waits for it at most `edgeCheckTimeoutMs`. Default 5000.
   */
  edgeCheckMaxAgeMs?: number;
  /** How long a scrape waits for those checks, in ms; past it, the health as last seen is reported. Default 2000. */
  edgeCheckTimeoutMs?: number;
}

/** The gauges, fed from {@link StateSources} given later (the lifecycle exists after the registry). */
export interface StateMetrics {
  /** Sets (or replaces) what the gauges are read from. */
  observe(sources: StateSources): void;
}

/** Creates the state gauges in `registry`. */
export function createStateMetrics(registry: Registry): StateMetrics {
  let sources: StateSources = {};
  /** Edge name → its health check started by a scrape, until it ends. */
  const checking = new Map<string, Promise<unknown>>();
  const registers = [registry];

  new Gauge({
    name: "camino_intents",
    help: "Intents by the state of their latest revision.",
    labelNames: ["state"],
    registers,
    collect() {
      const { intents } = countStates(sources);
      this.reset();
      for (const s of STATES) this.set({ state: s }, intents.get(s) ?? 0);
    },
  });
  new Gauge({
    name: "camino_packages",
    help: "Packages of the intents' latest revisions by state.",
    labelNames: ["state"],
    registers,
    collect() {
      const { packages } = countStates(sources);
      this.reset();
      for (const s of STATES) this.set({ state: s }, packages.get(s) ?? 0);
    },
  });
  new Gauge({
    name: "camino_reserved",
    help: "Room reserved by admission and not yet seen used on the edge, per intent, edge and resource (cpu in millicores, memory in bytes, pods). Held by intents in flight, and by READY ones until a capacity reading of the edge shows their pods.",
    labelNames: ["intent", "edge", "resource"],
    registers,
    collect() {
      this.reset();
      for (const r of sources.reservations?.() ?? []) {
        this.set({ intent: r.intent, edge: r.edge, resource: "cpu" }, r.amount.cpuMillis);
        this.set({ intent: r.intent, edge: r.edge, resource: "memory" }, r.amount.memoryBytes);
        this.set({ intent: r.intent, edge: r.edge, resource: "pods" }, r.amount.pods);
      }
    },
  });
  new Counter({
    name: "camino_journal_writes_total",
    help: "Deployment records written durably to the journal (writes of one intent coalesce).",
    registers,
    collect() {
      this.reset();
      this.inc(sources.journal?.().records ?? 0);
    },
  });
  new Counter({
    name: "camino_journal_fsyncs_total",
    help: "fsyncs the journal made: of a record's file (one per write), or of the folder (one shared by the renames ready together).",
    labelNames: ["target"],
    registers,
    collect() {
      const stats = sources.journal?.();
      this.reset();
      this.inc({ target: "file" }, stats?.fileSyncs ?? 0);
      this.inc({ target: "folder" }, stats?.folderSyncs ?? 0);
    },
  });
  new Gauge({
    name: "camino_edge_up",
    help: "1 when the edge's Kubernetes API answered its last call, 0 when it did not (or was never reached).",
    labelNames: ["edge"],
    registers,
    async collect() {
      const edges = sources.edges?.() ?? [];
      const maxAge = sources.edgeCheckMaxAgeMs ?? 5_000;
      const now = Date.now();
      for (const e of edges) {
        if (now - e.health.checkedAt.getTime() <= maxAge || checking.has(e.name)) continue;
        // Not aborted when the scrape stops waiting: an edge that does not answer is marked down when its own
        // call deadline passes, and the next scrape reports it.
        const check = e
          .check()
          .catch(() => undefined)
          .finally(() => checking.delete(e.name));
        checking.set(e.name, check);
      }
      if (checking.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, sources.edgeCheckTimeoutMs ?? 2_000);
        });
        await Promise.race([Promise.all(checking.values()), bound]);
        clearTimeout(timer);
      }
      this.reset();
      for (const e of edges) this.set({ edge: e.name }, e.health.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "camino_peer_up",
    help: "1 when the peer domain's last refresh (Hello, keys, catalogue) succeeded, else 0.",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const p of sources.peers?.() ?? []) this.set({ peer: p.id }, p.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "camino_peer_round_trip_seconds",
    help: "Round-trip time of the last successful Hello to the peer domain.",
    labelNames: ["peer"],
    registers,
    collect() {
      this.reset();
      for (const p of sources.peers?.() ?? [])
        if (p.roundTripMs !== undefined) this.set({ peer: p.id }, p.roundTripMs / 1000);
    },
  });

  return {
    observe(next) {
      sources = next;
    },
  };
}

/** Intents and packages counted by state, every page of the deployments read. */
function countStates(sources: StateSources): { intents: Map<StateName, number>; packages: Map<StateName, number> } {
  const intents = new Map<StateName, number>();
  const packages = new Map<StateName, number>();
  const d = sources.deployments;
  if (!d) return { intents, packages };
  let token = "";
  do {
    const page = d.list(1000, token);
    for (const r of page.records) {
      intents.set(r.state, (intents.get(r.state) ?? 0) + 1);
      for (const p of r.packages) packages.set(p.state, (packages.get(p.state) ?? 0) + 1);
    }
    token = page.next;
  } while (token);
  return { intents, packages };
}
