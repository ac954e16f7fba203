/**
 * API errors as the Kubernetes API server returns them: a `Status` object with the HTTP code, a reason, and
 * `details` (name, group, kind, causes[{reason, message, field}]) — what kubectl turns into its messages.
 */

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** An error that the server answers with a Status. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status["details"] = this.details;
    return status;
  }
}

/** `kind` as the API names it in messages: the resource plural with its group ("deployments.apps"). */
export interface Described {
  group: string;
  plural: string;
  kind: string;
}

const resource = (t: Described) => (t.group ? `${t.plural}.${t.group}` : t.plural);

export const notFound = (t: Described, name: string) =>
  new ApiError(404, "NotFound", `${resource(t)} "${name}" not found`, { name, group: t.group, kind: t.plural });
export const alreadyExists = (t: Described, name: string) =>
  new ApiError(409, "AlreadyExists", `${resource(t)} "${name}" already exists`, {
    name,
    group: t.group,
    kind: t.plural,
  });
export const conflict = (t: Described, name: string, why: string) =>
  new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${resource(t)} "${name}": ${why}`, {
    name,
    group: t.group,
    kind: t.plural,
  });
export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);
export const methodNotAllowed = (message: string) => new ApiError(405, "MethodNotAllowed", message);
export const unsupportedMediaType = (type: string) =>
  new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`,
  );
export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");
export const forbidden = (message: string, details?: StatusDetails) => new ApiError(403, "Forbidden", message, details);
export const gone = (message: string) => new ApiError(410, "Expired", message);

/** 422 Invalid, with one cause per field, worded as the API server words them. */
export function invalid(t: Described, name: string, causes: StatusCause[]): ApiError {
  const summary =
    causes.length === 1
      ? `${(causes[0] as StatusCause).field}: ${(causes[0] as StatusCause).message}`
      : `[${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}]`;
  return new ApiError(422, "Invalid", `${t.kind} "${name}" is invalid: ${summary}`, {
    name,
    group: t.group,
    kind: t.kind,
    causes,
  });
}

/** A cause for a field whose value is not allowed: `field: Invalid value: <value>: <why>`. */
export function invalidValue(field: string, value: unknown, why: string): StatusCause {
  return { reason: "FieldValueInvalid", field, message: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}
export const requiredValue = (field: string): StatusCause => ({
  reason: "FieldValueRequired",
  field,
  message: "Required value",
});
export const duplicateValue = (field: string, value: unknown): StatusCause => ({
  reason: "FieldValueDuplicate",
  field,
  message: `Duplicate value: ${JSON.stringify(value)}`,
});
export const unknownField = (field: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `unknown field "${field}"`,
});
