/**
 * `camino intent graph FILE|NAME`: a picture of a chain. An intent file is planned by the agent (PlanIntent,
 * as `camino intent plan` does) for its placement; a deployed intent is read back (GetDeployment) with its
 * placement and every package's state. Either way the graph is drawn locally, as SVG, DOT or Mermaid.
 */
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { CaminoError } from "../../errors.js";
import { buildChainGraph, type ChainGraph } from "../../graph/chain-graph.js";
import { renderDot } from "../../graph/render-dot.js";
import { renderMermaid } from "../../graph/render-mermaid.js";
import { renderSvg } from "../../graph/render-svg.js";
import { intentFromMessage, intentToMessage } from "../../intent/load.js";
import { type AgentConnection, CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { parseFlags, type Command } from "../command.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { stateName } from "./deployment.js";
import { readIntent } from "./intent.js";

export type GraphFormat = "svg" | "dot" | "mermaid";
const FORMATS: readonly GraphFormat[] = ["svg", "dot", "mermaid"];
const BY_EXTENSION: Readonly<Record<string, GraphFormat>> = {
  ".svg": "svg",
  ".dot": "dot",
  ".gv": "dot",
  ".mmd": "mermaid",
  ".mermaid": "mermaid",
};

/**
 * The format asked for: --format, else the output file's extension, else SVG.
 * @throws UsageError for an unknown --format.
 */
export function graphFormat(format: string | undefined, output: string | undefined): GraphFormat {
  if (format !== undefined) {
    if (!FORMATS.includes(format as GraphFormat))
      throw new UsageError(`--format must be svg, dot or mermaid (is ${JSON.stringify(format)})`);
    return format as GraphFormat;
  }
  return (output && BY_EXTENSION[extname(output).toLowerCase()]) || "svg";
}

/**
 * Whether the argument names a deployed intent rather than a file: an intent name is a DNS-1123 label, so it
 * holds no `.` or `/`; `-` is stdin. A file named like an intent is given as `./NAME`.
 */
export function isIntentName(arg: string): boolean {
  return arg.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(arg);
}

export const intentGraphCommand: Command = {
  name: "intent graph",
  summary: "draw an intent's chain (SVG, DOT or Mermaid): packages by domain and edge, links by kind",
  help: `Usage: camino intent graph FILE|NAME [--format svg|dot|mermaid] [-o FILE] [client flags]

Draws a chain: its packages grouped by domain and edge, left to right in deployment order, and its links
labelled intra-edge, inter-edge, cross-domain or external with their port and protocol.

  FILE   an intent (YAML or JSON; - for stdin; a path with a "." or "/"), checked locally, then planned by
         the agent (PlanIntent, scope intents:write) for its placement; packages are coloured as planned
         or not admitted. Nothing is committed.
  NAME   a deployed intent (GetDeployment, scope intents:read): its placement, and every package coloured
         by its state. A file named like an intent is given as ./NAME.

The SVG is self-contained (no fonts, scripts or links to fetch) and drawn without Graphviz or a browser;
DOT is for Graphviz (dot -Tpng), Mermaid for Markdown that renders it.

  --format FORMAT   svg, dot or mermaid (default: from -o's extension .svg, .dot/.gv, .mmd; else svg)
  -o, --output FILE write to FILE instead of stdout
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      { ...CLIENT_FLAGS, format: { type: "string" }, output: { type: "string", short: "o" } },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one intent FILE or deployed intent NAME");
    const target = positionals[0] as string;
    const format = graphFormat(values.format, values.output);
    const conn = connect(values, io.env);
    const graph = isIntentName(target) ? await deployedGraph(conn, target) : await plannedGraph(conn, target);
    const text = format === "svg" ? renderSvg(graph) : format === "dot" ? renderDot(graph) : renderMermaid(graph);
    if (!values.output) {
      io.stdout.write(text);
      return EXIT.OK;
    }
    try {
      await writeFile(values.output, text);
    } catch (err) {
      throw new UsageError(`-o: cannot write ${values.output} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    io.stderr.write(
      `wrote ${values.output}: ${graph.packages.length} packages, ${graph.links.length} links (${format})\n`,
    );
    return EXIT.OK;
  },
};

/** The graph of an intent file, placed by the agent's plan. */
async function plannedGraph(conn: AgentConnection, file: string): Promise<ChainGraph> {
  const intent = await readIntent(file);
  const res = await conn.client(DomainManager).planIntent({ intent: intentToMessage(intent) }, conn.callOptions);
  const plan = res.plan;
  if (!plan) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a plan");
  return buildChainGraph({
    intent,
    placements: plan.packages.map((p) => ({ package: p.package, domain: p.domain, edge: p.edge })),
    states: new Map(plan.packages.map((p) => [p.package, p.admitted ? "PLANNED" : "NOT_ADMITTED"])),
    source: "plan",
  });
}

/** The graph of a deployed intent: the revision's intent, its placement and its packages' states. */
async function deployedGraph(conn: AgentConnection, name: string): Promise<ChainGraph> {
  const res = await conn.client(DomainManager).getDeployment({ name }, conn.callOptions);
  const deployment = res.deployment;
  if (!deployment || !res.intent)
    throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without the deployment's intent (an older agent?)");
  const intent = intentFromMessage(res.intent);
  return buildChainGraph({
    intent,
    placements: deployment.packages.map((p) => ({ package: p.package, domain: p.domain, edge: p.edge })),
    states: new Map(deployment.packages.map((p) => [p.package, stateName(p.state)])),
    source: "deployment",
  });
}
