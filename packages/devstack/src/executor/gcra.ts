// The generic cell rate algorithm, as Inngest applies it to `throttle` and `rateLimit`
// (inngest/inngest pkg/constraintapi/lua/helper/gcra.lua): `limit` per `period` is one
// admission every emission interval (period / limit), and `burst` extra admissions may come
// at once. The state is one number per key: the theoretical arrival time (TAT) of the next
// admission. Times are ms.

export interface GcraLimit {
  limit: number;
  periodMs: number;
  burst: number;
}

/**
 * Throttle: every run starts, in order; each is given the earliest start its slot allows
 * (where Inngest would retry the queue item: the limited result's retry_at). Returns that
 * start and the TAT to store.
 */
export function throttleSlot(tat: number | null, now: number, { limit, periodMs, burst }: GcraLimit) {
  const emission = periodMs / Math.max(limit, 1);
  const delayTolerance = emission * (burst + 1);
  const newTat = Math.max(tat ?? now, now) + emission;
  return { startAt: Math.max(now, newTat - delayTolerance), tat: newTat };
}

/**
 * Rate limit: admitted or not, now. A limited event starts no run and leaves the state as it
 * was (Inngest drops it).
 */
export function rateLimitAdmission(tat: number | null, now: number, { limit, periodMs, burst }: GcraLimit) {
  const emission = periodMs / Math.max(limit, 1);
  const delayTolerance = emission * (burst + 1);
  const newTat = Math.max(tat ?? now, now) + emission;
  const allowAt = newTat - delayTolerance;
  return allowAt <= now ? { admitted: true as const, tat: newTat } : { admitted: false as const, tat };
}
