/**
 * What CAMINO writes into an edge's deployment repository: hydrated packages under `<intent>/<package>/`, the
 * chain's shared objects under `<intent>/_chain/`, one commit per wave whose message names intent, revision
 * and wave. Removal and rollback touch only that intent's paths, so concurrent intents never undo each other.
 * The `camino-system` sentinel Namespace is always present: ConfigSync refuses a commit that would delete
 * every namespace and cluster-scoped object (KNV2006), which would block removing an edge's last chain.
 * Every write takes the caller's signal (`options.signal`): on a remote repository it stops the fetch and the
 * push, each of which also has its own deadline.
 */
import type { ChangeSet, CommitResult, GitRepository, OperationOptions, PreparedCommit } from "./git/repository.js";

/** Path of the sentinel; `_` cannot start an intent name, so no intent's paths can collide with it. */
export const SENTINEL_PATH = "_camino/camino-system.yaml";

/** The folder of the edge's trust of peer meshes, shared by every chain on the edge. */
export const TRUST_FOLDER = "_camino/trust";

export const SENTINEL_TEXT = `# Kept by CAMINO in every deployment repository: ConfigSync refuses a commit that would remove every
# namespace and cluster-scoped object (KNV2006), so this Namespace keeps the last chain removable.
apiVersion: v1
kind: Namespace
metadata:
  name: camino-system
  labels:
    app.kubernetes.io/managed-by: camino
`;

/**
 * The git trailers every commit CAMINO makes for an intent carries, so that a commit is recognised for what it
 * is (by `git log`, `git interpret-trailers`, and a step run again after a crash): `Camino-Intent`,
 * `Camino-Revision` and, for a wave, `Camino-Wave`; `Camino-Action` says what the commit does.
 */
export function caminoTrailers(t: { intent: string; revision: number; wave?: number; action: string }): string {
  return [
    `Camino-Intent: ${t.intent}`,
    `Camino-Revision: ${t.revision}`,
    ...(t.wave !== undefined ? [`Camino-Wave: ${t.wave}`] : []),
    `Camino-Action: ${t.action}`,
  ].join("\n");
}

/** The Camino-* trailers of a commit message, by name (the last paragraph's `Key: value` lines). */
export function readTrailers(message: string): Record<string, string> {
  const paragraphs = message.trim().split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? (paragraphs.at(-1) ?? "") : "";
  const out: Record<string, string> = {};
  for (const line of last.split("\n")) {
    const m = /^(Camino-[A-Za-z-]+):\s*(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

export interface WaveWrite {
  intent: string;
  revision: number;
  wave: number;
  /** Packages of this wave on this repository: package name → its files (repository paths). */
  packages: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Files of `<intent>/_chain/`, written with wave 0. */
  chain?: ReadonlyMap<string, string>;
  /**
   * Set when the wave may have been committed already (a run resumed after a crash): the repository's head before
   * the revision first wrote to it ("" when it was empty). A commit after it carrying this wave's trailers is
   * the wave's commit, and no other is made.
   */
  committedAfter?: string;
  /** What the branch waits for before it moves (ChangeSet.after). */
  after?: Promise<unknown>;
}

/** A wave's change set: its packages' folders replaced by their files (and the chain's, for wave 0), trailers named. */
function waveChange(w: WaveWrite): ChangeSet {
  const write = new Map<string, string>([[SENTINEL_PATH, SENTINEL_TEXT]]);
  const remove: string[] = [];
  if (w.chain) {
    remove.push(`${w.intent}/_chain`);
    for (const [p, t] of w.chain) {
      if (!p.startsWith(`${w.intent}/_chain/`)) throw new TypeError(`${p} is outside ${w.intent}/_chain/`);
      write.set(p, t);
    }
  }
  for (const [pkg, files] of w.packages) {
    remove.push(`${w.intent}/${pkg}`);
    for (const [p, t] of files) {
      if (!p.startsWith(`${w.intent}/${pkg}/`)) throw new TypeError(`${p} is outside ${w.intent}/${pkg}/`);
      write.set(p, t);
    }
  }
  return {
    write,
    remove,
    message: `camino: ${w.intent} revision ${w.revision} wave ${w.wave}\n\n${caminoTrailers({ ...w, action: "deploy" })}`,
    ...(w.after && { after: w.after }),
    ...(w.committedAfter !== undefined && {
      recognise: {
        trailers: {
          "Camino-Intent": w.intent,
          "Camino-Revision": String(w.revision),
          "Camino-Wave": String(w.wave),
          "Camino-Action": "deploy",
        },
        since: w.committedAfter || undefined,
      },
    }),
  };
}

/** An edge's deployment repository. */
export class DeploymentRepository {
  constructor(readonly repo: GitRepository) {}

  /** Makes sure the sentinel exists (a first commit on an empty repository). */
  async ensureSentinel(options: OperationOptions = {}): Promise<CommitResult> {
    return this.repo.commit(
      { write: new Map([[SENTINEL_PATH, SENTINEL_TEXT]]), message: "camino: keep the camino-system sentinel" },
      options,
    );
  }

  /**
   * Writes one wave: each package's folder is replaced by its new files (so a file the package no longer has
   * is removed), and unchanged files stay the same blobs. Nothing changed → no commit.
   */
  async writeWave(w: WaveWrite, options: OperationOptions = {}): Promise<CommitResult> {
    return this.repo.commit(waveChange(w), options);
  }

  /**
   * The wave's commit made and written, the branch left where it is (GitRepository.prepare); undefined for a
   * repository that does not prepare commits (a remote one). {@link landWave} moves the branch to it.
   */
  async prepareWave(w: WaveWrite, options: OperationOptions = {}): Promise<PreparedCommit | undefined> {
    return this.repo.prepare?.(waveChange(w), options);
  }

  /** Lands a prepared wave: the branch moved to it, or the wave committed anew if the branch moved meanwhile. */
  async landWave(prepared: PreparedCommit, options: OperationOptions = {}): Promise<CommitResult> {
    if (!this.repo.land) return this.repo.commit(prepared.change, options);
    return this.repo.land(prepared, options);
  }

  /** Removes an intent's packages (all, or the named ones), leaving every other path as it is. */
  async removeIntent(
    intent: string,
    revision: number,
    packages?: readonly string[],
    options: OperationOptions = {},
  ): Promise<CommitResult> {
    const remove = packages ? packages.map((p) => `${intent}/${p}`) : [intent];
    return this.repo.commit(
      {
        write: new Map([[SENTINEL_PATH, SENTINEL_TEXT]]),
        remove,
        message: `camino: remove ${intent} revision ${revision}\n\n${caminoTrailers({ intent, revision, action: "remove" })}`,
      },
      options,
    );
  }

  /**
   * Rolls an intent back: its paths become what they were at `baseline` (absent if it had none then), in a new
   * commit; the rest of the tree, including other intents' later commits, is untouched.
   */
  async restoreIntent(
    intent: string,
    revision: number,
    baseline: string | undefined,
    options: OperationOptions = {},
  ): Promise<CommitResult> {
    const before = baseline ? await this.repo.readFiles(baseline, intent) : new Map<string, string>();
    before.set(SENTINEL_PATH, SENTINEL_TEXT);
    return this.repo.commit(
      {
        write: before,
        remove: [intent],
        message: `camino: roll back ${intent} revision ${revision}\n\n${caminoTrailers({ intent, revision, action: "roll-back" })}`,
      },
      options,
    );
  }

  /**
   * Replaces the edge's trust of peer meshes (`_camino/trust/`, agent/network/mesh-trust.ts) with `files`; none
   * removes the folder. Nothing changed → no commit.
   */
  async writeTrust(
    files: ReadonlyMap<string, string>,
    why: string,
    options: OperationOptions = {},
  ): Promise<CommitResult> {
    const write = new Map<string, string>([[SENTINEL_PATH, SENTINEL_TEXT]]);
    for (const [p, t] of files) {
      if (!p.startsWith(`${TRUST_FOLDER}/`)) throw new TypeError(`${p} is outside ${TRUST_FOLDER}/`);
      write.set(p, t);
    }
    return this.repo.commit({ write, remove: [TRUST_FOLDER], message: `camino: mesh trust, ${why}` }, options);
  }

  /** Intents that have paths in the repository now. */
  async intents(): Promise<string[]> {
    const names = new Set<string>();
    for (const p of (await this.repo.listFiles()).keys()) {
      const top = p.split("/")[0] as string;
      if (!top.startsWith("_") && p.includes("/")) names.add(top);
    }
    return [...names].sort();
  }
}
