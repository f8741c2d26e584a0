// The package ships no types: what exposition-reader.ts uses of it.
declare module "parse-prometheus-text-format" {
  interface MetricFamily {
    name: string;
    help: string;
    /** Upper case: COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNTYPED. */
    type: string;
    metrics: unknown[];
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
