/**
 * The `camino` command line: dispatches to a command by its leading words, prints help, and turns every
 * failure into one line on stderr and an exit code from exit-codes.ts.
 */
import { agentCommand } from "./commands/agent.js";
import { recoverCommand } from "./commands/recover.js";
import { auditCommand } from "./commands/audit.js";
import { emulatorCommand } from "./commands/emulator.js";
import { healthCommand } from "./commands/health.js";
import {
  intentGetCommand,
  intentListCommand,
  intentTerminateCommand,
  intentWatchCommand,
} from "./commands/deployment.js";
import { intentPlanCommand, intentSubmitCommand } from "./commands/intent.js";
import { intentGraphCommand } from "./commands/intent-graph.js";
import { intentDriftCommand } from "./commands/intent-drift.js";
import { intentWhyCommand } from "./commands/intent-why.js";
import { intentDiffCommand, intentHistoryCommand, intentRollbackCommand } from "./commands/intent-history.js";
import { keysGenerateCommand, keysRotateCommand } from "./commands/keys.js";
import {
  catalogueCommand,
  edgeListCommand,
  repoAddCommand,
  repoListCommand,
  repoRemoveCommand,
} from "./commands/repo.js";
import { tokenCommand } from "./commands/token.js";
import { peersListCommand } from "./commands/peers.js";
import { segmentListCommand, segmentRemoveCommand } from "./commands/segments.js";
import { alertsCommand } from "./commands/alerts.js";
import { topCommand } from "./commands/top.js";
import { describeFailure, EXIT } from "./exit-codes.js";
import type { Command, CommandIO } from "./command.js";
import { ConfigError } from "../errors.js";

const COMMANDS: readonly Command[] = [
  agentCommand,
  recoverCommand,
  keysGenerateCommand,
  keysRotateCommand,
  tokenCommand,
  // "intent plan" first: `camino intent` lists the subcommands in this order.
  intentPlanCommand,
  intentSubmitCommand,
  intentWatchCommand,
  intentGetCommand,
  intentListCommand,
  intentTerminateCommand,
  intentGraphCommand,
  intentDriftCommand,
  intentWhyCommand,
  intentHistoryCommand,
  intentDiffCommand,
  intentRollbackCommand,
  catalogueCommand,
  repoListCommand,
  repoAddCommand,
  repoRemoveCommand,
  edgeListCommand,
  peersListCommand,
  segmentListCommand,
  segmentRemoveCommand,
  alertsCommand,
  topCommand,
  healthCommand,
  auditCommand,
  emulatorCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `camino: intent-based orchestration of network functions across edges and domains

Usage: camino COMMAND [flags]     (camino COMMAND --help for its flags)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Exit codes: 0 ok, 1 error, 2 usage, 3 invalid input, 4 refused, 5 unreachable, 6 not serving, 7 unimplemented;
at the end of a watch: 0 READY or TERMINATED, 8 ROLLED_BACK, 9 DEGRADED, 130 interrupted (Ctrl-C)
`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io[argv.length === 0 ? "stderr" : "stdout"].write(usage());
    return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  // The longest command name matching the leading words wins ("intent plan" over "intent").
  const command = [...COMMANDS]
    .sort((a, b) => b.name.split(" ").length - a.name.split(" ").length)
    .find((c) => c.name.split(" ").every((word, i) => argv[i] === word));
  if (!command) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0) {
      io.stderr.write(
        `camino ${argv[0]}: give a subcommand: ${group.map((c) => c.name.split(" ").slice(1).join(" ")).join(", ")}\n`,
      );
    } else {
      io.stderr.write(`camino: unknown command ${JSON.stringify(argv[0])}\n\n${usage()}`);
    }
    return EXIT.USAGE;
  }
  try {
    return await command.run(argv.slice(command.name.split(" ").length), io);
  } catch (err) {
    const { code, message } = describeFailure(err);
    if (err instanceof ConfigError) {
      io.stderr.write(
        `camino ${command.name}: invalid configuration${err.data["source"] ? ` in ${String(err.data["source"])}` : ""}:\n${err.issues.map((i) => `  ${i.path ? `${i.path}: ` : ""}${i.message}`).join("\n")}\n`,
      );
    } else {
      io.stderr.write(`camino ${command.name}: ${message}\n`);
    }
    return code;
  }
}
