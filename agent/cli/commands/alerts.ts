/**
 * `camino alerts [--watch]`: the domain's alerts (ListAlerts, scope monitoring:read): firing ones, then recently
 * resolved ones, each naming the rule, intent, package, edge, value, threshold and since when. With --watch,
 * ListAlerts is asked again every --interval and each alert that fires or resolves is printed as one line,
 * until Ctrl-C (the API has no alert stream; WatchDeployment carries them per intent as "alert" events, and
 * `camino intent watch NAME --follow` prints them as they come).
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { type Alert, AlertSchema, AlertSeverity } from "../../../gen/camino/v1/types_pb.js";
import { DurationError, parseDuration } from "../../../common/duration.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, protoJson, streamItem, structured, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";
import { withInterrupt } from "./deployment.js";

const SEVERITY: Record<number, string> = {
  [AlertSeverity.INFO]: "info",
  [AlertSeverity.WARNING]: "warning",
  [AlertSeverity.CRITICAL]: "critical",
};

const iso = (t: Alert["startedAt"]) => (t ? timestampDate(t).toISOString() : "");
const ratio = (rule: string, v: number) =>
  /Latency/.test(rule)
    ? `${Math.round(v * 10) / 10} ms`
    : /Replicas|Unreachable/.test(rule) || Number.isInteger(v)
      ? String(v)
      : `${(v * 100).toFixed(1)}%`;

/** One line of --watch output for an alert that fired or resolved. */
export function alertLine(a: Alert): string {
  // A link's alert is its consumer package's, with no edge.
  const what = a.intent ? `${a.intent}/${a.package}${a.edge ? `@${a.edge}` : ""}` : `edge ${a.edge}`;
  const state = a.firing ? "FIRING" : "RESOLVED";
  const when = a.firing ? `since ${iso(a.startedAt)}` : `resolved ${iso(a.resolvedAt)}, since ${iso(a.startedAt)}`;
  return `${state} ${a.rule} ${SEVERITY[a.severity] ?? "?"} ${what} value ${ratio(a.rule, a.value)} threshold ${ratio(a.rule, a.threshold)} ${when}: ${a.summary}`;
}

export const alertsCommand: Command = {
  name: "alerts",
  summary: "list firing and recently resolved alerts; --watch prints each one that fires or resolves",
  help: `Usage: camino alerts [--intent NAME] [--firing] [--watch [--interval DURATION]] [-o table|json|yaml] [client flags]

Lists the domain's alerts (ListAlerts, scope monitoring:read): firing ones first, then recently resolved ones,
with the rule, severity, intent, package, edge, the measured value and the rule's threshold, and since when
the condition held. Edge alerts have no intent or package.

With --watch, asks again every --interval and prints one line per alert that fires or resolves (-o json: one
Alert object per line; -o yaml: one YAML document per alert), until Ctrl-C. JSON and YAML are the Alert
message (proto JSON).

  --intent NAME         only alerts of this intent (and of the edges it runs on)
  --firing              only firing alerts
  --watch               keep watching
  --interval DURATION   between two asks with --watch (default 5s)
${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CLIENT_FLAGS,
      ...OUTPUT_FLAG,
      intent: { type: "string" },
      firing: { type: "boolean" },
      watch: { type: "boolean" },
      interval: { type: "string" },
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    let intervalMs = 5000;
    if (values.interval !== undefined) {
      try {
        intervalMs = parseDuration(values.interval);
      } catch (err) {
        if (err instanceof DurationError) throw new UsageError(`--interval: ${err.message}`);
        throw err;
      }
      if (intervalMs < 100) throw new UsageError("--interval must be at least 100ms");
    }
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    const ask = async () =>
      (await client.listAlerts({ intent: values.intent ?? "", firingOnly: values.firing === true }, conn.callOptions))
        .alerts;
    const print = (alerts: Alert[]) => {
      if (format !== "table") {
        io.stdout.write(
          structured(
            alerts.map((a) => protoJson(AlertSchema, a)),
            format,
          ),
        );
        return;
      }
      io.stdout.write(
        table(
          ["STATE", "RULE", "SEVERITY", "INTENT", "PACKAGE", "EDGE", "VALUE", "THRESHOLD", "SINCE", "RESOLVED"],
          alerts.map((a) => [
            a.firing ? "firing" : "resolved",
            a.rule,
            SEVERITY[a.severity] ?? "?",
            a.intent || "-",
            a.package || "-",
            a.edge,
            ratio(a.rule, a.value),
            ratio(a.rule, a.threshold),
            iso(a.startedAt),
            iso(a.resolvedAt) || "-",
          ]),
        ),
      );
    };
    const first = await ask();
    if (!values.watch) {
      print(first);
      return EXIT.OK;
    }
    // Watching: what is firing now, then each change. An alert is known by its id and its start.
    const key = (a: Alert) => `${a.id}@${iso(a.startedAt)}`;
    const firing = new Set<string>();
    const resolved = new Set<string>();
    const emit = (a: Alert) =>
      io.stdout.write(format === "table" ? `${alertLine(a)}\n` : streamItem(protoJson(AlertSchema, a), format));
    for (const a of first) (a.firing ? firing : resolved).add(key(a));
    for (const a of first) if (a.firing) emit(a);
    io.stderr.write(`watching alerts every ${values.interval ?? "5s"}; Ctrl-C to stop\n`);
    return withInterrupt(async (signal) => {
      while (!signal.aborted) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            resolve();
          };
          const t = setTimeout(done, intervalMs);
          signal.addEventListener("abort", done, { once: true });
        });
        if (signal.aborted) break;
        for (const a of await ask()) {
          const k = key(a);
          if (a.firing && !firing.has(k)) {
            firing.add(k);
            emit(a);
          } else if (!a.firing && !resolved.has(k)) {
            resolved.add(k);
            firing.delete(k);
            emit(a);
          }
        }
      }
      return EXIT.OK;
    });
  },
};
