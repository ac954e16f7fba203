/**
 * Once per run, before integration tests: the compiled agent exists, and the Debian packages the tests use
 * are installed — in one apt-get call, only when missing, and only as root; otherwise fail saying what to
 * install. Nothing is skipped silently.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Debian package → a command that succeeds when it is usable. */
const NEEDED: Record<string, string[]> = {
  "python3-grpcio": ["/usr/bin/python3", "-c", "import grpc"],
  "python3-grpc-tools": ["/usr/bin/python3", "-c", "import grpc_tools.protoc"],
  curl: ["curl", "--version"],
  openssl: ["openssl", "version"],
  prometheus: ["prometheus", "--version"],
};

function works(cmd: string[]): boolean {
  return spawnSync(cmd[0] as string, cmd.slice(1), { stdio: "ignore" }).status === 0;
}

export default function setup(): void {
  if (!existsSync(`${root}/dist/agent/cli/camino.js`)) {
    execFileSync(`${root}/node_modules/.bin/tsc`, ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  }
  // kubectl comes with the machine image (Debian has no package of this version): say so plainly if it is gone.
  if (!works(["kubectl", "version", "--client"]))
    throw new Error("integration tests need kubectl on PATH (it ships with the machine image)");
  const missing = Object.entries(NEEDED)
    .filter(([, cmd]) => !works(cmd))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`integration tests need Debian packages: sudo apt-get install -y ${missing.join(" ")}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { stdio: "inherit", env });
  const still = Object.entries(NEEDED)
    .filter(([, cmd]) => !works(cmd))
    .map(([pkg]) => pkg);
  if (still.length > 0) throw new Error(`installed but still not usable: ${still.join(", ")}`);
}
