/**
 * `camino intent plan|submit`: the commands that read an intent file. Both check it locally first, so a bad
 * file is reported with its field paths without a round trip.
 */
import { readFile } from "node:fs/promises";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DomainManager, SubmitIntentResponseSchema } from "../../../gen/camino/v1/domain_manager_pb.js";
import { PlanSchema, type Plan } from "../../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../intent/load.js";
import type { Intent } from "../../intent/model.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import {
  OUTPUT_FLAG,
  outputFormat,
  outputHelp,
  protoJson,
  streamItem,
  structured,
  table,
  writeOutput,
} from "../output.js";
import { parseFlags, type Command } from "../command.js";
import { CaminoError } from "../../errors.js";
import {
  WATCH_FLAGS,
  WATCH_HELP,
  WATCH_OUTPUT_HELP,
  followDeployment,
  formatAdmissionReason,
  streamTimeout,
  watchFormat,
  withInterrupt,
} from "./deployment.js";

export const intentPlanCommand: Command = {
  name: "intent plan",
  summary: "validate an intent and show its deployment order and waves",
  help: `Usage: camino intent plan FILE [-o table|json|yaml] [client flags]

Reads an intent (YAML or JSON; - for stdin), checks it locally, then asks the agent for the plan
(PlanIntent, scope intents:write): the deterministic order and the waves of packages deployable in
parallel, and admission's verdict per package (ADMITTED); when the plan is not admitted, every reason
follows as "package@edge [check] message". Nothing is committed.

${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one intent FILE");
    const format = outputFormat(values.output);
    const intent = await readIntent(positionals[0] as string);
    const conn = connect(values, io.env);
    const res = await conn.client(DomainManager).planIntent({ intent: intentToMessage(intent) }, conn.callOptions);
    const plan = res.plan;
    if (!plan) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a plan");
    writeOutput(io, format, { text: () => formatPlan(plan, intent), data: () => protoJson(PlanSchema, plan) });
    return EXIT.OK;
  },
};

export const intentSubmitCommand: Command = {
  name: "intent submit",
  summary: "deploy or update an intent (then follow it with --watch)",
  help: `Usage: camino intent submit FILE [--watch [--no-tty]] [-o text|json|yaml] [client flags]

Reads an intent (YAML or JSON; - for stdin), checks it locally, then submits it (SubmitIntent,
scope intents:write). The agent answers at once with the deployment id and revision; a submission whose
spec and resolved blueprint commits are unchanged is a no-op. -o json or yaml prints the
SubmitIntentResponse (proto JSON; with --watch on one line, or as the first YAML document).

With --watch, the deployment is followed until it settles (as camino intent watch; scope intents:read too).
--timeout bounds the submission (default 10s) and, only when given, the watch as well.

${WATCH_OUTPUT_HELP}

  --watch               follow the deployment until it settles
${WATCH_HELP}
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, ...WATCH_FLAGS, watch: { type: "boolean" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one intent FILE");
    const output = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const intent = await readIntent(positionals[0] as string);
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    const res = await client.submitIntent({ intent: intentToMessage(intent) }, conn.callOptions);
    const answer = protoJson(SubmitIntentResponseSchema, res);
    io.stdout.write(
      output === "text"
        ? `deployment ${res.deploymentId} (intent ${intent.name}, revision ${res.revision}) ${res.noOp ? "unchanged: no-op" : "submitted"}\n`
        : values.watch
          ? streamItem(answer, output)
          : structured(answer, output),
    );
    if (!values.watch) return EXIT.OK;
    // Every event of the new revision (the agent keeps a deployment's events, so asking from the epoch replays
    // them all without trusting this machine's clock); for a no-op, the deployment as it stands.
    const since = res.noOp ? undefined : timestampFromMs(0);
    return withInterrupt((signal) =>
      followDeployment({
        client,
        name: res.deploymentId || intent.name,
        since,
        ...watchFormat(output, values["no-tty"], io),
        io,
        signal,
        timeoutMs: streamTimeout(values, conn),
        headers: conn.callOptions.headers,
      }),
    );
  },
};

/**
 * `camino intent plan` as text: a summary line, one row per package in deployment order (wave, placement,
 * repository, files, admitted), and — when admission refused the plan — every reason, one per line.
 */
export function formatPlan(plan: Plan, intent: Intent): string {
  const waveOf = new Map(plan.waves.flatMap((w) => w.packages.map((p) => [p, w.index] as const)));
  const after = new Map(intent.packages.map((p) => [p.name, p.after]));
  const placed = new Map(plan.packages.map((p) => [p.package, p]));
  let out = `intent ${plan.intent}: ${plan.order.length} packages in ${plan.waves.length} waves, ${plan.files.length} files (digest ${plan.intentDigest.slice(0, 12)})\n\n`;
  out += table(
    ["ORDER", "WAVE", "PACKAGE", "AFTER", "PLACEMENT", "REPOSITORY", "FILES", "ADMITTED"],
    plan.order.map((name, i) => {
      const p = placed.get(name);
      return [
        String(i + 1),
        String(waveOf.get(name) ?? ""),
        name,
        (after.get(name) ?? []).join(",") || "-",
        p?.edge ? `edge ${p.edge}` : `domain ${p?.domain ?? "?"}`,
        p?.repository || "-",
        String(p?.files.length ?? 0),
        p?.admitted ? "yes" : "no",
      ];
    }),
  );
  if (plan.links.length > 0) {
    // The network of every link: where its ends are, which edges get objects for it, and why when it is special.
    const objects = (link: string, edge: string) =>
      plan.networkObjects.filter((o) => o.link === link && o.edge === edge).map((o) => o.kind);
    out += `\nlinks (${plan.networkObjects.length} network objects):\n`;
    out += table(
      ["LINK", "PLACEMENT", "PROTOCOL", "EDGE", "OBJECTS"],
      plan.links.flatMap((l) =>
        (l.edges.length > 0 ? l.edges : ["-"]).map((edge) => [
          l.link,
          l.placement,
          `${l.port}/${l.protocol}`,
          edge,
          objects(l.link, edge).join(",") || "-",
        ]),
      ),
    );
    for (const l of plan.links) if (l.note) out += `  ${l.link}: ${l.note}\n`;
  }
  if (!plan.admitted) {
    out +=
      plan.admission.length > 0
        ? `\nnot admitted:\n${plan.admission.map((r) => `${formatAdmissionReason(r)}\n`).join("")}`
        : "\nnot admitted (the agent gave no reasons)\n";
  }
  return out;
}

/**
 * Reads and validates an intent file (- for stdin).
 * @throws CaminoError ERR_INPUT_UNREADABLE when it cannot be read; IntentError naming the field paths.
 */
export async function readIntent(file: string): Promise<Intent> {
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (err) {
    throw new CaminoError(
      "ERR_INPUT_UNREADABLE",
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseIntentText(text);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
