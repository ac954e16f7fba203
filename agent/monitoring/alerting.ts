/**
 * Alerting as the agent runs it: the {@link AlertRunner} evaluates the rules on every snapshot the Monitoring
 * Service takes, and each firing or resolved alert becomes an event (kind "alert") of the intent it concerns on
 * the lifecycle's event bus, so it reaches WatchDeployment and the deployment's journal. An edge alert concerns
 * every intent with a package on that edge, and is published to each.
 */
import type { Logger } from "../log/logger.js";
import type { AlertTransition } from "./alert-engine.js";
import { formatRuleValue, type AlertRule } from "./alert-rules.js";
import { AlertRunner } from "./alert-runner.js";
import type { MonitoringSnapshot } from "./snapshot.js";

export interface AlertingOptions {
  rules: readonly AlertRule[];
  /** Where snapshots come from (the Monitoring Service). */
  snapshots: { subscribe(listener: (s: MonitoringSnapshot) => void): () => void };
  /** Where alert events go (the DeploymentManager). */
  deployments: {
    note(intent: string, pkg: string, kind: string, reason: string): boolean;
    intentsOn(edge: string): string[];
  };
  logger: Logger;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
}

export interface Alerting {
  readonly runner: AlertRunner;
  /** Stops evaluating (the agent's shutdown). */
  stop(): void;
}

/** The event's reason: the rule, what happened, the value against the threshold, and since when. */
export function alertEventReason(t: AlertTransition, rules: readonly AlertRule[]): string {
  const a = t.alert;
  const kind = rules.find((r) => r.name === a.rule)?.kind;
  const fmt = (v: number) => (kind ? formatRuleValue(kind, v) : String(v));
  return t.kind === "firing"
    ? `alert ${a.rule} firing (${a.severity}): ${a.summary}, since ${a.since.toISOString()}`
    : `alert ${a.rule} resolved: ${fmt(a.value)} < ${fmt(a.threshold)}, had held since ${a.since.toISOString()}`;
}

export function startAlerting(options: AlertingOptions): Alerting {
  const { deployments, logger, rules } = options;
  const runner = new AlertRunner({
    rules,
    intentsOn: (edge) => deployments.intentsOn(edge),
    ...(options.now ? { now: options.now } : {}),
    publish(t) {
      const a = t.alert;
      const reason = alertEventReason(t, rules);
      (t.kind === "firing" ? logger.warn : logger.info).call(logger, reason, {
        intent: a.intent,
        package: a.package,
        edge: a.edge,
      });
      const intents = a.intent !== "" ? [a.intent] : deployments.intentsOn(a.edge);
      for (const intent of intents) deployments.note(intent, a.package, "alert", reason);
    },
    onError: (err) => logger.error("an alert could not be published", { error: String(err) }),
  });
  const unsubscribe = options.snapshots.subscribe((s) => runner.observe(s));
  return { runner, stop: unsubscribe };
}
