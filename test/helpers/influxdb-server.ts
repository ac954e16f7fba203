/**
 * A real InfluxDB 1.6 (Debian's influxd) for tests: a config with reporting off, every bind address explicit on
 * loopback (HTTP and the backup/RPC port), the internal monitor store off, and its data in a temp dir; in its
 * own process group. Ports are picked free and the start retried when one is taken meanwhile. `kill()` and
 * `start()` again restart it on the same port with the same data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface InfluxServer {
  /** `http://127.0.0.1:<port>`, stable across restarts. */
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILLs it and waits for it to exit. */
  kill(): Promise<void>;
  /** Runs an InfluxQL query, returning the JSON answer. */
  query(db: string, q: string): Promise<InfluxQueryResult>;
  stop(): Promise<void>;
}

export interface InfluxQueryResult {
  results: Array<{
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function influxServer(): Promise<InfluxServer> {
  const dir = mkdtempSync(join(tmpdir(), "camino-influx-"));
  let httpPort = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let url = "";

  async function startOnce(): Promise<"ready" | "port-taken"> {
    const rpcPort = await freePort();
    const config = [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      "[meta]",
      `  dir = "${join(dir, "meta")}"`,
      "[data]",
      `  dir = "${join(dir, "data")}"`,
      `  wal-dir = "${join(dir, "wal")}"`,
      "  query-log-enabled = false",
      "[monitor]",
      "  store-enabled = false",
      "[http]",
      `  bind-address = "127.0.0.1:${httpPort}"`,
      "  log-enabled = false",
      "[continuous_queries]",
      "  enabled = false",
      "",
    ].join("\n");
    writeFileSync(join(dir, "influxdb.conf"), config);
    const c = spawn("influxd", ["run", "-config", join(dir, "influxdb.conf")], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = c;
    exited = new Promise((r) => c.once("exit", () => r()));
    let out = "";
    let gone = false;
    c.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    c.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    void exited.then(() => (gone = true));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (gone) {
        child = undefined;
        if (/address already in use/.test(out)) return "port-taken";
        throw new Error(`influxd exited before it was ready:\n${out.slice(-2000)}`);
      }
      const ok = await fetch(`${url}/ping`).then(
        (r) => r.status === 204,
        () => false,
      );
      if (ok) return "ready";
      if (Date.now() > deadline) throw new Error(`influxd not ready after 20 s:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const server: InfluxServer = {
    get url() {
      return url;
    },
    async start() {
      if (child) throw new Error("influxd already running");
      for (let tries = 0; ; tries++) {
        if (!httpPort || tries > 0) {
          httpPort = await freePort();
          url = `http://127.0.0.1:${httpPort}`;
        }
        if ((await startOnce()) === "ready") return;
        if (tries >= 4) throw new Error("influxd: no free port after 5 tries");
      }
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
    async query(db, q) {
      const u = new URL("/query", url);
      u.searchParams.set("db", db);
      u.searchParams.set("q", q);
      u.searchParams.set("epoch", "ms");
      const res = await fetch(u);
      return (await res.json()) as InfluxQueryResult;
    },
    async stop() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
