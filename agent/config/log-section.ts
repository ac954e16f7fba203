/** The `log` section of the agent config. */
import { LOG_LEVELS, type LogLevel } from "../log/logger.js";
import type { Checker } from "../../common/checker.js";

/** The log formats the agent writes. */
export type LogFormat = "json" | "text";

/** The `log` section, parsed. */
export interface LogConfig {
  /** The least severe level written: debug, info, warn or error. Default info. */
  level: LogLevel;
  /** One JSON object per line, or text for people. Default json. */
  format: LogFormat;
}

/** Defaults of the `log` section. */
export const LOG_DEFAULTS: Readonly<LogConfig> = { level: "info", format: "json" };

/** Checks the `log` section; problems are added to `c` with their paths. */
export function parseLogSection(c: Checker, v: unknown): LogConfig {
  const l = c.object(v, "log", ["level", "format"]) ?? {};
  return {
    level: c.oneOf<LogLevel>(l["level"], "log.level", LOG_LEVELS) ?? LOG_DEFAULTS.level,
    format: c.oneOf<LogFormat>(l["format"], "log.format", ["json", "text"]) ?? LOG_DEFAULTS.format,
  };
}
