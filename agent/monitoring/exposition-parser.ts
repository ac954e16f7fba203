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
