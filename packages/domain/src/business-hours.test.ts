import { describe, expect, it } from "vitest";
import {
  type BusinessHours,
  businessHoursSchema,
  isQuietTime,
  isValidTimeZone,
  isWithinBusinessHours,
  nextAllowedSendTime,
  type QuietHours,
  quietHoursSchema,
  timeZoneSchema,
} from "./business-hours.ts";

const weekdayNineToFive: BusinessHours = {
  mon: [["09:00", "17:00"]],
  tue: [["09:00", "17:00"]],
  wed: [["09:00", "17:00"]],
  thu: [["09:00", "17:00"]],
  fri: [["09:00", "17:00"]],
};
const split: BusinessHours = {
  sat: [
    ["09:00", "13:00"],
    ["16:00", "24:00"],
  ],
  sun: [],
};
const nightly: QuietHours = { start: "21:00", end: "08:00" };

describe("isWithinBusinessHours", () => {
  it.each<[string, BusinessHours, string, string, boolean]>([
    // 2026-03-09 is a Monday. Chicago is UTC-5 (CDT) from 2026-03-08, Madrid UTC+1 until 2026-03-29.
    ["Monday 09:00 Chicago: opening minute", weekdayNineToFive, "America/Chicago", "2026-03-09T14:00:00Z", true],
    ["Monday 08:59 Chicago", weekdayNineToFive, "America/Chicago", "2026-03-09T13:59:00Z", false],
    ["Monday 16:59 Chicago", weekdayNineToFive, "America/Chicago", "2026-03-09T21:59:59Z", true],
    ["Monday 17:00 Chicago: closed at the end", weekdayNineToFive, "America/Chicago", "2026-03-09T22:00:00Z", false],
    ["Monday 10:00 Madrid", weekdayNineToFive, "Europe/Madrid", "2026-03-09T09:00:00Z", true],
    // The same instant is Monday 02:00 in Chicago but Monday 08:00 in Madrid.
    ["timezone matters", weekdayNineToFive, "Europe/Madrid", "2026-03-09T07:00:00Z", false],
    // UTC says Tuesday 01:00; Chicago says Monday 20:00.
    ["the local weekday, not UTC's", { mon: [["18:00", "24:00"]] }, "America/Chicago", "2026-03-10T01:00:00Z", true],
    ["a weekend day not listed", weekdayNineToFive, "America/Chicago", "2026-03-14T16:00:00Z", false],
    ["a day with no ranges", split, "America/Chicago", "2026-03-15T16:00:00Z", false],
    ["between two ranges", split, "America/Chicago", "2026-03-14T19:00:00Z", false],
    ["second range", split, "America/Chicago", "2026-03-14T22:00:00Z", true],
    ["23:59 with an end of 24:00", split, "America/Chicago", "2026-03-15T04:59:00Z", true],
    ["midnight after 24:00 is the next day", split, "America/Chicago", "2026-03-15T05:00:00Z", false],
    ["no hours at all", {}, "UTC", "2026-03-09T12:00:00Z", false],
    // Madrid changes to CEST (UTC+2) on 2026-03-29: Monday 30 March 09:00 is 07:00Z.
    ["after the spring DST change in Madrid", weekdayNineToFive, "Europe/Madrid", "2026-03-30T07:00:00Z", true],
    [
      "an hour earlier, UTC+1 arithmetic would be wrong",
      weekdayNineToFive,
      "Europe/Madrid",
      "2026-03-30T06:59:00Z",
      false,
    ],
  ])("%s", (_name, hours, timeZone, iso, expected) => {
    expect(isWithinBusinessHours(hours, timeZone, new Date(iso))).toBe(expected);
  });
});

describe("isQuietTime", () => {
  it.each<[string, QuietHours | null, string, string, boolean]>([
    ["no quiet hours", null, "UTC", "2026-03-09T03:00:00Z", false],
    ["21:00 is quiet", nightly, "UTC", "2026-03-09T21:00:00Z", true],
    ["20:59 is not", nightly, "UTC", "2026-03-09T20:59:59Z", false],
    ["after midnight is quiet", nightly, "UTC", "2026-03-09T03:00:00Z", true],
    ["07:59 is quiet", nightly, "UTC", "2026-03-09T07:59:00Z", true],
    ["08:00 is not", nightly, "UTC", "2026-03-09T08:00:00Z", false],
    ["midday is not", nightly, "UTC", "2026-03-09T12:00:00Z", false],
    ["in the org's timezone", nightly, "America/Chicago", "2026-03-09T12:00:00Z", true],
    ["quiet hours inside a day", { start: "12:00", end: "14:00" }, "UTC", "2026-03-09T13:00:00Z", true],
    ["outside quiet hours inside a day", { start: "12:00", end: "14:00" }, "UTC", "2026-03-09T15:00:00Z", false],
    ["before quiet hours inside a day", { start: "12:00", end: "14:00" }, "UTC", "2026-03-09T11:59:00Z", false],
    ["quiet until midnight", { start: "22:00", end: "00:00" }, "UTC", "2026-03-09T23:30:00Z", true],
    ["midnight ends it", { start: "22:00", end: "00:00" }, "UTC", "2026-03-10T00:00:00Z", false],
  ])("%s", (_name, quiet, timeZone, iso, expected) => {
    expect(isQuietTime(quiet, timeZone, new Date(iso))).toBe(expected);
  });
});

describe("nextAllowedSendTime", () => {
  it.each<[string, QuietHours | null, string, string, string]>([
    ["allowed now: at itself", nightly, "UTC", "2026-03-09T12:34:56.789Z", "2026-03-09T12:34:56.789Z"],
    ["no quiet hours: at itself", null, "UTC", "2026-03-09T23:00:00Z", "2026-03-09T23:00:00Z"],
    ["evening: tomorrow's end", nightly, "UTC", "2026-03-09T22:15:30Z", "2026-03-10T08:00:00Z"],
    ["evening, to the millisecond: tomorrow's end", nightly, "UTC", "2026-03-09T22:15:30.250Z", "2026-03-10T08:00:00Z"],
    ["after midnight: today's end", nightly, "UTC", "2026-03-10T03:00:00Z", "2026-03-10T08:00:00Z"],
    [
      "quiet hours inside a day",
      { start: "12:00", end: "14:00" },
      "UTC",
      "2026-03-09T12:00:00Z",
      "2026-03-09T14:00:00Z",
    ],
    ["month end", nightly, "America/Chicago", "2026-04-01T03:00:00Z", "2026-04-01T13:00:00Z"],
    ["year end", nightly, "Europe/Madrid", "2026-12-31T22:00:00Z", "2027-01-01T07:00:00Z"],

    // Madrid: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
    ["Madrid, night of spring forward", nightly, "Europe/Madrid", "2026-03-28T22:00:00Z", "2026-03-29T06:00:00Z"],
    ["Madrid, night of fall back", nightly, "Europe/Madrid", "2026-10-24T21:00:00Z", "2026-10-25T07:00:00Z"],
    // Quiet hours ending at 02:30, a time that does not exist that night: 03:00 CEST it is.
    [
      "Madrid, end in the spring gap",
      { start: "00:00", end: "02:30" },
      "Europe/Madrid",
      "2026-03-29T00:30:00Z",
      "2026-03-29T01:00:00Z",
    ],
    // 02:30 happens twice: first at 00:30Z (CEST), again at 01:30Z (CET).
    [
      "Madrid, end twice: the first",
      { start: "00:00", end: "02:30" },
      "Europe/Madrid",
      "2026-10-24T23:00:00Z",
      "2026-10-25T00:30:00Z",
    ],
    [
      "Madrid, end twice: the second",
      { start: "00:00", end: "02:30" },
      "Europe/Madrid",
      "2026-10-25T01:15:00Z",
      "2026-10-25T01:30:00Z",
    ],

    // Chicago: 2026-03-08 02:00 CST → 03:00 CDT; 2026-11-01 02:00 CDT → 01:00 CST.
    ["Chicago, night of spring forward", nightly, "America/Chicago", "2026-03-08T04:00:00Z", "2026-03-08T13:00:00Z"],
    ["Chicago, night of fall back", nightly, "America/Chicago", "2026-11-01T03:00:00Z", "2026-11-01T14:00:00Z"],
    [
      "Chicago, end in the spring gap",
      { start: "22:00", end: "02:30" },
      "America/Chicago",
      "2026-03-08T07:00:00Z",
      "2026-03-08T08:00:00Z",
    ],
    [
      "Chicago, end twice: the first",
      { start: "23:00", end: "01:30" },
      "America/Chicago",
      "2026-11-01T05:30:00Z",
      "2026-11-01T06:30:00Z",
    ],
    [
      "Chicago, end twice: the second",
      { start: "23:00", end: "01:30" },
      "America/Chicago",
      "2026-11-01T07:15:00Z",
      "2026-11-01T07:30:00Z",
    ],
  ])("%s", (_name, quiet, timeZone, iso, expected) => {
    const at = new Date(iso);
    const next = nextAllowedSendTime(quiet, timeZone, at);
    expect(next.toISOString()).toBe(new Date(expected).toISOString());
    // The answer is allowed, and nothing allowed comes between `at` and it.
    expect(isQuietTime(quiet, timeZone, next)).toBe(false);
    if (next.getTime() > at.getTime()) {
      expect(isQuietTime(quiet, timeZone, new Date(next.getTime() - 1))).toBe(true);
    }
  });

  it.each([
    ["Europe/Madrid", "2026-03-28T00:00:00Z"],
    ["Europe/Madrid", "2026-10-24T00:00:00Z"],
    ["America/Chicago", "2026-03-07T00:00:00Z"],
    ["America/Chicago", "2026-10-31T00:00:00Z"],
    ["Australia/Lord_Howe", "2026-04-04T00:00:00Z"],
  ])(
    "every 10 minutes for two days around a DST change in %s (from %s) lands on an allowed minute",
    (timeZone, from) => {
      for (const quiet of [nightly, { start: "01:00", end: "02:30" }, { start: "23:00", end: "03:00" }]) {
        for (let t = Date.parse(from); t < Date.parse(from) + 2 * 24 * 3_600_000; t += 600_000) {
          const next = nextAllowedSendTime(quiet, timeZone, new Date(t));
          expect(next.getTime()).toBeGreaterThanOrEqual(t);
          expect(next.getTime() - t).toBeLessThanOrEqual(24 * 3_600_000);
          expect(isQuietTime(quiet, timeZone, next)).toBe(false);
          if (next.getTime() > t) expect(isQuietTime(quiet, timeZone, new Date(next.getTime() - 1))).toBe(true);
        }
      }
    },
  );
});

describe("businessHoursSchema", () => {
  it.each<[string, unknown]>([
    ["the database default", weekdayNineToFive],
    ["no days", {}],
    ["an empty day", { sun: [] }],
    ["two ranges and 24:00", split],
    [
      "ranges out of order that touch",
      {
        mon: [
          ["13:00", "17:00"],
          ["09:00", "13:00"],
        ],
      },
    ],
    ["the whole day", { sat: [["00:00", "24:00"]] }],
  ])("accepts %s", (_name, input) => {
    expect(businessHoursSchema.parse(input)).toEqual(input);
  });

  it.each<[string, unknown, RegExp]>([
    ["an unknown day", { monday: [["09:00", "17:00"]] }, /Unknown day "monday"\. Use mon, tue/],
    ["a 12-hour time", { mon: [["9am", "5pm"]] }, /"9am" is not a time/],
    ["a time without a leading zero", { mon: [["9:00", "17:00"]] }, /"9:00" is not a time/],
    ["24:00 as a start", { mon: [["24:00", "24:00"]] }, /"24:00" is not a time/],
    ["24:30", { mon: [["09:00", "24:30"]] }, /"24:30" is not a time/],
    ["an end before the start", { fri: [["22:00", "02:00"]] }, /22:00–02:00 end before they start.*next day/],
    ["an empty range", { fri: [["09:00", "09:00"]] }, /end before they start/],
    [
      "overlapping ranges",
      {
        mon: [
          ["09:00", "13:00"],
          ["12:00", "17:00"],
        ],
      },
      /09:00–13:00 and 12:00–17:00 overlap/,
    ],
    ["a range of three times", { mon: [["09:00", "12:00", "17:00"]] }, /.+/],
    ["a day that is not a list", { mon: "09:00-17:00" }, /.+/],
    ["hours that are not an object", "09:00-17:00", /^(?!Unknown day).+/],
  ])("refuses %s", (_name, input, message) => {
    const result = businessHoursSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join("\n")).toMatch(message);
  });
});

describe("quietHoursSchema", () => {
  it.each<[unknown, boolean]>([
    [{ start: "21:00", end: "08:00" }, true],
    [{ start: "12:00", end: "14:00" }, true],
    [{ start: "22:00", end: "00:00" }, true],
    [{ start: "21:00", end: "21:00" }, false],
    [{ start: "21:00" }, false],
    [{ start: "21:00", end: "24:00" }, false],
    [{ start: "21:00", end: "08:00", days: [] }, false],
    [null, false],
  ])("%j → %s", (input, success) => {
    expect(quietHoursSchema.safeParse(input).success).toBe(success);
  });

  it("says how to have no quiet hours", () => {
    expect(quietHoursSchema.safeParse({ start: "21:00", end: "21:00" }).error?.issues[0]?.message).toMatch(
      /turn quiet hours off/,
    );
  });
});

describe("isValidTimeZone and timeZoneSchema", () => {
  it.each([
    ["UTC", true, "UTC"],
    ["Europe/Madrid", true, "Europe/Madrid"],
    ["America/Chicago", true, "America/Chicago"],
    ["America/Argentina/Buenos_Aires", true, "America/Argentina/Buenos_Aires"],
    ["Etc/GMT+5", true, "Etc/GMT+5"],
    ["europe/madrid", true, "Europe/Madrid"],
    ["utc", true, "UTC"],
    ["Mars/Olympus_Mons", false, null],
    ["+01:00", false, null],
    ["-05:00", false, null],
    ["", false, null],
    [" Europe/Madrid", false, null],
    ["Central Time", false, null],
  ])("%j → %s", (input, valid, stored) => {
    expect(isValidTimeZone(input)).toBe(valid);
    const result = timeZoneSchema.safeParse(input);
    expect(result.success).toBe(valid);
    if (result.success) expect(result.data).toBe(stored);
    else expect(result.error.issues[0]?.message).toMatch(/Unknown timezone .*IANA name/);
  });
});
