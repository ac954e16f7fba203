import { describe, expect, it, vi } from "vitest";
import { RunTiming } from "../../agent/orchestration/run-timing.js";

describe("a run's time split", () => {
  it("counts waits that overlap once, and the rest as the agent's own time", async () => {
    vi.useFakeTimers({ toFake: ["performance", "setTimeout"] });
    try {
      const t = new RunTiming();
      t.queued(5);
      vi.advanceTimersByTime(5); // the queue
      vi.advanceTimersByTime(10); // agent work
      const wait = (ms: number) => t.onEdge(() => new Promise((r) => setTimeout(r, ms)));
      // Two edges synced in parallel, 30 and 20 ms: 30 ms on edges.
      const both = Promise.all([wait(30), wait(20)]);
      await vi.advanceTimersByTimeAsync(30);
      await both;
      vi.advanceTimersByTime(7); // agent work
      expect(t.times()).toEqual({ queueMs: 5, edgeMs: 30, agentMs: 17, steps: [] });
      // A wait that fails counts too.
      const failing = t.onEdge(async () => {
        await new Promise((r) => setTimeout(r, 4));
        throw new Error("refused");
      });
      const settled = expect(failing).rejects.toThrow("refused");
      await vi.advanceTimersByTimeAsync(4);
      await settled;
      expect(t.times()).toEqual({ queueMs: 5, edgeMs: 34, agentMs: 17, steps: [] });
    } finally {
      vi.useRealTimers();
    }
  });

  it("splits the same way per step; a step run twice adds up, the step under way counts up to now", async () => {
    vi.useFakeTimers({ toFake: ["performance", "setTimeout"] });
    try {
      const t = new RunTiming();
      const wait = (ms: number) => t.onEdge(() => new Promise((r) => setTimeout(r, ms)));
      t.step("admission");
      vi.advanceTimersByTime(3);
      t.step("wave 1: synced");
      vi.advanceTimersByTime(1);
      const w = wait(20);
      await vi.advanceTimersByTimeAsync(20);
      await w;
      t.step("admission");
      vi.advanceTimersByTime(2);
      t.step("ready");
      // A wait under way when asked counts up to now.
      const w2 = wait(10);
      await vi.advanceTimersByTimeAsync(4);
      expect(t.times()).toEqual({
        queueMs: 0,
        edgeMs: 24,
        agentMs: 6,
        steps: [
          { step: "admission", agentMs: 5, edgeMs: 0 },
          { step: "wave 1: synced", agentMs: 1, edgeMs: 20 },
          { step: "ready", agentMs: 0, edgeMs: 4 },
        ],
      });
      await vi.advanceTimersByTimeAsync(6);
      await w2;
    } finally {
      vi.useRealTimers();
    }
  });
});
