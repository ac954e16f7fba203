/** grpc.health.v1.Health on top of the {@link HealthRegistry}: Check, List and Watch, open to every caller. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthRegistry, ServingStatus } from "../server/health-registry.js";

const toProto = (s: ServingStatus | undefined): Status =>
  s === undefined ? Status.SERVICE_UNKNOWN : s === "SERVING" ? Status.SERVING : Status.NOT_SERVING;

export function createHealthService(registry: HealthRegistry): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = registry.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      return { status: toProto(status) };
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const [name, status] of registry.all())
        statuses[name] = create(HealthCheckResponseSchema, { status: toProto(status) });
      return { statuses };
    },
    async *watch(req, ctx) {
      for await (const status of registry.watch(req.service, ctx.signal)) yield { status: toProto(status) };
    },
  };
}
