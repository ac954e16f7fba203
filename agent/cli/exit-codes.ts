/**
 * Exit codes a script can trust, and the mapping from errors to them. Documented in the README.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { CaminoError } from "../errors.js";

export const EXIT = {
  /** Done. */
  OK: 0,
  /** Something failed that is none of the below (a bug, an internal error). */
  ERROR: 1,
  /** The command line was wrong (unknown flag, missing argument). */
  USAGE: 2,
  /** The input was invalid or does not fit the domain's state (intent, config, key file, an unknown or
   * taken name, a repository still in use): fix the input or the state. */
  INVALID: 3,
  /** The server refused: missing/invalid token or missing scope. */
  REFUSED: 4,
  /** The server could not be reached, or did not answer in time. */
  UNREACHABLE: 5,
  /** The server answered that it is not serving (health). */
  NOT_SERVING: 6,
  /** The server does not implement the method yet. */
  UNIMPLEMENTED: 7,
  /** A watch ended with the intent ROLLED_BACK: the run failed and its repositories were restored. */
  ROLLED_BACK: 8,
  /** A watch ended with the intent DEGRADED: deployed, but some package's workloads are not (all) available. */
  DEGRADED: 9,
  /** `intent drift` found objects that differ from their repository (kubectl diff exits 1; 1 is "failed" here). */
  DRIFT: 10,
  /** A watch was interrupted (Ctrl-C, SIGINT): 128 + 2, as shells report it. The deployment goes on. */
  INTERRUPTED: 130,
} as const;

/** A command-line mistake. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The exit code for an error, and the line to print. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.USAGE, message: `${err.message} (see --help)` };
  if (err instanceof ConnectError) {
    const text = `${err.rawMessage} (${Code[err.code] ?? err.code})`;
    switch (err.code) {
      case Code.InvalidArgument:
      case Code.FailedPrecondition:
      case Code.AlreadyExists:
      case Code.NotFound:
        return { code: EXIT.INVALID, message: text };
      case Code.Unauthenticated:
      case Code.PermissionDenied:
        return { code: EXIT.REFUSED, message: text };
      case Code.Unavailable:
      case Code.DeadlineExceeded:
        return { code: EXIT.UNREACHABLE, message: text };
      case Code.Unimplemented:
        return { code: EXIT.UNIMPLEMENTED, message: text };
      default:
        return { code: EXIT.ERROR, message: text };
    }
  }
  if (err instanceof CaminoError) {
    const code =
      err.kind === "invalid" || err.kind === "precondition" || err.kind === "already-exists"
        ? EXIT.INVALID
        : err.kind === "unavailable"
          ? EXIT.UNREACHABLE
          : EXIT.ERROR;
    return { code, message: err.message };
  }
  return { code: EXIT.ERROR, message: err instanceof Error ? err.message : String(err) };
}
