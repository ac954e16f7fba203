/** Output helpers: aligned tables for people, JSON or YAML for scripts. */
import { stringify } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";

/** Renders rows under a header as left-aligned columns separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ");
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** JSON or YAML text of a value. */
export function structured(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}
