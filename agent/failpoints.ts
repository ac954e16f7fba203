/**
 * Failpoints: named places in the agent where a test can make it stop, stall or fail, set by the environment
 * variable CAMINO_FAILPOINTS, e.g. `plan-intent=delay(500);after-commit:edge-1=exit(137)`. Every run then
 * fails at the same place, instead of at a random timer. Unset (the normal case), a hit costs a map lookup.
 *
 * Actions: `delay(MS)` waits (abortable), `error(MESSAGE)` throws, `exit(CODE)` ends the process at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { CaminoError, ConfigError } from "./errors.js";

type Action = { kind: "delay"; ms: number } | { kind: "error"; message: string } | { kind: "exit"; code: number };

export interface Failpoints {
  /** Runs the action set for `name`, if any. */
  hit(name: string, signal?: AbortSignal): Promise<void>;
}

/** Parses a CAMINO_FAILPOINTS value. @throws ConfigError naming the bad entry. */
export function parseFailpoints(spec: string | undefined): Failpoints {
  const actions = new Map<string, Action>();
  for (const entry of (spec ?? "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w:.-]+)=(delay|error|exit)(?:\((.*)\))?$/.exec(entry);
    const bad = () =>
      new ConfigError([
        {
          path: "CAMINO_FAILPOINTS",
          message: `${JSON.stringify(entry)} is not NAME=delay(MS), NAME=error(MESSAGE) or NAME=exit(CODE)`,
        },
      ]);
    if (!m) throw bad();
    const [, name, kind, arg = ""] = m as unknown as [string, string, string, string | undefined];
    if (kind === "delay") {
      if (!/^\d+$/.test(arg)) throw bad();
      actions.set(name, { kind, ms: Number(arg) });
    } else if (kind === "exit") {
      if (arg !== "" && !/^\d+$/.test(arg)) throw bad();
      actions.set(name, { kind, code: arg === "" ? 1 : Number(arg) });
    } else {
      actions.set(name, { kind: "error", message: arg || `failpoint ${name}` });
    }
  }
  return {
    async hit(name, signal) {
      const action = actions.get(name);
      if (!action) return;
      if (action.kind === "delay") await sleep(action.ms, undefined, signal ? { signal } : undefined);
      else if (action.kind === "error") throw new CaminoError("ERR_FAILPOINT", action.message);
      else process.exit(action.code);
    },
  };
}
