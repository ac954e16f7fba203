/**
 * Which handles created in a stretch of a test still keep the process alive: timers, sockets, servers, pipes,
 * child processes, file watchers. Counting `process.getActiveResourcesInfo()` before and after cannot tell a
 * leaked timer from one of the test runner's that came and went meanwhile; this follows each resource created
 * while tracking (async_hooks `init`) until it is destroyed, and reports those still referenced, with the stack
 * that created them.
 */
import { createHook } from "node:async_hooks";

/** The async resource types that keep the event loop alive while referenced (promises and requests do not). */
const HANDLE_TYPES = new Set([
  "Timeout",
  "Immediate",
  "TCPWRAP",
  "TCPSERVERWRAP",
  "PIPEWRAP",
  "PIPESERVERWRAP",
  "PROCESSWRAP",
  "FSEVENTWRAP",
  "STATWATCHER",
  "SIGNALWRAP",
  "UDPWRAP",
  "TTYWRAP",
]);

/** A handle still alive: its type and where it was created. */
export interface LiveHandle {
  type: string;
  stack: string;
}

export interface HandleTracker {
  /** Handles created since {@link trackHandles} that are neither destroyed nor unreferenced. */
  alive(): LiveHandle[];
  /** Stops tracking. */
  stop(): void;
}

/**
 * Starts following the handles created from now on.
 * @example
 * const tracker = trackHandles();
 * try { await startAndClose(); expect(tracker.alive()).toEqual([]); } finally { tracker.stop(); }
 */
export function trackHandles(): HandleTracker {
  const live = new Map<number, { type: string; stack: string; resource: object }>();
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (!HANDLE_TYPES.has(type)) return;
      // Node's own frames (the hook, timers, net) say nothing of who made the handle.
      const stack = (new Error().stack ?? "")
        .split("\n")
        .slice(1)
        .filter((l) => !/\(node:|at node:/.test(l))
        .join("\n");
      live.set(asyncId, { type, stack, resource });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    alive() {
      return [...live.values()]
        .filter(({ resource }) => {
          const r = resource as { hasRef?: () => boolean };
          return typeof r.hasRef === "function" ? r.hasRef() : true;
        })
        .map(({ type, stack }) => ({ type, stack }));
    },
    stop() {
      hook.disable();
      live.clear();
    },
  };
}
