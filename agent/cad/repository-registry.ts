/**
 * The domain's repositories: blueprint repositories (the catalogue) and deployment repositories (one per
 * edge). A registration is checked before it is kept — a local folder must be a git repository with the
 * branch, a remote must answer with the credentials given and have the branch — and then written to
 * `<dataDir>/repositories.json` (temp file, fsync, rename). Credentials are kept apart in
 * `<dataDir>/secrets/repositories.json` (mode 0600) and never returned or logged.
 */
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { CaminoError, ValidationError, type FieldIssue } from "../errors.js";
import { dns1123LabelProblem, gitRevisionProblem } from "../../common/names.js";
import type { Logger } from "../log/logger.js";
import { DeploymentRepository } from "./deployment-repo.js";
import { checkRemote, parseCredentials, RemoteGitRepository, type RemoteDeadlines } from "./git/remote.js";
import { LocalGitRepository, type GitRepository, type OperationOptions } from "./git/repository.js";

export type RepositoryRole = "blueprint" | "deployment";

export interface RepositoryRecord {
  name: string;
  role: RepositoryRole;
  /** An absolute local folder, or an http(s) URL without credentials. */
  url: string;
  branch: string;
  /** The edge a deployment repository serves. */
  edge?: string;
  /** Names the stored credentials ("camino-repo-<name>"); absent when none. */
  credentialsRef?: string;
}

export interface RepositoryRegistryOptions {
  /** The agent's data directory. */
  dataDir: string;
  logger: Logger;
  author?: { name: string; email: string };
  /** How long each network operation of a remote repository may take; defaults in DEFAULT_REMOTE_DEADLINES. */
  deadlines?: Partial<RemoteDeadlines>;
}

/** A repository, its record, and its git handle. */
export interface RegisteredRepository {
  record: RepositoryRecord;
  git: GitRepository;
}

const isRemote = (url: string) => /^https?:\/\//.test(url);

async function writeAtomically(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The mode given to open applies only to a new file; make sure of it.
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/** Validates a record a user gave; returns the problems by field. */
export function repositoryProblems(r: Partial<RepositoryRecord>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const name = r.name ?? "";
  const p = dns1123LabelProblem(name);
  if (p) issues.push({ path: "repository.name", message: name ? `${JSON.stringify(name)} ${p}` : "is required" });
  if (r.role !== "blueprint" && r.role !== "deployment")
    issues.push({
      path: "repository.role",
      message: "must be REPOSITORY_ROLE_BLUEPRINT or REPOSITORY_ROLE_DEPLOYMENT",
    });
  const url = r.url ?? "";
  if (!url) issues.push({ path: "repository.url", message: "is required" });
  else if (isRemote(url)) {
    if (!URL.canParse(url)) issues.push({ path: "repository.url", message: "is not a valid URL" });
    else {
      const u = new URL(url);
      if (u.username || u.password)
        issues.push({
          path: "repository.url",
          message: "must not carry credentials; give them in the credentials field",
        });
      else if (u.search || u.hash)
        issues.push({
          path: "repository.url",
          message: "must not have a query or fragment (tokens belong in the credentials field)",
        });
    }
  } else if (!isAbsolute(url))
    issues.push({ path: "repository.url", message: "must be an http(s) URL or an absolute folder path" });
  const b = gitRevisionProblem(r.branch || "main");
  if (b) issues.push({ path: "repository.branch", message: b });
  if (r.role === "deployment") {
    const e = dns1123LabelProblem(r.edge ?? "");
    if (e)
      issues.push({
        path: "repository.edge",
        message: r.edge ? `${JSON.stringify(r.edge)} ${e}` : "is required for a deployment repository",
      });
  } else if (r.edge) issues.push({ path: "repository.edge", message: "only a deployment repository serves an edge" });
  return issues;
}

export class RepositoryRegistry {
  readonly #options: RepositoryRegistryOptions;
  readonly #repos = new Map<string, RegisteredRepository>();
  readonly #secrets = new Map<string, string>();
  /** Registrations and removals one at a time: a name or an edge is checked and taken atomically. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: RepositoryRegistryOptions) {
    this.#options = options;
  }

  get #file(): string {
    return join(this.#options.dataDir, "repositories.json");
  }
  get #secretsFile(): string {
    return join(this.#options.dataDir, "secrets", "repositories.json");
  }

  /** Opens the registry saved in the data directory (empty when there is none). */
  static async open(options: RepositoryRegistryOptions): Promise<RepositoryRegistry> {
    const registry = new RepositoryRegistry(options);
    const read = async (file: string) =>
      existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as unknown) : undefined;
    const secrets = ((await read(registry.#secretsFile)) ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(secrets)) registry.#secrets.set(k, v);
    const records = ((await read(registry.#file)) ?? []) as RepositoryRecord[];
    for (const record of records) registry.#repos.set(record.name, { record, git: registry.#handle(record) });
    return registry;
  }

  #handle(record: RepositoryRecord): GitRepository {
    const author = this.#options.author;
    if (!isRemote(record.url))
      return new LocalGitRepository({ dir: record.url, branch: record.branch, ...(author ? { author } : {}) });
    const secret = record.credentialsRef ? this.#secrets.get(record.credentialsRef) : undefined;
    return new RemoteGitRepository({
      url: record.url,
      branch: record.branch,
      dir: this.#cloneDir(record.name),
      ...(secret ? { credentials: parseCredentials(secret) } : {}),
      ...(author ? { author } : {}),
      ...(this.#options.deadlines ? { deadlines: this.#options.deadlines } : {}),
    });
  }

  async #save(): Promise<void> {
    const records = [...this.#repos.values()].map((r) => r.record);
    await writeAtomically(this.#file, `${JSON.stringify(records, null, 2)}\n`);
    await writeAtomically(this.#secretsFile, `${JSON.stringify(Object.fromEntries(this.#secrets), null, 2)}\n`, 0o600);
  }

  /** Every repository, in registration order. */
  list(): RegisteredRepository[] {
    return [...this.#repos.values()];
  }

  get(name: string): RegisteredRepository | undefined {
    return this.#repos.get(name);
  }

  /** The deployment repository of an edge. */
  forEdge(edge: string): RegisteredRepository | undefined {
    return this.list().find((r) => r.record.role === "deployment" && r.record.edge === edge);
  }

  /** The credentials stored for a repository (for its edge's RootSync secret); never logged. */
  credentials(name: string): { username: string; password: string } | undefined {
    const ref = this.#repos.get(name)?.record.credentialsRef;
    const secret = ref ? this.#secrets.get(ref) : undefined;
    return secret ? parseCredentials(secret) : undefined;
  }

  /** Edges served by deployment repositories, in registration order. */
  edges(): string[] {
    return this.list().flatMap((r) => (r.record.role === "deployment" && r.record.edge ? [r.record.edge] : []));
  }

  /**
   * Checks and keeps a repository. A remote is fetched once (cloned into the data directory).
   * `options.signal` stops the check and the first clone (each also has its deadline).
   * @throws ValidationError for bad fields, CaminoError already-exists for a taken name or edge,
   *   precondition for a missing branch or refused credentials, unavailable for an unreachable remote,
   *   ERR_DEADLINE or the caller's code when stopped.
   */
  register(
    input: Partial<RepositoryRecord>,
    credentials?: string,
    options: OperationOptions = {},
  ): Promise<RegisteredRepository> {
    return this.#serial(() => this.#register(input, credentials, options));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #cloneDir(name: string): string {
    return join(this.#options.dataDir, "clones", name);
  }

  async #register(
    input: Partial<RepositoryRecord>,
    credentials: string | undefined,
    options: OperationOptions,
  ): Promise<RegisteredRepository> {
    const issues = repositoryProblems(input);
    if (issues.length > 0) throw new ValidationError("ERR_REPOSITORY_INVALID", "repository", issues);
    const record: RepositoryRecord = {
      name: input.name as string,
      role: input.role as RepositoryRole,
      url: input.url as string,
      branch: input.branch || "main",
    };
    if (record.role === "deployment") record.edge = input.edge as string;
    if (this.#repos.has(record.name))
      throw new CaminoError("ERR_REPOSITORY_EXISTS", `repository ${record.name} is already registered`);
    if (record.edge && this.forEdge(record.edge)) {
      throw new CaminoError(
        "ERR_REPOSITORY_EXISTS",
        `edge ${record.edge} already has deployment repository ${this.forEdge(record.edge)?.record.name}`,
      );
    }
    if (isRemote(record.url)) {
      await checkRemote(record.url, record.branch, credentials ? parseCredentials(credentials) : undefined, {
        ...options,
        ...(this.#options.deadlines ? { deadlines: this.#options.deadlines } : {}),
      });
      if (credentials) {
        record.credentialsRef = `camino-repo-${record.name}`;
        this.#secrets.set(record.credentialsRef, credentials);
      }
    } else {
      const local = new LocalGitRepository({ dir: record.url, branch: record.branch });
      if (!existsSync(join(record.url, ".git", "HEAD")))
        throw new CaminoError("ERR_REPOSITORY_NOT_FOUND", `${record.url} is not a git repository`);
      if (!(await local.head()))
        throw new CaminoError("ERR_REPOSITORY_BRANCH", `${record.url}: branch ${record.branch} does not exist`);
    }
    // A clone left by an earlier registration of this name (or a failed one) is never reused.
    await rm(this.#cloneDir(record.name), { recursive: true, force: true });
    const registered = { record, git: this.#handle(record) };
    if (registered.git instanceof RemoteGitRepository) {
      try {
        await registered.git.fetch(options);
      } catch (err) {
        if (record.credentialsRef) this.#secrets.delete(record.credentialsRef);
        throw err;
      }
    }
    this.#repos.set(record.name, registered);
    await this.#save();
    this.#options.logger.info("repository registered", {
      repository: record.name,
      role: record.role,
      url: isRemote(record.url) ? new URL(record.url).origin + new URL(record.url).pathname : record.url,
    });
    return registered;
  }

  /**
   * Forgets a repository (its content is left where it is).
   * `options.signal` stops the fetch of a remote deployment repository (which also has its deadline).
   * @throws CaminoError not-found, or precondition when a deployment repository still holds deployed packages
   */
  remove(name: string, options: OperationOptions = {}): Promise<void> {
    return this.#serial(() => this.#remove(name, options));
  }

  async #remove(name: string, options: OperationOptions): Promise<void> {
    if (!name)
      throw new ValidationError("ERR_REPOSITORY_INVALID", "request", [{ path: "name", message: "is required" }]);
    const repo = this.#repos.get(name);
    if (!repo) throw new CaminoError("ERR_REPOSITORY_NOT_FOUND", `repository ${name} is not registered`);
    if (repo.record.role === "deployment") {
      if (repo.git instanceof RemoteGitRepository) await repo.git.fetch(options);
      const intents = await new DeploymentRepository(repo.git).intents();
      if (intents.length > 0) {
        throw new CaminoError(
          "ERR_REPOSITORY_IN_USE",
          `repository ${name} still holds deployed packages of ${intents.join(", ")}; terminate them first`,
          { data: { intents } },
        );
      }
    }
    this.#repos.delete(name);
    if (repo.record.credentialsRef) this.#secrets.delete(repo.record.credentialsRef);
    await this.#save();
    await rm(this.#cloneDir(name), { recursive: true, force: true });
    this.#options.logger.info("repository removed", { repository: name });
  }
}
