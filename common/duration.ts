/**
 * Durations as Go and Kubernetes write them: a sequence of decimal numbers with units, "300s", "5m",
 * "1h30m", "1.5s", "250ms". Hand-scanned so the error says where the text goes wrong.
 */

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Thrown for text that is not a duration. */
export class DurationError extends Error {
  override readonly name = "DurationError";
}

/**
 * Parses a duration into milliseconds.
 * @example parseDuration("1m30s") // 90000
 */
export function parseDuration(text: string): number {
  if (text.length === 0) throw new DurationError("empty duration");
  if (text.length > 32) throw new DurationError("duration longer than 32 characters");
  if (text === "0") return 0;
  let i = 0;
  let total = 0;
  while (i < text.length) {
    const start = i;
    while (i < text.length && (((text[i] as string) >= "0" && (text[i] as string) <= "9") || text[i] === ".")) i++;
    const num = text.slice(start, i);
    if (num === "" || num === "." || num.split(".").length > 2) {
      throw new DurationError(
        `duration "${text}" needs a number at position ${start + 1} (e.g. "300s", "5m", "1h30m")`,
      );
    }
    const unitStart = i;
    while (i < text.length && !((text[i] as string) >= "0" && (text[i] as string) <= "9") && text[i] !== ".") i++;
    const unit = text.slice(unitStart, i);
    const scale = UNITS[unit];
    if (scale === undefined) {
      throw new DurationError(
        unit === ""
          ? `duration "${text}" needs a unit after ${num} (ns, us, ms, s, m, h)`
          : `duration "${text}" has an unknown unit "${unit}" (ns, us, ms, s, m, h)`,
      );
    }
    total += Number(num) * scale;
  }
  return total;
}

/** Formats milliseconds as the shortest Go-style duration ("5m", "1h30m", "1.5s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  const h = Math.floor(rest / 3_600_000);
  if (h) {
    out += `${h}h`;
    rest -= h * 3_600_000;
  }
  const m = Math.floor(rest / 60_000);
  if (m) {
    out += `${m}m`;
    rest -= m * 60_000;
  }
  if (rest) out += rest % 1000 === 0 ? `${rest / 1000}s` : rest >= 1000 ? `${rest / 1000}s` : `${rest}ms`;
  return out;
}
