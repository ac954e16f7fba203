/**
 * The deployment of one revision, as steps over a {@link RunContext}:
 *
 *   admit ─► wave 0 (the chain's namespace and shared objects) ─► waves 1..n, each: dry run ─► commit ─► synced
 *   ─► available ─► remove what the intent no longer has ─► end segments it no longer has ─► READY
 *
 * A segment in a peer domain (segment-steps.ts) is proposed during admission, committed at its first wave
 * (once the waves before it are READY) and waited READY at its last.
 *
 * The run (deployment-run.ts) runs them in order, stops at the first error and rolls back in its `finally`.
 * Every state change is a `setState` (an event on the bus, journalled behind). Before a step touches a repository,
 * the repository's baseline is recorded: a removal waits for it to be on disk (`touch`); the waves' repositories
 * are recorded at admission, in the same journal write as ADMITTED, and a wave's commit is made while that write
 * goes to disk, its branch moved only once it is there (`keepBaselines`, `baselinesOnDisk`, ChangeSet.after).
 */
import { endRun, onEdge } from "./run-timing.js";
import { DeploymentRepository, type WaveWrite } from "../cad/deployment-repo.js";
import type { PreparedCommit } from "../cad/git/repository.js";
import { CaminoError, IntentError, ValidationError } from "../errors.js";
import { addWait, doneWaiting, doneWaitingAll, endWait, rollout, type Blocker } from "./blockers.js";
import { packageObjects } from "./package-objects.js";
import { noteCommit } from "./revision-history.js";
import { planIntent, type AdmissionReason, type GivenSegment, type PlannedPackage } from "./planner.js";
import type { HostedSegmentRecord } from "./journal.js";
import { addChainTrust } from "./trust-steps.js";
import { awaitSegmentsAt, commitSegmentsAt, endSegments, keepLeases, proposalHooks } from "./segment-steps.js";
import {
  allOrAbort,
  edgeOf,
  repositoryOf,
  baselinesOnDisk,
  keepBaselines,
  readBaselines,
  recordBaselines,
  RunFailure,
  setState,
  touch,
  waitSynced,
  type RunContext,
  type WaveState,
} from "./run-context.js";
import { runSteps, type Step } from "./steps.js";

type Hydrated = NonNullable<PlannedPackage["hydrated"]>;

/** A run while one wave is under way. */
type WaveContext = RunContext & { wave: WaveState };

const planOf = (ctx: RunContext) => {
  if (!ctx.plan) throw new TypeError("a deployment step ran before admission");
  return ctx.plan;
};

/**
 * Admission. Reads the intent; plans it with `reserve` (placement, hydration, resources reserved in one
 * synchronous step, prerequisites). Writes `ctx.plan` and each package record's edge, repository and
 * blueprint commit. Emits ADMITTED per package and for the intent, or FAILED per refused package and throws.
 */
export const admit: Step<RunContext> = {
  name: "admission",
  failpoint: "admission",
  async run(ctx) {
    const { deps, live, intent, signal } = ctx;
    const r = live.record;
    for (const p of r.packages)
      addWait(live, p.package, { kind: "admission", message: "being admitted: placement, resources, prerequisites" });
    try {
      await deps.failpoints.hit("deploy-admission", signal);
      ctx.plan = await planIntent(intent, deps, {
        revision: r.revision,
        reserve: true,
        signal,
        proposals: proposalHooks(ctx),
        onEdge: (fn) => onEdge(live, fn),
        ...(r.segment ? { given: givenOf(r.segment) } : {}),
      });
    } catch (err) {
      if (err instanceof IntentError || (err instanceof CaminoError && err.kind !== "internal")) {
        throw new RunFailure(`admission: ${err.message}`);
      }
      throw err;
    } finally {
      // Refused packages are explained by the record's admission reasons; the others wait no more on admission.
      for (const p of r.packages) doneWaiting(live, p.package);
    }
    const plan = ctx.plan;
    r.digest = plan.digest;
    for (const p of plan.packages) {
      const rec = r.packages.find((x) => x.package === p.package);
      if (!rec) continue;
      rec.edge = p.edge ?? "";
      rec.domain = p.domain;
      rec.repository = p.repository ?? "";
      rec.blueprintCommit = p.blueprintCommit ?? "";
    }
    // Leases are renewed while the earlier waves run; a lease the peer refuses to renew stops the run.
    keepLeases(ctx, (err) => live.controller?.abort(new RunFailure(`a segment's lease: ${err.message}`)));
    if (!plan.admitted) {
      r.admission = plan.admission;
      for (const p of plan.packages) {
        if (p.admission.length > 0) {
          setState(deps, live, {
            package: p.package,
            state: "FAILED",
            reason: p.admission.map((a) => `${a.check}: ${a.message}`).join("; "),
          });
        }
      }
      const reasons = plan.admission.map((a) => `${a.package}${a.edge ? `@${a.edge}` : ""} [${a.check}] ${a.message}`);
      throw new RunFailure(
        `admission refused ${plan.admission.length} reason(s): ${reasons.join("; ")}`,
        plan.admission,
      );
    }
    // The baselines of the repositories the run writes are recorded now, with ADMITTED: one journal write for both.
    const heads = await readBaselines(
      deps,
      live,
      plan.chains.map((c) => c.repository),
    );
    for (const p of plan.packages)
      if (p.domain === deps.domainId)
        setState(deps, live, { package: p.package, state: "ADMITTED", reason: `${p.reason}; reserved on ${p.edge}` });
    const remote = plan.segments.map((s) => `${s.packages.length} in ${s.domain}`);
    setState(deps, live, {
      state: "ADMITTED",
      reason: `every package admitted (${plan.packages.length}${remote.length > 0 ? `; ${remote.join(", ")}, reserved under a lease` : ""})`,
    });
    keepBaselines(deps, live, heads);
  },
};

/**
 * Wave 0: the chain's namespace and shared objects, committed to every edge's repository the intent uses, and
 * synced there (later waves' dry runs need the namespace). Records each repository's baseline first. Emits a
 * COMMITTED progress event.
 */
export const chainWave: Step<RunContext> = {
  name: "wave 0",
  failpoint: "wave-0",
  async run(ctx) {
    const { deps, live, intent, signal } = ctx;
    const plan = planOf(ctx);
    const r = live.record;
    // The baselines (recorded at admission) go to disk while the commits are made; each branch moves once they are.
    const recorded = (
      await recordBaselines(
        deps,
        live,
        plan.chains.map((c) => c.repository),
      )
    ).onDisk;
    await deps.failpoints.hit("deploy-before-commit", signal);
    // Edges with cross-domain links trust the peer's mesh root before the links' objects arrive (a commit of its
    // own, made once the baselines are on disk, as every commit of the run is).
    if (plan.network.trust.length > 0) await recorded;
    try {
      await addChainTrust(deps, intent.name, plan.network.trust, signal);
    } catch (err) {
      if (err instanceof ValidationError) throw new RunFailure(`wave 0: ${err.message}`);
      throw err;
    }
    await allOrAbort(plan.chains, signal, async (c, signal) => {
      const git = repositoryOf(deps, c.repository).git;
      const commit = await new DeploymentRepository(git).writeWave(
        {
          intent: intent.name,
          revision: r.revision,
          wave: 0,
          packages: new Map(),
          chain: c.files,
          committedAfter: live.resumed ? r.touched[c.repository] : undefined,
          after: recorded,
        },
        { signal },
      );
      await recorded;
      if (commit.changed) noteCommit(r, { repository: c.repository, commit: commit.commit, wave: 0 });
      signal.throwIfAborted();
      const edge = edgeOf(deps, c.edge);
      await onEdge(live, () =>
        waitSynced(
          deps,
          { edge, repository: c.repository, commit: commit.commit, intent: intent.name, timeoutMs: r.timeoutMs },
          signal,
          { live, packages: [""] },
        ),
      );
    });
    const edges = plan.chains.map((c) => c.edge).join(", ");
    setState(deps, live, {
      state: "COMMITTED",
      reason: `wave 0: the chain's namespace synced on ${edges}`,
      kind: "progress",
    });
  },
};

/**
 * A wave's server-side dry run: every object of every package of the wave, on its edge, now that the namespace
 * exists. A refusal is an admission reason: FAILED for the packages refused, and the run stops.
 */
export const dryRunWave: Step<WaveContext> = {
  name: "dry run",
  failpoint: "dry-run",
  async run(ctx) {
    const { deps, live } = ctx;
    const refused: AdmissionReason[] = [];
    // The wave's commits are made and written meanwhile: the commit step then only moves the branches.
    ctx.wave.prepared = prepareCommits(ctx);
    await allOrAbort(ctx.wave.packages, ctx.signal, async (p, signal) => {
      const edge = edgeOf(deps, p.edge as string);
      for (const x of await onEdge(live, () => edge.dryRun(packageObjects(p.hydrated as Hydrated), signal))) {
        if (x.ok) continue;
        const causes = x.causes.map((c) => `${c.field}: ${c.message}`).join("; ");
        const message = `${x.kind}/${x.name}: ${x.message ?? "refused"}${causes ? ` (${causes})` : ""}`;
        refused.push({ package: p.package, edge: edge.name, check: "dry-run", message });
      }
    });
    if (refused.length === 0) return;
    live.record.admission = refused;
    for (const p of ctx.wave.packages) {
      const mine = refused.filter((x) => x.package === p.package);
      if (mine.length > 0) {
        setState(deps, live, {
          package: p.package,
          state: "FAILED",
          reason: `dry run refused: ${mine.map((x) => x.message).join("; ")}`,
        });
      }
    }
    const what = refused.map((x) => `${x.package}@${x.edge} ${x.message}`).join("; ");
    throw new RunFailure(`wave ${ctx.wave.number}: the edge refused the dry run: ${what}`, refused);
  },
};

/** A wave's write to one repository: its packages' files, with what a resumed run recognises it by. */
function waveWrite(ctx: WaveContext, repo: string, after: Promise<void>): WaveWrite {
  const r = ctx.live.record;
  const pkgs = ctx.wave.byRepository.get(repo) ?? [];
  return {
    intent: ctx.intent.name,
    revision: r.revision,
    wave: ctx.wave.number,
    packages: new Map(pkgs.map((p) => [p.package, (p.hydrated as Hydrated).files] as const)),
    committedAfter: ctx.live.resumed ? r.touched[repo] : undefined,
    after,
  };
}

/**
 * The wave's commit in each repository whose baseline is recorded (at admission), made and written while the
 * edges dry-run the wave (DeploymentRepository.prepareWave): its CPU and its pack's fsyncs then run while the run
 * waits on its edges. A commit prepared for a wave that goes no further leaves objects nothing names. Only when
 * this run is the only one in flight: with others, a repository's branch is likely to move before the commit
 * step (their commits), and a commit prepared on the old head would be made twice.
 */
function prepareCommits(ctx: WaveContext): Map<string, Promise<PreparedCommit | undefined>> {
  const { deps, live, signal } = ctx;
  const prepared = new Map<string, Promise<PreparedCommit | undefined>>();
  const counts = deps.queue?.counts;
  if (counts && counts.running + counts.waiting > 1) return prepared;
  for (const repo of ctx.wave.byRepository.keys()) {
    if (!(repo in live.record.touched)) continue;
    const git = repositoryOf(deps, repo).git;
    const w = waveWrite(ctx, repo, baselinesOnDisk(live, [repo]));
    // A preparation that fails is a commit made in the commit step, which reports what fails then.
    prepared.set(
      repo,
      new DeploymentRepository(git).prepareWave(w, { signal }).catch(() => undefined),
    );
  }
  return prepared;
}

/**
 * A wave's commit: one commit per repository (repositories in parallel), after each repository's baseline is
 * recorded; a commit prepared during the dry run is landed (the branch moved to it, or the wave committed anew
 * if the branch moved meanwhile). Writes `ctx.wave.commits` and each package record's commit; emits COMMITTED
 * per package.
 */
export const commitWave: Step<WaveContext> = {
  name: "commit",
  failpoint: "commit",
  async run(ctx) {
    const { deps, live, signal } = ctx;
    const r = live.record;
    const recorded = (await recordBaselines(deps, live, [...ctx.wave.byRepository.keys()])).onDisk;
    await deps.failpoints.hit("deploy-before-commit", signal);
    await allOrAbort([...ctx.wave.byRepository], signal, async ([repo, pkgs], signal) => {
      const d = new DeploymentRepository(repositoryOf(deps, repo).git);
      const prepared = await ctx.wave.prepared?.get(repo);
      const commit = prepared
        ? await d.landWave(prepared, { signal })
        : await d.writeWave(waveWrite(ctx, repo, recorded), { signal });
      await recorded;
      ctx.wave.commits.set(repo, commit.commit);
      const how = commit.changed
        ? "committed"
        : commit.recognised
          ? "already committed (its trailers) as"
          : "unchanged at";
      for (const p of pkgs) {
        const rec = r.packages.find((x) => x.package === p.package);
        if (rec) rec.commit = commit.commit;
        setState(deps, live, {
          package: p.package,
          state: "COMMITTED",
          reason: `${how} ${commit.commit.slice(0, 12)} in ${repo}`,
        });
      }
    });
  },
};

/** A wave's sync: each repository's commit synced by its edge (edges in parallel). Emits SYNCED per package. */
export const syncWave: Step<WaveContext> = {
  name: "synced",
  failpoint: "sync",
  async run(ctx) {
    const { deps, live, intent, signal } = ctx;
    await allOrAbort([...ctx.wave.byRepository], signal, async ([repo, pkgs], signal) => {
      const commit = ctx.wave.commits.get(repo) as string;
      const edge = edgeOf(deps, pkgs[0]?.edge as string);
      await onEdge(live, () =>
        waitSynced(
          deps,
          { edge, repository: repo, commit, intent: intent.name, timeoutMs: live.record.timeoutMs },
          signal,
          { live, packages: pkgs.map((p) => p.package) },
        ),
      );
      for (const p of pkgs)
        setState(deps, live, {
          package: p.package,
          state: "SYNCED",
          reason: `edge ${edge.name} synced ${commit.slice(0, 12)}`,
        });
    });
  },
};

/**
 * A wave's availability: every workload of every package available on its edge (packages in parallel; what
 * each waits for is kept in `live.waiting` for the timeout's message). Emits READY per package. A package's
 * reservation goes when a capacity reading shows its pods (reservations.ts), not on this word alone.
 */
export const availableWave: Step<WaveContext> = {
  name: "available",
  failpoint: "available",
  async run(ctx) {
    const { deps, live, intent, signal } = ctx;
    await allOrAbort(ctx.wave.packages, signal, async (p, signal) => {
      const edge = edgeOf(deps, p.edge as string);
      const blocker: Blocker = addWait(live, p.package, {
        kind: "rollout",
        edge: edge.name,
        message: `waiting for the workloads on ${edge.name}`,
      });
      await onEdge(live, () =>
        deps.observers.of(edge).waitAvailable(intent.name, p.package, signal, (why, short) => {
          live.waiting = why;
          if (short && short.length > 0) Object.assign(blocker, rollout(short));
          else blocker.message = why;
        }),
      );
      // Ended only when available: a run that fails here keeps it, saying what it still waited on.
      endWait(live, p.package, blocker);
      setState(deps, live, { package: p.package, state: "READY", reason: `workloads available on ${edge.name}` });
    });
  },
};

/** The steps of one wave, in order. */
export const WAVE_STEPS: readonly Step<WaveContext>[] = [dryRunWave, commitWave, syncWave, availableWave];

/** Waves 1..n, one after another, each running {@link WAVE_STEPS}. */
export const waves: Step<RunContext> = {
  name: "waves",
  failpoint: "waves",
  async run(ctx) {
    const plan = planOf(ctx);
    for (let w = 1; w <= plan.waves.length; w++) {
      // The segments starting at this wave are committed now: the waves before them are READY.
      await commitSegmentsAt(ctx, w);
      const packages = plan.packages.filter((p) => p.wave === w && p.domain === ctx.deps.domainId);
      const byRepository = new Map<string, PlannedPackage[]>();
      for (const p of packages) {
        const repo = p.repository as string;
        byRepository.set(repo, [...(byRepository.get(repo) ?? []), p]);
      }
      ctx.wave = { number: w, packages, byRepository, commits: new Map() };
      await runSteps(WAVE_STEPS, ctx as WaveContext, `wave ${w}: `, (point) =>
        ctx.deps.failpoints.hit(`deploy-after-${point}`, ctx.signal),
      );
      await awaitSegmentsAt(ctx, w);
    }
  },
};

/**
 * After an update: packages the intent no longer has are removed from every repository that still holds them,
 * each removal committed (baseline recorded first) and synced. Emits a progress event per repository.
 */
export const removeDropped: Step<RunContext> = {
  name: "cleanup of packages the intent no longer has",
  failpoint: "cleanup",
  async run(ctx) {
    const { deps, live, signal } = ctx;
    const plan = planOf(ctx);
    const r = live.record;
    const want = new Map<string, Set<string>>();
    for (const c of plan.chains) want.set(c.repository, new Set(["_chain"]));
    for (const p of plan.packages) if (p.repository) want.get(p.repository)?.add(p.package);
    for (const repo of deps.registry.list().filter((x) => x.record.role === "deployment")) {
      const held = await repo.git.listFiles(undefined, r.intent);
      const present = new Set([...held.keys()].map((p) => p.split("/")[1] as string));
      const keep = want.get(repo.record.name) ?? new Set<string>();
      const drop = [...present].filter((p) => !keep.has(p));
      if (drop.length === 0) continue;
      await touch(deps, live, repo.record.name);
      const d = new DeploymentRepository(repo.git);
      const commit = await d.removeIntent(r.intent, r.revision, keep.size === 0 ? undefined : drop, { signal });
      setState(deps, live, {
        state: r.state,
        reason: `removed ${drop.join(", ")} from ${repo.record.name}`,
        kind: "progress",
      });
      const edge = repo.record.edge ? deps.edges.get(repo.record.edge) : undefined;
      // A lost edge (a heal moved its packages away) removes them when it returns, as its repository says.
      if (edge && !r.healedFrom?.includes(edge.name)) {
        await onEdge(live, () =>
          waitSynced(
            deps,
            { edge, repository: repo.record.name, commit: commit.commit, intent: r.intent, timeoutMs: r.timeoutMs },
            signal,
          ),
        );
      }
    }
  },
};

/**
 * Ends the segments an earlier revision committed that this revision no longer has (its packages came home or
 * went to another domain), now that the new revision runs; and checks that every segment of this revision is
 * committed and READY (the waves step waited on each at its last wave).
 */
export const settleSegments: Step<RunContext> = {
  name: "end the segments the intent no longer has",
  failpoint: "segments",
  async run(ctx) {
    const { deps, live, signal } = ctx;
    const plan = planOf(ctx);
    const current = new Set(plan.segments.map((s) => s.id));
    const problems = await endSegments(deps, live, "the intent no longer has it", signal, (s) => !current.has(s.id));
    if (problems.length > 0)
      setState(deps, live, { state: live.record.state, reason: problems.join("; "), kind: "progress" });
    const notReady = (live.record.segments ?? []).filter(
      (s) => current.has(s.id) && (s.phase !== "committed" || s.state !== "READY"),
    );
    if (notReady.length > 0)
      throw new RunFailure(`segments not READY: ${notReady.map((s) => `${s.id} ${s.phase} ${s.state}`).join(", ")}`);
  },
};

/** The end: the intent READY, its record written durably before the run reports it settled. */
export const ready: Step<RunContext> = {
  name: "ready",
  failpoint: "ready",
  async run(ctx) {
    const { deps, live } = ctx;
    const plan = planOf(ctx);
    // A segment's plan has the origin's packages as the other ends of its links: they are not this run's.
    const mine = live.record.segment ? plan.packages.filter((p) => p.domain === deps.domainId) : plan.packages;
    const where = [...new Set(mine.map((p) => (p.domain === deps.domainId ? p.edge : `${p.domain} (segment)`)))].join(
      ", ",
    );
    doneWaitingAll(live);
    setState(deps, live, { state: "READY", reason: `every package READY (${mine.length} on ${where})` });
    // The run's end in the same write as READY (the write reads the record when it starts).
    endRun(live);
    ctx.ended = true;
    await deps.journal.save(live.record);
  },
};

/** The deployment of one revision, in order. */
export const DEPLOY_STEPS: readonly Step<RunContext>[] = [
  admit,
  chainWave,
  waves,
  removeDropped,
  settleSegments,
  ready,
];

/** A hosted segment's record as planning's given side. */
export function givenOf(seg: HostedSegmentRecord): GivenSegment {
  return { hostIntent: seg.hostIntent, remote: { ...seg.remote, addresses: [...seg.remote.addresses] } };
}
