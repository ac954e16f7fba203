/**
 * `camino intent watch|get|ls|terminate`: the lifecycle of deployments from the command line, and the pure
 * formatting every lifecycle command shares (state names, event lines, tables, the exit code of a final state).
 */
import { toJson } from "@bufbuild/protobuf";
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
import { structured, table, type OutputFormat } from "../output.js";
import { parseFlags, type Command, type CommandIO } from "../command.js";

/** States a whole intent rests in; the agent closes a watch once the deployment reaches one. */
const TERMINAL: ReadonlySet<DeploymentState> = new Set([
  DeploymentState.READY,
  DeploymentState.TERMINATED,
  DeploymentState.FAILED,
  DeploymentState.ROLLED_BACK,
]);

/** Table cells longer than this are cut (tables only; JSON and YAML carry the whole text). */
const REASON_WIDTH = 60;

/** A bound on ListDeployments pages, so a server that keeps answering with a token cannot loop us forever. */
const MAX_PAGES = 1000;

/**
 * The state's name without the `DEPLOYMENT_STATE_` prefix.
 * @example stateName(DeploymentState.ROLLED_BACK) // "ROLLED_BACK"
 */
export function stateName(state: DeploymentState): string {
  return (DeploymentState[state] as string | undefined) ?? `STATE_${state}`;
}

/** Whether a whole intent in this state has settled. */
export function isTerminal(state: DeploymentState): boolean {
  return TERMINAL.has(state);
}

/**
 * The exit code for the state an intent settled in: 0 for READY and TERMINATED; 1 for FAILED, ROLLED_BACK, or
 * no terminal state at all (undefined, or a state the deployment only passes through).
 */
export function exitCodeForState(state: DeploymentState | undefined): number {
  return state === DeploymentState.READY || state === DeploymentState.TERMINATED ? EXIT.OK : EXIT.ERROR;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Local wall-clock time with milliseconds, `HH:MM:SS.mmm`. */
export function formatClock(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

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

/**
 * One event as a line (no newline): time, package (or `intent` for the whole intent), wave, state, reason.
 * @example "14:02:03.456  cnf2              wave 2  COMMITTED    committed to edge-1"
 */
export function formatEvent(event: DeploymentEvent): string {
  const time = event.time ? formatClock(new Date(timestampMs(event.time))) : "--:--:--.---";
  const wave = event.wave ? `wave ${event.wave}` : "-";
  return `${time}  ${(event.package || "intent").padEnd(16)}  ${wave.padEnd(7)}  ${stateName(event.state).padEnd(11)}  ${event.reason}`.trimEnd();
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

/** Options of {@link followDeployment}. */
export interface FollowOptions {
  /** A DomainManager client. */
  client: Client<typeof DomainManager>;
  /** The intent name or the deployment id to watch. */
  name: string;
  /** Replay events after this time; unset means from the current state on. */
  since?: Timestamp | undefined;
  /** text: one line per event and a summary on stderr; json: one toJson(DeploymentEvent) per line. */
  format: "text" | "json";
  io: Pick<CommandIO, "stdout" | "stderr">;
  /** Ends the watch (Ctrl-C); the deployment itself goes on. */
  signal: AbortSignal;
  /** A deadline for the whole stream; none when unset (a deployment may take as long as its spec.timeout). */
  timeoutMs?: number | undefined;
  /** Call headers (the authorization header). */
  headers?: Record<string, string> | undefined;
  /** Keep watching after the deployment settles (alerts, later runs), until the signal or the deadline. */
  follow?: boolean;
}

/**
 * Streams WatchDeployment until the agent closes it, printing every event, and returns the exit code of the
 * state the whole intent settled in. Leaving early (signal, deadline) or a stream that ends without a terminal
 * whole-intent state is exit 1 with a line on stderr; other call failures are thrown.
 */
export async function followDeployment(options: FollowOptions): Promise<number> {
  const { io, format } = options;
  let name = options.name;
  let final: DeploymentEvent | undefined;
  const firstSeen = new Map<string, number>();
  try {
    const stream = options.client.watchDeployment(
      { name: options.name, follow: options.follow === true, ...(options.since ? { since: options.since } : {}) },
      {
        signal: options.signal,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      },
    );
    for await (const { event } of stream) {
      if (!event) continue;
      io.stdout.write(
        format === "json"
          ? `${JSON.stringify(toJson(DeploymentEventSchema, event, { alwaysEmitImplicit: true }))}\n`
          : `${formatEvent(event)}\n`,
      );
      if (event.intent) name = event.intent;
      if (event.time && !firstSeen.has(event.deploymentId)) firstSeen.set(event.deploymentId, timestampMs(event.time));
      if (!event.package) final = event;
    }
  } catch (err) {
    // Leaving is not a failure of the call: say where the deployment stood, as a stream that ended early does.
    const interrupted = err instanceof ConnectError && err.code === Code.Canceled && options.signal.aborted;
    const timedOut =
      err instanceof ConnectError && err.code === Code.DeadlineExceeded && options.timeoutMs !== undefined;
    if (!interrupted && !timedOut) throw err;
    // Following ends only this way: the exit code is the state the intent was last seen in.
    if (options.follow && final && isTerminal(final.state)) {
      io.stderr.write(`${name}: stopped following; last state ${stateName(final.state)}\n`);
      return exitCodeForState(final.state);
    }
    const why = interrupted ? "interrupted" : "not settled within --timeout";
    io.stderr.write(
      `${name}: stopped watching (${why}); ${final ? `last state ${stateName(final.state)}` : "no state seen"}; the deployment goes on\n`,
    );
    return EXIT.ERROR;
  }
  if (!final || !isTerminal(final.state)) {
    io.stderr.write(
      `${name}: the watch ended before the deployment settled (${final ? `last state ${stateName(final.state)}` : "no state seen"})\n`,
    );
    return EXIT.ERROR;
  }
  if (format === "text") io.stderr.write(`${formatSummary(name, final, firstSeen.get(final.deploymentId))}\n`);
  return exitCodeForState(final.state);
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

/** Checks -o against the formats a command accepts. @throws UsageError */
export function outputFormat<F extends string>(value: string | undefined, allowed: readonly F[]): F {
  const format = value ?? allowed[0];
  if (!allowed.includes(format as F))
    throw new UsageError(`-o must be ${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}`);
  return format as F;
}

const OUTPUT_FLAG = { output: { type: "string", short: "o" } } as const;

function oneName(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError("give exactly one intent NAME (or deployment id)");
  return positionals[0] as string;
}

export const intentWatchCommand: Command = {
  name: "intent watch",
  summary: "follow a deployment's events until it settles",
  help: `Usage: camino intent watch NAME [--since DURATION|RFC3339] [--follow] [-o text|json] [client flags]

Streams a deployment's progress (WatchDeployment, scope intents:read) until the agent closes the stream
because the deployment settled. NAME is the intent name or a deployment id. Text output is one line per
event: local time, package (or "intent" for the whole intent), wave, state, reason; a summary follows on
stderr. JSON output is one DeploymentEvent object per line.

Exit code: 0 when the intent ends READY or TERMINATED, 1 when it ends FAILED or ROLLED_BACK, or when the
watch ends before it settles (Ctrl-C, --timeout, a closed stream). Ctrl-C stops watching, not the
deployment. The stream has no deadline unless --timeout is given.

With --follow the stream stays open after the deployment settles, so what happens to it later (alerts firing
and resolving, later runs) is printed too, until Ctrl-C or --timeout; the exit code is then that of the state
the intent was last seen in.

  --since WHEN          replay events after WHEN: a duration back from now (10m) or an RFC 3339 time;
                        default: from the current state on
  --follow              keep watching after the deployment settles
  -o, --output FORMAT   text (default) or json
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, since: { type: "string" }, follow: { type: "boolean" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const format = outputFormat(values.output, ["text", "json"] as const);
    const since = values.since !== undefined ? parseSince(values.since, Date.now()) : undefined;
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    return withInterrupt((signal) =>
      followDeployment({
        client,
        name,
        since,
        format,
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
NAME is the intent name or a deployment id.

  -o, --output FORMAT   table (default), json or yaml
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const format = outputFormat<OutputFormat>(values.output, ["table", "json", "yaml"]);
    const conn = connect(values, io.env);
    const { deployment } = await conn.client(DomainManager).getDeployment({ name }, conn.callOptions);
    if (!deployment) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a deployment");
    io.stdout.write(
      format === "table"
        ? formatDeployment(deployment)
        : structured(toJson(DeploymentSchema, deployment, { alwaysEmitImplicit: true }), format),
    );
    return EXIT.OK;
  },
};

export const intentListCommand: Command = {
  name: "intent ls",
  summary: "list deployments with their state",
  help: `Usage: camino intent ls [-o table|json|yaml] [client flags]

Lists every deployment (ListDeployments, scope intents:read, all pages): intent name, revision, state,
packages ready of total, last update and reason (cut to ${REASON_WIDTH} characters in the table).

  -o, --output FORMAT   table (default), json or yaml
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat<OutputFormat>(values.output, ["table", "json", "yaml"]);
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
    if (format !== "table") {
      io.stdout.write(
        structured(
          deployments.map((d) => toJson(DeploymentSchema, d, { alwaysEmitImplicit: true })),
          format,
        ),
      );
    } else if (deployments.length === 0) {
      io.stderr.write("no deployments\n");
    } else {
      io.stdout.write(formatDeploymentTable(deployments));
    }
    return EXIT.OK;
  },
};

export const intentTerminateCommand: Command = {
  name: "intent terminate",
  summary: "remove a deployed intent, wave by wave in reverse order",
  help: `Usage: camino intent terminate NAME [client flags]

Terminates an intent (TerminateIntent, scope intents:write): its packages are removed wave by wave in
reverse order, its segments terminated and its reservations released. Prints the state the deployment
is in when the agent answers (TERMINATING while removal goes on); follow it with camino intent watch NAME.
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, CLIENT_FLAGS, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    const conn = connect(values, io.env);
    const { deployment } = await conn.client(DomainManager).terminateIntent({ name }, conn.callOptions);
    if (!deployment) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a deployment");
    io.stdout.write(`${formatDeploymentLine(deployment)}\n`);
    return EXIT.OK;
  },
};
