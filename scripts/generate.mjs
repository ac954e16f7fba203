#!/usr/bin/env node
// Regenerates gen/ from proto/ with buf and protoc-gen-es (both from node_modules, so it works offline).
// With --check, generates into a temporary folder and fails when gen/ differs: CI's guard against stale code.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` };

function files(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  try {
    walk(dir);
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  return out;
}

// buf.gen.yaml writes to `gen/` under the base folder given here.
function generate(base) {
  rmSync(join(base, "gen"), { recursive: true, force: true });
  execFileSync(join(bin, "buf"), ["generate", "--output", base], {
    cwd: root,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

if (!check) {
  generate(root);
  console.log("generated gen/ from proto/");
} else {
  const tmp = mkdtempSync(join(tmpdir(), "camino-gen-"));
  try {
    generate(tmp);
    const fresh = files(join(tmp, "gen"));
    const committed = files(join(root, "gen"));
    const stale = [];
    for (const [name, text] of fresh) if (committed.get(name) !== text) stale.push(name);
    for (const name of committed.keys()) if (!fresh.has(name)) stale.push(name);
    if (stale.length > 0) {
      console.error(`gen/ is stale against proto/ (${stale.join(", ")}): run \`npm run generate\` and commit.`);
      process.exit(1);
    }
    console.log("gen/ is in step with proto/");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
