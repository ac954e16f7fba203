/**
 * Records audited calls in the audit log, with the outcome the caller got. Put it OUTERMOST on a service (before
 * metrics, error mapping and authentication) so that it sees every refusal, after errors became gRPC statuses:
 * routes.ts does so for DomainManager. It records which methods it is given (northbound: the writes), or every
 * method of their service (federation: `all: true`).
 *
 * The record is built from an allow-list: the caller from verified context values ({@link AuditCallerOf}), the
 * target from one named field per method ({@link audited}), the outcome from the status code and the CAMINO error
 * code — never from the request as a whole, and never an error message (messages may quote input).
 */
import type { DescMessage, DescService, MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextKey,
  type ContextValues,
  type Interceptor,
  type StreamResponse,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import { Federation } from "../../gen/camino/v1/federation_pb.js";
import { findError } from "../errors.js";
import type { AuditCaller } from "../audit/audit-record.js";
import type { AuditLog } from "../audit/audit-log.js";
import { principalKey } from "./auth-interceptor.js";
import { codeOfKind } from "./error-map.js";

/** Who is calling, from the context values the authentication interceptor set; undefined when nobody was verified. */
export type AuditCallerOf = (values: ContextValues) => AuditCaller | undefined;

/** What a federation server interceptor may put under its context key once a peer's token is verified. */
export interface VerifiedPeer {
  /** The peer's domain id (the token's `iss`). */
  domain: string;
}

/** The northbound caller: the {@link principalKey} the auth interceptor sets, as a user. */
export const northboundCaller: AuditCallerOf = (values) => {
  const p = values.get(principalKey);
  return p ? { kind: "user", subject: p.subject, issuer: p.issuer } : undefined;
};

/**
 * The federation caller: the verified peer under `key`, as a peer.
 * @example auditInterceptor({ log, caller: peerCallerOf(verifiedPeerKey), methods: FEDERATION_AUDITED, all: true })
 */
export function peerCallerOf<P extends VerifiedPeer>(key: ContextKey<P | undefined>): AuditCallerOf {
  return (values) => {
    const peer = values.get(key);
    return peer ? { kind: "peer", domain: peer.domain } : undefined;
  };
}

/** The remote address of the call's connection, set by {@link remoteAddressValues}. */
export const remoteAddressKey = createContextKey<string | undefined>(undefined, { description: "remote address" });

/** connect-node's `contextValues` option: puts the connection's remote `host:port` under {@link remoteAddressKey}. */
export const remoteAddressValues: NonNullable<ConnectNodeAdapterOptions["contextValues"]> = (req) => {
  const values = createContextValues();
  const { remoteAddress, remotePort } = req.socket ?? {};
  if (remoteAddress) {
    const host = remoteAddress.includes(":") ? `[${remoteAddress}]` : remoteAddress;
    values.set(remoteAddressKey, remotePort === undefined ? host : `${host}:${remotePort}`);
  }
  return values;
};

/** An audited method, and how to name what a call of it is about. */
export interface AuditedMethod {
  /** "camino.v1.DomainManager/SubmitIntent". */
  readonly key: string;
  /** The target from the request, or from the response of a call that succeeded; "" for none. */
  target(request: unknown, response: unknown): string;
}

/**
 * Declares an audited method; `target` reads ONE field (a name, an id), never the whole message.
 * @example audited(DomainManager.method.terminateIntent, (req) => req.name)
 */
export function audited<I extends DescMessage, O extends DescMessage>(
  method: { readonly name: string; readonly parent: DescService; readonly input: I; readonly output: O },
  target?: (request: MessageShape<I>, response: MessageShape<O> | undefined) => string,
): AuditedMethod {
  return {
    key: `${method.parent.typeName}/${method.name}`,
    target: (req, res) =>
      target && req !== undefined ? target(req as MessageShape<I>, res as MessageShape<O> | undefined) : "",
  };
}

/** The northbound writes: intents, repositories, keys. */
export const DOMAIN_MANAGER_AUDITED: readonly AuditedMethod[] = [
  audited(DomainManager.method.submitIntent, (req) => req.intent?.metadata?.name ?? ""),
  audited(DomainManager.method.terminateIntent, (req) => req.name),
  // The repository's name only: its URL may carry user:password, and `credentials` is a secret.
  audited(DomainManager.method.registerRepository, (req) => req.repository?.name ?? ""),
  audited(DomainManager.method.deleteRepository, (req) => req.name),
  // The key id is known once the key exists: the announced next key.
  audited(DomainManager.method.rotateKeys, (_req, res) => res?.nextKeyId ?? ""),
];

/** Every federation method, with the segment a call is about. */
export const FEDERATION_AUDITED: readonly AuditedMethod[] = [
  audited(Federation.method.hello),
  audited(Federation.method.getKeys),
  audited(Federation.method.getCatalogue),
  audited(Federation.method.proposeSegment, (req) => req.segmentId),
  audited(Federation.method.commitSegment, (req) => req.segmentId),
  audited(Federation.method.abortSegment, (req) => req.segmentId),
  audited(Federation.method.terminateSegment, (req) => req.segmentId),
  audited(Federation.method.getSegment, (req) => req.segmentId),
  audited(Federation.method.watchSegment, (req) => req.segmentId),
  audited(Federation.method.queryMonitoring, (req) => req.segmentId),
];

export interface AuditInterceptorOptions {
  /** Where records go. */
  log: Pick<AuditLog, "append">;
  /** The verified caller; undefined (recorded as "unknown") when the call was refused before anyone was verified. */
  caller: AuditCallerOf;
  /** The methods to record. */
  methods: readonly AuditedMethod[];
  /**
   * Also record the methods `methods` leaves out, of the services it names (with an empty target), so a method
   * added to the service later is recorded too; other services (health, reflection) stay unrecorded, so the
   * interceptor can sit in a list shared by every service. Default false.
   */
  all?: boolean;
  /** The clock, for durations. Default `performance.now`. */
  now?: () => number;
}

/** gRPC's own names of the status codes ("PERMISSION_DENIED"), as grpc-status readers know them. */
const GRPC_NAMES: Readonly<Record<number, string>> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/**
 * The outcome of a failed call: its status code name and, when there is one, its CAMINO error code. Outermost, the
 * interceptor sees errors the error map already turned into statuses; a domain error it sees unmapped (placed inside
 * the error map by mistake) gets the status the error map would give it.
 */
function failure(err: unknown): { outcome: string; error?: string } {
  const domain = findError(err);
  const status =
    err instanceof ConnectError
      ? err.code
      : domain
        ? codeOfKind(domain.kind)
        : err instanceof Error && err.name === "AbortError"
          ? Code.Canceled
          : ConnectError.from(err).code;
  const code = domain?.code ?? (err instanceof ConnectError ? err.metadata.get("camino-error-code") : undefined);
  const outcome = GRPC_NAMES[status] ?? "UNKNOWN";
  // Only a well-formed code: the metadata could come from elsewhere.
  return code && /^ERR_[A-Z0-9_]{1,60}$/.test(code) ? { outcome, error: code } : { outcome };
}

/** Creates the interceptor. */
export function auditInterceptor(options: AuditInterceptorOptions): Interceptor {
  const methods = new Map(options.methods.map((m) => [m.key, m]));
  const services = new Set(options.methods.map((m) => m.key.slice(0, m.key.lastIndexOf("/"))));
  const now = options.now ?? (() => performance.now());
  return (next) => async (req) => {
    const key = `${req.service.typeName}/${req.method.name}`;
    const method = methods.get(key);
    if (!method && !(options.all && services.has(req.service.typeName))) return next(req);
    const started = now();
    let request: unknown;
    const record = (response: unknown, result: { outcome: string; error?: string }) => {
      let target = "";
      try {
        target = method?.target(request, response) ?? "";
      } catch {
        // A target is a convenience; the record is written without it.
      }
      options.log.append({
        caller: options.caller(req.contextValues),
        method: key,
        target,
        ...result,
        address: req.contextValues.get(remoteAddressKey),
        durationMs: now() - started,
      });
    };

    let res: UnaryResponse | StreamResponse;
    if (req.stream) {
      // A server stream's one request arrives as an iterable: keep the first message for the target.
      const input = req.message;
      const capture = async function* () {
        for await (const m of input) {
          request ??= m;
          yield m;
        }
      };
      try {
        res = await next({ ...req, message: capture() });
      } catch (err) {
        record(undefined, failure(err));
        throw err;
      }
    } else {
      request = req.message;
      try {
        res = await next(req);
      } catch (err) {
        record(undefined, failure(err));
        throw err;
      }
    }
    if (!res.stream) {
      record(res.message, { outcome: "ok" });
      return res;
    }
    // A stream is recorded once, when it ends: with its error, or ok; or as cancelled when the call's signal
    // aborts first (the client left, or the server shuts down), since a handler waiting for its next message may
    // never be asked for it again.
    let recorded = false;
    const recordOnce = (result: { outcome: string; error?: string }) => {
      if (recorded) return;
      recorded = true;
      req.signal.removeEventListener("abort", onAbort);
      record(undefined, result);
    };
    const cancelled = { outcome: GRPC_NAMES[Code.Canceled] as string };
    const onAbort = () => recordOnce(cancelled);
    if (req.signal.aborted) onAbort();
    else req.signal.addEventListener("abort", onAbort);
    const output = res.message;
    const watch = async function* () {
      let result: { outcome: string; error?: string } = cancelled;
      try {
        yield* output;
        result = { outcome: "ok" };
      } catch (err) {
        result = failure(err);
        throw err;
      } finally {
        recordOnce(result);
      }
    };
    return { ...res, message: watch() } as StreamResponse;
  };
}
