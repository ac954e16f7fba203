/**
 * A remote git repository over smart HTTP(S) with token or basic auth (GitLab, Gitea, any smart-HTTP server),
 * kept as a local clone in the agent's data directory. Reads use the clone (refresh first with `fetch`).
 * A commit is fetch → re-apply the change on the remote head → push; when another writer pushed in between
 * (non-fast-forward), it fetches and re-applies again, within a bounded budget. Changes are by path, so
 * re-applying them on a newer head is the rebase.
 */
import * as fs from "node:fs";
import git, { type ServerRef } from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { CaminoError } from "../../errors.js";
import { LocalGitRepository, type ChangeSet, type CommitResult, type GitRepository } from "./repository.js";

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

/** A URL with any user:password part removed, for messages and storage. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

export interface RemoteRepositoryOptions {
  url: string;
  branch?: string;
  /** Where the local clone lives. */
  dir: string;
  credentials?: GitCredentials;
  /** Push attempts before giving up on a busy remote. Default 5. */
  maxAttempts?: number;
  author?: { name: string; email: string };
  now?: () => Date;
}

function auth(credentials: GitCredentials | undefined) {
  return {
    onAuth: () => (credentials ? { username: credentials.username, password: credentials.password } : { cancel: true }),
    // A refused credential is final: do not let isomorphic-git ask again in a loop.
    onAuthFailure: () => ({ cancel: true }),
  };
}

/** Turns isomorphic-git's transport errors into CAMINO errors that say what is wrong, without credentials. */
function explain(err: unknown, url: string): CaminoError {
  const e = err as { code?: string; data?: { statusCode?: number }; message?: string };
  const where = redactUrl(url);
  const status = e.data?.statusCode;
  if (e.code === "UserCanceledError" || status === 401 || status === 403) {
    return new CaminoError("ERR_REPOSITORY_AUTH", `${where}: the credentials were refused`, { cause: err });
  }
  if (status === 404)
    return new CaminoError("ERR_REPOSITORY_NOT_FOUND", `${where}: no repository there (HTTP 404)`, {
      cause: err,
    });
  if (e.code === "HttpError")
    return new CaminoError("ERR_REPOSITORY_UNREACHABLE", `${where}: HTTP ${status ?? "error"}`, {
      cause: err,
    });
  return new CaminoError("ERR_REPOSITORY_UNREACHABLE", `${where}: cannot be reached (${e.code ?? "error"})`, {
    cause: err,
  });
}

/**
 * Checks a remote before it is registered: reachable, credentials accepted, branch present.
 * @returns the branch's head commit
 */
export async function checkRemote(url: string, branch: string, credentials?: GitCredentials): Promise<string> {
  let refs: ServerRef[];
  try {
    refs = await git.listServerRefs({ http, url, prefix: `refs/heads/${branch}`, ...auth(credentials) });
  } catch (err) {
    throw explain(err, url);
  }
  const head = refs.find((r) => r.ref === `refs/heads/${branch}`);
  if (!head) throw new CaminoError("ERR_REPOSITORY_BRANCH", `${redactUrl(url)}: branch ${branch} does not exist`);
  return head.oid;
}

export class RemoteGitRepository implements GitRepository {
  readonly url: string;
  readonly branch: string;
  readonly #local: LocalGitRepository;
  readonly #credentials: GitCredentials | undefined;
  readonly #maxAttempts: number;

  constructor(options: RemoteRepositoryOptions) {
    this.url = options.url;
    this.branch = options.branch ?? "main";
    this.#credentials = options.credentials;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#local = new LocalGitRepository({
      dir: options.dir,
      branch: this.branch,
      ...(options.author ? { author: options.author } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /**
   * Clones (first time) or fetches, and moves the local branch to the remote's head. Queued with commits, so a
   * refresh never moves the branch between a commit and its push.
   */
  fetch(): Promise<string | undefined> {
    return this.#local.exclusive(() => this.#fetchNow());
  }

  async #fetchNow(): Promise<string | undefined> {
    try {
      if (!fs.existsSync(`${this.#local.gitdir}/HEAD`)) {
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
      } else {
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
      }
    } catch (err) {
      throw explain(err, this.url);
    }
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

  /** Commits and pushes, re-applying on the newer remote head when the push is refused because the branch moved. */
  commit(change: ChangeSet): Promise<CommitResult> {
    return this.#local.exclusive(async () => {
      for (let attempt = 1; ; attempt++) {
        const remoteHead = await this.#fetchNow();
        const result = await this.#local.commitNow(change);
        if (!result.changed) return result;
        let reason: string | undefined;
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
          if (pushed.ok && pushed.refs[`refs/heads/${this.branch}`]?.ok !== false) return result;
          reason = pushed.refs[`refs/heads/${this.branch}`]?.error ?? pushed.error ?? "refused";
        } catch (err) {
          const code = (err as { code?: string }).code;
          const data = (err as { data?: { result?: { refs?: Record<string, { error?: string }> }; reason?: string } })
            .data;
          if (code === "PushRejectedError") reason = data?.reason ?? "not-fast-forward";
          else if (code === "GitPushError")
            reason = data?.result?.refs?.[`refs/heads/${this.branch}`]?.error ?? "refused";
          else {
            if (remoteHead) await this.#local.setHead(remoteHead);
            throw explain(err, this.url);
          }
        }
        // Nothing of ours landed: the local branch goes back to what the remote has.
        if (remoteHead) await this.#local.setHead(remoteHead);
        // A branch that moved (not a fast-forward, or a lost race for the server's ref lock) is retried on
        // the newer head; any other refusal (a hook, a protected branch) is final and says why.
        const moved = /not-fast-forward|fetch first|failed to update ref|stale info|non-fast-forward/i.test(reason);
        if (!moved)
          throw new CaminoError(
            "ERR_REPOSITORY_PUSH_REFUSED",
            `${redactUrl(this.url)}: the server refused the push (${reason})`,
          );
        if (attempt >= this.#maxAttempts)
          throw new CaminoError(
            "ERR_REPOSITORY_BUSY",
            `${redactUrl(this.url)}: push refused ${attempt} times (the branch keeps moving)`,
          );
      }
    });
  }
}
