/**
 * The allocator the agent runs with (agent/util/allocator.ts): jemalloc, preloaded by the processes CAMINO starts
 * itself, where the machine has it (the test setup installs Debian's libjemalloc2); glibc's with
 * CAMINO_MALLOC=system. Read from the agent process's own memory map and threads: jemalloc gives freed pages back
 * from a thread of its own.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { agentEnvironment, JEMALLOC_CONF } from "../../agent/util/allocator.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { waitFor } from "../helpers/in-process-domain.js";

let agent: AgentProcess | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

const mapped = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").includes("libjemalloc.so.2");
/** The names of a process's threads. */
const threads = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim());

describe("the agent's allocator", () => {
  it("is jemalloc in an agent the launchers start, glibc's with CAMINO_MALLOC=system", async () => {
    agent = await startAgentProcess();
    expect(mapped(agent.child.pid as number)).toBe(true);
    await agent.stop();
    agent = await startAgentProcess({ env: { CAMINO_MALLOC: "system" } });
    expect(mapped(agent.child.pid as number)).toBe(false);
  });

  it("gives freed pages back from jemalloc's own thread, unless MALLOC_CONF says otherwise", async () => {
    agent = await startAgentProcess();
    const pid = agent.child.pid as number;
    await waitFor("jemalloc's background thread", () => threads(pid).includes("jemalloc_bg_thd"));
    await agent.stop();
    agent = await startAgentProcess({ env: { MALLOC_CONF: "background_thread:false" } });
    expect(mapped(agent.child.pid as number)).toBe(true);
    expect(threads(agent.child.pid as number)).not.toContain("jemalloc_bg_thd");

    expect(agentEnvironment({}).env["MALLOC_CONF"]).toBe(JEMALLOC_CONF);
    expect(agentEnvironment({ MALLOC_CONF: "dirty_decay_ms:0" }).env["MALLOC_CONF"]).toBe("dirty_decay_ms:0");
    expect(agentEnvironment({ CAMINO_MALLOC: "system" }).env["MALLOC_CONF"]).toBeUndefined();
  });

  it("is added to what LD_PRELOAD already names, and not twice", () => {
    const { env, allocator } = agentEnvironment({ LD_PRELOAD: "/opt/trace.so" });
    expect(allocator).toBe("jemalloc");
    expect(env["LD_PRELOAD"]).toMatch(/^\/usr\/lib\/.*libjemalloc\.so\.2:\/opt\/trace\.so$/);
    expect(agentEnvironment(env).env).toEqual(env);
    expect(agentEnvironment({ CAMINO_MALLOC: "system" })).toEqual({
      env: { CAMINO_MALLOC: "system" },
      allocator: "system",
    });
    expect(agentEnvironment({ CAMINO_MALLOC: "jemalloc" }).allocator).toBe("jemalloc");
  });

  it("refuses a CAMINO_MALLOC it does not know, naming it", () => {
    expect(() => agentEnvironment({ CAMINO_MALLOC: "tcmalloc" })).toThrow(
      "CAMINO_MALLOC=tcmalloc: use system (glibc's allocator) or jemalloc",
    );
  });
});
