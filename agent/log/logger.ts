/**
 * Structured logs: one JSON object per line on a writable stream (stderr by default), with a level
 * threshold and bound fields. Fields whose names look secret (token, key, password, authorization,
 * credentials) are replaced by "[redacted]" so a careless call site cannot leak them.
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default "info". */
  level?: LogLevel;
  /** "json" (default) for machines, "text" for a terminal. */
  format?: "json" | "text";
  /** Where lines go. Default process.stderr. */
  stream?: { write(chunk: string): unknown };
  /** Clock, for tests. */
  now?: () => Date;
}

const SECRET_FIELD = /token|secret|password|passwd|authorization|credential|private|^key$|jwk/i;

function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out["code"] = code;
    return out;
  }
  if (value === null || typeof value !== "object" || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

/** Creates a logger. */
export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = options.level ?? "info";
  const threshold = LOG_LEVELS.indexOf(level);
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => new Date());
  const format = options.format ?? "json";

  const write = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const all = redact({ ...bound, ...fields }) as LogFields;
    const time = now().toISOString();
    if (format === "text") {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      stream.write(`${time} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ""}\n`);
    } else {
      stream.write(`${JSON.stringify({ time, level: lvl, msg, ...all })}\n`);
    }
  };

  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  const l: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => l };
  return l;
}
