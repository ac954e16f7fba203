/**
 * Runs the alert engine on every snapshot the Monitoring Service reads (so as often as it reads, periodically),
 * keeps what is pending and firing and the last resolved alerts for ListAlerts, and hands each firing and
 * resolved transition to `publish` (the agent publishes it on the lifecycle's event bus, as an event of the
 * intent it concerns, so it reaches WatchDeployment and the deployment's journal).
 */
import { type Alert, type AlertState, type AlertTransition, evaluateAlerts } from "./alert-engine.js";
import type { AlertRule } from "./alert-rules.js";
import type { MonitoringSnapshot } from "./snapshot.js";

export interface AlertRunnerOptions {
  rules: readonly AlertRule[];
  /** Told of each transition, in order. An exception is reported to `onError`, never stops the runner. */
  publish: (t: AlertTransition) => void;
  /** The intents with a package on an edge, for edge alerts (ListAlerts' intent filter). Default: none. */
  intentsOn?: (edge: string) => string[];
  /** The clock. Default: `() => new Date()`. */
  now?: () => Date;
  /** Resolved alerts kept for ListAlerts. Default 200. */
  resolvedKept?: number;
  onError?: (err: unknown) => void;
}

export interface AlertFilter {
  /** Only alerts of this intent (and edge alerts of the edges it runs on). */
  intent?: string;
  firingOnly?: boolean;
}

export class AlertRunner {
  readonly #options: AlertRunnerOptions;
  #state: AlertState = new Map();
  readonly #resolved: Alert[] = [];
  #evaluations = 0;

  constructor(options: AlertRunnerOptions) {
    this.#options = options;
  }

  /** Evaluates the rules on `snapshot` and publishes what fired and resolved. */
  observe(snapshot: MonitoringSnapshot): AlertTransition[] {
    const now = this.#options.now?.() ?? new Date();
    const { state, transitions } = evaluateAlerts(this.#options.rules, this.#state, snapshot, now);
    this.#state = state;
    this.#evaluations++;
    for (const t of transitions) {
      if (t.kind === "resolved") {
        this.#resolved.push(t.alert);
        const max = this.#options.resolvedKept ?? 200;
        if (this.#resolved.length > max) this.#resolved.splice(0, this.#resolved.length - max);
      }
      try {
        this.#options.publish(t);
      } catch (err) {
        this.#options.onError?.(err);
      }
    }
    return transitions;
  }

  /** Firing alerts, then (unless firingOnly) resolved ones, newest first; pending ones are not alerts yet. */
  list(filter: AlertFilter = {}): Alert[] {
    const concerns = (a: Alert) =>
      !filter.intent ||
      a.intent === filter.intent ||
      (a.intent === "" && (this.#options.intentsOn?.(a.edge) ?? []).includes(filter.intent));
    const firing = [...this.#state.values()].filter((a) => a.firing && concerns(a));
    firing.sort((a, b) => b.since.getTime() - a.since.getTime() || a.id.localeCompare(b.id));
    if (filter.firingOnly) return firing;
    const resolved = this.#resolved.filter(concerns).reverse();
    return [...firing, ...resolved];
  }

  /** How many snapshots were evaluated. */
  get evaluations(): number {
    return this.#evaluations;
  }
}
