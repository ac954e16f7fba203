import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, structured, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";

export const peersListCommand: Command = {
  name: "peers ls",
  summary: "list the trusted peer domains: reachable, last seen, latency, gateways, keys, catalogue",
  help: `Usage: camino peers ls [-o table|json|yaml] [client flags]

Lists the peer domains of this domain's trust list (ListPeers, scope catalogue:read): whether each is reachable
and compatible, when it was last seen, the round-trip time of its last Hello, its east-west gateways, its
catalogue digest and how many blueprints it exports, the key ids accepted from it, and the last error.

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
    const { peers } = await conn.client(DomainManager).listPeers({}, conn.callOptions);
    const rows = peers.map((p) => ({
      id: p.id,
      endpoint: p.endpoint,
      reachable: p.reachable,
      compatible: p.compatible,
      lastSeen: p.lastSeen ? timestampDate(p.lastSeen).toISOString() : "",
      roundTripMs: Math.round(p.roundTripMs * 100) / 100,
      federationApiVersion: p.info?.federationApiVersion ?? "",
      trustDomain: p.info?.trustDomain ?? "",
      gateways: (p.info?.gateways ?? []).map((g) => ({
        edge: g.edge,
        network: g.network,
        address: `${g.address}:${g.port}`,
      })),
      catalogueDigest: p.info?.catalogueDigest ?? "",
      exportedBlueprints: p.exportedBlueprints,
      keyIds: p.keyIds,
      lastError: p.lastError,
    }));
    if (format !== "table") {
      io.stdout.write(structured(rows, format));
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["PEER", "STATUS", "LAST SEEN", "RTT", "GATEWAYS", "CATALOGUE", "KEYS", "ENDPOINT"],
        rows.map((r) => [
          r.id,
          !r.compatible ? `incompatible: ${r.lastError}` : r.reachable && !r.lastError ? "up" : `down: ${r.lastError}`,
          r.lastSeen || "never",
          r.lastSeen ? `${r.roundTripMs}ms` : "-",
          r.gateways.map((g) => `${g.edge}=${g.address}`).join(",") || "-",
          r.catalogueDigest ? `${r.exportedBlueprints} (${r.catalogueDigest.slice(0, 12)})` : "-",
          r.keyIds.map((k) => k.slice(0, 8)).join(",") || "-",
          r.endpoint,
        ]),
      ),
    );
    return EXIT.OK;
  },
};
