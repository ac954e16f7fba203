/**
 * The Prometheus text exposition format, read with `parse-prometheus-text-format` and checked on top: the
 * package accepts some malformed lines (a value that is no number, a stray HTML page), so every metric name and
 * every sample value is checked here, and a body that fails is an error rather than a quiet zero.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One sample: its labels and value. */
export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Samples by metric name (histogram and summary families are left out: the sources read gauges and counters). */
export type Exposition = Map<string, Sample[]>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A sample value as the format writes it: a Go float, `NaN`, `+Inf` or `-Inf`. */
function sampleValue(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * Parses an exposition body.
 * @throws Error naming the first metric or value that is not valid exposition text
 */
export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const f of parsePrometheusTextFormat(text)) {
    if (!METRIC_NAME.test(f.name))
      throw new Error(`not Prometheus text format: metric name ${JSON.stringify(f.name.slice(0, 40))}`);
    if (f.type === "HISTOGRAM" || f.type === "SUMMARY") continue;
    const samples: Sample[] = [];
    for (const m of f.metrics) {
      const value = sampleValue(m.value);
      if (value === undefined)
        throw new Error(`not Prometheus text format: ${f.name} has the value ${JSON.stringify(m.value ?? "")}`);
      samples.push({ labels: m.labels ?? {}, value });
    }
    out.set(f.name, samples);
  }
  return out;
}

/** One sample line of an exposition body, histogram and summary series included. */
export interface RawSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * Parses an exposition body line by line, as the text format 0.0.4 defines it, keeping every sample line as
 * written: each histogram series' `_bucket` (with its `le`), `_sum` and `_count` stay apart, labels and all
 * (`parse-prometheus-text-format` merges a histogram's labelled series). Strict: a line that is neither a comment
 * nor a well-formed sample, a bad label name, an unterminated or wrongly escaped label value, a value that is
 * no number, a duplicate label or a TYPE other than the five is an error.
 * @throws Error naming the line
 */
export function parseSamples(text: string): Map<string, RawSample[]> {
  const out = new Map<string, RawSample[]>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const fail = (why: string): never => {
      throw new Error(`not Prometheus text format: line ${i + 1}: ${why}`);
    };
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue;
      if (!METRIC_NAME.test(m[2] as string)) fail(`metric name ${JSON.stringify(m[2])}`);
      if (m[1] === "TYPE" && !TYPES.has((m[3] ?? "").trim())) fail(`type ${JSON.stringify(m[3] ?? "")}`);
      continue;
    }
    let p = 0;
    const nameEnd = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameEnd) return fail("no metric name");
    const name = nameEnd[0];
    p = name.length;
    const labels: Record<string, string> = {};
    if (line[p] === "{") {
      p++;
      for (;;) {
        while (line[p] === " ") p++;
        if (line[p] === "}") {
          p++;
          break;
        }
        const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(p));
        if (!ln || !LABEL_NAME.test(ln[0])) return fail("bad label name");
        p += ln[0].length;
        while (line[p] === " ") p++;
        if (line[p] !== "=") return fail(`no = after label ${ln[0]}`);
        p++;
        while (line[p] === " ") p++;
        if (line[p] !== '"') return fail(`label ${ln[0]}: value not quoted`);
        p++;
        let value = "";
        for (;;) {
          const c = line[p];
          if (c === undefined) return fail(`label ${ln[0]}: unterminated value`);
          p++;
          if (c === '"') break;
          if (c === "\\") {
            const e = line[p++];
            if (e === "\\") value += "\\";
            else if (e === '"') value += '"';
            else if (e === "n") value += "\n";
            else return fail(`label ${ln[0]}: bad escape \\${e ?? ""}`);
          } else value += c;
        }
        if (Object.hasOwn(labels, ln[0])) return fail(`label ${ln[0]} given twice`);
        labels[ln[0]] = value;
        while (line[p] === " ") p++;
        if (line[p] === ",") {
          p++;
          continue;
        }
        if (line[p] === "}") {
          p++;
          break;
        }
        return fail("expected , or } after a label");
      }
    }
    const rest = line.slice(p).trim().split(/\s+/);
    if (line[p] !== " " && line[p] !== "\t") return fail("no space before the value");
    if (rest.length < 1 || rest.length > 2) return fail("expected a value and an optional timestamp");
    const value = sampleValue(rest[0]);
    if (value === undefined) return fail(`${name} has the value ${JSON.stringify(rest[0])}`);
    if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) return fail(`bad timestamp ${JSON.stringify(rest[1])}`);
    let list = out.get(name);
    if (!list) {
      list = [];
      out.set(name, list);
    }
    list.push({ name, labels, value });
  }
  return out;
}
