// A point in time a client sends (a period's bounds, a cursor's position): anything Date
// reads, within the years CallFlow stores. Postgres refuses year 0 and beyond 294276; a
// date outside this range is a client's mistake, answered as one.
import { z } from "zod";

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1);

export const instantInput = z.coerce
  .date({ error: "must be a date and time, such as 2026-11-30T09:00:00Z" })
  .refine((at) => at.getTime() >= EARLIEST && at.getTime() < LATEST, {
    error: "must be between the years 1970 and 9999",
  });
