/**
 * The event bus sends an event to watchers only once the journal write holding it has ended, in the order
 * the events were published, and a watch does not end while an event of its run is still unsent.
 */
import { describe, expect, it } from "vitest";
import type { LiveDeployment } from "../../agent/orchestration/deployment-store.js";
import { EventBus } from "../../agent/orchestration/event-bus.js";
import type { DeploymentRecord, EventRecord } from "../../agent/orchestration/journal.js";

function live(): LiveDeployment {
  const at = new Date(0).toISOString();
  return {
    record: {
      id: "a.1",
      intent: "a",
      revision: 1,
      state: "COMMITTED",
      reason: "",
      digest: "",
      deploymentDigest: "",
      intentJson: {},
      timeoutMs: 1000,
      createdAt: at,
      updatedAt: at,
      packages: [],
      admission: [],
      touched: {},
      events: [],
    } satisfies DeploymentRecord,
    controller: new AbortController(),
  };
}

const event = (reason: string, state: EventRecord["state"] = "COMMITTED"): EventRecord => ({
  time: new Date().toISOString(),
  package: "",
  state,
  reason,
  kind: "state",
  wave: 0,
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("the event bus", () => {
  it("sends an event once its write is durable, and keeps later events behind it", async () => {
    const bus = new EventBus();
    const d = live();
    const got: string[] = [];
    bus.subscribe("a", (e) => got.push(e.reason));
    const write = deferred();
    bus.publish(d.record, event("synced"), true, write.promise);
    bus.publish(d.record, event("an alert note"));
    // Kept in the record at once (the write reads it), sent to nobody yet.
    expect(d.record.events.map((e) => e.reason)).toEqual(["synced", "an alert note"]);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([]);
    write.resolve();
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(["synced", "an alert note"]);
    // Nothing pending: sent at once.
    bus.publish(d.record, event("later"));
    expect(got.at(-1)).toBe("later");
  });

  it("does not end a watch on a settled run while its last event waits for the journal, nor send one twice", async () => {
    const bus = new EventBus();
    const d = live();
    bus.publish(d.record, event("committed"));
    const write = deferred();
    d.record.state = "READY";
    bus.publish(d.record, event("ready", "READY"), true, write.promise);
    delete d.controller;
    bus.settled(d);
    const seen: string[] = [];
    const watching = (async () => {
      for await (const { event: e } of bus.watch(d, new Date(0), AbortSignal.timeout(5000))) seen.push(e.reason);
    })();
    await new Promise((r) => setImmediate(r));
    write.resolve();
    await watching;
    // Both from the record (the watch asked from a time), the unsent one not again when it is sent.
    expect(seen).toEqual(["committed", "ready"]);
  });
});
