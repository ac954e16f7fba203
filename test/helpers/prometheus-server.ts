/**
 * A real Prometheus (Debian's package) for tests: its own process group, a free loopback port (another try when
 * the port was taken meanwhile), its TSDB in a temp folder, and the scrape config the test gives. It can be
 * stopped and started again on the same port, as an outage of the monitoring backend looks to its clients.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrometheusServer {
  url: string;
  port: number;
  /** Stops it (SIGTERM to its group, SIGKILL after 10 s) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same TSDB. */
  start(): Promise<void>;
  /** Waits until Prometheus reports `count` active targets, all up (bounded). */
  targetsUp(count: number, timeoutMs?: number): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** Polls `probe` until it returns a value other than undefined, for at most `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port free on 127.0.0.1 now (for servers that cannot bind port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus with `scrapeConfigs` (YAML text of the `scrape_configs` list), scraping every second by default. */
export async function startPrometheus(scrapeConfigs: string, scrapeInterval = "1s"): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "camino-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    `global:\n  scrape_interval: ${scrapeInterval}\n  scrape_timeout: ${scrapeInterval}\nscrape_configs:\n${scrapeConfigs}`,
  );
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;

  const launch = async (): Promise<"ready" | "exited"> => {
    const child = spawn(
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] },
    );
    proc = child;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    exited = new Promise<void>((r) => child.once("exit", () => r()));
    const state = await until("Prometheus to be ready", async () => {
      if (child.exitCode !== null || child.signalCode !== null) return "exited" as const;
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
      return res.status === 200 ? ("ready" as const) : undefined;
    });
    if (state === "exited" && !/address already in use/i.test(stderr)) throw new Error(`prometheus exited:\n${stderr}`);
    return state;
  };

  const stop = async () => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-(child.pid as number), "SIGTERM");
    const done = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    if (!done) {
      process.kill(-(child.pid as number), "SIGKILL");
      await exited;
    }
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    if ((await launch()) === "ready") break;
    if (attempt >= 5) throw new Error("prometheus could not bind a free port in 5 tries");
  }
  const server: PrometheusServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    stop,
    async start() {
      // Restarted on the same port; it was free a moment ago, and tests on this machine bind port 0 otherwise.
      if ((await launch()) !== "ready") throw new Error(`prometheus could not bind port ${port} again`);
    },
    async targetsUp(count, timeoutMs = 30_000) {
      await until(
        `${count} Prometheus targets up`,
        async () => {
          const res = await fetch(`${server.url}/api/v1/targets`);
          const body = (await res.json()) as { data: { activeTargets: { health: string }[] } };
          const t = body.data.activeTargets;
          return t.length === count && t.every((x) => x.health === "up") ? true : undefined;
        },
        timeoutMs,
      );
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
