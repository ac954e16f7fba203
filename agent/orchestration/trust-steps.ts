/**
 * The edges' trust of peer meshes, kept with the chains that need it (agent/network/mesh-trust.ts): before a
 * chain with cross-domain links is committed to an edge, the edge's `_camino/trust/` records the chain as a
 * user of each peer's root; when the chain is rolled back or terminated, it is taken off, and a root no chain
 * uses any more goes. Each change is a read-modify-write of one folder shared by every chain on the edge, so
 * it is serialised per repository.
 */
import { DeploymentRepository } from "../cad/deployment-repo.js";
import { addTrust, readTrustRecords, removeTrust, TRUST_DIR, type TrustRecord } from "../network/mesh-trust.js";
import type { TrustNeed } from "../network/network-manager.js";
import { repositoryOf, type LifecycleDeps } from "./run-context.js";

const queues = new Map<string, Promise<unknown>>();

/** Runs `f` after every other trust change of `repository` (in this process). */
function serial<T>(repository: string, f: () => Promise<T>): Promise<T> {
  const prev = queues.get(repository) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(f);
  queues.set(repository, next);
  void next.finally(() => {
    if (queues.get(repository) === next) queues.delete(repository);
  });
  return next;
}

const same = (a: readonly TrustRecord[], b: readonly TrustRecord[]) => JSON.stringify(a) === JSON.stringify(b);

/** Rewrites one repository's trust from its records as `change` makes them; no change, no commit. */
async function rewrite(
  deps: LifecycleDeps,
  repository: string,
  edge: string,
  why: string,
  change: (records: TrustRecord[]) => TrustRecord[],
  signal: AbortSignal,
): Promise<string | undefined> {
  return serial(repository, async () => {
    const git = repositoryOf(deps, repository).git;
    const records = readTrustRecords(await git.readFiles(undefined, TRUST_DIR));
    const next = change(records);
    if (same(records, next)) return undefined;
    const files = await deps.network.trustFiles(edge, next, { domain: deps.domainId, repository }, signal);
    const commit = await new DeploymentRepository(git).writeTrust(files, why, { signal });
    return commit.commit;
  });
}

/**
 * Adds `intent` as a user of each peer root its edges need (a chain's wave 0, before its commit).
 * @throws SegmentOfferError when a peer's root differs from the one an edge already trusts
 */
export async function addChainTrust(
  deps: LifecycleDeps,
  intent: string,
  needs: readonly TrustNeed[],
  signal: AbortSignal,
): Promise<void> {
  const byEdge = new Map<string, TrustNeed[]>();
  for (const n of needs) byEdge.set(n.edge, [...(byEdge.get(n.edge) ?? []), n]);
  await Promise.all(
    [...byEdge].map(async ([edge, list]) => {
      const repository = deps.registry.forEdge(edge)?.record.name;
      if (!repository) return;
      await rewrite(
        deps,
        repository,
        edge,
        `${intent} trusts ${list.map((n) => n.peer).join(", ")}`,
        (records) =>
          list.reduce(
            (rs, n) => addTrust(rs, { peer: n.peer, trustDomain: n.trustDomain, pem: n.pem }, intent),
            records,
          ),
        signal,
      );
    }),
  );
}

/**
 * Takes `intent` off every root of a repository's trust, except the peers `keep` names (a rollback keeps what
 * the revision before it used). @returns the commit, or undefined when nothing changed
 */
export async function dropChainTrust(
  deps: LifecycleDeps,
  intent: string,
  repository: string,
  signal: AbortSignal,
  keep: ReadonlySet<string> = new Set(),
): Promise<string | undefined> {
  const edge = repositoryOf(deps, repository).record.edge;
  if (!edge) return undefined;
  return rewrite(
    deps,
    repository,
    edge,
    `${intent} no longer trusts peers${keep.size > 0 ? ` other than ${[...keep].join(", ")}` : ""}`,
    (records) => {
      const kept = removeTrust(records, intent);
      for (const r of records) {
        if (!keep.has(r.peer) || !r.users.includes(intent)) continue;
        const k = kept.find((x) => x.peer === r.peer);
        if (k) k.users = [...k.users, intent].sort();
        else kept.push({ ...r, users: [intent] });
      }
      return kept.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
    },
    signal,
  );
}

/** The peers whose roots `intent` used in a repository at `commit` (a rollback's baseline). */
export async function trustedAt(
  deps: LifecycleDeps,
  repository: string,
  commit: string,
  intent: string,
): Promise<Set<string>> {
  if (!commit) return new Set();
  const git = repositoryOf(deps, repository).git;
  const records = readTrustRecords(await git.readFiles(commit, TRUST_DIR));
  return new Set(records.filter((r) => r.users.includes(intent)).map((r) => r.peer));
}
