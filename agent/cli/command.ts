/** What a CLI command is: a name, its help text, and a run function that returns an exit code. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./exit-codes.js";

export interface CommandIO {
  /**
   * Where results go. `isTTY` and `columns` are those of a terminal (process.stdout has them): a watch redraws a
   * live table in place only when stdout is a terminal, and cuts its lines to `columns`.
   */
  stdout: { write(chunk: string): unknown; isTTY?: boolean | undefined; columns?: number | undefined };
  stderr: { write(chunk: string): unknown };
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** Words that select it, e.g. "intent plan". */
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** parseArgs with strict flags, turning its errors into a UsageError. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0] ?? String(err));
  }
}
