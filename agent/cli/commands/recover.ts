import { mkdir } from "node:fs/promises";
import { bootstrapRepositories } from "../../cad/bootstrap.js";
import { RemoteGitRepository } from "../../cad/git/remote.js";
import { RepositoryRegistry } from "../../cad/repository-registry.js";
import { loadConfig } from "../../config/config.js";
import { silentLogger } from "../../log/logger.js";
import { Journal } from "../../orchestration/journal.js";
import { rebuildRecords } from "../../orchestration/rebuild.js";
import { parseFlags, type Command } from "../command.js";
import { EXIT, UsageError } from "../exit-codes.js";

export const recoverCommand: Command = {
  name: "recover",
  summary: "rebuild the deployment journal from the deployment repositories (agent stopped)",
  help: `Usage: camino recover --from-repositories --config FILE [--dry-run]

For an agent that refuses to start because its deployment journal cannot be read (a record truncated, not
JSON, unreadable, a line of its log damaged, or the journal folder gone). Run it with the agent stopped, with the agent's own config.

It reads every deployment repository the config names (fetching remote ones) and rebuilds a record for each
intent found there, from the intent as deployed (<intent>/_chain/intent.yaml) and its packages' IESDs, at the
highest revision any repository holds, READY as the repositories say (once the agent runs, its health watch
reports what the edges really run). Then:
  - a record that can be read is kept as it is;
  - a record that cannot be read is moved aside to <dataDir>/deployments.unreadable/ (never deleted), and the
    rebuilt one written in its place;
  - a log of the journal with a damaged line is moved aside the same way; the records read from its other
    lines are written again;
  - an intent with no record at all gets the rebuilt one.
Reservations need no rebuild: the agent starts with none and reads every edge. Segments are not rebuilt: a
peer keeps running what it committed (its operator can end an orphan with camino segment rm).

  --from-repositories   required: the source of the rebuild
  --config FILE         the agent's config (its dataDir, repositories and domain id)
  --dry-run             print what would be done, change nothing`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      config: { type: "string", short: "c" },
      "from-repositories": { type: "boolean" },
      "dry-run": { type: "boolean" },
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (!values["from-repositories"]) throw new UsageError("--from-repositories is required (the only source)");
    if (!values.config) throw new UsageError("--config is required");
    const dry = values["dry-run"] === true;
    const config = await loadConfig(values.config, io.env);
    const dataDir = config.domain.dataDir;
    const logger = silentLogger();
    const registry = await RepositoryRegistry.open({ dataDir, logger });
    await bootstrapRepositories(config.repositories, { dataDir, registry, logger });
    const sources = [];
    for (const r of registry.list().filter((x) => x.record.role === "deployment")) {
      if (r.git instanceof RemoteGitRepository) await r.git.fetch({ signal: AbortSignal.timeout(60_000) });
      sources.push({ name: r.record.name, edge: r.record.edge ?? "", git: r.git });
    }
    const journal = new Journal(dataDir);
    const { records, unreadable } = await journal.inspect();
    const { records: rebuilt, problems } = await rebuildRecords(sources, config.domain.id, new Date());
    const out = (line: string) => io.stdout.write(`${line}\n`);
    out(`${sources.length} deployment repositories read; ${rebuilt.length} intents found there`);
    for (const u of unreadable) {
      if (u.file === journal.dir) {
        if (!dry) await mkdir(journal.dir, { recursive: true });
        out(`re-created: ${u.file} (${u.why})`);
        continue;
      }
      const to = dry ? "(dry run: not moved)" : await journal.setAside(u.file);
      out(`moved aside: ${u.file} (${u.why}) → ${to}`);
    }
    // A log moved aside may have held the latest record of intents whose lines could be read: written again.
    if (!dry && unreadable.some((u) => u.file.endsWith(".jsonl"))) for (const r of records) await journal.save(r);
    const readable = new Set(records.map((r) => r.intent));
    for (const r of rebuilt) {
      if (readable.has(r.intent)) {
        out(`kept:    ${r.intent} (its record is readable)`);
        continue;
      }
      if (!dry) await journal.save(r);
      const edges = [...new Set(r.packages.map((p) => p.edge))].join(", ");
      out(`rebuilt: ${r.intent} revision ${r.revision}: ${r.packages.length} packages on ${edges || "no edge"}`);
    }
    for (const p of problems) io.stderr.write(`camino recover: ${p}\n`);
    const lost = unreadable.filter(
      (u) => u.file.endsWith(".json") && !rebuilt.some((r) => u.file.endsWith(`/${r.intent}.json`)),
    );
    for (const u of lost) io.stderr.write(`camino recover: ${u.file}: no repository holds that intent: not rebuilt\n`);
    if (!dry) await journal.close();
    out(dry ? "dry run: nothing changed" : "done: start the agent again");
    return EXIT.OK;
  },
};
