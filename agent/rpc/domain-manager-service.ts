/**
 * camino.v1.DomainManager handlers: protobuf in, domain calls, protobuf out. Methods whose issue has not
 * landed are left out of the implementation, so connect answers them UNIMPLEMENTED (README lists them).
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { DomainInfoSchema, PlanSchema, WaveSchema } from "../../gen/camino/v1/types_pb.js";
import type { Failpoints } from "../failpoints.js";
import type { IntentLimits } from "../intent/model.js";
import { planIntentMessage } from "../intent/plan.js";

export interface DomainManagerDeps {
  domainId: string;
  /** The advertised API endpoint. */
  endpoint: string;
  version: string;
  limits: IntentLimits;
  failpoints: Failpoints;
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
      const plan = planIntentMessage(req.intent, deps.limits);
      return {
        plan: create(PlanSchema, {
          intent: plan.intent,
          order: [...plan.order],
          waves: plan.waves.map((packages, i) => create(WaveSchema, { index: i + 1, packages: [...packages] })),
          intentDigest: plan.digest,
        }),
      };
    },
  };
}
