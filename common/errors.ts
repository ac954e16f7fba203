/**
 * Domain errors. Every error code CAMINO reports is declared once, in {@link ERROR_CODES}, with what it means to
 * a caller (its {@link ErrorKind}); a throw site names the code, and the type checker refuses a code that is not
 * in the table, so codes cannot drift apart. The RPC edge maps the kind to a gRPC status code in one place
 * (agent/rpc/error-map.ts). Errors are classified by their code along the `cause` chain ({@link findError}),
 * never by their message text. Messages name the field and the problem; they never carry secrets.
 */
import type { FieldIssue } from "./field-issue.js";

/** What an error means to a caller; the RPC edge maps it to a status code. */
export type ErrorKind =
  | "invalid"
  | "not-found"
  | "already-exists"
  | "precondition"
  | "unauthenticated"
  | "permission"
  | "unavailable"
  | "deadline"
  | "cancelled"
  | "exhausted"
  | "internal";

/** Every error code, and its kind. Add a code here, once; throw sites then name it. */
export const ERROR_CODES = {
  // Input
  ERR_INTENT_INVALID: "invalid",
  ERR_INTENT_CYCLE: "invalid",
  ERR_REQUEST_INVALID: "invalid",
  ERR_CONFIG_INVALID: "invalid",
  ERR_INPUT_UNREADABLE: "invalid",
  ERR_KEY_UNREADABLE: "invalid",
  ERR_KEY_EXISTS: "already-exists",
  ERR_KEY_ROTATION_PENDING: "precondition",
  // Configuration as data
  ERR_BLUEPRINT_INVALID: "invalid",
  ERR_BLUEPRINT_NOT_FOUND: "not-found",
  ERR_REVISION_NOT_FOUND: "not-found",
  ERR_HYDRATION: "invalid",
  // Network Manager
  ERR_NETWORK_HYDRATION: "invalid",
  ERR_SEGMENT_OFFER_INVALID: "invalid",
  ERR_REPOSITORY_INVALID: "invalid",
  ERR_REPOSITORY_EXISTS: "already-exists",
  ERR_REPOSITORY_NOT_FOUND: "not-found",
  ERR_REPOSITORY_IN_USE: "precondition",
  ERR_REPOSITORY_UNREACHABLE: "unavailable",
  ERR_REPOSITORY_AUTH: "precondition",
  ERR_REPOSITORY_BRANCH: "precondition",
  ERR_REPOSITORY_BUSY: "unavailable",
  ERR_REPOSITORY_PUSH_REFUSED: "unavailable",
  ERR_REF_CONFLICT: "unavailable",
  ERR_REF_LOCKED: "unavailable",
  // Edges
  ERR_EDGE_UNREACHABLE: "unavailable",
  ERR_EDGE_TIMEOUT: "unavailable",
  ERR_EDGE_API: "precondition",
  ERR_PREREQUISITE_KIND: "invalid",
  ERR_ROOTSYNC_NOT_WRITTEN: "unavailable",
  // Lifecycle
  ERR_NO_EDGE: "precondition",
  ERR_NO_CHAIN_BLUEPRINT: "precondition",
  ERR_PLACEMENT_UNAVAILABLE: "precondition",
  ERR_DEPLOYMENT_NOT_FOUND: "not-found",
  ERR_DEPLOYMENT_IN_PROGRESS: "precondition",
  /** Other live intents rely on the one to terminate (a prerequisite it provides); force overrides. */
  ERR_INTENT_DEPENDANTS: "precondition",
  ERR_PAGE_TOKEN: "invalid",
  // Authentication and authorisation
  ERR_TOKEN_MISSING: "unauthenticated",
  ERR_TOKEN_MALFORMED: "unauthenticated",
  ERR_TOKEN_EXPIRED: "unauthenticated",
  ERR_TOKEN_AUDIENCE: "unauthenticated",
  ERR_TOKEN_CLAIM: "unauthenticated",
  ERR_TOKEN_ALG: "unauthenticated",
  ERR_TOKEN_SIGNATURE: "unauthenticated",
  ERR_TOKEN_ISSUER: "unauthenticated",
  ERR_TOKEN_ISSUER_KEYS: "unauthenticated",
  ERR_TOKEN_TYPE: "unauthenticated",
  ERR_TOKEN_LIFETIME: "unauthenticated",
  ERR_TOKEN_INVALID: "unauthenticated",
  ERR_TOKEN_HEADER: "unauthenticated",
  ERR_SCOPE_MISSING: "permission",
  // Federation: a peer's call refused (every ERR_PEER_TOKEN_* and request check is UNAUTHENTICATED)
  ERR_PEER_TOKEN_MISSING: "unauthenticated",
  ERR_PEER_TOKEN_TOO_LARGE: "unauthenticated",
  ERR_PEER_TOKEN_MALFORMED: "unauthenticated",
  ERR_PEER_TOKEN_HEADER: "unauthenticated",
  ERR_PEER_TOKEN_TYPE: "unauthenticated",
  ERR_PEER_TOKEN_SIGNATURE: "unauthenticated",
  ERR_PEER_TOKEN_KEY_UNKNOWN: "unauthenticated",
  ERR_PEER_TOKEN_EXPIRED: "unauthenticated",
  ERR_PEER_TOKEN_CLAIM: "unauthenticated",
  ERR_PEER_TOKEN_LIFETIME: "unauthenticated",
  ERR_PEER_TOKEN_AUDIENCE: "unauthenticated",
  ERR_PEER_TOKEN_REPLAYED: "unauthenticated",
  ERR_PEER_UNTRUSTED: "unauthenticated",
  ERR_PEER_REQUEST_DIGEST: "unauthenticated",
  ERR_PEER_REQUEST_UNKNOWN_FIELDS: "unauthenticated",
  ERR_PEER_RATE_LIMITED: "exhausted",
  ERR_PEER_DENIED: "permission",
  // Federation: calling a peer, and its keys
  ERR_PEER_NOT_FOUND: "not-found",
  ERR_PEER_UNREACHABLE: "unavailable",
  ERR_PEER_INCOMPATIBLE: "precondition",
  ERR_PEER_KEYS_INVALID: "invalid",
  ERR_ANNOUNCEMENT_INVALID: "invalid",
  // Segments, on the peer's side
  ERR_SEGMENT_NOT_FOUND: "not-found",
  ERR_SEGMENT_LEASE_EXPIRED: "precondition",
  ERR_SEGMENT_STALE_GENERATION: "precondition",
  ERR_SEGMENT_CONFLICT: "precondition",
  /** The peer cannot run the segment: no edge of its fits (RESOURCE_EXHAUSTED, with every reason). */
  ERR_SEGMENT_NO_ROOM: "exhausted",
  /** The proposal is malformed (INVALID_ARGUMENT, naming the field). */
  ERR_SEGMENT_INVALID: "invalid",
  /** The origin's view: the peer refused the segment (its reason follows). */
  ERR_SEGMENT_REFUSED: "precondition",
  /** A committed segment whose origin has not said it ended: only `--force` removes it. */
  ERR_SEGMENT_COMMITTED: "precondition",
  // Monitoring
  ERR_MONITORING_UNAVAILABLE: "unavailable",
  // The process
  ERR_LISTEN: "unavailable",
  ERR_ADDRESS_IN_USE: "unavailable",
  ERR_SHUTDOWN: "unavailable",
  ERR_DEADLINE: "deadline",
  ERR_CANCELLED: "cancelled",
  ERR_FAILPOINT: "internal",
  /** The deployment journal has a record the agent cannot read: it refuses to start (camino recover). */
  ERR_JOURNAL_UNREADABLE: "internal",
  ERR_BAD_RESPONSE: "internal",
} as const satisfies Record<string, ErrorKind>;

/** A code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options shared by every {@link CaminoError}. */
export interface CaminoErrorOptions {
  /** The underlying error, kept for logs; never sent to callers. */
  cause?: unknown;
  /** Structured details (field paths, names) safe to send to callers. */
  data?: Record<string, unknown>;
}

/** Base class of all CAMINO domain errors. */
export class CaminoError extends Error {
  /** A stable identifier such as `ERR_INTENT_INVALID`. */
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CaminoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = ERROR_CODES[code];
    this.data = options.data ?? {};
  }

  toJSON(): { code: string; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/**
 * The first CaminoError along `err`'s cause chain whose code is one of `codes` (any code when none is given).
 * @example if (findError(err, "ERR_EDGE_API")) … // the edge answered, and refused
 */
export function findError(err: unknown, ...codes: ErrorCode[]): CaminoError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof CaminoError && (codes.length === 0 || codes.includes(e.code))) return e;
  }
  return undefined;
}

/**
 * The first value along `err`'s cause chain with a string `code` property, e.g. Node's system errors
 * (`ECONNREFUSED`) wrapped by fetch or a client library. For classifying transport failures by code.
 */
export function systemCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === "object" && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("ERR_")) return code;
    const errors = (e as { errors?: unknown }).errors;
    // AggregateError (happy eyeballs: one error per address tried).
    if (Array.isArray(errors)) for (const x of errors) if (typeof x?.code === "string") return x.code as string;
  }
  return undefined;
}

export type { FieldIssue };

/** A document (intent, config) failed validation; `issues` lists every problem found, in document order. */
export class ValidationError extends CaminoError {
  readonly issues: readonly FieldIssue[];

  constructor(code: ErrorCode, what: string, issues: readonly FieldIssue[], options: CaminoErrorOptions = {}) {
    const shown = issues.slice(0, 10).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : "";
    super(code, `invalid ${what}: ${shown.join("; ")}${more}`, {
      ...options,
      data: { ...options.data, issues: issues.map((i) => ({ ...i })) },
    });
    this.issues = issues;
  }
}

/** The intent is invalid (`ERR_INTENT_INVALID`), or its `after` graph has a cycle (`ERR_INTENT_CYCLE`). */
export class IntentError extends ValidationError {
  constructor(issues: readonly FieldIssue[], code: "ERR_INTENT_INVALID" | "ERR_INTENT_CYCLE" = "ERR_INTENT_INVALID") {
    super(code, "intent", issues);
  }
}

/** A request's own fields (names, page sizes, page tokens) are not acceptable (`ERR_REQUEST_INVALID`, `ERR_PAGE_TOKEN`). */
export class RequestError extends ValidationError {
  constructor(issues: readonly FieldIssue[], code: "ERR_REQUEST_INVALID" | "ERR_PAGE_TOKEN" = "ERR_REQUEST_INVALID") {
    super(code, "request", issues);
  }
}

/** The agent's configuration is invalid (`ERR_CONFIG_INVALID`). */
export class ConfigError extends ValidationError {
  constructor(issues: readonly FieldIssue[], options: CaminoErrorOptions = {}) {
    super("ERR_CONFIG_INVALID", "configuration", issues, options);
  }
}

/** A caller's credentials were missing or not acceptable (`ERR_TOKEN_*`). */
export class AuthenticationError extends CaminoError {}

/** An authenticated caller lacks the scope a method needs (`ERR_SCOPE_MISSING`). */
export class PermissionError extends CaminoError {
  constructor(message: string, options: CaminoErrorOptions = {}) {
    super("ERR_SCOPE_MISSING", message, options);
  }
}
