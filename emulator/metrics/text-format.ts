/**
 * The Prometheus text exposition format 0.0.4 as the emulator's exporters write it: families with HELP and TYPE,
 * label values escaped, series sorted (histogram families keep their buckets in `le` order), so the same input
 * renders the same text.
 */

export type Labels = ReadonlyArray<readonly [string, string]>;

export interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  /** `suffix` names a histogram's `_bucket`, `_sum` or `_count` series. */
  samples: { labels: Labels; value: number; suffix?: string }[];
}

export const family = (name: string, help: string, type: Family["type"] = "gauge"): Family => ({
  name,
  help,
  type,
  samples: [],
});

export const escapeLabelValue = (v: string): string =>
  v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
export const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Renders families in the given order, each with HELP and TYPE (also when empty, as kube-state-metrics does).
 * Series are sorted, except a histogram's, which keep the order they were added in (each series' buckets in
 * ascending `le`, then its `_sum` and `_count`), as client libraries write them.
 */
export function render(families: Family[]): string {
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    const lines = new Set<string>();
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
      lines.add(`${f.name}${s.suffix ?? ""}${labels ? `{${labels}}` : ""} ${formatValue(s.value)}\n`);
    }
    out += (f.type === "histogram" ? [...lines] : [...lines].sort(byCodeUnit)).join("");
  }
  return out;
}
