// Cron schedules as Inngest reads a function's `{ cron }` trigger: five fields (minute, hour,
// day of month, month, day of week) with `*`, lists, ranges, steps and English names
// (JAN-DEC, SUN-SAT; 7 is Sunday too), the descriptors @yearly … @hourly, and an optional
// `TZ=<IANA zone> ` (or `CRON_TZ=`) prefix; UTC otherwise. As in Vixie cron, when both the
// day of month and the day of week are restricted, a day matching either one fires.
//
// The parser reads each character a bounded number of times (split on blanks and commas,
// then fixed-shape numbers): linear in the text, which is capped at 256 characters.

export class CronError extends Error {
  override name = "CronError";
}

export interface CronSchedule {
  /** The text as the function gave it. */
  source: string;
  timeZone: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday. */
  daysOfWeek: ReadonlySet<number>;
  /** Day of month and day of week both restricted: either matching is enough. */
  eitherDay: boolean;
}

const MAX_LENGTH = 256;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The value names[0] stands for. */
  namesFrom?: number;
}

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 },
];

/** Parses a schedule; throws CronError saying what is wrong and where. */
export function parseCron(text: string): CronSchedule {
  if (text.length > MAX_LENGTH) throw new CronError(`is longer than ${MAX_LENGTH} characters`);
  let rest = text.trim();
  let timeZone = "UTC";
  const prefix = rest.startsWith("TZ=") ? "TZ=" : rest.startsWith("CRON_TZ=") ? "CRON_TZ=" : null;
  if (prefix) {
    const blank = rest.search(/\s/);
    if (blank < 0) throw new CronError(`has a time zone (${prefix}) but no schedule`);
    timeZone = rest.slice(prefix.length, blank);
    if (!isTimeZone(timeZone)) throw new CronError(`time zone "${timeZone.slice(0, 64)}" is not an IANA time zone`);
    rest = rest.slice(blank).trim();
  }
  if (rest.startsWith("@")) {
    const expanded = DESCRIPTORS[rest.toLowerCase()];
    if (!expanded) throw new CronError(`"${rest.slice(0, 32)}" is not one of ${Object.keys(DESCRIPTORS).join(", ")}`);
    rest = expanded;
  }
  const fields = rest.split(/\s+/);
  if (fields.length !== 5 || rest === "") {
    throw new CronError(
      `has ${rest === "" ? 0 : fields.length} fields; a schedule has 5 (minute hour day-of-month month day-of-week)`,
    );
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeekRaw] = FIELDS.map((spec, index) =>
    parseField(fields[index] as string, spec),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const daysOfWeek = new Set([...daysOfWeekRaw].map((day) => day % 7));
  const restricted = (field: string) => field !== "*" && field !== "?";
  return {
    source: text,
    timeZone,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    eitherDay: restricted(fields[2] as string) && restricted(fields[4] as string),
  };
}

function parseField(field: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined) throw new CronError(`${spec.name} "${part}" has more than one "/"`);
    const step = stepText === undefined ? 1 : number(stepText, spec, "step");
    if (step < 1) throw new CronError(`${spec.name} step in "${part}" must be at least 1`);
    let from: number;
    let to: number;
    if (range === "*" || range === "?") {
      from = spec.min;
      to = spec.max;
    } else {
      const [low, high, more] = (range ?? "").split("-");
      if (more !== undefined) throw new CronError(`${spec.name} "${part}" has more than one "-"`);
      from = value(low ?? "", spec);
      // "5/15" is 5, 20, 35, 50: a start with a step runs to the field's end.
      to = high !== undefined ? value(high, spec) : stepText !== undefined ? spec.max : from;
      if (to < from) throw new CronError(`${spec.name} range "${range}" runs backwards`);
    }
    for (let at = from; at <= to; at += step) values.add(at);
  }
  return values;
}

function value(text: string, spec: FieldSpec): number {
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return index + (spec.namesFrom ?? 0);
  const parsed = number(text, spec, "value");
  if (parsed < spec.min || parsed > spec.max) {
    throw new CronError(`${spec.name} ${parsed} is out of range ${spec.min}-${spec.max}`);
  }
  return parsed;
}

function number(text: string, spec: FieldSpec, what: string): number {
  if (!/^\d{1,4}$/.test(text)) {
    const names = spec.names ? ` or a name (${spec.names[0]}…)` : "";
    throw new CronError(`${spec.name} ${what} "${text.slice(0, 32)}" is not a number${names}`);
  }
  return Number(text);
}

function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function localTime(ms: number, timeZone: string): LocalTime {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      month: "numeric",
      day: "numeric",
      weekday: "short",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(ms)) parts[part.type] = part.value;
  return {
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAY_INDEX[parts.weekday ?? ""] ?? 0,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
  };
}

function dayMatches(schedule: CronSchedule, local: LocalTime): boolean {
  if (!schedule.months.has(local.month)) return false;
  const byMonthDay = schedule.daysOfMonth.has(local.day);
  const byWeekday = schedule.daysOfWeek.has(local.weekday);
  return schedule.eitherDay ? byMonthDay || byWeekday : byMonthDay && byWeekday;
}

const MINUTE = 60_000;
/** Five years of days: a schedule that fires on none of them (Feb 30) never fires. */
const SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE;

/**
 * The first tick strictly after `afterMs`, or null when none comes within five years. Steps
 * through local time, skipping a day or an hour at a time where they cannot match; moves of
 * less than a local day or hour, so a daylight-saving change never skips a tick.
 */
export function nextTick(schedule: CronSchedule, afterMs: number): number | null {
  let at = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE;
  const limit = afterMs + SEARCH_LIMIT_MS;
  while (at <= limit) {
    const local = localTime(at, schedule.timeZone);
    const minuteOfDay = local.hour * 60 + local.minute;
    // A wrong day: on to 23:00, then to midnight (an hour short of a day, in case this one has 23).
    if (!dayMatches(schedule, local)) at += (minuteOfDay < 1380 ? 1380 - minuteOfDay : 60 - local.minute) * MINUTE;
    else if (!schedule.hours.has(local.hour)) at += (60 - local.minute) * MINUTE;
    else if (!schedule.minutes.has(local.minute)) at += MINUTE;
    else return at;
  }
  return null;
}

/** The latest tick at or before `atMs`, or null when none came in the five years before. */
export function previousTick(schedule: CronSchedule, atMs: number): number | null {
  let at = Math.floor(atMs / MINUTE) * MINUTE;
  const limit = atMs - SEARCH_LIMIT_MS;
  while (at >= limit) {
    const local = localTime(at, schedule.timeZone);
    const minuteOfDay = local.hour * 60 + local.minute;
    // A wrong day: back to 00:59, then to the day before's 23:59.
    if (!dayMatches(schedule, local)) at -= (minuteOfDay >= 60 ? minuteOfDay - 59 : local.minute + 1) * MINUTE;
    else if (!schedule.hours.has(local.hour)) at -= (local.minute + 1) * MINUTE;
    else if (!schedule.minutes.has(local.minute)) at -= MINUTE;
    else return at;
  }
  return null;
}
