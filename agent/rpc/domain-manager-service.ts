/**
 * camino.v1.DomainManager handlers: protobuf in, domain calls, protobuf out. Methods whose issue has not
 * landed are left out of the implementation, so connect answers them UNIMPLEMENTED (README lists them).
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DomainInfoSchema } from "../../gen/camino/v1/types_pb.js";
import type { Catalogue } from "../cad/catalogue.js";
import type { HydrationCache } from "../cad/hydration-cache.js";
import type { EdgeRegistry } from "../edge/edge-registry.js";
import { registerRootSyncFor } from "../edge/root-syncs.js";
import type { Logger } from "../log/logger.js";
import type { RepositoryRegistry } from "../cad/repository-registry.js";
import type { Failpoints } from "../failpoints.js";
import { intentFromMessage } from "../intent/load.js";
import type { IntentLimits } from "../intent/model.js";
import { planIntent } from "../orchestration/planner.js";
import type { CapacityBook } from "../orchestration/reservations.js";
import type { DeploymentManager } from "../orchestration/deployments.js";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DeploymentIntentSchema } from "../../gen/camino/v1/intent_pb.js";
import {
  catalogueEntryToProto,
  deploymentToProto,
  edgeToProto,
  eventToProto,
  planToProto,
  repositoryFromProto,
  repositoryToProto,
} from "./convert.js";

export interface DomainManagerDeps {
  domainId: string;
  /** The advertised API endpoint. */
  endpoint: string;
  version: string;
  limits: IntentLimits;
  failpoints: Failpoints;
  registry: RepositoryRegistry;
  catalogue: Catalogue;
  hydration: HydrationCache;
  edges: EdgeRegistry;
  book: CapacityBook;
  deployments: DeploymentManager;
  capacityMaxAgeMs: number;
  logger: Logger;
}

export function createDomainManagerService(deps: DomainManagerDeps): Partial<ServiceImpl<typeof DomainManager>> {
  return {
    getDomainInfo() {
      return {
        domain: create(DomainInfoSchema, { id: deps.domainId, apiEndpoint: deps.endpoint, version: deps.version }),
        dependencies: [],
      };
    },
    async planIntent(req, ctx) {
      await deps.failpoints.hit("plan-intent", ctx.signal);
      const intent = intentFromMessage(req.intent, deps.limits);
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
    getDeployment(req) {
      return { deployment: deploymentToProto(deps.deployments.get(req.name)) };
    },
    listDeployments(req) {
      const { records, next } = deps.deployments.list(req.pageSize, req.pageToken);
      return { deployments: records.map(deploymentToProto), nextPageToken: next };
    },
    async *watchDeployment(req, ctx) {
      const since = req.since ? timestampDate(req.since) : undefined;
      for await (const { record, event } of deps.deployments.watch(req.name, since, ctx.signal)) {
        yield { event: eventToProto(record, event) };
      }
    },
    async terminateIntent(req) {
      return { deployment: deploymentToProto(await deps.deployments.terminate(req.name)) };
    },
    async listCatalogue(req) {
      return {
        entries: (await deps.catalogue.list({ refresh: true, exportedOnly: req.exportedOnly })).map(
          catalogueEntryToProto,
        ),
      };
    },
    async listRepositories() {
      return {
        repositories: await Promise.all(
          deps.registry.list().map(async (r) => repositoryToProto(r, await r.git.head())),
        ),
      };
    },
    async registerRepository(req, ctx) {
      const r = await deps.registry.register(repositoryFromProto(req.repository), req.credentials || undefined);
      // A deployment repository's edge gets its RootSync now.
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
