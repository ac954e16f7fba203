import { describe, expect, it } from "vitest";
import { CaminoError } from "../../agent/errors.js";
import { DeadlineError, deadline, linkSignals, wait, wakeableWait } from "../../agent/util/signals.js";

describe("linked signals", () => {
  it("aborts with the reason of the parent that fired, and unlinks from the others", () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkSignals(a.signal, b.signal, undefined);
    const reason = new CaminoError("ERR_SHUTDOWN", "the agent is shutting down");
    b.abort(reason);
    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe(reason);
    // The other parent aborting later changes nothing.
    a.abort(new Error("later"));
    expect(link.signal.reason).toBe(reason);
  });

  it("leaves no listener on a long-lived parent once disposed", () => {
    const shutdown = new AbortController();
    let added = 0;
    let removed = 0;
    const add = shutdown.signal.addEventListener.bind(shutdown.signal);
    const remove = shutdown.signal.removeEventListener.bind(shutdown.signal);
    shutdown.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    shutdown.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 1000; i++) linkSignals(new AbortController().signal, shutdown.signal).dispose();
    expect(added).toBe(1000);
    expect(removed).toBe(1000);
    // A disposed link no longer follows its parent.
    const link = linkSignals(shutdown.signal);
    link.dispose();
    shutdown.abort();
    expect(link.signal.aborted).toBe(false);
  });

  it("is aborted at once when a parent already is", () => {
    const a = new AbortController();
    a.abort(new Error("gone"));
    expect(linkSignals(a.signal).signal.reason).toEqual(new Error("gone"));
  });

  it("a deadline aborts with a DeadlineError naming what and how long; wait rejects with it", async () => {
    const signal = deadline("the test's wait", 20);
    await expect(wait(10_000, signal)).rejects.toBeInstanceOf(DeadlineError);
    expect((signal.reason as DeadlineError).message).toBe("the test's wait did not finish within 20 ms");
    expect((signal.reason as DeadlineError).code).toBe("ERR_DEADLINE");
  });
});

describe("wakeableWait", () => {
  it("ends early when woken (true), after its time otherwise (false), and rejects with the signal's reason", async () => {
    const c = new AbortController();
    const woken = wakeableWait(60_000, c.signal);
    woken.wake();
    expect(await woken.done).toBe(true);
    expect(await wakeableWait(1, c.signal).done).toBe(false);
    const aborted = wakeableWait(60_000, c.signal);
    c.abort(new CaminoError("ERR_SHUTDOWN", "closed"));
    await expect(aborted.done).rejects.toMatchObject({ code: "ERR_SHUTDOWN" });
    await expect(wakeableWait(1, c.signal).done).rejects.toMatchObject({ code: "ERR_SHUTDOWN" });
  });
});
