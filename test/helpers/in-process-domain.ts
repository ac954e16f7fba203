/**
 * A whole domain's lifecycle in one process, built from the real parts as agent/agent.ts builds them: local git
 * deployment repositories (and a catalogue seeded from blueprints/) in a temp folder, an edge emulator per edge
 * embedded in-process (Kubernetes API on a loopback port, ConfigSync reconciling its repository fast, workload
 * controllers), an EdgeRegistry of clients pointed at them, a CapacityBook, the HydrationCache, a local-only
 * federation, the Network Manager, a Journal, and a DeploymentManager with short polls. Tests drive the manager's
 * API and judge by independent witnesses: the git CLI on the repositories, and the emulators' object stores.
 *
 * Nothing listens beyond loopback; {@link InProcessDomain.close} stops every part and removes the temp folder.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLocalOnlyFederation, type Federation } from "../../federation/federation.js";
import { bootstrapRepositories } from "../../agent/cad/bootstrap.js";
import { Catalogue } from "../../agent/cad/catalogue.js";
import { HydrationCache } from "../../agent/cad/hydration-cache.js";
import { RepositoryRegistry } from "../../agent/cad/repository-registry.js";
import type { ConfiguredRepository } from "../../agent/config/config.js";
import { EdgeRegistry } from "../../agent/edge/edge-registry.js";
import { parseFailpoints, type Failpoints } from "../../agent/failpoints.js";
import type { LogFields, Logger } from "../../agent/log/logger.js";
import { createNetworkManager, meshReaderOf } from "../../agent/network/network-manager.js";
import { DeploymentManager } from "../../agent/orchestration/deployment-manager.js";
import { Journal } from "../../agent/orchestration/journal.js";
import { deployableEdges, type PlannerDeps } from "../../agent/orchestration/planner.js";
import { CapacityBook } from "../../agent/orchestration/reservations.js";
import type { LifecycleOptions } from "../../agent/orchestration/run-context.js";
import { startEmulator, type EmulatedNode, type Emulator } from "../../emulator/emulator.js";

/** The repository's root folder (the blueprints live under it). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One emulated edge of the domain. */
export interface InProcessEdge {
  /** The edge's name, a DNS-1123 label; its deployment repository is `<name>-deploy`. */
  name: string;
  /** Its nodes. Give several with uneven free room, as real clusters have (TESTING.md). */
  nodes: EmulatedNode[];
  /** Labels for `placement.edgeSelector`. Default none. */
  labels?: Record<string, string>;
}

/** How the domain is built; every field is optional (defaults in {@link DEFAULTS}). */
export interface InProcessDomainOptions {
  /** This domain's id. Default "domain-a". */
  domainId?: string;
  /** The edges. Default two edges, edge-1 and edge-2, with two uneven nodes each ({@link DEFAULT_EDGES}). */
  edges?: InProcessEdge[];
  /**
   * The lifecycle's settings. Defaults: pollMs 20, defaultTimeoutMs 20000, cleanupTimeoutMs 10000,
   * maxConcurrentRuns 32.
   */
  lifecycle?: Partial<LifecycleOptions>;
  /** Healing's grace period (ms): how long an edge stays lost before `heal: replace` moves its packages. */
  healGraceMs?: number;
  /** Capacity readings this young (ms) are reused by admission. Default 0: every admission reads afresh. */
  capacityMaxAgeMs?: number;
  /** The RootSyncs' `spec.git.period`: how often each emulated ConfigSync polls its repository. Default "50ms". */
  syncPeriod?: string;
  /**
   * How long a scheduled pod takes to become Ready on the emulators, in ms. Default 150: not 0, so that
   * "synced" and "available" are apart in time and a pipeline that confuses them can be told apart.
   */
  podStartDelayMs?: number;
  /** The folder of kpt packages the catalogue is seeded from (tagged v1). Default the repository's blueprints/. */
  blueprints?: string;
  /** Per-call timeout of the edge clients, in ms. Default 5000. */
  edgeTimeoutMs?: number;
  /** Failpoints of the lifecycle. Default none. */
  failpoints?: Failpoints;
  /** How long to wait for each edge's RootSync to sync its repository's first commit, in ms. Default 10000. */
  readyTimeoutMs?: number;
}

/** A line the lifecycle logged at warn or error level. */
export interface LoggedLine {
  level: "warn" | "error";
  msg: string;
  fields: LogFields;
}

export interface InProcessDomain {
  readonly domainId: string;
  /** The lifecycle under test. */
  readonly manager: DeploymentManager;
  /** What planning reads (for `planIntent`): the same parts the manager uses. */
  readonly planner: PlannerDeps;
  readonly book: CapacityBook;
  readonly registry: RepositoryRegistry;
  readonly edges: EdgeRegistry;
  /** Edge name → its emulator (store, faults). */
  readonly emulators: ReadonlyMap<string, Emulator>;
  /** The agent's data folder (the journal is in `deployments/`). */
  readonly dataDir: string;
  /** Warn and error lines the lifecycle logged. */
  readonly logged: readonly LoggedLine[];
  /** The name of an edge's deployment repository. */
  repository(edge: string): string;
  /** The folder of an edge's deployment repository (a git work tree, for the git CLI). */
  repositoryDir(edge: string): string;
  /** Stops the manager (runs in flight roll back), the emulators and their git readers; removes the temp folder. */
  close(): Promise<void>;
}

/** Two edges with uneven nodes: edge-1 one big and one small node, edge-2 four small ones. */
export const DEFAULT_EDGES: readonly InProcessEdge[] = [
  {
    name: "edge-1",
    labels: { zone: "north" },
    nodes: [
      { name: "edge-1-big", cpu: "3", memory: "6Gi" },
      { name: "edge-1-small", cpu: "500m", memory: "1Gi" },
    ],
  },
  {
    name: "edge-2",
    labels: { zone: "south" },
    // More CPU in all than edge-1, but in small nodes: a pod larger than 1 CPU fits none of them.
    nodes: [
      { name: "edge-2-a", cpu: "1", memory: "2Gi" },
      { name: "edge-2-b", cpu: "1", memory: "2Gi" },
      { name: "edge-2-c", cpu: "1", memory: "2Gi" },
      { name: "edge-2-d", cpu: "750m", memory: "1Gi", pods: 20 },
    ],
  },
];

const DEFAULTS = {
  domainId: "domain-a",
  lifecycle: { pollMs: 20, defaultTimeoutMs: 20_000, cleanupTimeoutMs: 10_000, maxConcurrentRuns: 32 },
  capacityMaxAgeMs: 0,
  syncPeriod: "50ms",
  podStartDelayMs: 150,
  blueprints: join(ROOT, "blueprints"),
  edgeTimeoutMs: 5000,
  readyTimeoutMs: 10_000,
} as const;

/** A logger that keeps warn and error lines (for assertions) and drops the rest. */
function keepingLogger(lines: LoggedLine[], bound: LogFields = {}): Logger {
  return {
    debug() {},
    info() {},
    warn: (msg, fields = {}) => void lines.push({ level: "warn", msg, fields: { ...bound, ...fields } }),
    error: (msg, fields = {}) => void lines.push({ level: "error", msg, fields: { ...bound, ...fields } }),
    child: (fields) => keepingLogger(lines, { ...bound, ...fields }),
  };
}

/** Runs git in `dir` and returns its standard output. The machine has no global identity; reads need none. */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

/**
 * Builds and starts a domain. Resolves once every edge's RootSync has synced its repository's first commit.
 * @example
 * const domain = await startInProcessDomain({ lifecycle: { maxConcurrentRuns: 1 } });
 * try { await domain.manager.submit(intent, {}); } finally { await domain.close(); }
 */
export async function startInProcessDomain(options: InProcessDomainOptions = {}): Promise<InProcessDomain> {
  const o = {
    ...DEFAULTS,
    ...options,
    lifecycle: { ...DEFAULTS.lifecycle, ...options.lifecycle },
    edges: options.edges ?? DEFAULT_EDGES,
  };
  const root = mkdtempSync(join(tmpdir(), "camino-in-process-"));
  const dataDir = join(root, "data");
  const logged: LoggedLine[] = [];
  const logger = keepingLogger(logged);
  const emulators = new Map<string, Emulator>();
  const repoDir = (edge: string) => join(root, "repos", `${edge}-deploy`);
  let manager: DeploymentManager | undefined;
  let federation: Federation | undefined;
  let edgeRegistry: EdgeRegistry | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await manager?.close();
      await federation?.close();
      edgeRegistry?.close();
      await Promise.all([...emulators.values()].map((e) => e.close()));
      await rm(root, { recursive: true, force: true });
    })();
    return closing;
  };

  try {
    // repositories: the catalogue and one deployment repository per edge, local folders under the temp folder.
    const registry = await RepositoryRegistry.open({ dataDir, logger });
    const configured: ConfiguredRepository[] = [
      {
        name: "catalogue",
        role: "blueprint",
        url: join(root, "repos", "catalogue"),
        branch: "main",
        seedFrom: o.blueprints,
      },
      ...o.edges.map(
        (e): ConfiguredRepository => ({
          name: `${e.name}-deploy`,
          role: "deployment",
          url: repoDir(e.name),
          branch: "main",
          edge: e.name,
        }),
      ),
    ];
    await bootstrapRepositories(configured, { dataDir, registry, logger });

    // edges: an emulator each, and the clients the agent would build from its config.
    for (const e of o.edges) {
      emulators.set(
        e.name,
        await startEmulator({ name: e.name, http: {}, nodes: e.nodes, podStartDelayMs: o.podStartDelayMs }),
      );
    }
    const edges = (edgeRegistry = await EdgeRegistry.fromConfig(
      o.edges.map((e) => ({
        name: e.name,
        server: (emulators.get(e.name) as Emulator).httpUrl as string,
        labels: e.labels ?? {},
        repository: `${e.name}-deploy`,
        timeoutMs: o.edgeTimeoutMs,
        syncPeriod: o.syncPeriod,
      })),
    ));
    // Each edge's RootSync, written as the agent writes it, then synced once before anything is deployed.
    for (const e of o.edges) {
      await (edges.get(e.name) as NonNullable<ReturnType<EdgeRegistry["get"]>>).registerRootSync({
        url: repoDir(e.name),
        branch: "main",
        period: o.syncPeriod,
      });
    }
    await Promise.all(
      o.edges.map((e) =>
        waitFor(
          `${e.name}'s RootSync at its repository's first commit`,
          () => {
            const rs = (emulators.get(e.name) as Emulator).store.get(
              "configsync.gke.io/rootsyncs",
              "config-management-system",
              "root-sync",
            );
            const synced = (rs?.["status"] as { lastSyncedCommit?: string } | undefined)?.lastSyncedCommit;
            return synced !== undefined && synced === gitIn(repoDir(e.name), "rev-parse", "main").trim();
          },
          o.readyTimeoutMs,
        ),
      ),
    );

    // federation, network, lifecycle: as agent/agent.ts wires them.
    federation = createLocalOnlyFederation({ domainId: o.domainId });
    await federation.start(new AbortController().signal);
    const book = new CapacityBook(() => deployableEdges({ registry, edges }));
    const catalogue = new Catalogue(registry);
    const hydration = new HydrationCache();
    const planner: PlannerDeps = {
      domainId: o.domainId,
      registry,
      catalogue,
      hydration,
      edges,
      book,
      federation,
      network: createNetworkManager({ catalogue, hydration, mesh: meshReaderOf(edges) }),
      capacityMaxAgeMs: o.capacityMaxAgeMs,
    };
    manager = new DeploymentManager({
      ...planner,
      journal: new Journal(dataDir),
      logger: logger.child({ component: "lifecycle" }),
      failpoints: o.failpoints ?? parseFailpoints(undefined),
      lifecycle: o.lifecycle,
      ...(o.healGraceMs ? { heal: { graceMs: o.healGraceMs } } : {}),
    });
    await manager.start();
    const started = manager;
    return {
      domainId: o.domainId,
      manager: started,
      planner,
      book,
      registry,
      edges,
      emulators,
      dataDir,
      logged,
      repository: (edge) => `${edge}-deploy`,
      repositoryDir: repoDir,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Polls `check` (every 10 ms) until it holds. @throws naming `what` after `timeoutMs` */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
