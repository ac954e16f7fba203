import { loadConfig } from "../../config/config.js";
import type { startAgent as StartAgent } from "../../agent.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { parseFlags, type Command } from "../command.js";

export const agentCommand: Command = {
  name: "agent",
  summary: "run this domain's agent",
  help: `Usage: camino agent --config FILE

Runs the domain's agent: the gRPC Domain Manager API (HTTP/2) and the Connect/gRPC-Web/metrics port
(HTTP/1.1), and with a \`federation\` section the peer listener (TLS). Logs go to stderr as JSON lines.
SIGHUP re-reads the config and applies the federation trust list (peers added or removed) with no restart;
a config that does not validate is logged and ignored. SIGTERM or SIGINT shuts down gracefully: in-flight
calls finish, streams end, and the process exits 0.

  --config FILE   the domain config (YAML); environment variables CAMINO_* override it (see README)`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { config: { type: "string", short: "c" } });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (!values.config) throw new UsageError("--config is required");
    const file = values.config;
    const config = await loadConfig(file, io.env);
    // Loaded here, not at the top: the agent's module graph is most of the CLI's start-up time, and no other
    // command needs it.
    const { startAgent } = await import("../../agent.js");
    // SIGHUP is taken from the start (its default would end the process): one that arrives while the agent
    // is starting is applied as soon as it listens.
    let agent: Awaited<ReturnType<typeof StartAgent>> | undefined;
    let reloadPending = false;
    let stopping = false;
    const reload = (running: NonNullable<typeof agent>) =>
      loadConfig(file, io.env)
        .then((next) => running.reload(next))
        .catch((err: unknown) => io.stderr.write(`camino: SIGHUP: ${file} not applied: ${(err as Error).message}\n`));
    process.on("SIGHUP", () => {
      if (stopping) return;
      if (agent) void reload(agent);
      else reloadPending = true;
    });
    agent = await startAgent({ config });
    const running = agent;
    if (reloadPending) void reload(running);
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          io.stderr.write(`camino: ${signal} again, exiting now\n`);
          process.exit(EXIT.ERROR);
        }
        stopping = true;
        running.close().then(resolve, (err: unknown) => {
          io.stderr.write(`camino: shutdown failed: ${(err as Error).message}\n`);
          process.exit(EXIT.ERROR);
        });
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
    return EXIT.OK;
  },
};
