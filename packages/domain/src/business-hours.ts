import { z } from "zod";

export const weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export type Weekday = (typeof weekdays)[number];

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const CLOCK_TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/** "HH:MM" on a 24-hour clock as minutes since midnight; "24:00" is 1440. */
function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

const startTimeSchema = z.string().regex(CLOCK_TIME, {
  error: (issue) => `${JSON.stringify(issue.input)} is not a time. Use 24-hour "HH:MM", like "09:00".`,
});

const endTimeSchema = z.string().refine((time) => time === "24:00" || CLOCK_TIME.test(time), {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is not a time. Use 24-hour "HH:MM", like "17:30", or "24:00" for the end of the day.`,
});

const openingRangeSchema = z
  .tuple([startTimeSchema, endTimeSchema])
  .refine(([start, end]) => minutesOf(start) < minutesOf(end), {
    error: (issue) => {
      const [start, end] = issue.input as [string, string];
      return `Opening hours ${start}–${end} end before they start. For hours past midnight, put the rest on the next day from "00:00".`;
    },
  });

const dayHoursSchema = z.array(openingRangeSchema).superRefine((ranges, ctx) => {
  const sorted = [...ranges].sort((a, b) => minutesOf(a[0]) - minutesOf(b[0]));
  for (let i = 1; i < sorted.length; i++) {
    const [previous, range] = [sorted[i - 1], sorted[i]];
    if (previous && range && minutesOf(range[0]) < minutesOf(previous[1])) {
      ctx.addIssue({
        code: "custom",
        message: `Opening hours ${previous[0]}–${previous[1]} and ${range[0]}–${range[1]} overlap. Merge them into one range.`,
      });
    }
  }
});

/**
 * Weekly opening hours in the org's timezone: {"mon": [["09:00","17:00"]], ...}. A day that
 * is missing or has no ranges is closed. A range includes its start and excludes its end.
 */
export const businessHoursSchema = z.strictObject(
  Object.fromEntries(weekdays.map((day) => [day, dayHoursSchema.optional()])) as Record<
    Weekday,
    z.ZodOptional<typeof dayHoursSchema>
  >,
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown day ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}. Use ${weekdays.join(", ")}.`
        : undefined,
  },
);

export type BusinessHours = z.output<typeof businessHoursSchema>;

/** No message goes out from start until end, local time; start after end wraps midnight. */
export const quietHoursSchema = z
  .strictObject({ start: startTimeSchema, end: startTimeSchema })
  .refine(({ start, end }) => start !== end, {
    error: "Quiet hours must start and end at different times. To have none, turn quiet hours off.",
  });

export type QuietHours = z.output<typeof quietHoursSchema>;

/**
 * Whether Intl knows `timeZone` as an IANA name ("America/Chicago", "UTC"). Offsets such as
 * "+01:00" are refused although newer Node accepts them: Postgres reads POSIX-style offsets
 * with the sign reversed, and an offset has no DST rules.
 */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length > 64 || !/^[A-Za-z]/.test(timeZone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** An IANA timezone name; a name in the wrong case ("europe/madrid") is stored correctly cased. */
export const timeZoneSchema = z
  .string()
  .refine(isValidTimeZone, {
    error: (issue) =>
      `Unknown timezone ${JSON.stringify(issue.input)}. Use an IANA name like "America/Chicago" or "Europe/Madrid".`,
  })
  .transform((timeZone) => {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === timeZone.toLowerCase() ? resolved : timeZone;
  });

type WallClock = {
  weekday: Weekday;
  /** Minutes since local midnight. */
  minutes: number;
  /** The local date and time read as if it were UTC, in ms: arithmetic on wall time. */
  wallMs: number;
};

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function wallClock(timeZone: string, at: number): WallClock {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) parts[part.type] = part.value;
  const [hour, minute] = [Number(parts.hour), Number(parts.minute)];
  const wallMs =
    Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), hour, minute, Number(parts.second)) +
    (((at % 1000) + 1000) % 1000);
  return { weekday: (parts.weekday ?? "").toLowerCase() as Weekday, minutes: hour * 60 + minute, wallMs };
}

/**
 * The earliest instant not before `notBefore` whose local wall time is at least `wallMs`.
 * Around a DST change a wall time can exist twice (clocks back: the first one at or after
 * `notBefore` counts) or not at all (clocks forward: the instant the clocks jump counts).
 */
function firstInstantAtWallTime(timeZone: string, wallMs: number, notBefore: number): number {
  // The offsets a day either side cover any single DST change near the target.
  const candidates = [wallMs - DAY, wallMs + DAY]
    .map((probe) => wallMs - (wallClock(timeZone, probe).wallMs - probe))
    .sort((a, b) => a - b);
  const exact = candidates.find((t) => t >= notBefore && wallClock(timeZone, t).wallMs === wallMs);
  if (exact !== undefined) return exact;

  // In a gap: wall time jumps past the target between the two candidates; find the jump.
  let [low, high] = [candidates[0] ?? wallMs, candidates[1] ?? wallMs];
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (wallClock(timeZone, middle).wallMs >= wallMs) high = middle;
    else low = middle;
  }
  return Math.max(high, notBefore);
}

/** Whether the business is open at `at`, by its weekly hours in its timezone. */
export function isWithinBusinessHours(hours: BusinessHours, timeZone: string, at: Date): boolean {
  const { weekday, minutes } = wallClock(timeZone, at.getTime());
  return (hours[weekday] ?? []).some(([start, end]) => minutesOf(start) <= minutes && minutes < minutesOf(end));
}

/** Whether `at` falls in the quiet hours (start included, end excluded); never with none. */
export function isQuietTime(quiet: QuietHours | null, timeZone: string, at: Date): boolean {
  if (!quiet) return false;
  const { minutes } = wallClock(timeZone, at.getTime());
  const [start, end] = [minutesOf(quiet.start), minutesOf(quiet.end)];
  return start < end ? start <= minutes && minutes < end : minutes >= start || minutes < end;
}

/**
 * The earliest instant at or after `at` outside quiet hours: `at` itself when it is allowed,
 * else the moment the quiet hours end, local time, on the right day across DST changes.
 */
export function nextAllowedSendTime(quiet: QuietHours | null, timeZone: string, at: Date): Date {
  if (!quiet || !isQuietTime(quiet, timeZone, at)) return at;
  const now = wallClock(timeZone, at.getTime());
  const end = minutesOf(quiet.end);
  const localMidnight = now.wallMs - (now.wallMs % DAY);
  // Quiet hours that began yesterday evening end today; ones that began today end tomorrow.
  const endWallMs = localMidnight + (now.minutes < end ? 0 : DAY) + end * MINUTE;
  return new Date(firstInstantAtWallTime(timeZone, endWallMs, at.getTime()));
}
