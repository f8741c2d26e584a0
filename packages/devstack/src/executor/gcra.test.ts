import { describe, expect, it } from "vitest";
import { rateLimitAdmission, throttleSlot } from "./gcra.ts";

/** Feeds arrivals (ms) through the throttle; returns each one's start. */
function throttleStarts(arrivals: number[], limit: { limit: number; periodMs: number; burst: number }) {
  let tat: number | null = null;
  return arrivals.map((now) => {
    const slot = throttleSlot(tat, now, limit);
    tat = slot.tat;
    return slot.startAt;
  });
}

function admissions(arrivals: number[], limit: { limit: number; periodMs: number; burst: number }) {
  let tat: number | null = null;
  return arrivals.map((now) => {
    const result = rateLimitAdmission(tat, now, limit);
    tat = result.tat;
    return result.admitted;
  });
}

describe("GCRA, as Inngest applies it", () => {
  it("throttle: spreads starts evenly over the period, not the whole limit at once", () => {
    expect(throttleStarts([0, 0, 0, 0, 0], { limit: 2, periodMs: 1000, burst: 0 })).toEqual([0, 500, 1000, 1500, 2000]);
    expect(throttleStarts([0, 0, 0, 0], { limit: 4, periodMs: 60_000, burst: 0 })).toEqual([0, 15_000, 30_000, 45_000]);
  });

  it("throttle: burst lets that many more start at once, then spacing resumes", () => {
    expect(throttleStarts([0, 0, 0, 0], { limit: 2, periodMs: 1000, burst: 1 })).toEqual([0, 0, 500, 1000]);
    expect(throttleStarts([0, 0, 0, 0, 0], { limit: 2, periodMs: 1000, burst: 2 })).toEqual([0, 0, 0, 500, 1000]);
  });

  it("throttle: arrivals slower than the rate start at once; capacity does not pile up while idle", () => {
    expect(throttleStarts([0, 600, 1200, 5000, 5000], { limit: 2, periodMs: 1000, burst: 0 })).toEqual([
      0, 600, 1200, 5000, 5500,
    ]);
  });

  it("rate limit: admits at the emission rate plus the burst, drops the rest, and admits again later", () => {
    // limit 10 per second: one every 100 ms, burst 1 (a tenth of the limit).
    const limit = { limit: 10, periodMs: 1000, burst: 1 };
    expect(admissions([0, 0, 0, 0, 50, 150, 150, 400], limit)).toEqual([
      true,
      true,
      false,
      false,
      false,
      true,
      false,
      true,
    ]);
    // A dropped arrival leaves the state as it was.
    expect(rateLimitAdmission(500, 0, { limit: 1, periodMs: 1000, burst: 0 })).toEqual({ admitted: false, tat: 500 });
  });
});
