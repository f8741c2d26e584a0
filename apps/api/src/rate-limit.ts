/**
 * A fixed-window counter per key (user and org): `limit` requests a minute. In memory,
 * per process; enough for one API process, to be moved to Postgres or Redis when the
 * API runs as several.
 */
export function createRateLimiter(limit: number, windowMs = 60_000, now = () => Date.now()) {
  const windows = new Map<string, { start: number; count: number }>();
  return (key: string): boolean => {
    const at = now();
    const window = windows.get(key);
    if (!window || at - window.start >= windowMs) {
      if (windows.size > 50_000) windows.clear();
      windows.set(key, { start: at, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= limit;
  };
}
