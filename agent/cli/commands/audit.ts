import { loadConfig } from "../../config/config.js";
import { auditDir } from "../../audit/audit-log.js";
import { readAuditLog, type AuditFilter } from "../../audit/audit-reader.js";
import { describeCaller, type AuditRecord } from "../../audit/audit-record.js";
import { DurationError, parseDuration } from "../../../common/duration.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, streamItem, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";

const DAY_MS = 86_400_000;

/**
 * A look-back duration: Go's units ("30m", "1h30m") and whole days in front ("2d", "1d12h").
 * @throws DurationError naming what is wrong
 */
export function parseSince(text: string): number {
  const days = /^(\d{1,5})d(.*)$/.exec(text);
  if (!days) return parseDuration(text);
  const rest = days[2] as string;
  return Number(days[1]) * DAY_MS + (rest === "" ? 0 : parseDuration(rest));
}

const outcomeOf = (r: AuditRecord) => (r.error ? `${r.outcome} ${r.error}` : r.outcome);

export const auditCommand: Command = {
  name: "audit",
  summary: "read the domain's audit trail (federation calls, northbound writes)",
  help: `Usage: camino audit (--data-dir DIR | --config FILE) [--since DURATION] [--peer DOMAIN] [--method NAME] [-o table|json|yaml]

Reads the audit log the agent writes under <dataDir>/audit/ (the rotated files too, oldest first) on the
agent's host, and prints one record per line: when, who called (a peer domain, or a token's subject@issuer,
or "unknown" for a call refused before its token was verified), the method, what it was about, and the outcome.

  --data-dir DIR      the agent's data directory (domain.dataDir)
  --config FILE       the agent's config, to find its data directory
  --since DURATION    only records this recent: 30m, 1h, 2d, 1d12h
  --peer DOMAIN       only calls made by this peer domain
  --method NAME       only this method: SubmitIntent, or camino.v1.DomainManager/SubmitIntent
  -o, --output FORMAT table (default), json (one record per line, as stored) or yaml (one document per record)`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      "data-dir": { type: "string" },
      config: { type: "string", short: "c" },
      since: { type: "string" },
      peer: { type: "string" },
      method: { type: "string" },
      ...OUTPUT_FLAG,
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    if (values["data-dir"] && values.config) throw new UsageError("give --data-dir or --config, not both");
    const filter: AuditFilter = {};
    if (values.since !== undefined) {
      try {
        filter.since = new Date(Date.now() - parseSince(values.since));
      } catch (err) {
        if (err instanceof DurationError) throw new UsageError(`--since: ${err.message}, or days such as "2d"`);
        throw err;
      }
    }
    if (values.peer !== undefined) {
      if (values.peer === "") throw new UsageError("--peer needs a domain id");
      filter.peer = values.peer;
    }
    if (values.method !== undefined) {
      if (values.method === "") throw new UsageError("--method needs a method name");
      filter.method = values.method;
    }
    let dataDir = values["data-dir"];
    if (!dataDir && values.config) dataDir = (await loadConfig(values.config, io.env)).domain.dataDir;
    if (!dataDir) throw new UsageError("give --data-dir or --config");

    const { records, skipped } = await readAuditLog(auditDir(dataDir), filter);
    if (skipped > 0) io.stderr.write(`camino audit: skipped ${skipped} line(s) that are not audit records\n`);
    if (format !== "table") {
      io.stdout.write(records.map((r) => streamItem(r, format)).join(""));
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["TIME", "CALLER", "METHOD", "TARGET", "OUTCOME"],
        records.map((r) => [
          r.time,
          describeCaller(r.caller),
          r.method.replace(/^camino\.v1\./, ""),
          r.target || "-",
          outcomeOf(r),
        ]),
      ),
    );
    return EXIT.OK;
  },
};
