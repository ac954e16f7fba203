/**
 * What one audit record holds, and nothing else. A record is built field by field from values the caller of
 * {@link auditRecord} names (an allow-list), never by copying a request: a token, a credential or key material
 * has no field to land in. Strings from requests are bounded and stripped of control characters.
 */

/** Who made the call: a verified peer domain, a verified northbound user, or nobody verified (a refused call). */
export type AuditCaller =
  | { kind: "peer"; domain: string }
  | { kind: "user"; subject: string; issuer: string }
  | { kind: "unknown" };

/** One line of the audit log, as written and as read back. */
export interface AuditRecord {
  /** When the call ended, ISO 8601 UTC with milliseconds. */
  time: string;
  caller: AuditCaller;
  /** The full method, e.g. "camino.v1.DomainManager/SubmitIntent". */
  method: string;
  /** What the call is about: an intent, repository, key id or segment; "" when the method has none. */
  target: string;
  /** "ok", or the gRPC status code name the caller got, e.g. "PERMISSION_DENIED". */
  outcome: string;
  /** The CAMINO error code of a failed call (e.g. "ERR_SCOPE_MISSING"), when there is one. */
  error?: string;
  /** The remote address of the connection, when the server knows it. */
  address?: string;
  /** How long the call took, in milliseconds. */
  durationMs?: number;
}

/** The fields of a record before it is bounded; `time` defaults to now. */
export interface AuditRecordInput {
  time?: Date;
  caller: AuditCaller | undefined;
  method: string;
  target?: string;
  outcome: string;
  error?: string;
  address?: string;
  durationMs?: number;
}

/** Longest kept string field (a DNS name is at most 253 characters); longer values are cut and marked with "…". */
export const MAX_FIELD_CHARS = 256;

/** Bounds a string from a request: no control characters, at most {@link MAX_FIELD_CHARS}. */
export function boundField(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed.
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
  return clean.length > MAX_FIELD_CHARS ? `${clean.slice(0, MAX_FIELD_CHARS - 1)}…` : clean;
}

function boundCaller(caller: AuditCaller | undefined): AuditCaller {
  switch (caller?.kind) {
    case "peer":
      return { kind: "peer", domain: boundField(caller.domain) };
    case "user":
      return { kind: "user", subject: boundField(caller.subject), issuer: boundField(caller.issuer) };
    default:
      return { kind: "unknown" };
  }
}

/** Builds a record from its allowed fields only. */
export function auditRecord(input: AuditRecordInput): AuditRecord {
  const out: AuditRecord = {
    time: (input.time ?? new Date()).toISOString(),
    caller: boundCaller(input.caller),
    method: boundField(input.method),
    target: boundField(input.target ?? ""),
    outcome: boundField(input.outcome),
  };
  if (input.error) out.error = boundField(input.error);
  if (input.address) out.address = boundField(input.address);
  if (input.durationMs !== undefined && Number.isFinite(input.durationMs))
    out.durationMs = Math.max(0, Math.round(input.durationMs));
  return out;
}

/** Reads one line back; undefined for a line that is not a record (a torn last line, say). */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== "object") return undefined;
  const r = v as Partial<AuditRecord>;
  if (typeof r.time !== "string" || typeof r.method !== "string" || typeof r.outcome !== "string") return undefined;
  if (r.caller === null || typeof r.caller !== "object" || typeof r.caller.kind !== "string") return undefined;
  return { ...r, target: typeof r.target === "string" ? r.target : "" } as AuditRecord;
}

/** The caller as one short word for a table: "peer:domain-y", "alice@domain-x", "unknown". */
export function describeCaller(caller: AuditCaller): string {
  switch (caller.kind) {
    case "peer":
      return `peer:${caller.domain}`;
    case "user":
      return `${caller.subject}@${caller.issuer}`;
    default:
      return "unknown";
  }
}
