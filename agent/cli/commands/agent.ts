import { loadConfig } from "../../config/config.js";
import { startAgent } from "../../agent.js";
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
    const config = await loadConfig(values.config, io.env);
    const agent = await startAgent({ config });
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          io.stderr.write(`camino: ${signal} again, exiting now\n`);
          process.exit(EXIT.ERROR);
        }
        stopping = true;
        agent.close().then(resolve, (err: unknown) => {
          io.stderr.write(`camino: shutdown failed: ${(err as Error).message}\n`);
          process.exit(EXIT.ERROR);
        });
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      process.on("SIGHUP", () => {
        if (stopping) return;
        const file = values.config as string;
        loadConfig(file, io.env)
          .then((next) => agent.reload(next))
          .catch((err: unknown) => io.stderr.write(`camino: SIGHUP: ${file} not applied: ${(err as Error).message}\n`));
      });
    });
    return EXIT.OK;
  },
};
