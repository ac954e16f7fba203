/** The package ships JavaScript only; its output, as its README documents it. */
declare module "parse-prometheus-text-format" {
  interface PrometheusSample {
    /** The sample value as written ("NaN", "+Inf" included). Absent for histogram and summary metrics. */
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  interface PrometheusFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: PrometheusSample[];
  }
  /** Parses the text exposition format. @throws Error on malformed input. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
