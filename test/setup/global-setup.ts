/**
 * Once per run, before integration tests: the compiled agent is current (rebuilt when dist/ is missing or any
 * source is newer than it, so a bare `vitest run` never tests stale code), and the Debian packages the tests
 * use are installed — in one apt-get call, only when missing, and only as root; otherwise fail saying what to
 * install. Nothing is skipped silently.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { type Dirent, existsSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dist = join(root, "dist");

/** Where the build's inputs are: tsconfig.build.json's include (its .ts files), and bin/, which runs dist/. */
const SOURCE_DIRS = [
  "agent",
  "emulator",
  "common",
  "federation",
  "bench",
  "gen",
  "scripts",
  "types",
  "test/helpers",
  "bin",
];
const SOURCE_FILES = ["tsconfig.json", "tsconfig.build.json"];
const isSource = (file: string) => file.endsWith(".ts") || file.startsWith(join(root, "bin") + sep);

/** Calls `visit` with the path and modification time of every file under `dir` (none when it is missing). */
function walk(dir: string, visit: (file: string, mtimeMs: number) => void): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) walk(path, visit);
    else if (e.isFile()) visit(path, statSync(path).mtimeMs);
  }
}

/** Why dist/ must be built, or undefined when it is newer than every source. A stat walk: a few milliseconds. */
function staleness(): string | undefined {
  let built = 0;
  walk(dist, (_, mtime) => {
    built = Math.max(built, mtime);
  });
  if (built === 0) return "dist/ is missing or empty";
  const newer: string[] = [];
  const consider = (file: string, mtime: number) => {
    if (mtime > built) newer.push(relative(root, file));
  };
  for (const d of SOURCE_DIRS)
    walk(join(root, d), (file, mtime) => {
      if (isSource(file)) consider(file, mtime);
    });
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) consider(join(root, f), statSync(join(root, f)).mtimeMs);
  if (newer.length === 0) return undefined;
  const shown = newer.slice(0, 3).join(", ");
  return `${newer.length} source file(s) newer than dist/ (${shown}${newer.length > 3 ? ", …" : ""})`;
}

/** Debian package → a command that succeeds when it is usable. */
const NEEDED: Record<string, string[]> = {
  "python3-grpcio": ["/usr/bin/python3", "-c", "import grpc"],
  "python3-grpc-tools": ["/usr/bin/python3", "-c", "import grpc_tools.protoc"],
  curl: ["curl", "--version"],
  openssl: ["openssl", "version"],
  prometheus: ["prometheus", "--version"],
  graphviz: ["dot", "-V"],
  "redis-server": ["redis-server", "--version"],
  influxdb: ["influxd", "version"],
  // util-linux's `script`: a pseudo-terminal for the CLI's live watch (test/integration/cli-watch.test.ts).
  bsdutils: ["script", "--version"],
  // The allocator the agent's launchers preload (agent/util/allocator.ts, test/integration/agent-allocator.test.ts).
  libjemalloc2: ["sh", "-c", "ls /usr/lib/*-linux-gnu/libjemalloc.so.2"],
};

function works(cmd: string[]): boolean {
  return spawnSync(cmd[0] as string, cmd.slice(1), { stdio: "ignore" }).status === 0;
}

export default function setup(): void {
  const stale = staleness();
  if (stale) {
    const started = Date.now();
    execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
    console.log(`global setup: rebuilt dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s: ${stale}`);
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
