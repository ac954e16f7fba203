/**
 * Terminating an intent, as steps over a {@link CleanupContext}: its packages are removed from every repository
 * wave by wave in reverse order, its chain last, each removal committed and synced (bounded); then its
 * reservations are released and the outcome recorded. A removal that cannot be synced is a problem reported
 * in the final reason, not a stop: the intent ends TERMINATED either way, because its repositories no longer
 * hold it.
 */
import { DeploymentRepository } from "../cad/deployment-repo.js";
import { deadline, linkSignals } from "../util/signals.js";
import type { LiveDeployment } from "./deployment-store.js";
import { endRevision } from "./revision-history.js";
import { RunFailure, setState, waitSynced, type CleanupContext, type LifecycleDeps } from "./run-context.js";
import { endSegments } from "./segment-steps.js";
import { dropChainTrust } from "./trust-steps.js";
import type { Step } from "./steps.js";

/**
 * Removes the intent's packages from every deployment repository, the last wave first and the chain (wave 0)
 * last; repositories in parallel within a wave. Emits TERMINATING when a package's removal is committed and
 * TERMINATED when its edge has synced it.
 */
export const removeWaves: Step<CleanupContext> = {
  name: "remove the waves",
  failpoint: "waves",
  async run(ctx) {
    const { deps, live } = ctx;
    const r = live.record;
    const timeoutMs = deps.options.cleanupTimeoutMs;
    const repos = deps.registry.list().filter((x) => x.record.role === "deployment");
    const order = [...new Set(r.packages.map((p) => p.wave))].sort((a, b) => b - a);
    const segmentWaves = (r.segments ?? []).map((s) => s.lastWave);
    const waves = [...new Set([...order, ...segmentWaves])].sort((a, b) => b - a);
    for (const w of [...waves, 0]) {
      // At shutdown the next wave is left for the restart (recovery.ts finishes a TERMINATING intent), so the
      // reverse-wave order holds on the edges.
      if (deps.shutdown.aborted) throw new RunFailure("the agent shut down during the termination");
      // The segments ending at this wave go first: they are the wave's peer side.
      const ended = await endSegments(deps, live, "the intent is terminated", ctx.signal, (s) => s.lastWave === w);
      ctx.problems.push(...ended);
      for (const s of r.segments ?? [])
        if (s.lastWave === w && s.phase === "terminated")
          for (const p of s.packages)
            setState(deps, live, { package: p, state: "TERMINATED", reason: `removed from ${s.domain}` });
      await Promise.all(
        repos.map(async (repo) => {
          const held = await repo.git.listFiles(undefined, r.intent);
          const present = new Set([...held.keys()].map((p) => p.split("/")[1] as string));
          const drop =
            w === 0
              ? [...present]
              : r.packages.filter((p) => p.wave === w && present.has(p.package)).map((p) => p.package);
          if (drop.length === 0) return;
          const d = new DeploymentRepository(repo.git);
          const packages = w === 0 ? undefined : drop;
          // Bounded, but not stopped by the shutdown: a removal under way is committed (a restart finishes the rest).
          const signal = deadline(`the removal from ${repo.record.name}`, timeoutMs);
          const removed = await d.removeIntent(r.intent, r.revision, packages, { signal });
          // With the chain, the edge stops trusting the peers' roots this intent alone used.
          const trust = w === 0 ? await dropChainTrust(deps, r.intent, repo.record.name, signal) : undefined;
          const commit = { commit: trust ?? removed.commit };
          const short = removed.commit.slice(0, 12);
          for (const p of drop) {
            if (p !== "_chain")
              setState(deps, live, {
                package: p,
                state: "TERMINATING",
                reason: `removed from ${repo.record.name} at ${short}`,
              });
          }
          const edge = repo.record.edge ? deps.edges.get(repo.record.edge) : undefined;
          let unconfirmed = "";
          if (edge) {
            await waitSynced(
              deps,
              { edge, repository: repo.record.name, commit: commit.commit, intent: r.intent, timeoutMs },
              ctx.signal,
            ).catch((err: unknown) => {
              unconfirmed = (err as Error).message;
              ctx.problems.push(unconfirmed);
            });
          }
          for (const p of drop) {
            if (p === "_chain") continue;
            // Said as it is: the repository no longer holds the package; whether the edge has removed it yet is
            // known only when it synced.
            const reason = unconfirmed
              ? `removed from ${repo.record.name}; the edge has not confirmed it: ${unconfirmed}`
              : `removed from edge ${repo.record.edge ?? repo.record.name}`;
            setState(deps, live, { package: p, state: "TERMINATED", reason });
          }
        }),
      );
    }
  },
};

/** Releases the intent's reservations. */
export const releaseTerminated: Step<CleanupContext> = {
  name: "release the reservations",
  failpoint: "release",
  async run(ctx) {
    ctx.deps.book.release(ctx.live.record.intent);
  },
};

/** Records the intent TERMINATED (with any problems met), durably. */
export const recordTermination: Step<CleanupContext> = {
  name: "record the termination",
  failpoint: "record",
  async run(ctx) {
    const { deps, live, problems } = ctx;
    const reason =
      problems.length > 0
        ? `removed from every repository (${problems.join("; ")})`
        : "removed from every repository and edge";
    setState(deps, live, { state: "TERMINATED", reason });
    endRevision(live.record);
    await deps.journal.save(live.record).catch((err: unknown) => {
      deps.logger.error("cannot write the deployment journal", { intent: live.record.intent, error: String(err) });
    });
  },
};

/** The termination of an intent, in order. */
export const TERMINATION_STEPS: readonly Step<CleanupContext>[] = [removeWaves, releaseTerminated, recordTermination];

/** Terminates `live`'s intent; never throws (problems are in the final reason). */
export async function terminate(deps: LifecycleDeps, live: LiveDeployment): Promise<void> {
  const link = linkSignals(deadline("the termination", deps.options.cleanupTimeoutMs), deps.shutdown);
  const signal = link.signal;
  const ctx: CleanupContext = { deps, live, cause: "terminate requested", problems: [], signal, stage: "" };
  try {
    for (const step of TERMINATION_STEPS) {
      ctx.stage = step.name;
      if (deps.shutdown.aborted) {
        // Left TERMINATING, durably: the restarted agent finishes the termination (recovery.ts).
        await deps.journal.save(live.record).catch(() => undefined);
        return;
      }
      try {
        await step.run(ctx);
        if (step.failpoint) await deps.failpoints.hit(`terminate-after-${step.failpoint}`);
      } catch (err) {
        ctx.problems.push((err as Error).message);
      }
    }
  } finally {
    link.dispose();
  }
}
