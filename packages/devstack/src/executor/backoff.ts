// When a failed attempt is tried again: Inngest's table (inngest/inngest pkg/backoff/backoff.go,
// TableBackoff, the queue's default): 15 s, 30 s, 1 m, 2 m, 5 m, 10 m, 20 m, 40 m, 1 h, then
// 2 h, each plus up to 30 s of jitter, indexed by the attempt that failed (0 first). `scale`
// shrinks the whole schedule (tests run it in milliseconds with 0.001).
const TABLE_MS = [15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 1_200e3, 2_400e3, 3_600e3, 7_200e3];
const JITTER_MS = 30e3;

export type Backoff = (failedAttempt: number) => number;

export function inngestBackoff(scale = 1, random: () => number = Math.random): Backoff {
  return (failedAttempt) => {
    const base = TABLE_MS[Math.min(Math.max(failedAttempt, 0), TABLE_MS.length - 1)] as number;
    return Math.round((base + Math.floor(random() * JITTER_MS)) * scale);
  };
}

/**
 * A `Retry-After` the app answered (seconds, or a date: RFC 9110, with ISO 8601 dates as
 * docs/SDK_SPEC.md 4.1.1 allows) as a delay in ms; null when absent or unreadable. Inngest
 * retries at that time instead of the table's (pkg/execution/queue/process.go, RetryAtSpecifier).
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header || header.length > 64) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
