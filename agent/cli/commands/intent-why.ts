/**
 * `camino intent why NAME`: why an intent is not READY yet, as a tree from the intent down to the first blocker of
 * each package that is not READY (GetDeployment's `waiting_on`, agent/orchestration/blockers.ts):
 *
 *   paper-chain  COMMITTED  (wave 2 of 3)
 *   ├─ ingress  READY on edge-1
 *   └─ upf  COMMITTED on edge-2
 *      └─ rollout: Deployment/upf 0/1 available — pod upf-7c9 ImagePullBackOff: upf
 */
import { toJson } from "@bufbuild/protobuf";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import {
  BlockerSchema,
  DeploymentState,
  type Blocker,
  type Deployment,
  type PackageStatus,
} from "../../../gen/camino/v1/types_pb.js";
import { CaminoError } from "../../errors.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { parseFlags, type Command } from "../command.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { structured, type OutputFormat } from "../output.js";
import { outputFormat } from "./deployment.js";

const name = (s: DeploymentState) => (DeploymentState[s] as string | undefined) ?? "UNSPECIFIED";
const RUNNING = new Set([
  DeploymentState.PENDING,
  DeploymentState.ADMITTED,
  DeploymentState.COMMITTED,
  DeploymentState.SYNCED,
]);

/** One blocker in one line: its kind, its message, and what the message leaves out (the RootSync, the resource). */
export function formatBlocker(b: Blocker): string {
  const extra: string[] = [];
  if (b.kind === "sync" && b.syncStatus) extra.push(`RootSync ${b.syncStatus}`);
  if (b.kind === "sync" && b.object) extra.push(`object ${b.object}`);
  if (b.kind === "admission" && b.resource && !b.message.includes(`(${b.resource})`))
    extra.push(`resource ${b.resource}`);
  return `${b.kind}: ${b.message}${extra.length > 0 ? ` — ${extra.join("; ")}` : ""}`;
}

/** "(wave 2 of 3)" while a run deploys: the first wave with a package not READY, of all the waves. */
function waveOf(d: Deployment): string {
  if (!RUNNING.has(d.state) || d.packages.length === 0) return "";
  const waves = Math.max(...d.packages.map((p) => p.wave));
  const open = d.packages.filter((p) => p.state !== DeploymentState.READY).map((p) => p.wave);
  const at = open.length > 0 ? Math.min(...open) : waves;
  return `  (wave ${at} of ${waves})`;
}

const where = (p: PackageStatus) => (p.edge ? ` on ${p.edge}` : p.domain ? ` in ${p.domain}` : "");

/**
 * The tree for people: the intent and its own blockers, the READY packages folded into one line, and each other
 * package with its first blocker (and how many more it has). A READY intent is one line.
 */
export function formatWhy(d: Deployment): string {
  if (d.state === DeploymentState.READY) return `${d.intent}  READY: ${d.reason}\n`;
  const lines = [`${d.intent}  ${name(d.state)}${waveOf(d)}${d.reason ? `: ${d.reason}` : ""}`];
  const items: { head: string; child?: string }[] = d.waitingOn.map((b) => ({ head: formatBlocker(b) }));
  const ready = d.packages.filter((p) => p.state === DeploymentState.READY);
  if (ready.length === 1) items.push({ head: `${ready[0]?.package}  READY${where(ready[0] as PackageStatus)}` });
  else if (ready.length > 1) {
    const edges = [...new Set(ready.map((p) => p.edge || p.domain).filter(Boolean))].join(", ");
    items.push({ head: `${ready.map((p) => p.package).join(", ")}  READY${edges ? ` (on ${edges})` : ""}` });
  }
  for (const p of d.packages) {
    if (p.state === DeploymentState.READY) continue;
    const [first, ...rest] = p.waitingOn;
    const more = rest.length > 0 ? ` (and ${rest.length} more)` : "";
    items.push({
      head: `${p.package}  ${name(p.state)}${where(p)}`,
      child: first ? `${formatBlocker(first)}${more}` : p.reason ? `reason: ${p.reason}` : undefined,
    });
  }
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    lines.push(`${last ? "└─" : "├─"} ${item.head}`);
    if (item.child) lines.push(`${last ? "   " : "│  "}└─ ${item.child}`);
  });
  return `${lines.join("\n")}\n`;
}

/** The same for scripts: the intent, its blockers, and every package with its state, edge and blockers. */
export function whyData(d: Deployment): unknown {
  const blockers = (list: Blocker[]) => list.map((b) => toJson(BlockerSchema, b, { alwaysEmitImplicit: true }));
  return {
    intent: d.intent,
    state: name(d.state),
    reason: d.reason,
    waitingOn: blockers(d.waitingOn),
    packages: d.packages.map((p) => ({
      package: p.package,
      state: name(p.state),
      edge: p.edge,
      domain: p.domain,
      wave: p.wave,
      waitingOn: blockers(p.waitingOn),
    })),
  };
}

export const intentWhyCommand: Command = {
  name: "intent why",
  summary: "why an intent is not READY yet: a tree down to each package's first blocker",
  help: `Usage: camino intent why NAME [-o table|json|yaml] [client flags]

Shows what an intent waits on (GetDeployment, scope intents:read), as a tree from the intent down to the first
blocker of each package that is not READY; READY packages are folded into one line, and a READY intent is one
line. A blocker is one of: queue (waiting for a turn, lifecycle.maxConcurrentRuns), admission (which check,
edge and resource), wave (the packages of an earlier wave not READY yet), sync (the commit the edge must reach
and what its RootSync reports now), rollout (replicas available of desired, and the pods' waiting reasons),
segment (the peer and the segment's state there), edge, dependency (a prerequisite another intent provided)
— and for a DEGRADED package what the health watch found, for a ROLLED_BACK intent its reason.
Exit 0 whatever the state.

  -o, --output FORMAT   table (default), json or yaml (every package with all its blockers)
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, output: { type: "string", short: "o" } }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give exactly one intent NAME (or deployment id)");
    const format = outputFormat<OutputFormat>(values.output, ["table", "json", "yaml"]);
    const conn = connect(values, io.env);
    const { deployment } = await conn
      .client(DomainManager)
      .getDeployment({ name: positionals[0] as string }, conn.callOptions);
    if (!deployment) throw new CaminoError("ERR_BAD_RESPONSE", "the agent answered without a deployment");
    io.stdout.write(format === "table" ? formatWhy(deployment) : structured(whyData(deployment), format));
    return EXIT.OK;
  },
};
