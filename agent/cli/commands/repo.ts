import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DomainManager } from "../../../gen/camino/v1/domain_manager_pb.js";
import { RepositoryRole } from "../../../gen/camino/v1/types_pb.js";
import { CLIENT_FLAGS, CLIENT_HELP, connect } from "../client.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { OUTPUT_FLAG, outputFormat, outputHelp, structured, table } from "../output.js";
import { parseFlags, type Command } from "../command.js";

const roleName = (r: RepositoryRole) =>
  r === RepositoryRole.BLUEPRINT ? "blueprint" : r === RepositoryRole.DEPLOYMENT ? "deployment" : "?";

export const repoListCommand: Command = {
  name: "repo ls",
  summary: "list the domain's blueprint and deployment repositories",
  help: `Usage: camino repo ls [-o table|json|yaml] [client flags]

Lists registered repositories (ListRepositories, scope repos:admin). Credentials are never shown.

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
    const { repositories } = await conn.client(DomainManager).listRepositories({}, conn.callOptions);
    if (format !== "table") {
      io.stdout.write(
        structured(
          repositories.map((r) => ({
            name: r.name,
            role: roleName(r.role),
            url: r.url,
            branch: r.branch,
            edge: r.edge,
            head: r.headCommit,
            credentials: r.credentialsRef,
          })),
          format,
        ),
      );
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["NAME", "ROLE", "EDGE", "BRANCH", "HEAD", "URL"],
        repositories.map((r) => [
          r.name,
          roleName(r.role),
          r.edge || "-",
          r.branch,
          r.headCommit.slice(0, 12) || "-",
          r.url,
        ]),
      ),
    );
    return EXIT.OK;
  },
};

export const repoAddCommand: Command = {
  name: "repo add",
  summary: "register a blueprint or deployment repository",
  help: `Usage: camino repo add NAME URL --role blueprint|deployment [--edge EDGE] [--branch BRANCH] [--credentials-file FILE]

Registers a repository (RegisterRepository, scope repos:admin) after the agent checks it: reachable,
credentials accepted, branch present. URL is an http(s) git URL or an absolute folder on the agent's host.
A deployment repository names the edge it serves. Credentials (a token, or user:password) are read from a
file so they never appear in the process list; the agent stores them and never returns them.

  --role ROLE               blueprint or deployment
  --edge EDGE               the edge a deployment repository serves
  --branch BRANCH           default main
  --credentials-file FILE   a file holding a token or user:password
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(
      argv,
      {
        ...CLIENT_FLAGS,
        role: { type: "string" },
        edge: { type: "string" },
        branch: { type: "string" },
        "credentials-file": { type: "string" },
      },
      true,
    );
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 2) throw new UsageError("give NAME and URL");
    const [name, rawUrl] = positionals as [string, string];
    if (values.role !== "blueprint" && values.role !== "deployment")
      throw new UsageError("--role must be blueprint or deployment");
    const url = /^https?:\/\//.test(rawUrl) ? rawUrl : resolve(rawUrl);
    let credentials = "";
    if (values["credentials-file"]) {
      try {
        credentials = (await readFile(values["credentials-file"], "utf8")).trim();
      } catch (err) {
        throw new UsageError(
          `--credentials-file: cannot read ${values["credentials-file"]} (${(err as NodeJS.ErrnoException).code})`,
        );
      }
    }
    const conn = connect(values, io.env);
    const { repository } = await conn.client(DomainManager).registerRepository(
      {
        repository: {
          name,
          url,
          role: values.role === "blueprint" ? RepositoryRole.BLUEPRINT : RepositoryRole.DEPLOYMENT,
          branch: values.branch ?? "",
          edge: values.edge ?? "",
        },
        credentials,
      },
      conn.callOptions,
    );
    io.stdout.write(
      `registered ${repository?.name} (${values.role}${repository?.edge ? ` for ${repository.edge}` : ""}) at ${repository?.headCommit.slice(0, 12)}\n`,
    );
    return EXIT.OK;
  },
};

export const repoRemoveCommand: Command = {
  name: "repo rm",
  summary: "forget a repository (refused while it holds deployed packages)",
  help: `Usage: camino repo rm NAME [client flags]

Forgets a repository (DeleteRepository, scope repos:admin). Its content is left where it is. A deployment
repository that still holds deployed packages is refused (exit 1, FailedPrecondition): terminate them first.
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, CLIENT_FLAGS, true);
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new UsageError("give the repository NAME");
    const conn = connect(values, io.env);
    await conn.client(DomainManager).deleteRepository({ name: positionals[0] as string }, conn.callOptions);
    io.stdout.write(`removed ${positionals[0]}\n`);
    return EXIT.OK;
  },
};

export const catalogueCommand: Command = {
  name: "catalogue",
  summary: "list the blueprints this domain can deploy",
  help: `Usage: camino catalogue [--exported] [--peers] [-o table|json|yaml] [client flags]

Lists the catalogue (ListCatalogue, scope catalogue:read): each blueprint with its repository, revisions,
setters (required ones marked *), default resources, exposed ports and prerequisites.

  --exported            only blueprints exported to peers
  --peers               also the blueprints trusted peer domains advertise, with their domain
${outputHelp()}
${CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...CLIENT_FLAGS,
      ...OUTPUT_FLAG,
      exported: { type: "boolean" },
      peers: { type: "boolean" },
    });
    if (values.help) {
      io.stdout.write(`${this.help}\n`);
      return EXIT.OK;
    }
    const format = outputFormat(values.output);
    const conn = connect(values, io.env);
    const { entries } = await conn
      .client(DomainManager)
      .listCatalogue({ exportedOnly: values.exported ?? false, includePeers: values.peers ?? false }, conn.callOptions);
    if (format !== "table") {
      io.stdout.write(
        structured(
          entries.map((e) => ({
            name: e.name,
            ...(e.domain ? { domain: e.domain } : {}),
            description: e.description,
            repository: e.repository,
            path: e.path,
            exported: e.exported,
            revisions: e.revisions.map((r) => ({ tag: r.tag, commit: r.commit })),
            setters: e.setters.map((s) => ({ name: s.name, default: s.defaultValue, required: s.required })),
            defaultResources: {
              cpuMillis: Number(e.defaultResources?.cpuMillis ?? 0n),
              memoryBytes: Number(e.defaultResources?.memoryBytes ?? 0n),
            },
            exposes: e.exposes.map((p) => ({ service: p.service, port: p.port, protocol: p.protocol })),
            prerequisites: e.prerequisites.map((p) => `${p.kind}/${p.name}`),
          })),
          format,
        ),
      );
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["NAME", "DOMAIN", "REPOSITORY", "REVISIONS", "EXPORTED", "PORTS", "SETTERS"],
        entries.map((e) => [
          e.name,
          e.domain || "(this domain)",
          e.domain ? "-" : `${e.repository}/${e.path}`,
          e.revisions.map((r) => r.tag || r.commit.slice(0, 7)).join(","),
          e.exported ? "yes" : "no",
          e.exposes.map((p) => `${p.port}/${p.protocol}`).join(",") || "-",
          e.setters.map((s) => (s.required ? `${s.name}*` : s.name)).join(","),
        ]),
      ),
    );
    return EXIT.OK;
  },
};

export const edgeListCommand: Command = {
  name: "edge ls",
  summary: "list the domain's edges with health, capacity and RootSync status",
  help: `Usage: camino edge ls [-o table|json|yaml] [client flags]

Lists edges (ListEdges, scope catalogue:read): health (with the reason when unhealthy), free/allocatable CPU
and memory of Ready nodes, the deployment repository and the commit its RootSync reports.

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
    const { edges } = await conn.client(DomainManager).listEdges({}, conn.callOptions);
    const cpu = (m: bigint | undefined) => `${Number(m ?? 0n) / 1000}`;
    const gib = (b: bigint | undefined) => `${(Number(b ?? 0n) / 2 ** 30).toFixed(1)}Gi`;
    if (format !== "table") {
      io.stdout.write(
        structured(
          edges.map((e) => ({
            name: e.name,
            healthy: e.healthy,
            message: e.message,
            labels: Object.fromEntries(e.labels.map((l) => [l.key, l.value])),
            repository: e.repository,
            cpuFreeMillis: Number(e.capacity?.free?.cpuMillis ?? 0n),
            cpuAllocatableMillis: Number(e.capacity?.allocatable?.cpuMillis ?? 0n),
            memoryFreeBytes: Number(e.capacity?.free?.memoryBytes ?? 0n),
            memoryAllocatableBytes: Number(e.capacity?.allocatable?.memoryBytes ?? 0n),
            rootSyncCommit: e.rootSync?.commit ?? "",
            rootSyncErrors: e.rootSync?.errors ?? [],
          })),
          format,
        ),
      );
      return EXIT.OK;
    }
    io.stdout.write(
      table(
        ["NAME", "HEALTH", "CPU FREE/ALLOC", "MEMORY FREE/ALLOC", "REPOSITORY", "SYNCED"],
        edges.map((e) => [
          e.name,
          e.healthy ? "ok" : `down: ${e.message}`,
          `${cpu(e.capacity?.free?.cpuMillis)}/${cpu(e.capacity?.allocatable?.cpuMillis)}`,
          `${gib(e.capacity?.free?.memoryBytes)}/${gib(e.capacity?.allocatable?.memoryBytes)}`,
          e.repository || "-",
          e.rootSync?.commit.slice(0, 12) || "-",
        ]),
      ),
    );
    return EXIT.OK;
  },
};
