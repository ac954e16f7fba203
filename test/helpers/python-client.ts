/** Debian's python3-grpcio as a foreign client: stubs generated from the project's protos, then the fixture script. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./agent-process.js";

/** Must be Debian's interpreter: the default python3 may be a pyenv shim that cannot see Debian's packages. */
export const PYTHON = "/usr/bin/python3";
export const CLIENT_SCRIPT = join(ROOT, "test", "fixtures", "python", "camino_client.py");

/** Generates Python stubs for camino.v1 and the health service into a new temp folder. */
export function generatePythonStubs(): string {
  const out = mkdtempSync(join(tmpdir(), "camino-py-"));
  const wkt = execFileSync(
    PYTHON,
    ["-c", "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))"],
    { encoding: "utf8" },
  ).trim();
  const protoc = (include: string, files: string[]) =>
    execFileSync(PYTHON, ["-m", "grpc_tools.protoc", `-I${include}`, `-I${wkt}`, `--python_out=${out}`, ...files], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
  protoc(
    join(ROOT, "proto"),
    ["camino/v1/intent.proto", "camino/v1/types.proto", "camino/v1/domain_manager.proto"].map((f) =>
      join(ROOT, "proto", f),
    ),
  );
  // The health proto is compiled from its own folder so its module is `health_pb2`, not `grpc.health…`,
  // which would shadow the grpc package itself.
  protoc(join(ROOT, "proto", "grpc", "health", "v1"), [join(ROOT, "proto", "grpc", "health", "v1", "health.proto")]);
  return out;
}

/** Runs the client to completion. */
export function runPython(
  stubs: string,
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(PYTHON, [CLIENT_SCRIPT, stubs, ...args], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "", ...env },
      timeout: 30_000,
    });
    return { status: 0, stdout, stderr: "" };
  } catch (err) {
    const e = err as { status: number | null; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Starts the client in the background (for streams); lines of stdout arrive through `lines`. */
export function spawnPython(
  stubs: string,
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; lines: string[]; waitFor(line: string): Promise<void>; exited: Promise<number | null> } {
  const child = spawn(PYTHON, [CLIENT_SCRIPT, stubs, ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => w.line === line)) w.resolve();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (line) =>
      lines.includes(line)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ line, resolve });
            void exited.then(() =>
              lines.includes(line)
                ? resolve()
                : reject(new Error(`python client exited without printing ${line}; got ${JSON.stringify(lines)}`)),
            );
          }),
  };
}
