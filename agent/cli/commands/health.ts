import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../../gen/grpc/health/v1/health_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT } from "../exit-codes.js";
import { parseFlags, type Command } from "../command.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, protoJson, writeOutput } from "../output.js";

export const healthCommand: Command = {
  name: "health",
  summary: "ask an agent whether it is serving",
  help: `Usage: camino health [--service NAME] [-o text|json|yaml] [client flags]

Calls grpc.health.v1.Health/Check (no token needed) and prints the status. Exit code 0 when SERVING,
6 when NOT_SERVING, 5 when the agent cannot be reached. JSON and YAML are the HealthCheckResponse
(proto JSON, e.g. {"status": "SERVING"}).

  --service NAME        a health service name ("" = the whole agent, camino.v1.DomainManager, …)
${outputHelp(["text", "json", "yaml"])}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG, service: { type: "string" } });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output, ["text", "json", "yaml"] as const);
    const conn = connect(values, io.env);
    const res = await conn
      .client(Health)
      .check({ service: values.service ?? "" }, { timeoutMs: conn.callOptions.timeoutMs });
    writeOutput(io, format, {
      text: () => `${Status[res.status]}\n`,
      data: () => protoJson(HealthCheckResponseSchema, res),
    });
    return res.status === Status.SERVING ? EXIT.OK : EXIT.NOT_SERVING;
  },
};
