/**
 * Group commits: the change sets that wait for a repository's turn together are made one commit
 * (LocalGitRepository.commitGroupNow), each answered on its own. Under load this turns one commit per intent and
 * wave into one per turn; the commit names every intent it carries in its trailers (a set per intent).
 */
import { abortReason } from "../../util/signals.js";
import { checkSegments } from "./paths.js";
import type { ChangeSet, CommitResult } from "./repository.js";

/** What a batcher needs of a repository: its serialisation, and a commit of several change sets. */
export interface GroupCommitter {
  exclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  commitGroupNow(changes: readonly ChangeSet[]): Promise<CommitResult[]>;
}

/**
 * One message for the change sets of a group commit: one change set keeps its own; several get a subject saying
 * how many, each one's subject listed, and every one's trailers together in the last paragraph (a set per
 * intent, each starting at its `Camino-Intent`).
 */
export function groupMessage(messages: readonly string[]): string {
  if (messages.length === 1) return messages[0] as string;
  const subjects: string[] = [];
  const trailers: string[] = [];
  for (const m of messages) {
    const paragraphs = m.trim().split(/\n\s*\n/);
    subjects.push(`- ${paragraphs[0]?.split("\n")[0] ?? ""}`);
    const last = paragraphs.length > 1 ? (paragraphs.at(-1) as string) : "";
    if (/^Camino-[A-Za-z-]+:/m.test(last)) trailers.push(last);
  }
  return [
    `camino: ${messages.length} changes`,
    subjects.join("\n"),
    ...(trailers.length ? [trailers.join("\n")] : []),
  ].join("\n\n");
}

/** Change sets waiting for their turn together, made one commit when the turn comes (LocalGitRepository.commit). */
export class CommitBatcher {
  /** The most change sets one commit carries. */
  static readonly MAX = 64;
  readonly #repo: GroupCommitter;
  #next: Waiting[] | undefined;

  constructor(repo: GroupCommitter) {
    this.#repo = repo;
  }

  /** Adds a change set to the group that waits for the next turn (or starts one). */
  add(change: ChangeSet, signal: AbortSignal | undefined): Promise<CommitResult> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    try {
      // A change set the tree cannot take fails alone, before it joins a group.
      for (const p of [...(change.write?.keys() ?? []), ...(change.remove ?? [])]) checkSegments(p.replace(/\/+$/, ""));
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<CommitResult>((resolve, reject) => {
      const w: Waiting = { change, resolve, reject, cancelled: false };
      if (signal) {
        // Before its turn, an abort takes it out of its group at once; once the commit has started it runs to its end.
        const onAbort = () => {
          if (w.started) return;
          w.cancelled = true;
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        w.done = () => signal.removeEventListener("abort", onAbort);
      }
      if (this.#next && this.#next.length < CommitBatcher.MAX) {
        this.#next.push(w);
        return;
      }
      const group = [w];
      this.#next = group;
      void this.#repo
        .exclusive(async () => {
          if (this.#next === group) this.#next = undefined;
          const live = group.filter((x) => !x.cancelled);
          for (const x of group) {
            x.started = true;
            x.done?.();
          }
          if (live.length === 0) return;
          try {
            const results = await this.#repo.commitGroupNow(live.map((x) => x.change));
            for (const [i, x] of live.entries()) x.resolve(results[i] as CommitResult);
          } catch (err) {
            for (const x of live) x.reject(err);
          }
        })
        .catch(() => undefined);
    });
  }
}

interface Waiting {
  change: ChangeSet;
  resolve: (r: CommitResult) => void;
  reject: (err: unknown) => void;
  cancelled: boolean;
  started?: boolean;
  done?: () => void;
}
