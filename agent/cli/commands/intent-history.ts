/**
 * `camino intent history|diff|rollback`: an intent's revisions (GetDeployment's history), what an update would
 * change before it is submitted (PlanIntent with `diff`), and a rollback to a recorded revision (RollbackIntent),
 * followed as `intent submit --watch` follows a submission.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DomainManager,
  PlanIntentResponseSchema,
  RollbackIntentResponseSchema,
  type PlanIntentResponse,
} from "../../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentRevisionSchema, type DeploymentRevision } from "../../../gen/camino/v1/types_pb.js";
import { CaminoError } from "../../errors.js";
import { intentToMessage } from "../../intent/load.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { oneName } from "./deployment.js";
import { parseFlags, type Command } from "../command.js";
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
import {
  WATCH_FLAGS,
  WATCH_HELP,
  WATCH_OUTPUT_HELP,
  followDeployment,
  formatLocalTime,
  stateName,
  streamTimeout,
  truncate,
  watchFormat,
  withInterrupt,
} from "./deployment.js";
import { readIntent } from "./intent.js";

/** Reasons longer than this are cut in the history table (JSON and YAML carry them whole). */
const REASON_WIDTH = 50;

export const intentHistoryCommand: Command = {
  name: "intent history",
  summary: "list an intent's revisions: when, outcome, digest and commits",
  help: `Usage: camino intent history NAME [-o table|json|yaml] [client flags]

Lists the revisions the agent keeps of an intent (GetDeployment, scope intents:read; the last 50), oldest
first: revision, when it was submitted, its outcome (READY, ROLLED_BACK, FAILED, TERMINATED, or its state
while it runs), the short digest of its spec and resolved blueprint commits, how many commits it made, and
its reason. The current revision is marked with *. JSON and YAML give every revision whole (its commits per
repository and wave, and each package's blueprint commit: what camino intent rollback --to pins).

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
      text: () => formatHistory(deployment.history, deployment.revision),
      data: () => deployment.history.map((r) => protoJson(DeploymentRevisionSchema, r)),
    });
    return EXIT.OK;
  },
};

/** `camino intent history` as a table, the current revision marked with `*`. */
export function formatHistory(history: readonly DeploymentRevision[], current: bigint): string {
  return table(
    ["REVISION", "SUBMITTED", "ENDED", "OUTCOME", "DIGEST", "COMMITS", "REASON"],
    history.map((r) => [
      `${r.revision}${r.revision === current ? " *" : ""}`,
      formatLocalTime(r.submittedAt),
      formatLocalTime(r.endedAt),
      stateName(r.outcome),
      r.intentDigest.slice(0, 12) || "-",
      String(r.commits.length),
      truncate(r.reason, REASON_WIDTH) || "-",
    ]),
  );
}

export const intentDiffCommand: Command = {
  name: "intent diff",
  summary: "show what an update would change, per repository and file, without committing anything",
  help: `Usage: camino intent diff FILE [-o text|json|yaml] [client flags]

Reads an intent (YAML or JSON; - for stdin), checks it locally (an invalid file: its errors, exit 3), then
asks the agent to plan it and compare (PlanIntent with diff, scope intents:write): the files each deployment
repository would receive against what it holds now for the intent, as unified diffs per repository and
file (added, modified, deleted; a package the update drops shows as deleted). Nothing is committed or
reserved. Prints "no changes" when the repositories already hold exactly this. Exit 0 either way.

${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one intent FILE");
    const format = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const intent = await readIntent(positionals[0] as string);
    const conn = connect(values, io.env);
    const res = await conn
      .client(DomainManager)
      .planIntent({ intent: intentToMessage(intent), diff: true }, conn.callOptions);
    writeOutput(io, format, {
      text: () => formatDiff(intent.name, res),
      data: () => protoJson(PlanIntentResponseSchema, res),
    });
    return EXIT.OK;
  },
};

/**
 * `camino intent diff` as text: a line naming what is compared, then per repository a heading and each file's
 * unified diff; "no changes" when there is none.
 */
export function formatDiff(intent: string, res: Pick<PlanIntentResponse, "diffs" | "deployedRevision">): string {
  const against = res.deployedRevision > 0n ? `revision ${res.deployedRevision}` : "nothing deployed";
  if (res.diffs.length === 0) return `intent ${intent}: no changes (against ${against})\n`;
  const count = (change: string) => res.diffs.filter((d) => d.change === change).length;
  const repos = [...new Set(res.diffs.map((d) => d.repository))];
  let out = `intent ${intent} against ${against}: ${count("added")} added, ${count("modified")} modified, ${count("deleted")} deleted in ${repos.length} repositor${repos.length === 1 ? "y" : "ies"}\n`;
  for (const repo of repos) {
    const files = res.diffs.filter((d) => d.repository === repo);
    const edge = files[0]?.edge;
    out += `\nrepository ${repo}${edge ? ` (edge ${edge})` : ""}:\n`;
    for (const f of files) out += `# ${f.change} ${f.path}\n${f.unified}`;
  }
  return out;
}

export const intentRollbackCommand: Command = {
  name: "intent rollback",
  summary: "submit a recorded revision's spec again, pinned to the blueprint commits it resolved",
  help: `Usage: camino intent rollback NAME --to REVISION [--watch [--no-tty]] [-o text|json|yaml] [client flags]

Rolls an intent back to a recorded revision (RollbackIntent, scope intents:write): the agent submits that
revision's spec again as the intent's next revision, each package pinned to the blueprint commit that
revision resolved (camino intent history NAME lists them). A revision that is not recorded is refused
naming the ones that are (exit 3). The answer is the new deployment id and revision, as intent submit's.

With --watch, the deployment is followed until it settles (as camino intent watch; scope intents:read too).

${WATCH_OUTPUT_HELP}

  --to REVISION         the recorded revision to roll back to
  --watch               follow the deployment until it settles
${WATCH_HELP}
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, ...OUTPUT_FLAG, ...WATCH_FLAGS, to: { type: "string" }, watch: { type: "boolean" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const name = oneName(positionals);
    if (values.to === undefined || !/^[1-9][0-9]{0,15}$/.test(values.to))
      throw new UsageError(
        `--to must be a revision number (1, 2, …)${values.to === undefined ? "" : ` (is ${JSON.stringify(values.to)})`}`,
      );
    const output = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const conn = connect(values, io.env);
    const client = conn.client(DomainManager);
    const res = await client.rollbackIntent({ name, toRevision: BigInt(values.to) }, conn.callOptions);
    const answer = protoJson(RollbackIntentResponseSchema, res);
    io.stdout.write(
      output === "text"
        ? `deployment ${res.deploymentId} (intent ${name}, revision ${res.revision}) ${res.noOp ? "unchanged: no-op" : `submitted: the spec of revision ${values.to}`}\n`
        : values.watch
          ? streamItem(answer, output)
          : structured(answer, output),
    );
    if (!values.watch) return EXIT.OK;
    // As intent submit --watch: every event of the new revision, or the deployment as it stands for a no-op.
    const since = res.noOp ? undefined : timestampFromMs(0);
    return withInterrupt((signal) =>
      followDeployment({
        client,
        name: res.deploymentId || name,
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
