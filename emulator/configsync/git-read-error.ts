/**
 * The one error the emulator's git reader throws: a stable `code` to branch on, structured `data`, and a
 * message that names the repository and object but never a credential (URLs are given without user info).
 */

/** What went wrong while reading a repository. */
export type GitReadErrorCode =
  /** An object whose content does not hash to its id, or that does not parse as its type says. */
  | "ERR_GIT_OBJECT_CORRUPT"
  /** An object, ref or revision that is not in the repository. */
  | "ERR_GIT_OBJECT_MISSING"
  /** The path is not a git repository (yet). */
  | "ERR_GIT_NOT_A_REPOSITORY"
  /** A remote refused the credentials given (or wanted some and none were given). */
  | "ERR_GIT_AUTH"
  /** A git command exited with an error. */
  | "ERR_GIT_COMMAND"
  /** A git command or object read took longer than its bound and was killed. */
  | "ERR_GIT_TIMEOUT"
  /** The reader was closed while the operation was under way. */
  | "ERR_GIT_CLOSED";

/** A failure to read a repository, with its {@link GitReadErrorCode}. */
export class GitReadError extends Error {
  override readonly name = "GitReadError";
  readonly code: GitReadErrorCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(
    code: GitReadErrorCode,
    message: string,
    options: { data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }

  toJSON(): { name: string; code: GitReadErrorCode; message: string; data: Readonly<Record<string, unknown>> } {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }
}
