/**
 * What went wrong talking to an edge, classified by structure, never by message text: an HTTP status from the
 * client's ApiException (with the Kubernetes `Status` body it carries), or a system error code along the
 * `cause` chain (a refused connection, a reset, an unresolvable host, a certificate that does not verify).
 * A deadline and a caller's abort are told apart by the transport (edge-transport.ts), which knows which
 * signal fired.
 */
import { ApiException } from "@kubernetes/client-node";
import { CaminoError, systemCode } from "../errors.js";

/** The codes an {@link EdgeError} carries. */
export type EdgeErrorCode = "ERR_EDGE_UNREACHABLE" | "ERR_EDGE_TIMEOUT" | "ERR_EDGE_API";

/**
 * An edge that could not be reached (`ERR_EDGE_UNREACHABLE`), did not answer in time (`ERR_EDGE_TIMEOUT`), or
 * answered and refused the request (`ERR_EDGE_API`). `data` holds the edge's name and the reason.
 */
export class EdgeError extends CaminoError {
  constructor(code: EdgeErrorCode, edge: string, reason: string, cause?: unknown) {
    super(code, `edge ${edge}: ${reason}`, {
      cause,
      data: { edge, reason },
    });
  }
}

/** One cause of a refusal, as a Kubernetes `Status` gives it. */
export interface ApiStatusCause {
  reason?: string;
  field?: string;
  message?: string;
}

/** The Kubernetes `Status` an API error carries (the fields CAMINO reads). */
export interface ApiStatus {
  /** The HTTP code. */
  code?: number;
  /** A machine-readable reason: `NotFound`, `Forbidden`, `Invalid`, … */
  reason?: string;
  message?: string;
  /** The object the status is about, and the causes by field. */
  details?: { name?: string; group?: string; kind?: string; causes?: ApiStatusCause[] };
}

/** The first ApiException along `err`'s cause chain: the edge answered with an HTTP error. */
export function apiExceptionOf(err: unknown): ApiException<unknown> | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof ApiException) return e as ApiException<unknown>;
  }
  return undefined;
}

/** The HTTP code the edge answered with, anywhere along `err`'s cause chain. */
export function httpCodeOf(err: unknown): number | undefined {
  return apiExceptionOf(err)?.code;
}

/** The `Status` body of the edge's HTTP error along `err`'s cause chain, when it sent one. */
export function apiStatusOf(err: unknown): ApiStatus | undefined {
  const body = apiExceptionOf(err)?.body;
  if (typeof body !== "string") return undefined;
  try {
    const s = JSON.parse(body) as unknown;
    return s && typeof s === "object" && !Array.isArray(s) ? (s as ApiStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** Certificate problems, by the codes OpenSSL and Node give them. */
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** What each transport failure means, worded for a reader. */
const SYSTEM_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset (ECONNRESET)",
  ETIMEDOUT: "the connection timed out (ETIMEDOUT)",
  EHOSTUNREACH: "the host is unreachable (EHOSTUNREACH)",
  ENETUNREACH: "the network is unreachable (ENETUNREACH)",
  ENOTFOUND: "the host name does not resolve (ENOTFOUND)",
  EAI_AGAIN: "the host name does not resolve now (EAI_AGAIN)",
  EPIPE: "the connection was closed while sending (EPIPE)",
};

/**
 * The TLS code along `err`'s cause chain. Node's own `ERR_TLS_*` codes are looked for here because
 * {@link systemCode} passes over `ERR_` codes.
 */
function tlsCodeOf(err: unknown): string | undefined {
  const code = systemCode(err);
  if (code && (code.startsWith("CERT_") || TLS_CODES.has(code))) return code;
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === "object" && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string" && TLS_CODES.has(c)) return c;
  }
  return undefined;
}

/**
 * Whether a 403 is the server refusing this request about an object (a namespace being terminated, a kind
 * the caller may not write: the Status names the object or gives causes), rather than refusing who we are
 * (a bare 403 that names nothing).
 */
function aboutAnObject(status: ApiStatus | undefined): boolean {
  const d = status?.details;
  return Boolean(d && (d.name || d.kind || (d.causes?.length ?? 0) > 0));
}

/**
 * Turns a failed call into an {@link EdgeError} naming the edge, the call and the reason. An answer that
 * refuses the request is `ERR_EDGE_API` (the edge is up); refused credentials and transport failures are
 * `ERR_EDGE_UNREACHABLE`.
 * @param what the call, as a reader would name it ("list nodes")
 */
export function explainEdgeFailure(edge: string, what: string, err: unknown): EdgeError {
  if (err instanceof EdgeError) return err;
  const api = apiExceptionOf(err);
  if (api) {
    const status = apiStatusOf(api);
    if (api.code === 401 || (api.code === 403 && !aboutAnObject(status)))
      return new EdgeError(
        "ERR_EDGE_UNREACHABLE",
        edge,
        `${what}: the edge refused the credentials (HTTP ${api.code})`,
        err,
      );
    return new EdgeError("ERR_EDGE_API", edge, `${what}: ${status?.message || `HTTP ${api.code}`}`, err);
  }
  const tls = tlsCodeOf(err);
  if (tls) return new EdgeError("ERR_EDGE_UNREACHABLE", edge, `${what}: TLS verification failed (${tls})`, err);
  const code = systemCode(err);
  const reason = code ? (SYSTEM_REASONS[code] ?? `the connection failed (${code})`) : undefined;
  if (reason) return new EdgeError("ERR_EDGE_UNREACHABLE", edge, `${what}: ${reason}`, err);
  const message = err instanceof Error ? err.message : String(err);
  return new EdgeError("ERR_EDGE_UNREACHABLE", edge, `${what}: ${message}`, err);
}
