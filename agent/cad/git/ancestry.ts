/**
 * Whether one commit descends from another, read from a repository's commits: what the edge observers ask each
 * time an edge reports the commit it synced ("has it reached ours yet?").
 */

/** The fields of a commit the walk reads: its parents and its committer time (seconds). */
export interface CommitLinks {
  parents: readonly string[];
  time: number;
}

type Step = "found" | "done" | "more";

/**
 * Whether `head` is `commit` or a descendant of it (false when either cannot be read). Two walks take turns:
 * back from `head` looking for `commit` (found: a descendant), and back from `commit` looking for `head` (found:
 * `head` is its ancestor, so not its descendant). Each stops on every path at commits more than a minute older
 * than the one it looks for (a descendant is never older than its ancestor, give or take clock steps). On a
 * branch's straight history the shorter walk answers: an edge a few commits behind costs those commits, where a
 * walk from its head alone went back a minute of commits (thousands at 50 intents a second).
 * @param read a commit's links by id (throws when it is unknown)
 */
export async function isDescendant(
  read: (oid: string) => Promise<CommitLinks>,
  head: string,
  commit: string,
): Promise<boolean> {
  if (head === commit) return true;
  try {
    const [target, start] = await Promise.all([read(commit), read(head)]);
    const fromHead = walkBack(read, head, commit, target.time - 60);
    const fromCommit = walkBack(read, commit, head, start.time - 60);
    let commitWalked = false;
    for (;;) {
      const up = await fromHead();
      if (up !== "more") return up === "found";
      if (commitWalked) continue;
      const down = await fromCommit();
      if (down === "found") return false;
      commitWalked = down === "done";
    }
  } catch {
    return false;
  }
}

/**
 * A walk back from `from` looking for `wanted`, not past commits older than `notBefore` (seconds), one commit per
 * call: each says whether `wanted` is found, the walk is done, or there is more.
 */
function walkBack(
  read: (oid: string) => Promise<CommitLinks>,
  from: string,
  wanted: string,
  notBefore: number,
): () => Promise<Step> {
  const seen = new Set<string>();
  const todo = [from];
  return async () => {
    for (;;) {
      const oid = todo.pop();
      if (oid === undefined) return "done";
      if (oid === wanted) return "found";
      if (seen.has(oid)) continue;
      seen.add(oid);
      const info = await read(oid);
      if (info.time >= notBefore) todo.push(...info.parents);
      return "more";
    }
  };
}
