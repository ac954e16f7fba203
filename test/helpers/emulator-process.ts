/** An emulated edge as a separate process (`camino emulator --config`), over HTTP or HTTPS with a token. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { CAMINO } from "./agent-process.js";
import { makePki, type TestPki } from "./tls.js";

export interface EmulatorProcess {
  url: string;
  /** The process id (for /proc readings). */
  pid: number;
  adminUrl: string;
  /** kube-state-metrics at `<metricsUrl>/metrics`, cAdvisor at `<metricsUrl>/metrics/cadvisor` (with `metrics: true`). */
  metricsUrl?: string;
  pki?: TestPki;
  tokenFile?: string;
  dir: string;
  /** Sets faults through the admin endpoint. */
  faults(change: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(options: {
  name: string;
  https?: boolean;
  nodes?: { name: string; cpu: string; memory: string }[];
  podStartDelayMs?: number;
  /** Serve the metrics endpoints. Default false. */
  metrics?: boolean;
  /** The east-west gateway's address. Default 192.0.2.10. */
  eastWestAddress?: string;
}): Promise<EmulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), "camino-emuproc-"));
  const config: Record<string, unknown> = {
    name: options.name,
    admin: { port: 0 },
    eastWest: { address: options.eastWestAddress ?? "192.0.2.10", network: `net-${options.name}` },
    nodes: options.nodes ?? [{ name: "node-1", cpu: "4", memory: "8Gi" }],
  };
  if (options.podStartDelayMs !== undefined) config["podStartDelayMs"] = options.podStartDelayMs;
  if (options.metrics) config["metrics"] = { host: "127.0.0.1", port: 0 };
  let pki: TestPki | undefined;
  let tokenFile: string | undefined;
  if (options.https) {
    pki = makePki(dir);
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "edge-token\n");
    config["https"] = { port: 0, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, tokenFile };
  } else config["http"] = { port: 0 };
  writeFileSync(join(dir, "edge.yaml"), stringify(config));
  const child: ChildProcess = spawn(process.execPath, [CAMINO, "emulator", "--config", join(dir, "edge.yaml")], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const line = await new Promise<Record<string, string>>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!) as Record<string, string>);
    });
    void exited.then(() => reject(new Error("emulator exited before listening")));
  });
  const proc: EmulatorProcess = {
    url: (options.https ? line["https"] : line["http"]) as string,
    pid: child.pid as number,
    adminUrl: line["admin"] as string,
    dir,
    async faults(change) {
      const res = await fetch(`${line["admin"]}/faults`, { method: "PATCH", body: JSON.stringify(change) });
      if (res.status !== 200) throw new Error(`faults: ${res.status} ${await res.text()}`);
    },
    async stop() {
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {
        // Already gone.
      }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (pki) proc.pki = pki;
  if (line["metrics"]) proc.metricsUrl = line["metrics"];
  if (tokenFile) proc.tokenFile = tokenFile;
  return proc;
}
