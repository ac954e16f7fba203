/**
 * Output helpers: aligned tables for people, JSON or YAML for scripts, and the one `-o` flag every read command
 * shares. A command declares its formats, checks `-o` with {@link outputFormat} (a usage error, exit 2, names the
 * flag and the allowed values), and prints through {@link writeOutput}: the text for people, or the data as JSON
 * or YAML. Data taken from an RPC answer is its proto JSON mapping ({@link protoJson}), so field names are stable.
 *
 * @example
 * const { values } = parseFlags(argv, { ...CLIENT_FLAGS, ...OUTPUT_FLAG });
 * const format = outputFormat(values.output); // "table" | "json" | "yaml"
 * const res = await client.listThings({}, conn.callOptions);
 * writeOutput(io, format, { data: () => protoJson(ListThingsResponseSchema, res), text: () => table(…) });
 */
import { toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { stringify } from "yaml";
import { UsageError } from "./exit-codes.js";

export type OutputFormat = "table" | "json" | "yaml";

/** The formats of a read command: a table (or text) for people, JSON and YAML for scripts. */
export const READ_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

/** The `-o, --output FORMAT` flag (merge into a parseArgs options object). */
export const OUTPUT_FLAG = { output: { type: "string", short: "o" } } as const;

/** The help line of {@link OUTPUT_FLAG} for the given formats, the first being the default. */
export function outputHelp(allowed: readonly string[] = READ_FORMATS): string {
  return `  -o, --output FORMAT   ${allowed[0]} (default)${allowed.length > 1 ? `, ${allowed.slice(1).join(", ")}` : ""}`;
}

/**
 * Checks `-o` against the formats a command accepts; unset means the first.
 * @throws UsageError naming the flag, the value and the allowed formats (exit 2)
 * @example outputFormat("yaml", ["text", "json"]) // throws: -o must be text or json (is "yaml")
 */
export function outputFormat<F extends string = OutputFormat>(
  value: string | undefined,
  allowed: readonly F[] = READ_FORMATS as readonly string[] as readonly F[],
): F {
  const format = value ?? allowed[0];
  if (!allowed.includes(format as F)) {
    const list =
      allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}` : allowed[0];
    throw new UsageError(`-o must be ${list} (is ${JSON.stringify(value)})`);
  }
  return format as F;
}

/** A message in the proto JSON mapping, every field present (defaults too), so scripts see a stable shape. */
export function protoJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

/** Renders rows under a header as left-aligned columns separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ");
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** JSON (indented) or YAML text of a value. */
export function structured(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/**
 * One item of a stream (a watch): JSON Lines for json (one object per line), a YAML document starting with
 * `---` for yaml, so both can be read item by item as they come.
 */
export function streamItem(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(value)}\n` : `---\n${stringify(value)}`;
}

/** What {@link writeOutput} prints: text for people, data for scripts (each built only when needed). */
export interface OutputParts {
  /** The text of the table/text format (with its trailing newline). */
  text: () => string;
  /** The value printed as JSON or YAML. */
  data: () => unknown;
}

/** Writes `parts` in `format`: the data as JSON or YAML, else the text. */
export function writeOutput(io: { stdout: { write(chunk: string): unknown } }, format: string, parts: OutputParts) {
  io.stdout.write(format === "json" || format === "yaml" ? structured(parts.data(), format) : parts.text());
}
