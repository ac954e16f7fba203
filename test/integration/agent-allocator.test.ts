/**
 * The allocator the agent runs with (agent/util/allocator.ts): jemalloc, preloaded by the processes CAMINO starts
 * itself, where the machine has it (the test setup installs Debian's libjemalloc2); glibc's with
 * CAMINO_MALLOC=system. Read from the agent process's own memory map.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { agentEnvironment } from "../../agent/util/allocator.js";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

let agent: AgentProcess | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

const mapped = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").includes("libjemalloc.so.2");

describe("the agent's allocator", () => {
  it("is jemalloc in an agent the launchers start, glibc's with CAMINO_MALLOC=system", async () => {
    agent = await startAgentProcess();
    expect(mapped(agent.child.pid as number)).toBe(true);
    await agent.stop();
    agent = await startAgentProcess({ env: { CAMINO_MALLOC: "system" } });
    expect(mapped(agent.child.pid as number)).toBe(false);
  });

  it("is added to what LD_PRELOAD already names, and not twice", () => {
    const { env, allocator } = agentEnvironment({ LD_PRELOAD: "/opt/trace.so" });
    expect(allocator).toBe("jemalloc");
    expect(env["LD_PRELOAD"]).toMatch(/^\/usr\/lib\/.*libjemalloc\.so\.2:\/opt\/trace\.so$/);
    expect(agentEnvironment(env).env["LD_PRELOAD"]).toBe(env["LD_PRELOAD"]);
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
