/**
 * Rolling back a revision, as steps over a {@link CleanupContext}: end its segments on their peers; restore this intent's paths in every
 * repository the revision touched (new commits; other intents' paths untouched) and wait, bounded, for the
 * edges to sync that; release the intent's reservations; record the outcome. Each step collects its problems
 * instead of throwing, so the reservations are always released and the outcome always recorded.
 */
import { DeploymentRepository } from "../cad/deployment-repo.js";
import { deadline, linkSignals } from "../util/signals.js";
import type { LiveDeployment } from "./deployment-store.js";
import { repositoryOf, setState, waitSynced, type CleanupContext, type LifecycleDeps } from "./run-context.js";
import { endSegments } from "./segment-steps.js";
import { dropChainTrust, trustedAt } from "./trust-steps.js";
import type { Step } from "./steps.js";

/**
 * Restores the intent's paths in every repository of `record.touched` to their baseline, and waits for each
 * edge to sync the restore (not at shutdown: the edges sync it on their own). Adds to `ctx.problems`; a
 * repository that could not be restored is marked "not restored".
 */
export const restore: Step<CleanupContext> = {
  name: "restore the repositories",
  failpoint: "restore",
  async run(ctx) {
    const { deps, live } = ctx;
    const r = live.record;
    const timeoutMs = deps.options.cleanupTimeoutMs;
    await Promise.all(
      Object.entries(r.touched).map(async ([repo, baseline]) => {
        try {
          const registered = repositoryOf(deps, repo);
          const d = new DeploymentRepository(registered.git);
          // Not the shutdown signal: at shutdown the restore is still committed (its wait is skipped below).
          const signal = deadline(`the restore of ${repo}`, timeoutMs);
          const commit = await d.restoreIntent(r.intent, r.revision, baseline || undefined, { signal });
          // The peers' roots go back to what the revision before trusted (the intent's own use only).
          const keep = await trustedAt(deps, repo, baseline, r.intent);
          const trust = await dropChainTrust(deps, r.intent, repo, signal, keep);
          const edge = registered.record.edge ? deps.edges.get(registered.record.edge) : undefined;
          if (!edge || deps.shutdown.aborted) return;
          await waitSynced(
            deps,
            { edge, repository: repo, commit: trust ?? commit.commit, intent: r.intent, timeoutMs },
            ctx.signal,
          ).catch((err: unknown) => ctx.problems.push(`${repo}: restored, but ${(err as Error).message}`));
        } catch (err) {
          ctx.problems.push(`${repo}: not restored: ${(err as Error).message}`);
        }
      }),
    );
  },
};

/**
 * Ends the revision's segments on their peers, first (the peers' packages consume the origin's, so they go
 * before the origin's side): aborted before the commit decision, terminated after it. A peer that cannot be
 * reached is a problem in the reason; its end is tried again later (segment-reconciler.ts).
 */
export const endRemoteSegments: Step<CleanupContext> = {
  name: "end the segments",
  failpoint: "segments",
  async run(ctx) {
    const { deps, live, cause } = ctx;
    const rev = live.record.revision;
    // Segments an earlier revision committed keep running: a failed update leaves the peers as they were.
    const problems = await endSegments(deps, live, cause, ctx.signal, (s) => s.generation === rev);
    ctx.problems.push(...problems);
  },
};

/** Releases the intent's reservations: after the restore has synced, since until then its pods may hold room. */
export const releaseReservations: Step<CleanupContext> = {
  name: "release the reservations",
  failpoint: "release",
  async run(ctx) {
    ctx.deps.book.release(ctx.live.record.intent);
  },
};

/**
 * Records the outcome: ROLLED_BACK per package (a package refused at admission keeps its reason), and the
 * intent ROLLED_BACK with the cause — or FAILED when a repository could not be restored. Written durably.
 */
export const recordRollback: Step<CleanupContext> = {
  name: "record the rollback",
  failpoint: "record",
  async run(ctx) {
    const { deps, live, cause, problems } = ctx;
    const r = live.record;
    const touchedAny = Object.keys(r.touched).length > 0;
    for (const p of r.packages) {
      if (p.state !== "FAILED" || touchedAny) {
        setState(deps, live, {
          package: p.package,
          state: "ROLLED_BACK",
          reason: p.state === "FAILED" ? p.reason : `rolled back: ${cause}`,
        });
      }
    }
    delete r.rollingBack;
    const notRestored = problems.filter((p) => p.includes(": not restored: "));
    if (notRestored.length > 0) {
      setState(deps, live, {
        state: "FAILED",
        reason: `${cause}; the rollback could not restore ${notRestored.join("; ")}`,
      });
    } else {
      setState(deps, live, {
        state: "ROLLED_BACK",
        reason: problems.length > 0 ? `${cause} (${problems.join("; ")})` : cause,
      });
    }
    await deps.journal.save(r).catch((err: unknown) => {
      deps.logger.error("cannot write the deployment journal", { intent: r.intent, error: String(err) });
    });
  },
};

/** The rollback of one revision, in order. */
export const ROLLBACK_STEPS: readonly Step<CleanupContext>[] = [
  endRemoteSegments,
  restore,
  releaseReservations,
  recordRollback,
];

/** Rolls back `live`'s revision because of `cause`; never throws. */
export async function rollBack(deps: LifecycleDeps, live: LiveDeployment, cause: string): Promise<void> {
  const link = linkSignals(deadline("the rollback", deps.options.cleanupTimeoutMs), deps.shutdown);
  const signal = link.signal;
  const ctx: CleanupContext = { deps, live, cause, problems: [], signal, stage: "" };
  try {
    // On disk first: a restart during the rollback finishes it rather than resuming the revision (recovery.ts).
    if (live.record.rollingBack !== cause) {
      live.record.rollingBack = cause;
      await deps.journal.save(live.record).catch((err: unknown) => {
        deps.logger.error("cannot write the deployment journal", { intent: live.record.intent, error: String(err) });
      });
    }
    // A step never throws; the signal only bounds the waits, so every step runs.
    for (const step of ROLLBACK_STEPS) {
      ctx.stage = step.name;
      await step.run(ctx);
      if (step.failpoint) {
        await deps.failpoints
          .hit(`rollback-after-${step.failpoint}`)
          .catch((err: unknown) => ctx.problems.push((err as Error).message));
      }
    }
  } catch (err) {
    deps.logger.error("the rollback failed unexpectedly", { intent: live.record.intent, error: String(err) });
  } finally {
    link.dispose();
  }
}
