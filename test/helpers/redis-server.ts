/**
 * A real redis-server for tests: TCP off (`--port 0`), a Unix socket in a temp dir (no port races), no
 * persistence, in its own process group. `kill()` and `start()` again on the same socket restart it mid-test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  /** The Unix socket to give ioredis as `path`. */
  readonly socket: string;
  /** Starts it (again); resolves when it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs it and waits for it to exit. */
  kill(): Promise<void>;
  /** Kills it and removes its folder. */
  stop(): Promise<void>;
}

export function redisServer(): RedisServer {
  const dir = mkdtempSync(join(tmpdir(), "camino-redis-"));
  const socket = join(dir, "redis.sock");
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const server: RedisServer = {
    socket,
    async start() {
      if (child) throw new Error("redis-server already running");
      const c = spawn(
        "redis-server",
        ["--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir],
        { stdio: ["ignore", "pipe", "pipe"], detached: true },
      );
      child = c;
      exited = new Promise((r) => c.once("exit", () => r()));
      let out = "";
      await new Promise<void>((resolve, reject) => {
        const onData = (b: Buffer) => {
          out += b.toString();
          if (/ready to accept connections/i.test(out)) resolve();
        };
        c.stdout?.on("data", onData);
        c.stderr?.on("data", onData);
        void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${out}`)));
        setTimeout(() => reject(new Error(`redis-server not ready after 10 s:\n${out}`)), 10_000).unref();
      });
      // Keep draining its output so it never blocks on a full pipe.
      c.stdout?.resume();
      c.stderr?.resume();
    },
    async kill() {
      const c = child;
      if (!c) return;
      try {
        process.kill(-(c.pid as number), "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
      child = undefined;
    },
    async stop() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
