/**
 * The standing watches of one edge's observer (edge-observer.ts): the settled deployments told what the edge runs
 * for their intent. Which are told at a tick follows what changed, not how many are watched: with the edge's
 * watched copy live, only the watches of the intents the copy heard a change of since the last tick (the edge
 * client's `onIntentChange`), and the restless ones; every watch when the RootSync's errors change, while the
 * copy is not live, and at a rescan every few seconds (a watch grown restless without being told, a retelling
 * due). A watch is then told only if something it was told from moved: its intent's change mark on the edge, the
 * RootSync's errors, a minute passed, or it is restless.
 */
import type { EdgeClient } from "../edge/edge-client.js";
import type { WorkloadReport } from "./edge-observer.js";

export interface WorkloadWatch {
  intent: string;
  seen: (report: WorkloadReport) => void;
  /** Whether it wants telling at every watch period even when nothing of its intent changed. */
  restless: () => boolean;
  /** What it was last told from: the intent's change mark on the edge, the RootSync's errors, and when. */
  told?: { mark: number; sync: string; at: number };
}

/**
 * A watch is told at least this often, whatever changed: a safety net only, since a watch is told whenever its
 * intent's workloads or pods change, the RootSync's errors change, or it is restless. Every retelling is a
 * judgement of the intent, so this sets the background work of a domain at rest: 10,000 intents retold every
 * 5 s were 2,000 judgements a second.
 */
const RETELL_MS = 60_000;

/** Every watch is looked at this often (told only if due), else only those something happened to. */
export const RESCAN_MS = 5000;

export class WorkloadWatches {
  readonly #edge: Pick<EdgeClient, "onIntentChange" | "changesOf" | "watchedLive">;
  readonly #rescanMs: number;
  readonly #all = new Set<WorkloadWatch>();
  readonly #byIntent = new Map<string, Set<WorkloadWatch>>();
  /** The intents the watched copy heard a change of since the last tick (and those of new watches). */
  readonly #changed = new Set<string>();
  /** The watches restless when last looked at: looked at every tick. */
  readonly #restless = new Set<WorkloadWatch>();
  #stopListening: (() => void) | undefined;
  /** The RootSync's errors as the watches were last looked at with, and when all of them are looked at next. */
  #lastFacts: string | undefined;
  #rescanAt = 0;

  constructor(edge: Pick<EdgeClient, "onIntentChange" | "changesOf" | "watchedLive">, rescanMs = RESCAN_MS) {
    this.#edge = edge;
    this.#rescanMs = rescanMs;
  }

  get size(): number {
    return this.#all.size;
  }

  has(w: WorkloadWatch): boolean {
    return this.#all.has(w);
  }

  /** Adds a watch, told at the next tick; returns what removes it. */
  add(w: WorkloadWatch): () => void {
    this.#stopListening ??= this.#edge.onIntentChange((intent) => {
      if (this.#byIntent.has(intent)) this.#changed.add(intent);
    });
    this.#all.add(w);
    let same = this.#byIntent.get(w.intent);
    if (!same) {
      same = new Set();
      this.#byIntent.set(w.intent, same);
    }
    same.add(w);
    this.#changed.add(w.intent);
    return () => {
      this.#all.delete(w);
      this.#restless.delete(w);
      const left = this.#byIntent.get(w.intent);
      left?.delete(w);
      if (left?.size === 0) this.#byIntent.delete(w.intent);
    };
  }

  /** Every watch, each to be told again from scratch (the edge did not answer: nothing was read). */
  untold(): WorkloadWatch[] {
    this.#changed.clear();
    const all = [...this.#all];
    for (const w of all) w.told = undefined;
    return all;
  }

  /**
   * The watches to tell at this tick, given the RootSync's errors (`sync`), each with the change mark it is told
   * from (none while the copy is not live).
   */
  due(sync: string, now: number): { due: WorkloadWatch[]; marks: Map<WorkloadWatch, number> } {
    const marks = new Map<WorkloadWatch, number>();
    const due = this.#candidates(sync, now).filter((w) => {
      const restless = w.restless();
      if (restless) this.#restless.add(w);
      else this.#restless.delete(w);
      const mark = this.#edge.changesOf(w.intent);
      if (mark === undefined) {
        w.told = undefined;
        return true;
      }
      marks.set(w, mark);
      const last = w.told;
      return !last || last.mark !== mark || last.sync !== sync || now - last.at >= RETELL_MS || restless;
    });
    return { due, marks };
  }

  /**
   * Records what the due watches were told from, once told (`read`: their workloads were read), and keeps those
   * now restless (made DEGRADED by what they were told) to be looked at every tick.
   */
  told(due: WorkloadWatch[], marks: Map<WorkloadWatch, number>, sync: string, now: number, read: boolean): void {
    for (const w of due) {
      const mark = marks.get(w);
      if (mark !== undefined && read) w.told = { mark, sync, at: now };
      if (this.#all.has(w) && w.restless()) this.#restless.add(w);
    }
  }

  /** Ends every watch. */
  clear(): void {
    this.#all.clear();
    this.#byIntent.clear();
    this.#restless.clear();
    this.#changed.clear();
    this.#stopListening?.();
    this.#stopListening = undefined;
  }

  #candidates(sync: string, now: number): WorkloadWatch[] {
    const everything = !this.#edge.watchedLive || sync !== this.#lastFacts || now >= this.#rescanAt;
    this.#lastFacts = sync;
    const changed = [...this.#changed];
    this.#changed.clear();
    if (everything) {
      this.#rescanAt = now + this.#rescanMs;
      return [...this.#all];
    }
    const out = new Set(this.#restless);
    for (const intent of changed) for (const w of this.#byIntent.get(intent) ?? []) out.add(w);
    return [...out];
  }
}
