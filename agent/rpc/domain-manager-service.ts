/**
 * camino.v1.DomainManager handlers: protobuf in, domain calls, protobuf out. Methods whose issue has not
 * landed are left out of the implementation, so connect answers them UNIMPLEMENTED (README lists them).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { type DomainInfo, DomainInfoSchema } from "../../gen/camino/v1/types_pb.js";
import { registerRootSyncFor } from "../edge/root-syncs.js";
import type { Logger } from "../log/logger.js";
import { parseCredentials, type GitCredentials } from "../cad/git/remote.js";
import type { RegisteredRepository, RepositoryRecord, RepositoryRegistry } from "../cad/repository-registry.js";
import type { Failpoints } from "../failpoints.js";
import { intentFromMessage } from "../intent/load.js";
import type { IntentLimits } from "../intent/model.js";
import { planIntent, type PlannerDeps } from "../orchestration/planner.js";
import type { MonitoringService } from "../monitoring/monitoring-service.js";
import { aggregateFigures, detailFigures } from "../monitoring/disclosure.js";
import type { MonitoringConfig } from "../config/monitoring-section.js";
import { CaminoError, IntentError, PermissionError } from "../errors.js";
import { originStatus, type CaminoSegmentHost } from "../segments/segment-host.js";
import { principalKey } from "./auth-interceptor.js";
import { figureToProto, monitoringHealthToProto, scopeFromProto } from "./monitoring-convert.js";
import type { DeploymentManager } from "../orchestration/deployment-manager.js";
import type { AlertRunner } from "../monitoring/alert-runner.js";
import type { DependencyHealth } from "../../gen/camino/v1/types_pb.js";
import { alertToProto } from "./alert-convert.js";
import { fileDiffToProto } from "./history-convert.js";
import { driftToProto } from "./drift-convert.js";
import { computeDrift } from "../orchestration/drift.js";
import { planDiff } from "../orchestration/plan-diff.js";
import { rollbackTo } from "../orchestration/revision-rollback.js";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import {
  catalogueEntryToProto,
  deploymentToProto,
  edgeToProto,
  eventToProto,
  peerHealthToProto,
  peerToProto,
  planToProto,
  repositoryFromProto,
  repositoryToProto,
} from "./convert.js";

/** What the DomainManager handlers call: the planner's dependencies (PlanIntent) and the components. */
export interface DomainManagerDeps extends PlannerDeps {
  /** The advertised API endpoint. */
  endpoint: string;
  /** This domain's full DomainInfo (mesh, gateways, catalogue digest) when it federates. */
  domainInfo?: () => Promise<DomainInfo>;
  version: string;
  limits: IntentLimits;
  failpoints: Failpoints;
  deployments: DeploymentManager;
  /** The segments this domain runs for peers; absent without federation. */
  segmentHost?: CaminoSegmentHost;
  monitoring: MonitoringService;
  /** Who gets per-edge and per-package figures. Default: holders of monitoring:detail. */
  monitoringPolicy?: MonitoringConfig["policy"];
  /** The alerts (ListAlerts); absent when alerting is off (ListAlerts then lists none). */
  alerts?: AlertRunner;
  /** More dependencies for GetDomainInfo (the label cache, the InfluxDB export). */
  dependencies?: () => DependencyHealth[];
  logger: Logger;
}

export function createDomainManagerService(deps: DomainManagerDeps): Partial<ServiceImpl<typeof DomainManager>> {
  return {
    async getDomainInfo() {
      const domain = deps.domainInfo
        ? await deps.domainInfo()
        : create(DomainInfoSchema, { id: deps.domainId, apiEndpoint: deps.endpoint });
      domain.version = deps.version;
      domain.apiEndpoint ||= deps.endpoint;
      // Peers are dependencies: one that is down shows here, and never turns the agent's own health NOT_SERVING.
      const dependencies = deps.federation.peers.list().map(peerHealthToProto);
      const monitoring = deps.monitoring.status();
      if (monitoring.source !== "none") dependencies.push(monitoringHealthToProto(monitoring));
      dependencies.push(...(deps.dependencies?.() ?? []));
      return { domain, dependencies };
    },
    listAlerts(req) {
      const alerts = deps.alerts?.list({ intent: req.intent, firingOnly: req.firingOnly }) ?? [];
      return { alerts: alerts.map(alertToProto) };
    },
    async queryMonitoring(req, ctx) {
      const principal = ctx.values.get(principalKey);
      const detail =
        (deps.monitoringPolicy?.northbound ?? "scoped") === "scoped" &&
        principal?.scopes.has("monitoring:detail") === true;
      if (!detail && (req.intent || req.package || req.edge))
        throw new PermissionError("per-intent, per-package and per-edge figures need scope monitoring:detail", {
          data: { scope: "monitoring:detail" },
        });
      // A link is always an intent's: there is no aggregate of links to give without detail.
      if (!detail && scopeFromProto(req.scope) === "link")
        throw new PermissionError("per-link figures need scope monitoring:detail", {
          data: { scope: "monitoring:detail" },
        });
      const snapshot = deps.monitoring.latest() ?? (await deps.monitoring.refresh(ctx.signal));
      const query = { scope: scopeFromProto(req.scope), metrics: req.metrics };
      const figures = detail
        ? detailFigures(snapshot, {
            ...query,
            ...(req.intent ? { intent: req.intent } : {}),
            ...(req.package ? { package: req.package } : {}),
            ...(req.edge ? { edge: req.edge } : {}),
          })
        : aggregateFigures(snapshot, query);
      return { samples: figures.map(figureToProto) };
    },
    listPeers() {
      return { peers: deps.federation.peers.list().map(peerToProto) };
    },
    listSegments() {
      // This domain's own segments (as origin), then those it runs for peers (as host).
      const mine = deps.deployments
        .records()
        .flatMap((r) => (r.segments ?? []).map((x) => originStatus(deps.domainId, r, x)))
        .filter((s) => !["ABORTED", "TERMINATED"].includes(s.phase) || s.reason.includes("not confirmed"));
      const hosted = deps.segmentHost?.list() ?? [];
      const all = [...mine, ...hosted].sort((a, b) => a.id.localeCompare(b.id) || a.role.localeCompare(b.role));
      return { segments: all };
    },
    async removeSegment(req) {
      if (!req.segmentId) throw new IntentError([{ path: "segment_id", message: "is required" }]);
      const own = deps.deployments.records().find((r) => r.segments?.some((x) => x.id === req.segmentId));
      if (own)
        throw new CaminoError(
          "ERR_SEGMENT_CONFLICT",
          `segment ${req.segmentId} belongs to this domain's intent ${own.intent}: terminate the intent (camino intent rm ${own.intent})`,
        );
      if (!deps.segmentHost)
        throw new CaminoError("ERR_SEGMENT_NOT_FOUND", `this domain runs no segment ${req.segmentId}`);
      return { segment: await deps.segmentHost.remove(req.segmentId, req.force) };
    },
    async planIntent(req, ctx) {
      await deps.failpoints.hit("plan-intent", ctx.signal);
      const intent = intentFromMessage(req.intent, deps.limits);
      if (req.diff) {
        const d = await planDiff(intent, deps, deps.deployments.live(intent.name)?.record, ctx.signal);
        return {
          plan: planToProto(d.plan),
          diffs: d.diffs.map(fileDiffToProto),
          deployedRevision: BigInt(d.deployedRevision),
        };
      }
      return { plan: planToProto(await planIntent(intent, deps, { signal: ctx.signal })) };
    },
    async submitIntent(req) {
      const intent = intentFromMessage(req.intent, deps.limits);
      const r = await deps.deployments.submit(
        intent,
        toJson(DeploymentIntentSchema, req.intent as NonNullable<typeof req.intent>),
      );
      return { deploymentId: r.id, revision: BigInt(r.revision), noOp: r.noOp };
    },
    async getDeployment(req, ctx) {
      const record = deps.deployments.get(req.name);
      return {
        deployment: deploymentToProto(record, { history: true }),
        intent: fromJson(DeploymentIntentSchema, record.intentJson as JsonValue, { ignoreUnknownFields: true }),
        // With drift: every edge the intent runs on read and compared with its repository (drift.ts).
        ...(req.drift ? driftToProto(await computeDrift(deps, record, ctx.signal)) : {}),
      };
    },
    listDeployments(req) {
      const { records, next } = deps.deployments.list(req.pageSize, req.pageToken);
      return { deployments: records.map((r) => deploymentToProto(r)), nextPageToken: next };
    },
    async *watchDeployment(req, ctx) {
      const since = req.since ? timestampDate(req.since) : undefined;
      // With `follow` the stream stays open after the run settles: alerts firing and resolving reach the caller.
      for await (const { record, event } of deps.deployments.watch(req.name, since, ctx.signal, {
        follow: req.follow,
      })) {
        yield { event: eventToProto(record, event) };
      }
    },
    async rollbackIntent(req) {
      const r = await rollbackTo(deps.deployments, deps.limits, req.name, Number(req.toRevision));
      return { deploymentId: r.id, revision: BigInt(r.revision), noOp: r.noOp };
    },
    async terminateIntent(req, ctx) {
      // Terminating what other live intents rely on needs a scope of its own, on top of intents:write.
      if (req.force && ctx.values.get(principalKey)?.scopes.has("intents:force") !== true)
        throw new PermissionError("TerminateIntent with force needs scope intents:force", {
          data: { scope: "intents:force" },
        });
      return { deployment: deploymentToProto(await deps.deployments.terminate(req.name, false, req.force)) };
    },
    async listCatalogue(req) {
      const entries = (await deps.catalogue.list({ refresh: true, exportedOnly: req.exportedOnly })).map(
        catalogueEntryToProto,
      );
      if (req.includePeers) {
        // Each peer's advertised entries, as fetched when its catalogue digest last changed, marked with its domain.
        for (const peer of deps.federation.peers.list()) {
          for (const e of peer.catalogue?.entries ?? []) entries.push({ ...e, domain: peer.id });
        }
      }
      return { entries };
    },
    async listRepositories() {
      return {
        repositories: await Promise.all(
          deps.registry.list().map(async (r) => repositoryToProto(r, await r.git.head())),
        ),
      };
    },
    async registerRepository(req, ctx) {
      const input = repositoryFromProto(req.repository);
      const credentials = req.credentials || undefined;
      // A retry after the edge refused the RootSync finds the registration kept, and writes the RootSync again.
      const r = keptAlready(deps.registry, input, credentials) ?? (await deps.registry.register(input, credentials));
      // A deployment repository's edge gets its RootSync now; ERR_ROOTSYNC_NOT_WRITTEN when the edge refuses.
      await registerRootSyncFor(r, deps.registry, deps.edges, deps.logger, ctx.signal);
      return { repository: repositoryToProto(r, await r.git.head()) };
    },
    async listEdges(_req, ctx) {
      return { edges: (await deps.edges.views(ctx.signal)).map(edgeToProto) };
    },
    async deleteRepository(req) {
      await deps.registry.remove(req.name);
      return {};
    },
  };
}

/**
 * The registered repository that `input` and `credentials` describe exactly (a retried RegisterRepository), or
 * undefined. A registration that differs in any field is left to the registry, which refuses the taken name.
 */
function keptAlready(
  registry: RepositoryRegistry,
  input: Partial<RepositoryRecord>,
  credentials: string | undefined,
): RegisteredRepository | undefined {
  const kept = input.name ? registry.get(input.name) : undefined;
  if (!kept) return undefined;
  const k = kept.record;
  const same =
    k.role === input.role &&
    k.url === input.url &&
    k.branch === (input.branch || "main") &&
    k.edge === input.edge &&
    sameSecret(registry.credentials(k.name), credentials ? parseCredentials(credentials) : undefined);
  return same ? kept : undefined;
}

/** Whether two credentials are equal, compared in constant time. */
function sameSecret(a: GitCredentials | undefined, b: GitCredentials | undefined): boolean {
  if (!a || !b) return a === b;
  const digest = (c: GitCredentials) => createHash("sha256").update(`${c.username}\n${c.password}`).digest();
  return timingSafeEqual(digest(a), digest(b));
}
