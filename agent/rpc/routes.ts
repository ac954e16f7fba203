/**
 * The one place that registers services: which services are served, with which interceptors, and what an
 * unknown method gets (UNIMPLEMENTED as a real gRPC status, not an HTTP 404, so every gRPC stack reports it).
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** connect-node's handler signature (its request/response types are not exported by name). */
type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
import { DomainManager, file_camino_v1_domain_manager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation, file_camino_v1_federation } from "../../gen/camino/v1/federation_pb.js";
import { file_grpc_health_v1_health, Health } from "../../gen/grpc/health/v1/health_pb.js";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createDomainManagerService, type DomainManagerDeps } from "./domain-manager-service.js";
import { createHealthService } from "./health-service.js";
import { createReflectionV1, createReflectionV1alpha, ReflectionIndex } from "./reflection-service.js";
import type { HealthRegistry } from "../server/health-registry.js";

export interface RoutesOptions {
  domainManager: DomainManagerDeps;
  health: HealthRegistry;
  /** Outermost first: run for every call (metrics, error mapping). */
  common: Interceptor[];
  /** Northbound authentication, for DomainManager only. */
  auth: Interceptor;
  /** The audit trail of DomainManager writes: outermost, so it records the outcome of every call, refusals too. */
  audit?: Interceptor;
  /** RotateKeys (agent/rpc/keys-service.ts), served as part of DomainManager. */
  keys?: Partial<ServiceImpl<typeof DomainManager>>;
}

/** Files served by reflection; Federation's file is described so that peers' operators can read the contract. */
const FILES: readonly DescFile[] = [
  file_camino_v1_domain_manager,
  file_camino_v1_federation,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

/** Registers every service on a router. */
export function registerRoutes(options: RoutesOptions): (router: ConnectRouter) => void {
  const served = [DomainManager, Health, ReflectionV1, ReflectionV1alpha].map((s) => s.typeName);
  const index = new ReflectionIndex({ files: FILES, services: served });
  return (router) => {
    router.service(
      DomainManager,
      { ...createDomainManagerService(options.domainManager), ...options.keys },
      {
        interceptors: [...(options.audit ? [options.audit] : []), ...options.common, options.auth],
      },
    );
    router.service(Health, createHealthService(options.health), { interceptors: options.common });
    router.service(ReflectionV1, createReflectionV1(index), { interceptors: options.common });
    router.service(ReflectionV1alpha, createReflectionV1alpha(index), { interceptors: options.common });
  };
}

/** Answers a request for a method no service serves. */
export const unknownRoute: NodeHandler = (req, res) => {
  const contentType = String(req.headers["content-type"] ?? "");
  const path = (req.url ?? "").split("?")[0] ?? "";
  const message = `unknown method ${path}`;
  if (contentType.startsWith("application/grpc")) {
    const headers = {
      "content-type": contentType.startsWith("application/grpc-web") ? contentType : "application/grpc",
      "grpc-status": "12",
      "grpc-message": encodeURIComponent(message),
    };
    // The request is read to its end first: answering a stream the client is still writing makes HTTP/2
    // reset it, and gRPC clients then report INTERNAL instead of the status.
    req.resume();
    req.once("end", () => {
      if ("stream" in req && !req.stream.destroyed) {
        // HTTP/2: a trailers-only response, one HEADERS frame with END_STREAM, as gRPC defines it.
        req.stream.respond({ ":status": 200, ...headers }, { endStream: true });
      } else {
        res.writeHead(200, headers);
        res.end();
      }
    });
    return;
  }
  if (
    req.method === "POST" &&
    (contentType.startsWith("application/json") ||
      contentType.startsWith("application/proto") ||
      contentType.startsWith("application/connect+"))
  ) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "unimplemented", message }));
    return;
  }
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end("not found\n");
};

/** What the peer listener serves: the Federation service behind its own authentication, health and reflection. */
export interface PeerRoutesOptions {
  federation: Partial<ServiceImpl<typeof Federation>>;
  health: HealthRegistry;
  /** Outermost first: run for every call (metrics, error mapping, audit). */
  common: Interceptor[];
  /** Federation authentication (federation/call-auth.ts): every Federation call is verified before its handler. */
  auth: Interceptor;
}

const PEER_FILES: readonly DescFile[] = [
  file_camino_v1_federation,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

/** Registers the peer listener's services: camino.v1.Federation, health and reflection, nothing else. */
export function registerPeerRoutes(options: PeerRoutesOptions): (router: ConnectRouter) => void {
  const served = [Federation, Health, ReflectionV1, ReflectionV1alpha].map((s) => s.typeName);
  const index = new ReflectionIndex({ files: PEER_FILES, services: served });
  return (router) => {
    router.service(Federation, options.federation, { interceptors: [...options.common, options.auth] });
    router.service(Health, createHealthService(options.health), { interceptors: options.common });
    router.service(ReflectionV1, createReflectionV1(index), { interceptors: options.common });
    router.service(ReflectionV1alpha, createReflectionV1alpha(index), { interceptors: options.common });
  };
}
