/**
 * `camino intent drift NAME`: what each edge the intent runs on has, against what its deployment repository says
 * (GetDeployment with `drift`, scope intents:read): objects missing, extra, or changed with the fields that
 * differ (repository → edge), server defaults accounted for as `kubectl diff` accounts for them. Like
 * `kubectl diff`, the exit code says whether there is drift.
 */
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { ObjectDriftSchema, type ObjectDrift } from "../../../gen/camino/v1/types_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { parseFlags, type Command } from "../command.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, protoJson, writeOutput } from "../output.js";

const FORMATS = ["text", "json", "yaml"] as const;

/** The intent's drift as people read it: per edge and package, each object and its fields (want → have). */
export function renderDrift(intent: string, drift: readonly ObjectDrift[], unknown: readonly string[]): string {
  const lines: string[] = [];
  const edges = [...new Set(drift.map((d) => d.edge))];
  for (const edge of edges) {
    const mine = drift.filter((d) => d.edge === edge);
    lines.push(`edge ${edge} (repository ${mine[0]?.repository ?? ""})`);
    for (const pkg of [...new Set(mine.map((d) => d.package))]) {
      lines.push(`  package ${pkg || "(none)"}`);
      for (const d of mine.filter((x) => x.package === pkg)) {
        const object = `${d.kind}/${d.namespace ? `${d.namespace}/` : ""}${d.name}`;
        lines.push(`    ${d.change.padEnd(7)}  ${object}${d.path ? `  (${d.path})` : ""}`);
        for (const f of d.fields) lines.push(`      ${f.path}: ${f.want || "(absent)"} → ${f.have || "(absent)"}`);
      }
    }
  }
  for (const u of unknown) lines.push(`unknown: ${u}`);
  if (drift.length === 0)
    lines.push(
      unknown.length === 0
        ? `no drift: every edge ${intent} runs on matches its repository`
        : `no drift on the edges that answered`,
    );
  return `${lines.join("\n")}\n`;
}

export const intentDriftCommand: Command = {
  name: "intent drift",
  summary: "show what the edges run against what their repositories say (missing, extra, changed)",
  help: `Usage: camino intent drift NAME [-o text|json|yaml] [client flags]

Reads every edge the deployed intent NAME runs on (GetDeployment with drift, scope intents:read) and compares
each object of the intent's files in the edge's deployment repository (at its head) with the edge:
  missing   the repository has it, the edge does not
  extra     the edge has it, labelled as the intent's (camino.io/intent), the repository does not
  changed   the edge's object differs: each field as  path: repository's value → edge's value
Fields the server fills in (defaults, status, resourceVersion, managedFields, ...) are not drift: the file is
compared as the edge would apply it (a server-side dry run), as kubectl diff compares. An edge that cannot be
read is listed as unknown with the reason.

${outputHelp(FORMATS)}

Exit codes: 0 no drift; ${EXIT.DRIFT} drift found; 5 an edge could not be read and no drift was found on the others
(or the agent could not be reached); 3 no such intent; 4 refused.
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one deployed intent NAME");
    const format = outputFormat(values.output, FORMATS);
    const name = positionals[0] as string;
    const conn = connect(values, io.env);
    const res = await conn.client(DomainManager).getDeployment({ name, drift: true }, conn.callOptions);
    const intent = res.deployment?.intent ?? name;
    writeOutput(io, format, {
      text: () => renderDrift(intent, res.drift, res.driftUnknown),
      data: () => ({
        intent,
        drift: res.drift.map((d) => protoJson(ObjectDriftSchema, d)),
        driftUnknown: res.driftUnknown,
      }),
    });
    if (res.drift.length > 0) return EXIT.DRIFT;
    return res.driftUnknown.length > 0 ? EXIT.UNREACHABLE : EXIT.OK;
  },
};
