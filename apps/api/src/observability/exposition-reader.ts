// For tests: reads Prometheus's text exposition format (version 0.0.4) as Prometheus would,
// and throws on what its parser refuses. parse-prometheus-text-format reads the families; it
// is lenient about names, values and order, so those are checked here line by line.
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name → type (counter, gauge, histogram, summary, untyped). */
  families: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample with this name and exactly these labels; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const LABEL_PAIR = /([^=,\s]+)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;
// As Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client
// writes "Nan" for a lag not measured yet).
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function readExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a line feed");
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  let current: string | null = null;
  const enter = (family: string) => {
    if (family === current) return;
    if (closed.has(family)) throw new Error(`family ${family} appears in two places`);
    if (current) closed.add(current);
    current = family;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name = "", rest = ""] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      enter(name);
      if (kind === "TYPE") {
        if (types.has(name) || !TYPES.has(rest)) throw new Error(`bad or repeated TYPE: ${line}`);
        if (samples.some((sample) => familyOf(sample.name, types) === name))
          throw new Error(`TYPE after samples: ${line}`);
        types.set(name, rest);
      } else if (helped.has(name)) throw new Error(`repeated HELP: ${line}`);
      else helped.add(name);
      continue;
    }
    if (line.startsWith("#") || line === "") continue;
    const sample = readSample(line);
    enter(familyOf(sample.name, types));
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`repeated sample: ${line}`);
    seen.add(key);
    samples.push(sample);
  }
  checkHistograms(samples, types);
  // The package must read it too, into the same families.
  const parsed = parsePrometheusTextFormat(text);
  for (const [name, type] of types) {
    const family = parsed.find((candidate) => candidate.name === name);
    if (family?.type.toLowerCase() !== type) throw new Error(`parse-prometheus-text-format read ${name} otherwise`);
  }
  return {
    families: types,
    samples,
    value(name, labels = {}) {
      const wanted = JSON.stringify(Object.entries(labels).sort());
      return samples.find(
        (sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted,
      )?.value;
    },
  };
}

function readSample(line: string): Sample {
  const match = SAMPLE_LINE.exec(line);
  if (!match) throw new Error(`not a sample line: ${line}`);
  const [, name = "", labelText, valueText = ""] = match;
  if (!FLOAT.test(valueText)) throw new Error(`not a float value: ${line}`);
  const labels: Record<string, string> = {};
  if (labelText) {
    LABEL_PAIR.lastIndex = 0;
    while (LABEL_PAIR.lastIndex < labelText.length) {
      const pair = LABEL_PAIR.exec(labelText);
      if (!pair) throw new Error(`bad labels: ${line}`);
      const [, labelName = "", raw = ""] = pair;
      if (!LABEL_NAME.test(labelName) || labelName in labels) throw new Error(`bad label ${labelName}: ${line}`);
      labels[labelName] = raw.replace(/\\(.)/g, (_, escaped: string) => (escaped === "n" ? "\n" : escaped));
    }
  }
  const special = valueText.toLowerCase().replace(/^\+/, "");
  const value =
    special === "nan"
      ? Number.NaN
      : /inf/.test(special)
        ? (special.startsWith("-") ? -1 : 1) * Infinity
        : Number(valueText);
  return { name, labels, value };
}

/** A sample's family: histograms and summaries own their _bucket, _sum and _count samples. */
function familyOf(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, "");
  const type = types.get(base);
  if (base !== name && (type === "histogram" || (type === "summary" && !name.endsWith("_bucket")))) return base;
  return name;
}

function checkHistograms(samples: Sample[], types: Map<string, string>) {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
    for (const sample of samples) {
      if (familyOf(sample.name, types) !== family) continue;
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const entry = series.get(key) ?? { buckets: [] };
      series.set(key, entry);
      if (sample.name === `${family}_bucket`) {
        if (le === undefined) throw new Error(`${family}_bucket without le`);
        entry.buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), sample.value]);
      } else if (sample.name === `${family}_count`) entry.count = sample.value;
    }
    for (const [key, { buckets, count }] of series) {
      const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family}${key} has no +Inf bucket`);
      if (sorted.at(-1)?.[1] !== count) throw new Error(`${family}${key}: +Inf bucket is not the count`);
      sorted.reduce((previous, [, value]) => {
        if (value < previous) throw new Error(`${family}${key}: buckets are not cumulative`);
        return value;
      }, 0);
    }
  }
}
