/**
 * Domain errors. Each has a stable string `code` that callers and tests rely on, an optional `cause`,
 * structured `data`, and a `kind` that the RPC edge maps to a gRPC status code in one place
 * (agent/rpc/error-map.ts). Messages name the field and the problem; they never carry secrets.
 */

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
  | "internal";

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
  readonly code: string;
  readonly kind: ErrorKind;
  readonly data: Record<string, unknown>;

  constructor(code: string, kind: ErrorKind, message: string, options: CaminoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.data = options.data ?? {};
  }

  toJSON(): { code: string; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** One problem found while validating a document, at a field path such as `spec.packages[1].after[0]`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** A document (intent, config) failed validation; `issues` lists every problem found, in document order. */
export class ValidationError extends CaminoError {
  readonly issues: readonly FieldIssue[];

  constructor(code: string, what: string, issues: readonly FieldIssue[], options: CaminoErrorOptions = {}) {
    const shown = issues.slice(0, 10).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : "";
    super(code, "invalid", `invalid ${what}: ${shown.join("; ")}${more}`, {
      ...options,
      data: { ...options.data, issues: issues.map((i) => ({ ...i })) },
    });
    this.issues = issues;
  }
}

/** The intent is invalid (`ERR_INTENT_INVALID`), or its `after` graph has a cycle (`ERR_INTENT_CYCLE`). */
export class IntentError extends ValidationError {
  constructor(issues: readonly FieldIssue[], code = "ERR_INTENT_INVALID") {
    super(code, "intent", issues);
  }
}

/** The agent's configuration is invalid (`ERR_CONFIG_INVALID`). */
export class ConfigError extends ValidationError {
  constructor(issues: readonly FieldIssue[], options: CaminoErrorOptions = {}) {
    super("ERR_CONFIG_INVALID", "configuration", issues, options);
  }
}

/** A caller's credentials were missing or not acceptable (`ERR_TOKEN_*`). */
export class AuthenticationError extends CaminoError {
  constructor(code: string, message: string, options: CaminoErrorOptions = {}) {
    super(code, "unauthenticated", message, options);
  }
}

/** An authenticated caller lacks the scope a method needs (`ERR_SCOPE_MISSING`). */
export class PermissionError extends CaminoError {
  constructor(message: string, options: CaminoErrorOptions = {}) {
    super("ERR_SCOPE_MISSING", "permission", message, options);
  }
}
