/**
 * The memory allocator an agent process runs with. glibc's malloc keeps freed memory in its heap where a live
 * allocation sits above it, and an agent that holds thousands of intents allocates and frees buffers of every size
 * all the time (git packs, journal logs, HTTP bodies): measured at 3,000 intents, its heap held 40 MiB where
 * jemalloc held none of it in the same place. So the processes CAMINO starts itself (`npm start`, the container
 * image, tests and benchmarks) preload jemalloc when the machine has it (Debian's `libjemalloc2`);
 * `CAMINO_MALLOC=system` keeps glibc's.
 *
 * jemalloc is told to give freed pages back within a second, from a thread of its own ({@link JEMALLOC_CONF}). By
 * default it keeps them for 10 s and gives them back only when the process allocates again: right after a burst of
 * deployments (commits, pack merges, HTTP bodies) an agent holding 3,000 intents had 75 MiB of such pages in its
 * RSS, 215 MiB against 139 once idle. Measured here, the setting costs no CPU per intent at 50 intents/s
 * (docs/scale.md). A `MALLOC_CONF` of the caller's own is kept as it is.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * jemalloc's settings for an agent: purge freed (dirty) pages after 1 s instead of 10, from a background thread,
 * so that an idle agent gives them back too; no second (muzzy) stage.
 */
export const JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

/** Where Debian and its multiarch folders put jemalloc. */
function jemallocPath(): string | undefined {
  const candidates = ["/usr/lib/libjemalloc.so.2"];
  try {
    for (const d of readdirSync("/usr/lib"))
      if (d.endsWith("-linux-gnu")) candidates.push(join("/usr/lib", d, "libjemalloc.so.2"));
  } catch {
    return undefined;
  }
  return candidates.find((p) => existsSync(p));
}

/**
 * The environment for an agent process: `env` with jemalloc added to `LD_PRELOAD` (on Linux, when it is
 * installed and `CAMINO_MALLOC` is not `system`) and its settings in `MALLOC_CONF` (unless `env` has one);
 * `allocator` says which one it gets.
 * @throws Error naming CAMINO_MALLOC when it is neither `system` nor `jemalloc`, or asks for jemalloc and the
 *   machine has none
 */
export function agentEnvironment(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; allocator: "jemalloc" | "system" } {
  const choice = env["CAMINO_MALLOC"] || undefined;
  if (choice !== undefined && choice !== "system" && choice !== "jemalloc")
    throw new Error(
      `CAMINO_MALLOC=${choice}: use system (glibc's allocator) or jemalloc (the default where installed)`,
    );
  if (process.platform !== "linux" || choice === "system") return { env, allocator: "system" };
  const preload = env["LD_PRELOAD"] ?? "";
  const conf = env["MALLOC_CONF"] === undefined ? { MALLOC_CONF: JEMALLOC_CONF } : {};
  if (preload.includes("jemalloc")) return { env: { ...env, ...conf }, allocator: "jemalloc" };
  const lib = jemallocPath();
  if (!lib) {
    if (choice === "jemalloc")
      throw new Error(
        "CAMINO_MALLOC=jemalloc, but libjemalloc.so.2 is not installed (Debian: apt-get install libjemalloc2)",
      );
    return { env, allocator: "system" };
  }
  return { env: { ...env, ...conf, LD_PRELOAD: preload ? `${lib}:${preload}` : lib }, allocator: "jemalloc" };
}
