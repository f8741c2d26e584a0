// Cron schedules as Inngest reads them: which instants are ticks, in UTC and in a time zone
// across daylight-saving changes, and a clear error for every malformed schedule.
import { describe, expect, it } from "vitest";
import { CronError, nextTick, parseCron, previousTick } from "./cron.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("parseCron", () => {
  it("reads lists, ranges, steps, names and descriptors", () => {
    const every5 = parseCron("*/5 * * * *");
    expect([...every5.minutes]).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
    const weekdays = parseCron("30 9-17/4 * JAN,jul MON-FRI");
    expect([...weekdays.hours]).toEqual([9, 13, 17]);
    expect([...weekdays.months]).toEqual([1, 7]);
    expect([...weekdays.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseCron("0 0 * * 7").daysOfWeek]).toEqual([0]);
    expect([...parseCron("5/20 * * * *").minutes]).toEqual([5, 25, 45]);
    expect(parseCron("@hourly").minutes).toEqual(new Set([0]));
    expect(parseCron("TZ=Europe/Madrid 0 9 * * *").timeZone).toBe("Europe/Madrid");
    expect(parseCron("CRON_TZ=America/New_York @daily").timeZone).toBe("America/New_York");
  });

  it.each([
    ["", "has 0 fields"],
    ["* * * *", "has 4 fields"],
    ["* * * * * *", "has 6 fields"],
    ["61 * * * *", "minute 61 is out of range 0-59"],
    ["* 24 * * *", "hour 24 is out of range 0-23"],
    ["* * 0 * *", "day of month 0 is out of range 1-31"],
    ["* * * 13 *", "month 13 is out of range 1-12"],
    ["* * * * 8", "day of week 8 is out of range 0-7"],
    ["*/0 * * * *", 'minute step in "*/0" must be at least 1'],
    ["5-1 * * * *", 'minute range "5-1" runs backwards'],
    ["1-2-3 * * * *", 'has more than one "-"'],
    ["*/2/3 * * * *", 'has more than one "/"'],
    ["a * * * *", 'minute value "a" is not a number'],
    ["* * * FOO *", 'month value "FOO" is not a number or a name (JAN…)'],
    ["@sometimes", '"@sometimes" is not one of @yearly'],
    ["TZ=Mars/Olympus * * * * *", 'time zone "Mars/Olympus" is not an IANA time zone'],
    ["TZ=UTC", "has a time zone (TZ=) but no schedule"],
    ["1,,2 * * * *", 'minute value "" is not a number'],
  ])("refuses %j: %s", (text, message) => {
    expect(() => parseCron(text)).toThrow(CronError);
    expect(() => parseCron(text)).toThrow(message);
  });

  it("reads a long hostile schedule in linear time", () => {
    const hostile = `${"1,".repeat(120)}x * * * *`;
    const started = performance.now();
    expect(() => parseCron(hostile)).toThrow(CronError);
    expect(() => parseCron(`${"*".repeat(10_000)}`)).toThrow("longer than 256 characters");
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("ticks", () => {
  it("finds the next and the latest tick in UTC", () => {
    const every5 = parseCron("*/5 * * * *");
    expect(iso(nextTick(every5, at("2026-12-01T10:02:30Z")))).toBe("2026-12-01T10:05:00.000Z");
    expect(iso(nextTick(every5, at("2026-12-01T10:05:00Z")))).toBe("2026-12-01T10:10:00.000Z");
    expect(iso(previousTick(every5, at("2026-12-01T10:09:59Z")))).toBe("2026-12-01T10:05:00.000Z");
    expect(iso(previousTick(every5, at("2026-12-01T10:10:00Z")))).toBe("2026-12-01T10:10:00.000Z");
  });

  it("matches either day when both day of month and day of week are restricted (Vixie cron)", () => {
    // The 13th, or any Friday: 2026-12-04 is a Friday, before the 13th.
    const schedule = parseCron("0 12 13 * FRI");
    expect(iso(nextTick(schedule, at("2026-12-01T00:00:00Z")))).toBe("2026-12-04T12:00:00.000Z");
    expect(iso(nextTick(schedule, at("2026-12-11T13:00:00Z")))).toBe("2026-12-13T12:00:00.000Z");
  });

  it("reads local time in its zone, across daylight-saving changes", () => {
    const madrid = parseCron("TZ=Europe/Madrid 30 2 * * *");
    // 2026-03-29: Madrid skips 02:00-03:00; no 02:30 that day, the next is the 30th (CEST, UTC+2).
    expect(iso(nextTick(madrid, at("2026-03-28T12:00:00Z")))).toBe("2026-03-30T00:30:00.000Z");
    const nineLocal = parseCron("TZ=America/New_York 0 9 * * *");
    expect(iso(nextTick(nineLocal, at("2026-11-01T00:00:00Z")))).toBe("2026-11-01T14:00:00.000Z");
    expect(iso(previousTick(nineLocal, at("2026-11-01T13:59:00Z")))).toBe("2026-10-31T13:00:00.000Z");
  });

  it("finds rare ticks, and none for a day that never comes", () => {
    expect(iso(nextTick(parseCron("0 0 29 2 *"), at("2026-03-01T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z");
    expect(iso(previousTick(parseCron("0 0 29 2 *"), at("2026-03-01T00:00:00Z")))).toBe("2024-02-29T00:00:00.000Z");
    expect(nextTick(parseCron("0 0 30 2 *"), at("2026-03-01T00:00:00Z"))).toBeNull();
  });
});
