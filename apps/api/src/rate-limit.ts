/**
 * Fixed-window rate limits kept in Postgres (app.rate_limits), so every API process (cluster
 * workers, replicas) counts against the same limit: in memory, N processes would allow N ×
 * the limit. One statement per request counted (app.take_rate_limit, no transaction, an
 * unlogged table); windows that ended are deleted now and then.
 */
import type { Database } from "@callflow/db";
import { sql } from "kysely";

export interface RateLimiter {
  /** Counts one request; 0 when allowed, else the seconds until the key's window resets. */
  take(key: string): Promise<number>;
  /**
   * The seconds this process was last told the key must wait (by its own refused take), 0
   * when it was not: a hint that costs no round trip, so a refused key is turned away cheaply.
   */
  waitFor(key: string): number;
}

export interface RateLimiterOptions {
  database: Database;
  /** Which limit (app.rate_limits.bucket): trpc, anonymous, inngest_sync. */
  bucket: string;
  limit: number;
  windowMs?: number;
  /** One take in this many also deletes the windows that ended (of every bucket). */
  cleanupEvery?: number;
  onCleanupError?: (error: Error) => void;
}

/** Keys longer than the column allows (an address is short; a user:org pair is too) are cut. */
const MAX_KEY = 300;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { database, bucket, limit } = options;
  const windowMs = options.windowMs ?? 60_000;
  const cleanupEvery = options.cleanupEvery ?? 1_000;
  // Refusals this process saw, until their window resets: waitFor's answer.
  const refusedUntil = new Map<string, number>();
  let takes = 0;

  const cleanup = () =>
    database
      .withService((tx) => sql`delete from app.rate_limits where resets_at < now()`.execute(tx))
      .catch((error: Error) => options.onCleanupError?.(error));

  return {
    async take(rawKey) {
      const key = rawKey.slice(0, MAX_KEY);
      if (++takes % cleanupEvery === 0) void cleanup();
      // A window that ended starts again at 1; otherwise one more hit in the same window.
      const [row] = await database.callServiceFunction<{ hits: number; seconds_left: number }>("app.take_rate_limit", [
        bucket,
        key,
        windowMs,
      ]);
      const hits = row?.hits ?? 1;
      const secondsLeft = row?.seconds_left ?? windowMs / 1000;
      if (hits <= limit) return 0;
      const wait = Math.max(1, Math.ceil(secondsLeft));
      if (refusedUntil.size > 50_000) refusedUntil.clear();
      refusedUntil.set(key, Date.now() + wait * 1000);
      return wait;
    },
    waitFor(rawKey) {
      const key = rawKey.slice(0, MAX_KEY);
      const until = refusedUntil.get(key);
      if (until === undefined) return 0;
      const left = until - Date.now();
      if (left <= 0) {
        refusedUntil.delete(key);
        return 0;
      }
      return Math.max(1, Math.ceil(left / 1000));
    },
  };
}

/** The cause of a TOO_MANY_REQUESTS answer: its Retry-After. */
export class RateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limited; retry in ${retryAfterSeconds} s`);
  }
}
