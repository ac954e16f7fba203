/**
 * What a watch knows about one deployment while it follows it: the intent's state and each package's wave,
 * edge, state and reason, kept up to date from WatchDeployment events (and GetDeployment for the placement,
 * which events do not carry). It renders the two human formats of a watch: one plain line per change (logs,
 * pipes: no control characters at all) and a frame of lines redrawn in place on a terminal (the intent's state
 * line, then a compact table grouped by wave). Pure: time comes in as a parameter.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { DeploymentState, type Deployment, type DeploymentEvent } from "../../gen/camino/v1/types_pb.js";

const S = DeploymentState;

/** States a package or an intent rests in: its elapsed time stops there. */
const RESTING: ReadonlySet<DeploymentState> = new Set([S.READY, S.DEGRADED, S.FAILED, S.ROLLED_BACK, S.TERMINATED]);

/** One package as the watch shows it. */
export interface PackageProgress {
  package: string;
  /** 0 while unknown. */
  wave: number;
  /** The edge it is placed on, `domain <peer>` for a package in a peer domain, "" while unknown. */
  edge: string;
  state: DeploymentState;
  reason: string;
  /** When (agent's clock, ms) it last changed state. */
  changedMs: number | undefined;
}

/**
 * The state's name without the `DEPLOYMENT_STATE_` prefix.
 * @example stateName(DeploymentState.ROLLED_BACK) // "ROLLED_BACK"
 */
export function stateName(state: DeploymentState): string {
  return (DeploymentState[state] as string | undefined) ?? `STATE_${state}`;
}

/** Text with every control character (C0, DEL, C1: newlines, tabs, escapes) turned into a space. */
export function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}

/** A duration for people: `850ms`, `1.2s`, `2m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Local wall-clock time with milliseconds, `HH:MM:SS.mmm`. */
export function formatClock(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** SGR colours of states on a terminal. */
const COLOUR: Partial<Record<DeploymentState, string>> = {
  [S.READY]: "32",
  [S.DEGRADED]: "33",
  [S.FAILED]: "31",
  [S.ROLLED_BACK]: "31",
  [S.TERMINATED]: "2",
  [S.TERMINATING]: "35",
};

/** How a frame is drawn. */
export interface FrameOptions {
  /** The terminal's width: every line is cut to it (a wrapped line would break the redraw). */
  columns: number;
  /** Colour states with ANSI SGR codes. */
  colour: boolean;
}

/** One deployment as the watch has seen it so far. */
export class WatchProgress {
  intent: string;
  deploymentId = "";
  revision = 0n;
  state: DeploymentState | undefined;
  reason = "";
  /** When the intent last changed state (agent's clock, ms). */
  changedMs: number | undefined;
  /** When the deployment started (agent's clock, ms): its creation, else its first event seen. */
  startMs: number | undefined;
  /** The last alert event's reason (shown under the table). */
  lastAlert = "";
  readonly packages = new Map<string, PackageProgress>();
  /**
   * This machine's clock minus the agent's, estimated as the smallest gap seen between an event's time and its
   * arrival (a live event arrives at once; a replayed one late), so elapsed times tick right across machines.
   */
  #offsetMs: number | undefined;
  #startFixed = false;

  constructor(intent: string) {
    this.intent = intent;
  }

  /**
   * Takes one event, received at `arrivalMs` (this machine's clock). A later revision's first event starts the
   * picture afresh. Returns whether anything shown changed (a repeated state and reason changes nothing).
   */
  apply(event: DeploymentEvent, arrivalMs: number): boolean {
    const timeMs = event.time ? timestampMs(event.time) : undefined;
    if (timeMs !== undefined) {
      const gap = arrivalMs - timeMs;
      if (this.#offsetMs === undefined || gap < this.#offsetMs) this.#offsetMs = gap;
    }
    if (event.deploymentId && event.deploymentId !== this.deploymentId) {
      if (this.deploymentId) {
        this.packages.clear();
        this.state = undefined;
        this.startMs = undefined;
        this.#startFixed = false;
        this.lastAlert = "";
      }
      this.deploymentId = event.deploymentId;
      this.revision = event.revision;
    }
    if (event.intent) this.intent = event.intent;
    if (this.startMs === undefined && timeMs !== undefined) this.startMs = timeMs;
    if (event.kind === "alert") {
      this.lastAlert = plain(event.reason);
      return true;
    }
    if (!event.package) {
      const changed = event.state !== this.state || event.reason !== this.reason;
      if (event.state !== this.state) this.changedMs = timeMs;
      this.state = event.state;
      this.reason = event.reason;
      return changed;
    }
    const p = this.packages.get(event.package) ?? {
      package: event.package,
      wave: event.wave,
      edge: "",
      state: S.UNSPECIFIED,
      reason: "",
      changedMs: undefined,
    };
    const changed = event.state !== p.state || event.reason !== p.reason || (event.wave !== 0 && event.wave !== p.wave);
    if (event.state !== p.state) p.changedMs = timeMs;
    p.state = event.state;
    p.reason = event.reason;
    if (event.wave) p.wave = event.wave;
    this.packages.set(event.package, p);
    return changed;
  }

  /**
   * Takes the deployment as GetDeployment answers it: every package (so the table lists them all from the
   * start), its wave and placement, and the deployment's creation as its start (unless {@link startAt} fixed
   * it). A package no event told of yet takes the answer's state, or PENDING with `replaying` (its events
   * since the start are on their way, and the answer's newer state would show before its history).
   */
  applyDeployment(d: Deployment, replaying = false): void {
    if (this.deploymentId && d.id !== this.deploymentId) return;
    if (!this.deploymentId) {
      this.deploymentId = d.id;
      this.revision = d.revision;
    }
    if (d.intent) this.intent = d.intent;
    if (d.createdAt && !this.#startFixed) this.startMs = timestampMs(d.createdAt);
    if (this.state === undefined && !replaying) {
      this.state = d.state;
      this.reason = d.reason;
    }
    for (const dp of d.packages) {
      const p = this.packages.get(dp.package);
      const edge = dp.edge || (dp.domain ? `domain ${dp.domain}` : "");
      if (p) {
        if (edge) p.edge = edge;
        if (dp.wave) p.wave = dp.wave;
      } else {
        this.packages.set(dp.package, {
          package: dp.package,
          wave: dp.wave,
          edge,
          state: replaying ? S.PENDING : dp.state,
          reason: replaying ? "" : dp.reason,
          changedMs: undefined,
        });
      }
    }
  }

  /** Counts elapsed times from `ms` (agent's clock) rather than the deployment's start: a termination's. */
  startAt(ms: number): void {
    this.startMs = ms;
    this.#startFixed = true;
  }

  /** Whether some package past PENDING has no known placement yet (GetDeployment would tell it). */
  needsPlacement(): boolean {
    for (const p of this.packages.values())
      if (!p.edge && p.state !== S.PENDING && p.state !== S.UNSPECIFIED) return true;
    return false;
  }

  /** Since the start until the package (or the intent, without one) settled, or until `nowMs` (local clock). */
  elapsedMs(nowMs: number, p?: PackageProgress): number | undefined {
    if (this.startMs === undefined) return undefined;
    const state = p ? p.state : this.state;
    const changed = p ? p.changedMs : this.changedMs;
    if (state !== undefined && RESTING.has(state) && changed !== undefined) return Math.max(0, changed - this.startMs);
    // A package waiting for its turn has not started.
    if (p && (state === S.PENDING || state === S.UNSPECIFIED)) return undefined;
    return Math.max(0, this.#agentNow(nowMs) - this.startMs);
  }

  #agentNow(nowMs: number): number {
    return nowMs - (this.#offsetMs ?? 0);
  }

  /**
   * The plain line of one event, for logs and pipes (no control characters, one line):
   * `HH:MM:SS.mmm wave W PACKAGE STATE EDGE (ELAPSED) REASON` for a package,
   * `HH:MM:SS.mmm intent NAME STATE - (ELAPSED) REASON` for the whole intent; an unknown edge or elapsed is `-`.
   * Call after {@link apply} of the event, at `nowMs`.
   * @example "12:00:01.200 wave 1 upf COMMITTED edge-1 (1.2s) committed to edge-1"
   */
  line(event: DeploymentEvent, nowMs: number): string {
    const time = event.time ? formatClock(new Date(timestampMs(event.time))) : "--:--:--.---";
    const p = event.package ? this.packages.get(event.package) : undefined;
    const head = p ? `wave ${p.wave || "-"} ${p.package}` : `intent ${this.intent}`;
    // The elapsed time at this event: the event's own time for a replayed one.
    const at = event.time ? timestampMs(event.time) + (this.#offsetMs ?? 0) : nowMs;
    const ms = this.elapsedAt(at, p);
    const text = `${time} ${head} ${stateName(event.state)} ${p?.edge || "-"} (${ms === undefined ? "-" : formatElapsed(ms)}) ${event.reason}`;
    return plain(text).trimEnd();
  }

  /** The elapsed time shown for an event at `atMs` (local clock): never past the event. */
  elapsedAt(atMs: number, p?: PackageProgress): number | undefined {
    if (this.startMs === undefined) return undefined;
    if (p && (p.state === S.PENDING || p.state === S.UNSPECIFIED)) return undefined;
    return Math.max(0, this.#agentNow(atMs) - this.startMs);
  }

  /**
   * The frame a terminal shows at `nowMs`: the intent's state line, then per wave a heading (`wave 2  1/3
   * ready`) and a row per package (name, state, edge, elapsed, reason), columns aligned, every line cut to
   * `columns`; the last alert under it.
   */
  frame(nowMs: number, options: FrameOptions): string[] {
    const paint = (state: DeploymentState | undefined, text: string) => {
      const code = state === undefined ? undefined : COLOUR[state];
      return options.colour && code ? `\u001b[${code}m${text}\u001b[0m` : text;
    };
    const cut = (text: string, width: number) =>
      width <= 0 ? "" : text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
    const out: string[] = [];
    const intentElapsed = this.elapsedMs(nowMs);
    const intentState = this.state === undefined ? "…" : stateName(this.state);
    const title = `intent ${this.intent}${this.revision ? ` revision ${this.revision}` : ""}  `;
    const tail = `  ${intentElapsed === undefined ? "" : formatElapsed(intentElapsed)}${this.reason ? `  ${plain(this.reason)}` : ""}`;
    const bare = title + intentState + tail;
    out.push(
      bare.length <= options.columns
        ? `${title}${paint(this.state, intentState)}${tail}`
        : paint(this.state, cut(bare, options.columns)),
    );
    const rows = [...this.packages.values()];
    const nameW = Math.max(0, ...rows.map((p) => p.package.length));
    const stateW = Math.max(0, ...rows.map((p) => stateName(p.state).length));
    const edgeW = Math.max(1, ...rows.map((p) => p.edge.length));
    const waves = [...new Set(rows.map((p) => p.wave))].sort((a, b) => a - b);
    for (const wave of waves) {
      const inWave = rows.filter((p) => p.wave === wave);
      const ready = inWave.filter((p) => p.state === S.READY).length;
      out.push(cut(`${wave ? `wave ${wave}` : "wave ?"}  ${ready}/${inWave.length} ready`, options.columns));
      for (const p of inWave) {
        const ms = this.elapsedMs(nowMs, p);
        const state = stateName(p.state);
        const before = `  ${p.package.padEnd(nameW)}  `;
        const after = `  ${(p.edge || "-").padEnd(edgeW)}  ${(ms === undefined ? "-" : formatElapsed(ms)).padStart(7)}`;
        const prefix = before + state.padEnd(stateW) + after;
        if (prefix.length > options.columns) {
          out.push(cut(plain(prefix), options.columns));
          continue;
        }
        const reason = p.reason ? `  ${cut(plain(p.reason), options.columns - prefix.length - 2)}` : "";
        out.push(`${before}${paint(p.state, state)}${" ".repeat(stateW - state.length)}${after}${reason}`.trimEnd());
      }
    }
    if (this.lastAlert) out.push(cut(`last alert: ${this.lastAlert}`, options.columns));
    return out;
  }
}
