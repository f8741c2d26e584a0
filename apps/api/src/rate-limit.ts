/**
 * Fixed-window rate limits kept in Postgres (app.rate_limits), so every API process (cluster
 * workers, replicas) counts against the same limit: in memory, N processes would allow N ×
 * the limit. A process takes a key's permits in blocks (app.take_rate_limit, one statement, no
 * transaction, an unlogged table) and spends them without a round trip each: the first block
 * is 1 permit, each next one twice the last, up to a tenth of the limit. Every permit taken is
 * counted in Postgres, so together the processes never allow more than the limit; permits one
 * process took and did not spend before the window reset are lost to the others, at most a
 * block each (none below 20 a window, where every block is 1). Windows that ended are deleted
 * now and then.
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
  /** One block taken in this many also deletes the windows that ended (of every bucket). */
  cleanupEvery?: number;
  onCleanupError?: (error: Error) => void;
}

/** Keys longer than the column allows (an address is short; a user:org pair is too) are cut. */
const MAX_KEY = 300;
/** Keys a process keeps permits or refusals for; past it they are forgotten (and asked again). */
const MAX_KEYS = 50_000;

/** A key's permits this process holds in the current window, and the block it takes next. */
interface Lease {
  permits: number;
  endsAt: number;
  nextBlock: number;
  /** The block being taken: other takes of the key wait for it rather than take their own. */
  taking?: Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { database, bucket, limit } = options;
  const windowMs = options.windowMs ?? 60_000;
  const cleanupEvery = options.cleanupEvery ?? 1_000;
  const largestBlock = Math.max(1, Math.floor(limit / 10));
  // Refusals this process saw, until their window resets: waitFor's answer.
  const refusedUntil = new Map<string, number>();
  const leases = new Map<string, Lease>();
  let blocks = 0;

  const cleanup = () =>
    database
      .withService((tx) => sql`delete from app.rate_limits where resets_at < now()`.execute(tx))
      .catch((error: Error) => options.onCleanupError?.(error));

  async function takeBlock(key: string, lease: Lease): Promise<void> {
    if (++blocks % cleanupEvery === 0) void cleanup();
    const block = lease.nextBlock;
    // The window's end as seen from before the statement was sent: a lease never outlives it.
    const asked = Date.now();
    const [row] = await database.callServiceFunction<{ hits: number; seconds_left: number }>("app.take_rate_limit", [
      bucket,
      key,
      windowMs,
      block,
    ]);
    const hits = row?.hits ?? block;
    const secondsLeft = row?.seconds_left ?? windowMs / 1000;
    const granted = Math.max(0, Math.min(block, limit - (hits - block)));
    lease.permits += granted;
    lease.endsAt = asked + secondsLeft * 1000;
    lease.nextBlock = Math.min(largestBlock, block * 2);
    if (granted === 0) {
      if (refusedUntil.size > MAX_KEYS) refusedUntil.clear();
      refusedUntil.set(key, Date.now() + Math.max(1, Math.ceil(secondsLeft)) * 1000);
    }
  }

  function waitFor(rawKey: string): number {
    const key = rawKey.slice(0, MAX_KEY);
    const until = refusedUntil.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left <= 0) {
      refusedUntil.delete(key);
      return 0;
    }
    return Math.max(1, Math.ceil(left / 1000));
  }

  return {
    async take(rawKey) {
      const key = rawKey.slice(0, MAX_KEY);
      for (;;) {
        // Refused in this window: it stays full until it resets, whoever asks.
        const wait = waitFor(key);
        if (wait > 0) return wait;
        let lease = leases.get(key);
        if (lease && lease.endsAt <= Date.now() && !lease.taking) lease = undefined;
        if (lease && lease.permits > 0) {
          lease.permits--;
          return 0;
        }
        if (!lease) {
          if (leases.size > MAX_KEYS) leases.clear();
          lease = { permits: 0, endsAt: 0, nextBlock: 1 };
          leases.set(key, lease);
        }
        // Awaited by every take waiting on it, so a failure reaches each of them.
        const held = lease;
        held.taking ??= takeBlock(key, held).finally(() => {
          held.taking = undefined;
        });
        await held.taking;
      }
    },
    waitFor,
  };
}

/** The cause of a TOO_MANY_REQUESTS answer: its Retry-After. */
export class RateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limited; retry in ${retryAfterSeconds} s`);
  }
}
