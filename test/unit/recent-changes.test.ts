/** Which intents changed lately: what the edge observer asks when a run starts to wait for workloads. */
import { expect, it } from "vitest";
import { RecentChanges } from "../../agent/orchestration/recent-changes.js";

it("knows a key heard of within the window, and forgets it after", () => {
  let now = 1_000;
  const recent = new RecentChanges(1_000, () => now);
  expect(recent.recent("chain-1")).toBe(false);
  recent.hear("chain-1");
  now += 1_000;
  expect(recent.recent("chain-1")).toBe(true);
  now += 1;
  expect(recent.recent("chain-1")).toBe(false);
  // Heard again: recent again, from then.
  recent.hear("chain-1");
  expect(recent.recent("chain-1")).toBe(true);
});

it("stays small under a stream of changes: what is past the window is pruned as new keys come", () => {
  let now = 0;
  const recent = new RecentChanges(1_000, () => now);
  for (let i = 0; i < 10_000; i++) {
    recent.hear(`chain-${i}`);
    now += 10;
  }
  // About a window's worth (100 keys at one per 10 ms), not all ten thousand.
  expect(recent.size).toBeLessThanOrEqual(102);
  expect(recent.recent("chain-9999")).toBe(true);
  expect(recent.recent("chain-0")).toBe(false);
});
