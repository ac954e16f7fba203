/** `camino emulator --config edge.yaml` as a process: it serves kubectl, refuses a bad config naming the field, and stops on SIGTERM. */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { CAMINO } from "../helpers/agent-process.js";
import { kubectlFor } from "../helpers/kubectl.js";

const dir = mkdtempSync(join(tmpdir(), "camino-emu-cli-"));

it("serves kubectl as a process and exits 0 on SIGTERM", async () => {
  const config = join(dir, "edge.yaml");
  writeFileSync(
    config,
    'name: edge-7\nhttp: {port: 0}\nnodes:\n  - {name: n1, cpu: "2", memory: 2Gi, labels: {zone: south}}\n',
  );
  const child = spawn(process.execPath, [CAMINO, "emulator", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!).http as string);
    });
    void exited.then(() => reject(new Error("emulator exited early")));
  });
  const nodes = await kubectlFor(url)(["get", "nodes", "-l", "zone=south", "-o", "name"]);
  expect(nodes).toMatchObject({ code: 0, stdout: "node/n1\n" });
  process.kill(-(child.pid as number), "SIGTERM");
  expect(await exited).toBe(0);
});

it("refuses a bad config with exit 3, naming each field", async () => {
  const config = join(dir, "bad.yaml");
  writeFileSync(config, 'name: Edge_7\nnodes:\n  - {name: n1, cpu: "2 cores", memory: 2Gi, gpus: 1}\n');
  const res = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [CAMINO, "emulator", "--config", config], (err, _o, stderr) =>
      resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
    ),
  );
  expect(res.code).toBe(3);
  expect(res.stderr).toContain('name: "Edge_7" must consist of lower-case letters');
  expect(res.stderr).toContain("http: give http, https or both");
  expect(res.stderr).toContain('nodes[0].cpu: quantity "2 cores" has an unknown suffix');
  expect(res.stderr).toContain("nodes[0].gpus: unknown field");
});
