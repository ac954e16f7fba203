/**
 * The sync predicate of docs/configuration-as-data.md, RootSync registration, on a RootSync as the edge reports it: the edge has synced a commit
 * for an intent when its sync commit is the commit or a descendant of it, its spec's generation is observed,
 * Syncing is False, and no error names an object of the intent. Pure, except for the ancestry question, which
 * the caller answers from the repository's history.
 */

/** Where an edge is with a commit, for one intent. */
export interface SyncState {
  /** Synced by the predicate of section 5. */
  synced: boolean;
  /** The commit the RootSync reports. */
  commit?: string;
  /** Sync errors that name objects of the intent. */
  errors: string[];
  /** Why not synced (yet). */
  reason: string;
  /** The edge is at the commit (or later) and reports errors naming objects of the intent: it will not sync as is. */
  failed?: boolean;
}

/**
 * Judges a RootSync object for `commit` and `intent`. Malformed statuses are judged not synced, never thrown on.
 * An error counts against the intent when it names one of the intent's objects (`Kind/<intent>/name`, or
 * `Namespace/<intent>`) or names no object at all. At the commit, an error naming an object of the intent is
 * final (`failed`); one naming no object keeps the intent waiting.
 * @param isDescendant whether `head` is `commit` or a descendant of it (from the repository's history)
 * @example const state = await judgeSync(rootSync, commit, "paper-chain", (h, c) => repo.isDescendant(h, c));
 */
export async function judgeSync(
  rs: Record<string, unknown>,
  commit: string,
  intent: string,
  isDescendant: (head: string, commit: string) => Promise<boolean>,
): Promise<SyncState> {
  type Errors = { code?: unknown; errorMessage?: unknown }[];
  const status = (rs["status"] ?? {}) as {
    observedGeneration?: number;
    source?: { errors?: unknown };
    rendering?: { errors?: unknown };
    sync?: { commit?: string; errors?: unknown };
    conditions?: { type: string; status: string }[];
  };
  const generation = (rs["metadata"] as { generation?: number } | undefined)?.generation;
  const head = typeof status.sync?.commit === "string" && status.sync.commit ? status.sync.commit : undefined;
  const base: SyncState = { synced: false, errors: [], reason: "" };
  if (head) base.commit = head;
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? (v as Errors).map((e) => String(e?.errorMessage ?? e?.code ?? "unknown error")) : [];
  // An error counts against the intent unless every object it names is in another namespace: an error that
  // names no object (an unknown kind, a source or rendering failure) may be the intent's, so it blocks.
  const mine = (message: string) => {
    // Objects named `Kind/namespace/name` (namespaced) or `Kind/name` (cluster-scoped).
    const refs = [...message.matchAll(/\b[A-Z][A-Za-z]*\/([a-z0-9][a-z0-9.-]*)(?:\/([a-z0-9][a-z0-9.-]*))?/g)].map(
      (m) => ({ kind: m[0].split("/")[0], first: m[1], namespaced: m[2] !== undefined }),
    );
    return (
      refs.length === 0 ||
      refs.some((r) => (r.namespaced ? r.first === intent : r.kind === "Namespace" && r.first === intent))
    );
  };
  const sourceErrors = [...list(status.source?.errors), ...list(status.rendering?.errors)];
  const syncErrors = list(status.sync?.errors).filter(mine);
  const errors = [...sourceErrors, ...syncErrors];
  if (!head)
    return {
      ...base,
      errors,
      reason: errors.length > 0 ? "the edge reports errors" : "the RootSync has not synced any commit yet",
    };
  if (status.observedGeneration !== generation)
    return { ...base, reason: `the RootSync's spec (generation ${generation}) is not observed yet` };
  const syncing = status.conditions?.find((c) => c.type === "Syncing");
  if (syncing?.status === "True") return { ...base, reason: "the edge is syncing" };
  if (!(head === commit || (await isDescendant(head, commit))))
    return { ...base, errors, reason: `the edge is at ${head.slice(0, 12)}, not yet at ${commit.slice(0, 12)}` };
  if (sourceErrors.length > 0)
    return { ...base, errors, reason: `the edge cannot read or render the repository: ${sourceErrors.join("; ")}` };
  // Only an error that names an object of the intent is final; one that names no object may pass.
  const named = syncErrors.filter((e) => /\b[A-Z][A-Za-z]*\/[a-z0-9]/.test(e));
  if (named.length > 0)
    return { ...base, errors, failed: true, reason: `sync errors name objects of the intent: ${named.join("; ")}` };
  if (errors.length > 0) return { ...base, errors, reason: `the edge reports sync errors: ${errors.join("; ")}` };
  return { ...base, synced: true, reason: "synced" };
}
