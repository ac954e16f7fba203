/**
 * `camino intent watch|get|ls|terminate`: the lifecycle of deployments from the command line, and the pure
 * formatting every lifecycle command shares (state names, event lines, tables, the exit code of a final state).
 */
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import {
  DeploymentEventSchema,
  DeploymentSchema,
  DeploymentState,
  type AdmissionReason,
  type Deployment,
  type DeploymentEvent,
} from "../../../gen/camino/v1/types_pb.js";
import { DurationError, formatDuration, parseDuration } from "../../../common/duration.js";
import { CaminoError } from "../../errors.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect, type AgentConnection, type ClientFlags } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, protoJson, streamItem, table, writeOutput } from "../output.js";
import { parseFlags, type Command, type CommandIO } from "../command.js";
import { createLiveScreen } from "../live-screen.js";
import { formatClock, stateName, WatchProgress } from "../watch-progress.js";

/** Kept here for the commands that import it from this file; see output.ts. */
export { outputFormat };

/** States a whole intent rests in; the agent closes a (not following) watch once the deployment reaches one. */
const TERMINAL: ReadonlySet<DeploymentState> = new Set([
  DeploymentState.READY,
  DeploymentState.DEGRADED,
  DeploymentState.TERMINATED,
  DeploymentState.FAILED,
  DeploymentState.ROLLED_BACK,
]);

/** Table cells longer than this are cut (tables only; JSON and YAML carry the whole text). */
const REASON_WIDTH = 60;

/** A bound on ListDeployments pages, so a server that keeps answering with a token cannot loop us forever. */
const MAX_PAGES = 1000;

export { formatClock, stateName };

/** Whether a whole intent in this state has settled. */
export function isTerminal(state: DeploymentState): boolean {
  return TERMINAL.has(state);
}

/**
 * The exit code for the state an intent settled in: 0 for READY and TERMINATED, 8 for ROLLED_BACK, 9 for
 * DEGRADED; 1 for FAILED or no terminal state at all (undefined, or a state the deployment only passes through).
 */
export function exitCodeForState(state: DeploymentState | undefined): number {
  switch (state) {
    case DeploymentState.READY:
    case DeploymentState.TERMINATED:
      return EXIT.OK;
    case DeploymentState.ROLLED_BACK:
      return EXIT.ROLLED_BACK;
    case DeploymentState.DEGRADED:
      return EXIT.DEGRADED;
    default:
      return EXIT.ERROR;
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Local date and time, `YYYY-MM-DD HH:MM:SS`, or `-` for an unset timestamp. */
export function formatLocalTime(ts: Timestamp | undefined): string {
  if (!ts) return "-";
  const d = new Date(timestampMs(ts));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One line of text, cut to `width` characters with an ellipsis. */
export function truncate(text: string, width: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** One admission reason as an indented line, `  package@edge [check] message`. */
export function formatAdmissionReason(reason: AdmissionReason): string {
  return `  ${reason.package || "intent"}${reason.edge ? `@${reason.edge}` : ""} [${reason.check}] ${reason.message}`;
}

/** The line naming a deployment and its state, e.g. `deployment video-chain-r2 (intent video-chain, revision 2) READY`. */
export function formatDeploymentLine(d: Deployment): string {
  const origin = d.origin ? ` [segment ${d.segmentId}, run for ${d.origin}]` : "";
  return `deployment ${d.id} (intent ${d.intent}, revision ${d.revision})${origin} ${stateName(d.state)}${d.reason ? `: ${d.reason}` : ""}`;
}

/** `camino intent get` as text: the deployment line, its packages, segments, and admission reasons. */
export function formatDeployment(d: Deployment): string {
  const times: string[] = [];
  if (d.createdAt) times.push(`created ${formatLocalTime(d.createdAt)}`);
  if (d.updatedAt) times.push(`updated ${formatLocalTime(d.updatedAt)}`);
  if (d.timeoutMs) times.push(`timeout ${formatDuration(Number(d.timeoutMs))}`);
  let out = `${formatDeploymentLine(d)}\n${times.length > 0 ? `${times.join(", ")}\n` : ""}`;
  if (d.timing) {
    const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
    out += `run time: agent ${ms(d.timing.agentMs)}, edges and peers ${ms(d.timing.edgeMs)}, queue ${ms(d.timing.queueMs)}\n`;
    if (d.timing.steps.length > 0)
      out += `${table(
        ["STEP", "AGENT", "EDGES AND PEERS"],
        d.timing.steps.map((s) => [s.step, ms(s.agentMs), ms(s.edgeMs)]),
      )
        .trimEnd()
        .replace(/^/gm, "  ")}\n`;
  }
  if (d.packages.length > 0) {
    out +=
      "\n" +
      table(
        ["PACKAGE", "WAVE", "EDGE", "STATE", "REASON"],
        d.packages.map((p) => [
          p.package,
          p.wave ? String(p.wave) : "-",
          p.edge || (p.domain ? `domain ${p.domain}` : "-"),
          stateName(p.state),
          p.reason || "-",
        ]),
      );
  }
  if (d.segments.length > 0) {
    out +=
      "\nsegments:\n" +
      d.segments
        .map(
          (s) =>
            `  ${s.id} in ${s.domain} (${s.packages.join(",")}, namespace ${s.namespace || "-"}, generation ${s.generation}) ${s.phase} ${stateName(s.state)}${s.reason ? `: ${s.reason}` : ""}\n`,
        )
        .join("");
  }
  if (d.admission.length > 0) {
    out += `\nadmission refused:\n${d.admission.map((r) => `${formatAdmissionReason(r)}\n`).join("")}`;
  }
  return out;
}

/** `camino intent ls` as a table; long reasons cut to ~60 characters. */
export function formatDeploymentTable(deployments: readonly Deployment[]): string {
  return table(
    ["NAME", "REVISION", "STATE", "PACKAGES", "UPDATED", "REASON"],
    deployments.map((d) => [
      // A segment run for another domain is marked with its origin.
      d.origin ? `${d.intent} (segment of ${d.origin})` : d.intent,
      String(d.revision),
      stateName(d.state),
      `${d.packages.filter((p) => p.state === DeploymentState.READY).length}/${d.packages.length}`,
      formatLocalTime(d.updatedAt),
      truncate(d.reason, REASON_WIDTH) || "-",
    ]),
  );
}

/**
 * The line a watch ends with, given the whole-intent event it settled on and when the deployment's first seen
 * event happened: `video-chain: READY in 2.3 s`, or `video-chain: ROLLED_BACK: <reason>`.
 */
export function formatSummary(name: string, final: DeploymentEvent, startedMs?: number): string {
  const state = stateName(final.state);
  if (exitCodeForState(final.state) !== EXIT.OK) return `${name}: ${state}: ${final.reason || "no reason given"}`;
  const took =
    startedMs !== undefined && final.time ? ` in ${((timestampMs(final.time) - startedMs) / 1000).toFixed(1)} s` : "";
  return `${name}: ${state}${took}`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `--since`: a duration back from `nowMs` ("10m") or an RFC 3339 time ("2025-01-31T12:00:00Z").
 * @throws UsageError for anything else.
 */
export function parseSince(text: string, nowMs: number): Timestamp {
  if (RFC3339.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return timestampFromMs(ms);
  }
  try {
    return timestampFromMs(nowMs - parseDuration(text));
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new UsageError(
      `--since ${JSON.stringify(text)} is neither a duration (10m, 1h30m) nor an RFC 3339 time (2025-01-31T12:00:00Z)`,
    );
  }
}

/** How a watch prints: `lines` and `live` are for people, `json` and `yaml` one item per event for scripts. */
export type WatchFormat = "lines" | "live" | "json" | "yaml";

/** Options of {@link followDeployment}. */
export interface FollowOptions {
  /** A DomainManager client. */
  client: Client<typeof DomainManager>;
  /** The intent name or the deployment id to watch. */
  name: string;
  /** Replay events after this time; unset means from the current state on. */
  since?: Timestamp | undefined;
  /**
   * lines: one plain line per change (no control characters) and a summary on stderr; live: a table redrawn in
   * place on a terminal (`screen`) and the same summary; json: one toJson(DeploymentEvent) per line (JSON Lines);
   * yaml: one YAML document per event.
   */
  format: WatchFormat;
  /** The terminal's width and whether to colour, for `live`. Default 80 columns, no colour. */
  screen?: { columns: number; colour: boolean } | undefined;
  io: Pick<CommandIO, "stdout" | "stderr">;
  /** Ends the watch (Ctrl-C); the deployment itself goes on. */
  signal: AbortSignal;
  /** A deadline for the whole stream; none when unset (a deployment may take as long as its spec.timeout). */
  timeoutMs?: number | undefined;
  /** Call headers (the authorization header). */
  headers?: Record<string, string> | undefined;
  /** Keep watching after the deployment settles (alerts, later runs), until the signal or the deadline. */
  follow?: boolean;
  /** Count elapsed times from here (the agent's clock; a termination's start) instead of the deployment's. */
  startedAt?: Timestamp | undefined;
  /** This machine's clock (tests). Default Date.now. */
  now?: () => number;
  /** How often the live table is redrawn for its elapsed times. Default 1000 ms. */
  tickMs?: number;
}

/**
 * Streams WatchDeployment until the agent closes it, printing every event, and returns the exit code of the
 * state the whole intent settled in ({@link exitCodeForState}). Ctrl-C (the signal) is exit 130; a deadline, or
 * a stream that ends without a terminal whole-intent state, is exit 1 with a line on stderr — except that a
 * following watch stopped by its deadline exits with the code of the state last seen. Other call failures are
 * thrown. In the human formats the placement of packages is read with GetDeployment (events do not carry it);
 * when that fails the edge shows as `-`.
 */
export async function followDeployment(options: FollowOptions): Promise<number> {
  const { io, format, client } = options;
  const now = options.now ?? Date.now;
  const progress = new WatchProgress(options.name);
  if (options.startedAt) progress.startAt(timestampMs(options.startedAt));
  const human = format === "lines" || format === "live";
  const callOptions = {
    signal: options.signal,
    ...(options.headers ? { headers: options.headers } : {}),
  };
  // The placement, asked for again only when some package past PENDING lacks it and the intent moved on.
  let askedAt: string | undefined;
  const placement = async () => {
    const key = `${progress.deploymentId}/${progress.state}`;
    if (askedAt === key) return;
    askedAt = key;
    try {
      const { deployment } = await client.getDeployment({ name: options.name }, { ...callOptions, timeoutMs: 10_000 });
      if (deployment) progress.applyDeployment(deployment, options.since !== undefined);
    } catch {
      // Only the edge column is missing; the watch itself reports real failures.
    }
  };
  const screen = format === "live" ? createLiveScreen({ out: io.stdout }) : undefined;
  const frame = { columns: options.screen?.columns ?? 80, colour: options.screen?.colour ?? false };
  const redraw = () => screen?.draw(progress.frame(now(), frame));
  const ticker = screen ? setInterval(redraw, options.tickMs ?? 1000) : undefined;
  let final: DeploymentEvent | undefined;
  /** What the last line printed for each package ("" for the intent) said. */
  const printed = new Map<string, string>();
  try {
    if (human) await placement();
    redraw();
    const stream = client.watchDeployment(
      { name: options.name, follow: options.follow === true, ...(options.since ? { since: options.since } : {}) },
      { ...callOptions, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) },
    );
    for await (const { event } of stream) {
      if (!event) continue;
      if (!event.package && event.kind !== "alert") final = event;
      if (!human) {
        io.stdout.write(streamItem(protoJson(DeploymentEventSchema, event), format));
        continue;
      }
      progress.apply(event, now());
      if (progress.needsPlacement()) await placement();
      if (screen) {
        redraw();
        continue;
      }
      // One line per change: an event repeating what was printed last for its package (or the intent) is none.
      const said = `${event.deploymentId} ${stateName(event.state)} ${event.reason}`;
      if (event.kind !== "alert" && printed.get(event.package) === said) continue;
      printed.set(event.package, said);
      io.stdout.write(`${progress.line(event, now())}\n`);
    }
  } catch (err) {
    // Leaving is not a failure of the call: say where the deployment stood, as a stream that ended early does.
    const interrupted = err instanceof ConnectError && err.code === Code.Canceled && options.signal.aborted;
    const timedOut =
      err instanceof ConnectError && err.code === Code.DeadlineExceeded && options.timeoutMs !== undefined;
    if (!interrupted && !timedOut) throw err;
    finish();
    const last = final ? `last state ${stateName(final.state)}` : "no state seen";
    if (interrupted) {
      io.stderr.write(`${progress.intent}: stopped watching (interrupted); ${last}; the deployment goes on\n`);
      return EXIT.INTERRUPTED;
    }
    // Following ends only this way: the exit code is the state the intent was last seen in.
    if (options.follow && final && isTerminal(final.state)) {
      io.stderr.write(`${progress.intent}: stopped following; ${last}\n`);
      return exitCodeForState(final.state);
    }
    io.stderr.write(
      `${progress.intent}: stopped watching (not settled within --timeout); ${last}; the deployment goes on\n`,
    );
    return EXIT.ERROR;
  } finally {
    finish();
  }
  if (!final || !isTerminal(final.state)) {
    io.stderr.write(
      `${progress.intent}: the watch ended before the deployment settled (${final ? `last state ${stateName(final.state)}` : "no state seen"})\n`,
    );
    return EXIT.ERROR;
  }
  if (human) io.stderr.write(`${formatSummary(progress.intent, final, progress.startMs)}\n`);
  return exitCodeForState(final.state);

  function finish() {
    if (ticker) clearInterval(ticker);
    redraw();
  }
}

/**
 * Runs `fn` with a signal that fires on the first Ctrl-C. The handler is removed afterwards, so a second Ctrl-C
 * (or one after the watch) ends the process as usual.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once("SIGINT", onInterrupt);
  try {
    return await fn(controller.signal);
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
}

/** A stream gets a deadline only when --timeout was given: the default per-call one is for unary calls. */
export function streamTimeout(flags: ClientFlags, conn: AgentConnection): number | undefined {
  return flags.timeout ? conn.callOptions.timeoutMs : undefined;
}

/** Flags of every command that watches a deployment, besides -o. */
export const WATCH_FLAGS = { "no-tty": { type: "boolean" } } as const;

export const WATCH_HELP = `  --no-tty              print one plain line per change even on a terminal (also: env CAMINO_NO_TTY=1,
                        TERM=dumb); NO_COLOR=1 keeps the live table but without colours`;

/**
 * How a watch prints for `-o` (text, json or yaml) on this output: a live table redrawn in place when stdout is
 * a terminal (and neither --no-tty, CAMINO_NO_TTY nor TERM=dumb says otherwise), one line per change when not.
 */
export function watchFormat(
  output: "text" | "json" | "yaml",
  noTty: boolean | undefined,
  io: Pick<CommandIO, "stdout" | "env">,
): { format: WatchFormat; screen?: { columns: number; colour: boolean } } {
  if (output !== "text") return { format: output };
  const env = io.env;
  const terminal = io.stdout.isTTY === true && noTty !== true && !env["CAMINO_NO_TTY"] && env["TERM"] !== "dumb";
  if (!terminal) return { format: "lines" };
  const columns = io.stdout.columns && io.stdout.columns > 0 ? io.stdout.columns : 80;
  return { format: "live", screen: { columns, colour: !env["NO_COLOR"] } };
}

export function oneName(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError("give exactly one intent NAME (or deployment id)");
  return positionals[0] as string;
}

/** The end of every watch's help: what it prints and its exit codes. */
export const WATCH_OUTPUT_HELP = `On a terminal the watch shows a table redrawn in place: the intent's state line, then per wave each package
with its state, edge, the time since the deployment started (until the package settled) and its reason.
Elsewhere (a pipe, a CI log) it prints one line per change, with no control characters:
  HH:MM:SS.mmm wave W PACKAGE STATE EDGE (ELAPSED) REASON
  HH:MM:SS.mmm intent NAME STATE - (ELAPSED) REASON
(an unknown edge or elapsed time is "-"), and a summary line on stderr. -o json prints one DeploymentEvent
(proto JSON) per line, -o yaml one YAML document per event.

Exit code at the end of the watch: 0 READY or TERMINATED, ${EXIT.ROLLED_BACK} ROLLED_BACK, ${EXIT.DEGRADED} DEGRADED, 1 FAILED or a watch that
ends before the intent settles (--timeout, a closed stream), ${EXIT.INTERRUPTED} interrupted (Ctrl-C stops watching, not the
deployment).`;

export const intentWatchCommand: Command = {
  name: "intent watch",
  summary: "follow a deployment's progress until it settles",
  help: `Usage: camino intent watch NAME [--since DURATION|RFC3339] [--follow] [--no-tty] [-o text|json|yaml] [client flags]

Follows a deployment (WatchDeployment, scope intents:read; GetDeployment for the placement) until the agent
closes the stream because the deployment settled (READY, DEGRADED, ROLLED_BACK, FAILED, TERMINATED). NAME is
the intent name or a deployment id. The stream has no deadline unless --timeout is given.

${WATCH_OUTPUT_HELP}

With --follow the stream stays open after the deployment settles, so what happens to it later (DEGRADED and
READY again, alerts firing and resolving, later runs) is shown too, until Ctrl-C or --timeout; a follow ended
by --timeout exits with the code of the state the intent was last seen in (e.g. ${EXIT.DEGRADED} while DEGRADED).

  --since WHEN          replay events after WHEN: a duration back from now (10m) or an RFC 3339 time;
                        default: from the current state on
  --follow              keep watching after the deployment settles
${WATCH_HELP}
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, ...WATCH_FLAGS, since: { type: "string" }, follow: { type: "boolean" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const output = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const since = values.since !== undefined ? parseSince(values.since, Date.now()) : undefined;
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    return withInterrupt((signal) =>
      followDeployment({
        client,
        name,
        since,
        ...watchFormat(output, values["no-tty"], io),
        io,
        signal,
        timeoutMs: streamTimeout(values, conn),
        headers: conn.callOptions.headers,
        follow: values.follow === true,
      }),
    );
  },
};

export const intentGetCommand: Command = {
  name: "intent get",
  summary: "show a deployment: its state, packages and admission verdict",
  help: `Usage: camino intent get NAME [-o table|json|yaml] [client flags]

Shows one deployment (GetDeployment, scope intents:read): id, revision, state and reason, then each package
with its wave, edge, state and reason, and — when admission refused the intent — every reason why.
NAME is the intent name or a deployment id. JSON and YAML are the Deployment message (proto JSON).

${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const format = outputFormat(values.output);
    const conn = connect(values, io.env);
    const { deployment } = await conn.client(DomainManager).getDeployment({ name }, conn.callOptions);
    if (!deployment) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a deployment");
    writeOutput(io, format, {
      text: () => formatDeployment(deployment),
      data: () => protoJson(DeploymentSchema, deployment),
    });
    return EXIT.OK;
  },
};

export const intentListCommand: Command = {
  name: "intent ls",
  summary: "list deployments with their state",
  help: `Usage: camino intent ls [-o table|json|yaml] [client flags]

Lists every deployment (ListDeployments, scope intents:read, all pages): intent name, revision, state,
packages ready of total, last update and reason (cut to ${REASON_WIDTH} characters in the table). JSON and YAML
are a list of Deployment messages (proto JSON).

${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    const deployments: Deployment[] = [];
    let pageToken = "";
    for (let page = 0; ; page++) {
      if (page === MAX_PAGES)
        throw new CaminoError("ERR_BAD_RESPONSE", `the agent kept paging after ${MAX_PAGES} pages`);
      const res = await client.listDeployments({ pageSize: 100, pageToken }, conn.callOptions);
      deployments.push(...res.deployments);
      if (!res.nextPageToken) break;
      if (res.nextPageToken === pageToken)
        throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered with the same page token twice");
      pageToken = res.nextPageToken;
    }
    if (format === "table" && deployments.length === 0) {
      io.stderr.write("no deployments\n");
      return EXIT.OK;
    }
    writeOutput(io, format, {
      text: () => formatDeploymentTable(deployments),
      data: () => deployments.map((d) => protoJson(DeploymentSchema, d)),
    });
    return EXIT.OK;
  },
};

export const intentTerminateCommand: Command = {
  name: "intent terminate",
  summary: "remove a deployed intent, wave by wave in reverse order",
  help: `Usage: camino intent terminate NAME [--force] [--watch [--no-tty]] [-o text|json|yaml] [client flags]

Terminates an intent (TerminateIntent, scope intents:write): its packages are removed wave by wave in
reverse order, its segments terminated and its reservations released. Prints the state the deployment
is in when the agent answers (TERMINATING while removal goes on); -o json or yaml prints the Deployment
message (proto JSON) instead.

Termination is refused (FAILED_PRECONDITION, exit 3) while another live intent relies on this one (a
prerequisite it declares is met by a package of this intent); the message names the dependants.

  --force               terminate anyway (scope intents:force): the dependants become DEGRADED
  --watch               follow the removal until TERMINATED (as camino intent watch; scope intents:read too);
                        exit 0 when TERMINATED, ${EXIT.INTERRUPTED} on Ctrl-C
${WATCH_HELP}
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, ...WATCH_FLAGS, force: { type: "boolean" }, watch: { type: "boolean" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const output = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    const { deployment } = await client.terminateIntent({ name, force: values.force === true }, conn.callOptions);
    if (!deployment) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a deployment");
    if (values.watch && output !== "text") {
      // A stream of items: the answer is the first, then the events.
      io.stdout.write(streamItem(protoJson(DeploymentSchema, deployment), output));
    } else {
      writeOutput(io, output, {
        text: () => `${formatDeploymentLine(deployment)}\n`,
        data: () => protoJson(DeploymentSchema, deployment),
      });
    }
    if (!values.watch) return EXIT.OK;
    return withInterrupt((signal) =>
      followDeployment({
        client,
        name: deployment.id || name,
        startedAt: deployment.updatedAt,
        ...watchFormat(output, values["no-tty"], io),
        io,
        signal,
        timeoutMs: streamTimeout(values, conn),
        headers: conn.callOptions.headers,
      }),
    );
  },
};
