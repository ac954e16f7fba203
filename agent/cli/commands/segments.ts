import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { DeploymentState, type SegmentStatus } from "../../../gen/camino/v1/types_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, structured, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";

/** A segment as the CLI prints it. */
function row(s: SegmentStatus) {
  return {
    id: s.id,
    role: s.role,
    // The other side: the peer that runs it (origin's view) or the origin it runs for (host's view).
    peer: s.role === "origin" ? s.domain : s.origin,
    intent: s.intent,
    namespace: s.namespace,
    generation: Number(s.generation),
    phase: s.phase,
    state: s.state === DeploymentState.UNSPECIFIED ? "" : DeploymentState[s.state],
    lease: s.leaseExpiresAt ? timestampDate(s.leaseExpiresAt).toISOString() : "",
    packages: s.packages,
    reason: s.reason,
  };
}

export const segmentListCommand: Command = {
  name: "segment ls",
  summary: "list cross-domain segments: those this domain placed with peers, and those it runs for peers",
  help: `Usage: camino segment ls [-o table|json|yaml] [client flags]

Lists the cross-domain segments this domain takes part in (ListSegments, scope intents:read), on either side:
  ROLE origin   a part of one of this domain's intents, placed in the peer domain PEER;
  ROLE host     a part of another domain's intent (its origin, PEER) that this domain runs, as the deployment
                NAMESPACE (see it with camino intent get NAMESPACE).
PHASE is where the segment stands in the two-phase protocol (PROPOSING, RESERVED, COMMITTING, COMMITTED, …);
LEASE is when an uncommitted reservation lapses on the peer by itself.

${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    const conn = connect(values, io.env);
    const { segments } = await conn.client(DomainManager).listSegments({}, conn.callOptions);
    const rows = segments.map(row);
    if (format !== "table") {
      io.stdout.write(structured(rows, format));
      return EXIT.OK;
    }
    if (rows.length === 0) {
      io.stdout.write("no segments\n");
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["SEGMENT", "ROLE", "PEER", "NAMESPACE", "GEN", "PHASE", "STATE", "LEASE", "REASON"],
        rows.map((r) => [
          r.id,
          r.role,
          r.peer,
          r.namespace || "-",
          String(r.generation),
          r.phase,
          r.state || "-",
          r.lease || "-",
          r.reason,
        ]),
      ),
    );
    return EXIT.OK;
  },
};

export const segmentRemoveCommand: Command = {
  name: "segment rm",
  summary: "end a segment this domain runs for a peer (--force for a committed one whose origin never returned)",
  help: `Usage: camino segment rm SEGMENT_ID [--force] [client flags]

Ends a segment this domain runs for a peer domain (RemoveSegment, scope intents:write). A reservation not yet
committed is released at once. A committed segment is normally ended by its origin (when it terminates or
rolls back its intent); --force ends it anyway, for an origin that never comes back: its deployment here is
terminated and its reservations released. A segment this domain placed with a peer is ended by terminating
its intent (camino intent rm NAME), not here.

  --force   end a committed segment whose origin has not ended it
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, force: { type: "boolean" } }, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const id = positionals[0];
    if (!id || positionals.length > 1)
      throw new UsageError("give exactly one SEGMENT_ID (camino segment ls lists them)");
    const conn = connect(values, io.env);
    const { segment } = await conn
      .client(DomainManager)
      .removeSegment({ segmentId: id, force: values.force === true }, conn.callOptions);
    const r = segment ? row(segment) : undefined;
    io.stdout.write(`segment ${id}: ${r ? `${r.phase}${r.state ? `, ${r.state}` : ""}: ${r.reason}` : "ended"}\n`);
    return EXIT.OK;
  },
};
