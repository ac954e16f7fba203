/**
 * A remote git repository over smart HTTP(S) with token or basic auth (GitLab, Gitea, any smart-HTTP server),
 * kept as a local clone in the agent's data directory. Reads use the clone (refresh first with `fetch`).
 * A commit is fetch → re-apply the change on the remote head → push; when another writer pushed in between
 * (non-fast-forward), it fetches and re-applies again, within a bounded budget. Changes are by path, so
 * re-applying them on a newer head is the rebase. Every network operation runs under the caller's signal and
 * its own deadline ({@link RemoteDeadlines}), so a server that never answers cannot hold a deployment.
 */
import * as fs from "node:fs";
import git, { type ServerRef } from "isomorphic-git";
import { CaminoError } from "../../errors.js";
import { redactUrl } from "./redact-url.js";
import {
  remoteDeadlines,
  remoteOperation,
  stoppedError,
  type RemoteDeadlines,
  type RemoteOperation,
} from "./remote-operation.js";
import {
  LocalGitRepository,
  type ChangeSet,
  type CommitResult,
  type GitRepository,
  type OperationOptions,
} from "./repository.js";

export { redactUrl } from "./redact-url.js";
export { DEFAULT_REMOTE_DEADLINES, type RemoteDeadlines } from "./remote-operation.js";

/** Credentials for a remote: a token (sent as the password, user "oauth2") or "user:password". */
export interface GitCredentials {
  username: string;
  password: string;
}

/** Parses the credentials a user gives: `user:password`, or a bare token. */
export function parseCredentials(text: string): GitCredentials {
  const i = text.indexOf(":");
  return i > 0 ? { username: text.slice(0, i), password: text.slice(i + 1) } : { username: "oauth2", password: text };
}

export interface RemoteRepositoryOptions {
  url: string;
  branch?: string;
  /** Where the local clone lives. */
  dir: string;
  credentials?: GitCredentials;
  /** Push attempts before giving up on a busy remote. Default 5. */
  maxAttempts?: number;
  /** How long each clone, fetch and push may take; defaults in {@link DEFAULT_REMOTE_DEADLINES}. */
  deadlines?: Partial<RemoteDeadlines>;
  author?: { name: string; email: string };
  now?: () => Date;
}

/** Options of {@link checkRemote}. */
export interface CheckRemoteOptions extends OperationOptions {
  /** The check's deadline is `deadlines.check`; defaults in {@link DEFAULT_REMOTE_DEADLINES}. */
  deadlines?: Partial<RemoteDeadlines>;
}

/** Credentials go in the Authorization header through isomorphic-git's callbacks, never into a URL. */
function auth(credentials: GitCredentials | undefined) {
  return {
    onAuth: () => (credentials ? { username: credentials.username, password: credentials.password } : { cancel: true }),
    // A refused credential is final: do not let isomorphic-git ask again in a loop.
    onAuthFailure: () => ({ cancel: true }),
  };
}

/**
 * Checks a remote before it is registered: reachable, credentials accepted, branch present.
 * @returns the branch's head commit
 */
export async function checkRemote(
  url: string,
  branch: string,
  credentials?: GitCredentials,
  options: CheckRemoteOptions = {},
): Promise<string> {
  const deadlineMs = remoteDeadlines(options.deadlines).check;
  const refs: ServerRef[] = await remoteOperation("check", url, { signal: options.signal, deadlineMs }, (http) =>
    git.listServerRefs({ http, url, prefix: `refs/heads/${branch}`, ...auth(credentials) }),
  );
  const head = refs.find((r) => r.ref === `refs/heads/${branch}`);
  if (!head) throw new CaminoError("ERR_REPOSITORY_BRANCH", `${redactUrl(url)}: branch ${branch} does not exist`);
  return head.oid;
}

/** Why the server did not take a push, and whether that was a race with another writer. */
interface Refusal {
  reason: string;
  /** The branch moved under the push (someone else's push came first): worth re-applying on the newer head. */
  raced: boolean;
}

/**
 * git's receive-pack status tokens for a ref another writer moved or locked first ("ng <ref> <token>"); they
 * are fixed protocol values, not prose. Any other token (a hook, a protected branch) is the server's decision.
 */
const RACE_TOKENS = new Set(["failed to update ref", "failed to lock"]);

/** A refused push, from isomorphic-git's error codes: PushRejectedError (checked here) or GitPushError (the server's). */
function refusal(err: unknown, ref: string): Refusal | undefined {
  const e = err as {
    code?: unknown;
    data?: { reason?: string; result?: { refs?: Record<string, { error?: string }> } };
  };
  if (e.code === "PushRejectedError") {
    const reason = e.data?.reason ?? "not-fast-forward";
    return { reason, raced: reason === "not-fast-forward" };
  }
  if (e.code === "GitPushError") {
    const reason = e.data?.result?.refs?.[ref]?.error ?? "refused";
    return { reason, raced: RACE_TOKENS.has(reason) };
  }
  return undefined;
}

export class RemoteGitRepository implements GitRepository {
  readonly url: string;
  readonly branch: string;
  readonly #local: LocalGitRepository;
  readonly #credentials: GitCredentials | undefined;
  readonly #maxAttempts: number;
  readonly #deadlines: RemoteDeadlines;

  constructor(options: RemoteRepositoryOptions) {
    this.url = options.url;
    this.branch = options.branch ?? "main";
    this.#credentials = options.credentials;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#deadlines = remoteDeadlines(options.deadlines);
    this.#local = new LocalGitRepository({
      dir: options.dir,
      branch: this.branch,
      ...(options.author ? { author: options.author } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Resolves once the local copy's background pack merges are done. */
  settled(): Promise<void> {
    return this.#local.settled();
  }

  /**
   * Clones (first time) or fetches, and moves the local branch to the remote's head. Queued with commits, so a
   * refresh never moves the branch between a commit and its push.
   * @throws CaminoError: ERR_DEADLINE, or the caller's code when `signal` aborts; ERR_REPOSITORY_* when the
   *   remote cannot be reached or refuses
   */
  fetch(options: OperationOptions = {}): Promise<string | undefined> {
    return this.#exclusive("fetch", options.signal, () => this.#fetchNow(options.signal));
  }

  /** The local clone's queue, with a caller that gives up while queued told which operation it was. */
  #exclusive<T>(op: RemoteOperation, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (!signal) return this.#local.exclusive(fn);
    let started = false;
    const run = () => {
      started = true;
      return fn();
    };
    return this.#local.exclusive(run, signal).catch((err: unknown) => {
      throw started ? err : stoppedError(op, this.url, signal, err);
    });
  }

  async #fetchNow(signal: AbortSignal | undefined): Promise<string | undefined> {
    const cloned = fs.existsSync(`${this.#local.gitdir}/HEAD`);
    const op = cloned ? "fetch" : "clone";
    await remoteOperation(op, this.url, { signal, deadlineMs: this.#deadlines[op] }, async (http) => {
      if (cloned) {
        // The URL is always given: the clone's own config is never trusted to say where the remote is.
        await git.fetch({
          fs,
          http,
          dir: this.#local.dir,
          url: this.url,
          remote: "origin",
          ref: this.branch,
          singleBranch: true,
          tags: true,
          prune: true,
          ...auth(this.#credentials),
        });
      } else {
        // A clone that fails removes what it wrote, so the next try clones again.
        await git.clone({
          fs,
          http,
          dir: this.#local.dir,
          url: this.url,
          ref: this.branch,
          singleBranch: true,
          noCheckout: true,
          ...auth(this.#credentials),
        });
      }
    });
    const remoteHead = await git
      .resolveRef({ fs, gitdir: this.#local.gitdir, ref: `refs/remotes/origin/${this.branch}` })
      .catch(() => undefined);
    if (remoteHead) await this.#local.setHead(remoteHead);
    return remoteHead;
  }

  head(): Promise<string | undefined> {
    return this.#local.head();
  }
  resolve(rev: string): Promise<string> {
    return this.#local.resolve(rev);
  }
  tags(): Promise<{ tag: string; commit: string }[]> {
    return this.#local.tags();
  }
  listFiles(commit?: string, prefix?: string): Promise<Map<string, string>> {
    return this.#local.listFiles(commit, prefix);
  }
  readBlob(oid: string): Promise<string> {
    return this.#local.readBlob(oid);
  }

  readFiles(commit?: string, prefix?: string): Promise<Map<string, string>> {
    return this.#local.readFiles(commit, prefix);
  }
  isDescendant(head: string, commit: string): Promise<boolean> {
    return this.#local.isDescendant(head, commit);
  }

  /**
   * Commits and pushes, re-applying on the newer remote head when the push is refused because the branch moved.
   * When anything fails the local branch goes back to where it was before the commit. A push stopped after the
   * server received it may still land there; the next fetch shows it.
   * @throws CaminoError: ERR_DEADLINE, or the caller's code when `signal` aborts; ERR_REPOSITORY_PUSH_REFUSED
   *   when the server refuses (a hook, a protected branch); ERR_REPOSITORY_BUSY when the branch keeps moving
   */
  commit(change: ChangeSet, options: OperationOptions = {}): Promise<CommitResult> {
    const { signal } = options;
    return this.#exclusive("push", signal, async () => {
      let refused: (Refusal & { base: string | undefined }) | undefined;
      for (let attempt = 1; ; attempt++) {
        const remoteHead = await this.#fetchNow(signal);
        if (refused) {
          // A refusal with the branch where it was, and no race reported, is the server's decision: final.
          if (!refused.raced && remoteHead === refused.base) {
            throw new CaminoError(
              "ERR_REPOSITORY_PUSH_REFUSED",
              `${redactUrl(this.url)}: the server refused the push (${refused.reason})`,
              { data: { reason: refused.reason } },
            );
          }
          if (attempt > this.#maxAttempts) {
            throw new CaminoError(
              "ERR_REPOSITORY_BUSY",
              `${redactUrl(this.url)}: push refused ${attempt - 1} times (the branch keeps moving)`,
            );
          }
        }
        const before = await this.#local.head();
        const result = await this.#local.commitNow(change);
        if (!result.changed) return result;
        let outcome: Refusal | undefined;
        try {
          outcome = await this.#push(signal);
        } catch (err) {
          // Nothing of ours is known to have landed: the local branch goes back to where it was.
          await this.#local.setHead(before);
          throw err;
        }
        if (!outcome) return result;
        await this.#local.setHead(before);
        refused = { ...outcome, base: remoteHead };
      }
    });
  }

  /** Pushes the branch; resolves to why the server refused it, or undefined when it landed. */
  #push(signal: AbortSignal | undefined): Promise<Refusal | undefined> {
    const ref = `refs/heads/${this.branch}`;
    return remoteOperation("push", this.url, { signal, deadlineMs: this.#deadlines.push }, async (http) => {
      try {
        const pushed = await git.push({
          fs,
          http,
          dir: this.#local.dir,
          url: this.url,
          remote: "origin",
          ref: this.branch,
          ...auth(this.#credentials),
        });
        const status = pushed.refs[ref];
        if (pushed.ok && status?.ok !== false) return undefined;
        const reason = status?.error ?? pushed.error ?? "refused";
        return { reason, raced: RACE_TOKENS.has(reason) };
      } catch (err) {
        const r = refusal(err, ref);
        if (r) return r;
        throw err;
      }
    });
  }
}
