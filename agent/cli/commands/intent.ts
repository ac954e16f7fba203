import { readFile } from "node:fs/promises";
import { toJson } from "@bufbuild/protobuf";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { PlanSchema } from "../../../gen/camino/v1/types_pb.js";
import { intentToMessage, parseIntentText } from "../../intent/load.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { structured, table, type OutputFormat } from "../output.js";
import { parseFlags, type Command } from "../command.js";
import { CaminoError } from "../../errors.js";

export const intentPlanCommand: Command = {
  name: "intent plan",
  summary: "validate an intent and show its deployment order and waves",
  help: `Usage: camino intent plan FILE [-o table|json|yaml] [client flags]

Reads an intent (YAML or JSON; - for stdin), checks it locally, then asks the agent for the plan
(PlanIntent, scope intents:write): the deterministic order and the waves of packages deployable in
parallel. Nothing is committed.

  -o, --output FORMAT   table (default), json or yaml
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, output: { type: "string", short: "o" } }, true);
    if (values.help) return io.stdout.write(this.help + "\n"), EXIT.OK;
    if (positionals.length !== 1) throw new UsageError("give exactly one intent FILE");
    const format = (values.output ?? "table") as OutputFormat;
    if (!["table", "json", "yaml"].includes(format)) throw new UsageError("-o must be table, json or yaml");
    const file = positionals[0] as string;
    let text: string;
    try {
      text = file === "-" ? await readStdin() : await readFile(file, "utf8");
    } catch (err) {
      throw new CaminoError("ERR_INPUT_UNREADABLE", "invalid", `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    // Checked here first, so a bad file is reported with its field paths without a round trip.
    const intent = parseIntentText(text);
    const conn = connect(values, io.env);
    const res = await conn.client(DomainManager).planIntent({ intent: intentToMessage(intent) }, conn.callOptions);
    const plan = res.plan;
    if (!plan) throw new CaminoError("ERR_BAD_RESPONSE", "internal", "the agent answered without a plan");
    if (format !== "table") {
      io.stdout.write(structured(toJson(PlanSchema, plan, { alwaysEmitImplicit: true }), format));
      return EXIT.OK;
    }
    const waveOf = new Map(plan.waves.flatMap((w) => w.packages.map((p) => [p, w.index] as const)));
    const after = new Map(intent.packages.map((p) => [p.name, p.after]));
    const placed = new Map(plan.packages.map((p) => [p.package, p]));
    io.stdout.write(`intent ${plan.intent}: ${plan.order.length} packages in ${plan.waves.length} waves, ${plan.files.length} files (digest ${plan.intentDigest.slice(0, 12)})\n\n`);
    io.stdout.write(
      table(
        ["ORDER", "WAVE", "PACKAGE", "AFTER", "PLACEMENT", "REPOSITORY", "FILES"],
        plan.order.map((name, i) => {
          const p = placed.get(name);
          return [String(i + 1), String(waveOf.get(name) ?? ""), name, (after.get(name) ?? []).join(",") || "-", p?.edge ? `edge ${p.edge}` : `domain ${p?.domain ?? "?"}`, p?.repository || "-", String(p?.files.length ?? 0)];
        }),
      ),
    );
    return EXIT.OK;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
