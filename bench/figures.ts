// The measurement module benchmarks share: a sample's summary and the `figure` lines that
// every benchmark prints (`figure <name> <value> <unit>`), which readers and tools grep.

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / Math.max(sorted.length, 1),
  };
}

/** Prints `figure <name> <value> <unit>`, the value rounded to `digits` decimals. */
export function figure(name: string, value: number, unit: string, digits = 1) {
  console.log(`figure ${name} ${Number(value.toFixed(digits))} ${unit}`);
}
