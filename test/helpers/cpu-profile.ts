/**
 * A CPU profile of a child process (an agent under a benchmark), where `node --cpu-prof` cannot be given: Node
 * refuses `--cpu-prof` in NODE_OPTIONS, and the helpers spawn the CLI themselves. Preloaded with
 * `NODE_OPTIONS=--import=<this file, compiled>` and `CAMINO_CPU_PROFILE=<file>`, it starts the V8 profiler at
 * once and writes the profile (Chrome DevTools' .cpuprofile format) to that file when the process exits.
 *
 * The in-thread inspector session answers synchronously, so the profile is taken and written inside the
 * `exit` handler; a process killed with SIGKILL writes nothing.
 *
 * @example
 * startAgentProcess({ env: cpuProfileEnv("/tmp/agent.cpuprofile") });
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { fileURLToPath } from "node:url";

/** The environment that preloads this file into a child, profiling it into `file`. */
export function cpuProfileEnv(file: string): Record<string, string> {
  return { NODE_OPTIONS: `--import=${fileURLToPath(import.meta.url)}`, CAMINO_CPU_PROFILE: file };
}

const target = process.env["CAMINO_CPU_PROFILE"];
if (target) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 1 ms between samples (V8's default), as --cpu-prof takes them.
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.once("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(target, JSON.stringify(result.profile));
    });
  });
}
