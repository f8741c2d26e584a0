import fc from "fast-check";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bareDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";
import { parseTimestamptz, TIMESTAMPTZ_OID } from "./timestamptz-parser.ts";

const stock = pg.types.getTypeParser(TIMESTAMPTZ_OID, "text") as (text: string) => unknown;
const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** Postgres's ISO output of a timestamptz: the fraction without trailing zeros, the zone as short as it goes. */
const postgresText = fc
  .record({
    year: fc.integer({ min: 1, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    micros: fc.option(fc.integer({ min: 1, max: 999_999 })),
    offset: fc.oneof(fc.constant(0), fc.integer({ min: -15 * 3600, max: 15 * 3600 })),
  })
  .map(({ year, month, day, hour, minute, second, micros, offset }) => {
    const fraction = micros === null ? "" : `.${pad(micros, 6).replace(/0+$/, "")}`;
    const abs = Math.abs(offset);
    const [h, m, s] = [Math.floor(abs / 3600), Math.floor((abs % 3600) / 60), abs % 60];
    const zone = `${offset < 0 ? "-" : "+"}${pad(h, 2)}${m || s ? `:${pad(m, 2)}` : ""}${s ? `:${pad(s, 2)}` : ""}`;
    return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction}${zone}`;
  });

describe("parseTimestamptz", () => {
  it("reads what Postgres writes as the stock parser does", () => {
    fc.assert(
      fc.property(postgresText, (text) => {
        const parsed = parseTimestamptz(text) as Date;
        expect(parsed).toBeInstanceOf(Date);
        expect(parsed.getTime()).toBe((stock(text) as Date).getTime());
        // The same JSON as the stock parser's Date (UTC text answers from the text itself).
        expect(JSON.stringify({ at: parsed })).toBe(JSON.stringify({ at: stock(text) }));
      }),
      { numRuns: 20_000 },
    );
  });

  it("answers a changed Date's JSON from its new time", () => {
    const parsed = parseTimestamptz("2026-03-08 09:15:30.123456+00") as Date;
    expect(parsed.toJSON()).toBe("2026-03-08T09:15:30.123Z");
    parsed.setUTCHours(0);
    expect(parsed.toJSON()).toBe("2026-03-08T00:15:30.123Z");
    expect(JSON.stringify(parsed)).toBe('"2026-03-08T00:15:30.123Z"');
  });

  it.each([
    "2026-03-08 09:15:30.123456+00",
    "2026-03-08 09:15:30+05:30",
    "1900-01-01 00:00:00+00:19:32",
    "0045-03-15 12:00:00+00",
    "0044-03-15 12:00:00+00 BC",
    "infinity",
    "-infinity",
    "12026-03-08 09:15:30+00",
    "2026-03-08T09:15:30Z",
    "2026-03-08 09:15:30.+00",
    "2026-03-08 09:1x:30+00",
  ])("gives %s the stock parser's answer", (text) => {
    expect(parseTimestamptz(text)).toEqual(stock(text));
  });
});

describe.each(testLanes().filter((lane) => lane === "postgres"))("timestamptz from %s", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await bareDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  it.each([
    ["UTC", "+00"],
    ["Asia/Kolkata", "+05:30"],
    ["America/St_Johns", "-02:30"],
    ["Europe/Amsterdam", "+00:19:32"],
  ])("is the instant Postgres meant, in the session time zone %s", async (zone, shownZone) => {
    const rows = await scratch.database.owner.transaction().execute(async (tx) => {
      await sql.raw(`set local timezone = '${zone}'`).execute(tx);
      const result = await sql<{ at: Date; epoch_ms: number; text: string }>`
        select at, floor(extract(epoch from at) * 1000)::int8 as epoch_ms, at::text as text from (values
          ('1900-06-01 12:00:00.5+00'::timestamptz), ('2026-03-08 09:15:30.123456+00'),
          ('2026-10-25 01:30:00.999+00'), ('9999-12-31 23:59:59.999999+00')) v(at)`.execute(tx);
      return result.rows;
    });
    expect(rows.map((row) => row.at.getTime())).toEqual(rows.map((row) => row.epoch_ms));
    expect(rows.some((row) => row.text.endsWith(shownZone))).toBe(true);
  });
});
