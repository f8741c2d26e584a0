/**
 * A fixed-window counter per key: `limit` requests a window (a minute). In memory, per
 * process: each API process counts on its own, so N processes allow up to N × limit.
 */
export interface RateLimiter {
  /** Counts one request; 0 when allowed, else the seconds until the key's window resets. */
  take(key: string): number;
  /** The seconds until the key may be counted again without being refused; 0 when it may now. */
  waitFor(key: string): number;
}

export function createRateLimiter(limit: number, windowMs = 60_000, now = () => Date.now()): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (key: string, at: number) => {
    const window = windows.get(key);
    return window && at - window.start < windowMs ? window : null;
  };
  const secondsLeft = (window: { start: number }, at: number) =>
    Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));
  return {
    take(key) {
      const at = now();
      const window = current(key, at);
      if (!window) {
        if (windows.size > 50_000) windows.clear();
        windows.set(key, { start: at, count: 1 });
        return 0;
      }
      window.count += 1;
      return window.count <= limit ? 0 : secondsLeft(window, at);
    },
    waitFor(key) {
      const at = now();
      const window = current(key, at);
      return window && window.count >= limit ? secondsLeft(window, at) : 0;
    },
  };
}

/** The cause of a TOO_MANY_REQUESTS answer: its Retry-After. */
export class RateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limited; retry in ${retryAfterSeconds} s`);
  }
}
