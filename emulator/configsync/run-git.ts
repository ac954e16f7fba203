/**
 * One short git command (diff-tree, fetch, init) with a bound: past `timeoutMs`, or when `signal` aborts, it is
 * asked to stop (SIGTERM) and killed a moment later (SIGKILL) — the whole process group, because git runs
 * helpers of its own (git-remote-http, index-pack) that would otherwise outlive it and hold its pipes open. The
 * promise settles only once the process has exited, so a caller that awaits it leaves nothing behind.
 * Arguments go to git as an array, never through a shell; secrets go through `env`, never through `args`
 * (the command line is public in `ps`).
 */
import { spawn } from "node:child_process";
import { GitReadError } from "./git-read-error.js";

export interface RunGitOptions {
  /** The whole environment git runs with; nothing of this process's environment is added. */
  env: Readonly<Record<string, string>>;
  /** Bound on the whole command, in ms. */
  timeoutMs: number;
  /** Stops the command early (the reader closing). */
  signal?: AbortSignal;
  /** Working folder. Default the process's. */
  cwd?: string;
  /** The git executable. Default "git". */
  git?: string;
  /** Most bytes of output kept; a command that writes more fails. Default 64 MiB. */
  maxOutputBytes?: number;
  /** Words of the command for messages, when `args` should not be shown whole. Default `args[0]`. */
  describe?: string;
}

/** How long a command asked to stop may take before it is killed, in ms. */
const STOP_GRACE_MS = 1_000;

/**
 * Runs `git <args>` and resolves with its standard output.
 * @throws GitReadError ERR_GIT_COMMAND (non-zero exit, with the last line git wrote to stderr), ERR_GIT_TIMEOUT,
 * ERR_GIT_CLOSED (aborted by `signal`).
 * @example await runGit(["diff-tree", "-r", "-z", a, b], { env, timeoutMs: 30_000 })
 */
export function runGit(args: readonly string[], options: RunGitOptions): Promise<Buffer> {
  const what = `git ${options.describe ?? args[0] ?? ""}`;
  if (options.signal?.aborted)
    return Promise.reject(new GitReadError("ERR_GIT_CLOSED", `${what} not started: the repository reader is closed`));
  const max = options.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(options.git ?? "git", args, {
      env: { ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that stopping it reaches its helpers too.
      detached: true,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = "";
    let ended: GitReadError | undefined;
    let kill: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const stop = (err: GitReadError) => {
      if (ended) return;
      ended = err;
      signalGroup("SIGTERM");
      kill = setTimeout(() => signalGroup("SIGKILL"), STOP_GRACE_MS);
    };
    const timer = setTimeout(
      () => stop(new GitReadError("ERR_GIT_TIMEOUT", `${what} took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const onAbort = () => stop(new GitReadError("ERR_GIT_CLOSED", `${what} stopped: the repository reader is closed`));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) stop(new GitReadError("ERR_GIT_COMMAND", `${what} wrote more than ${max} bytes`));
      else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    let settled = false;
    const done = () => {
      settled = true;
      clearTimeout(timer);
      clearTimeout(kill);
      options.signal?.removeEventListener("abort", onAbort);
    };
    child.once("error", (err) => {
      // Only a process that never started ends here; any other error is followed by "close".
      if (settled || child.pid !== undefined) return;
      done();
      reject(new GitReadError("ERR_GIT_COMMAND", `${what} could not start: ${err.message}`, { cause: err }));
    });
    // "close": the process has exited and its pipes are drained.
    child.once("close", (code, signal) => {
      if (settled) return;
      done();
      if (ended) return reject(ended);
      if (code !== 0) {
        const lines = stderr
          .split("\n")
          .map((l) => l.trim())
          .filter(Boolean);
        // git's own last word ("fatal: ...") says why; hints and progress before it do not.
        const why = lines.filter((l) => /^(fatal|error):/.test(l)).pop() ?? lines.pop() ?? "";
        return reject(
          new GitReadError(
            "ERR_GIT_COMMAND",
            `${what} failed (${signal ?? `exit code ${code}`})${why ? `: ${why}` : ""}`,
            {
              data: { exitCode: code },
            },
          ),
        );
      }
      resolve(Buffer.concat(out));
    });
  });
}
