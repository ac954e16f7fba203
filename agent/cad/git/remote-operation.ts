/**
 * One network operation on a remote repository (a check, clone, fetch or push), run under its caller's signal
 * and its own deadline, and what its failures mean. An abort names the operation and the repository and keeps
 * the caller's code (ERR_DEADLINE when the deadline passed). Transport failures are classified by
 * isomorphic-git's error codes, the HTTP status and Node's system codes along the cause chain, never by
 * message text. Messages carry the URL without credentials.
 */
import type { HttpClient } from "isomorphic-git";
import { CaminoError, findError, systemCode } from "../../errors.js";
import { abortReason, anySignal, startDeadline } from "../../util/signals.js";
import { gitHttpClient } from "./http-client.js";
import { redactUrl } from "./redact-url.js";

/** The network operations of a remote, each with its own deadline. */
export type RemoteOperation = "check" | "clone" | "fetch" | "push";

/** How long each network operation of a remote may take, in milliseconds. */
export interface RemoteDeadlines {
  /** Listing the remote's branches when it is registered. Default 30 000. */
  check: number;
  /** The first clone into the data directory. Default 120 000: it brings the whole history. */
  clone: number;
  /** A fetch of new commits (on refresh, and before every commit). Default 30 000. */
  fetch: number;
  /** A push of one commit. Default 30 000. */
  push: number;
}

/** The deadlines of {@link RemoteDeadlines}, where they are filled in. */
export const DEFAULT_REMOTE_DEADLINES: Readonly<RemoteDeadlines> = Object.freeze({
  check: 30_000,
  clone: 120_000,
  fetch: 30_000,
  push: 30_000,
});

/**
 * The deadlines given, with the defaults for the rest.
 * @throws TypeError when one is not a positive number of milliseconds
 */
export function remoteDeadlines(given: Partial<RemoteDeadlines> = {}): RemoteDeadlines {
  const out = { ...DEFAULT_REMOTE_DEADLINES };
  for (const op of Object.keys(out) as RemoteOperation[]) {
    const ms = given[op];
    if (ms === undefined) continue;
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new TypeError(`deadlines.${op}: ${ms} is not a positive number of milliseconds`);
    }
    out[op] = ms;
  }
  return out;
}

const DESCRIBE: Readonly<Record<RemoteOperation, string>> = {
  check: "check of",
  clone: "clone of",
  fetch: "fetch from",
  push: "push to",
};

/**
 * Runs `fn` with an HTTP client whose requests stop when `signal` aborts or `deadlineMs` passes.
 * @throws CaminoError: the caller's code or ERR_DEADLINE when stopped, else see {@link explainRemoteError}
 * @example await remoteOperation("fetch", url, { signal, deadlineMs }, (http) => git.fetch({ fs, http, dir, url }));
 */
export async function remoteOperation<T>(
  op: RemoteOperation,
  url: string,
  options: { signal?: AbortSignal | undefined; deadlineMs: number },
  fn: (http: HttpClient) => Promise<T>,
): Promise<T> {
  const timer = startDeadline(`${DESCRIBE[op]} ${redactUrl(url)}`, options.deadlineMs);
  const limit = timer.signal;
  const signal = anySignal(options.signal, limit);
  try {
    if (signal.aborted) throw abortReason(signal);
    return await fn(gitHttpClient({ signal }));
  } catch (err) {
    if (!signal.aborted) throw explainRemoteError(err, url);
    if (signal.reason === limit.reason) {
      throw new CaminoError("ERR_DEADLINE", abortReason(limit).message, {
        cause: err,
        data: { operation: op, repository: redactUrl(url), ms: options.deadlineMs },
      });
    }
    throw stoppedError(op, url, signal, err);
  } finally {
    timer.clear();
  }
}

/**
 * The error of an operation its caller stopped (`signal` has aborted): the reason's code (ERR_CANCELLED for a
 * plain `abort()`), naming the operation and the repository, with `cause` kept.
 */
export function stoppedError(op: RemoteOperation, url: string, signal: AbortSignal, cause: unknown): CaminoError {
  const reason = abortReason(signal);
  const code = reason instanceof CaminoError ? reason.code : "ERR_CANCELLED";
  return new CaminoError(code, `${DESCRIBE[op]} ${redactUrl(url)} stopped: ${reason.message}`, {
    cause,
    data: { operation: op, repository: redactUrl(url) },
  });
}

/** The HTTP status along `err`'s cause chain (isomorphic-git's HttpError keeps it in `data.statusCode`). */
function httpStatus(err: unknown): number | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === "object" && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const status = (e as { data?: { statusCode?: unknown } }).data?.statusCode;
    if (typeof status === "number") return status;
  }
  return undefined;
}

/**
 * What a failed request to a remote means, as a CaminoError without credentials: refused credentials
 * (isomorphic-git's UserCanceledError, HTTP 401 or 403), no repository (404), another HTTP status, or a
 * transport failure named by its system code. A CaminoError already on the chain is the answer as it is.
 */
export function explainRemoteError(err: unknown, url: string): CaminoError {
  const known = findError(err);
  if (known) return known;
  const where = redactUrl(url);
  const status = httpStatus(err);
  // isomorphic-git's errors carry their class name as `code` (HttpError, UserCanceledError, …); Node's, the
  // system code (ECONNREFUSED, …). systemCode finds either, first along the chain.
  const code = systemCode(err);
  if (code === "UserCanceledError" || status === 401 || status === 403) {
    return new CaminoError("ERR_REPOSITORY_AUTH", `${where}: the credentials were refused`, { cause: err });
  }
  if (status === 404) {
    return new CaminoError("ERR_REPOSITORY_NOT_FOUND", `${where}: no repository there (HTTP 404)`, { cause: err });
  }
  if (status !== undefined) {
    return new CaminoError("ERR_REPOSITORY_UNREACHABLE", `${where}: HTTP ${status}`, { cause: err, data: { status } });
  }
  return new CaminoError("ERR_REPOSITORY_UNREACHABLE", `${where}: cannot be reached (${code ?? "error"})`, {
    cause: err,
    ...(code ? { data: { code } } : {}),
  });
}
