// timestamptz as node-postgres hands it over (a Date), read without regular expressions: the
// call list's rows carry two each, and the stock parser (postgres-date) was a tenth of a
// read's client CPU. Postgres's ISO output, `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`, is
// read here; anything else (BC, infinity, years past 9999) goes to the stock parser.
import pg from "pg";

export const TIMESTAMPTZ_OID = 1184;
const stockParser = pg.types.getTypeParser(TIMESTAMPTZ_OID, "text") as (text: string) => Date | number | null;

const ZERO = 48;

/** The digits at [from, to) as a number; NaN when any is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * A Date read from Postgres's UTC text, whose JSON is that text in ISO form: answering a list
 * took a toISOString per timestamp, as long as parsing it. JSON and Date are the same as a
 * plain Date's; once changed (setHours…) it answers as a plain Date does.
 */
class UtcTextDate extends Date {
  readonly #text: string;
  readonly #time: number;
  constructor(time: number, text: string) {
    super(time);
    this.#time = time;
    this.#text = text;
  }
  override toJSON(): string {
    if (this.getTime() !== this.#time) return super.toJSON();
    const text = this.#text;
    // "2026-03-08 09:15:30.1234+00": milliseconds are the first three fraction digits.
    const fraction =
      text[19] === "."
        ? text
            .slice(20, text.length - 3)
            .slice(0, 3)
            .padEnd(3, "0")
        : "000";
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction}Z`;
  }
}

export function parseTimestamptz(text: string): Date | number | null {
  // Fixed positions: "2026-03-08 09:15:30" is 19 characters, then fraction and zone.
  const shaped =
    text.length >= 22 && text[4] === "-" && text[7] === "-" && text[10] === " " && text[13] === ":" && text[16] === ":";
  if (!shaped) return stockParser(text);
  const year = digits(text, 0, 4);
  let i = 19;
  let milliseconds = 0;
  if (text[i] === ".") {
    const start = ++i;
    while (i < text.length && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= ZERO + 9) i++;
    // Milliseconds are the first three fraction digits: a Date keeps no more.
    if (i === start) return stockParser(text);
    const kept = Math.min(i - start, 3);
    milliseconds = digits(text, start, start + kept) * 10 ** (3 - kept);
  }
  const sign = text[i] === "+" ? 1 : text[i] === "-" ? -1 : 0;
  const zone = text.length - i - 1;
  // The zone: ±HH, ±HH:MM or ±HH:MM:SS, and nothing after it (" BC" goes to the stock parser).
  if (sign === 0 || (zone !== 2 && zone !== 5 && zone !== 8)) return stockParser(text);
  if ((zone >= 5 && text[i + 3] !== ":") || (zone === 8 && text[i + 6] !== ":")) return stockParser(text);
  const offsetSeconds =
    digits(text, i + 1, i + 3) * 3600 +
    (zone >= 5 ? digits(text, i + 4, i + 6) * 60 : 0) +
    (zone === 8 ? digits(text, i + 7, i + 9) : 0);
  const utc = Date.UTC(
    year,
    digits(text, 5, 7) - 1,
    digits(text, 8, 10),
    digits(text, 11, 13),
    digits(text, 14, 16),
    digits(text, 17, 19),
    milliseconds,
  );
  // A non-digit anywhere made a NaN; Date.UTC reads years 0–99 as 1900–1999.
  if (Number.isNaN(utc) || Number.isNaN(offsetSeconds) || year < 100) return stockParser(text);
  if (offsetSeconds === 0) return new UtcTextDate(utc, text);
  return new Date(utc - sign * offsetSeconds * 1000);
}
