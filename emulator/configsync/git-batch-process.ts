/**
 * A long-lived git process that answers requests written to its stdin, one answer per request, in order
 * (`git cat-file --batch`, `git diff-tree --stdin`): the process is started on the first request and again
 * after a failure, so a repository costs one process, not one per read. A subclass cuts the answers out of
 * the byte stream. Every wait is bounded: an answer that does not come in time kills the process and fails
 * everything waiting. {@link GitBatchProcess.close} kills it and waits for it to exit.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { GitReadError } from "./git-read-error.js";

export interface GitBatchProcessOptions {
  /** The repository's git directory (a bare repository, or the `.git` of a work tree). */
  gitDir: string;
  /** The whole environment git runs with; nothing of this process's environment is added. */
  env: Readonly<Record<string, string>>;
  /** Longest wait for one answer, in ms, counted from its request. Default 30000. */
  timeoutMs?: number;
  /** The git executable. Default "git" (looked up on the environment's PATH). */
  git?: string;
}

interface Pending<Q, A> {
  request: Q;
  resolve: (answer: A) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** A git process answering requests `Q` with answers `A`, in order. */
export abstract class GitBatchProcess<Q, A> {
  readonly #args: readonly string[];
  readonly #o: Required<GitBatchProcessOptions>;
  #child: Child | undefined;
  /** Exits still to come, of the current process and of any killed before it. */
  readonly #exits = new Set<Promise<void>>();
  readonly #queue: Pending<Q, A>[] = [];
  #closed = false;
  #stderr = "";

  protected constructor(args: readonly string[], options: GitBatchProcessOptions) {
    this.#args = args;
    this.#o = { timeoutMs: 30_000, git: "git", ...options };
  }

  /** The repository's git directory. */
  get gitDir(): string {
    return this.#o.gitDir;
  }

  /** Cuts answers out of the process's output; called with each chunk, in order. */
  protected abstract receive(chunk: Buffer): void;

  /** Forgets any half-received answer: a new process starts with a clean stream. */
  protected abstract restart(): void;

  /** The request whose answer comes next, if any. */
  protected get next(): Q | undefined {
    return this.#queue[0]?.request;
  }

  /** Queues a request and writes its line(s) (each ending in "\n") to the process. */
  protected ask(request: Q, lines: string): Promise<A> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const child = this.#child ?? this.#start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new GitReadError(
              "ERR_GIT_TIMEOUT",
              `git ${this.#args[0]} gave no answer within ${this.#o.timeoutMs} ms in ${this.#o.gitDir}`,
              { data: { gitDir: this.#o.gitDir } },
            ),
          ),
        this.#o.timeoutMs,
      );
      timer.unref();
      this.#queue.push({ request, resolve, reject, timer });
      child.stdin.write(lines);
    });
  }

  /** Settles the next request with its answer. */
  protected answer(answer: A): void {
    const p = this.#shift();
    p.resolve(answer);
  }

  /** Settles the next request with an error of its own; the stream is still in step. */
  protected refuse(err: Error): void {
    const p = this.#shift();
    p.reject(err);
  }

  #shift(): Pending<Q, A> {
    const p = this.#queue.shift();
    if (!p) throw new GitReadError("ERR_GIT_COMMAND", `git ${this.#args[0]} answered what was not asked`);
    clearTimeout(p.timer);
    return p;
  }

  /** Kills the process (if any) and rejects everything waiting with `err`; the next request starts a new one. */
  protected fail(err: Error): void {
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const p of this.#queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** Fails what is waiting, kills the process and waits for it to exit. Requests after this fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.fail(this.#closedError());
    await Promise.all(this.#exits);
  }

  #closedError(): GitReadError {
    return new GitReadError("ERR_GIT_CLOSED", "the repository reader is closed", { data: { gitDir: this.#o.gitDir } });
  }

  #start(): Child {
    const child = spawn(this.#o.git, this.#args, {
      env: { ...this.#o.env, GIT_DIR: this.#o.gitDir },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#child = child;
    this.#stderr = "";
    this.restart();
    const exited: Promise<void> = new Promise((resolve) => child.once("close", () => resolve()));
    this.#exits.add(exited);
    void exited.then(() => this.#exits.delete(exited));
    // A write after the process died: the exit below reports it.
    child.stdin.on("error", () => undefined);
    child.stdout.on("data", (chunk: Buffer) => {
      if (this.#child !== child) return;
      try {
        this.receive(chunk);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.once("error", (err) => {
      if (this.#child === child)
        this.fail(
          new GitReadError("ERR_GIT_COMMAND", `git ${this.#args[0]} could not start: ${err.message}`, {
            data: { gitDir: this.#o.gitDir },
            cause: err,
          }),
        );
    });
    child.once("exit", (code, signal) => {
      if (this.#child !== child) return;
      const why = (this.#stderr.trim().split("\n").pop() ?? "").trim();
      this.fail(
        new GitReadError(
          "ERR_GIT_COMMAND",
          `git ${this.#args[0]} exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ""} in ${this.#o.gitDir}`,
          { data: { gitDir: this.#o.gitDir, exitCode: code } },
        ),
      );
    });
    return child;
  }
}
