// Keyset pagination, newest first: the cursor is the (timestamp, id) of the last row.
import { sql } from "kysely";
import { z } from "zod";

const CURSOR_INSTANT = z
  .string()
  .regex(/^(19[7-9]\d|[2-9]\d{3})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  .pipe(z.iso.datetime());

const cursorSchema = z
  .string()
  .max(200)
  .transform((cursor, ctx) => {
    try {
      const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
      // As page() writes it: UTC with microseconds, within the years Postgres and we store.
      const parsed = z.tuple([CURSOR_INSTANT, z.uuid()]).parse([at, id]);
      return { at: parsed[0], id: parsed[1] };
    } catch {
      ctx.addIssue({ code: "custom", message: "cursor is not one this API returned" });
      return z.NEVER;
    }
  });

export const pageInput = z.object({
  limit: z.number().int().min(1).max(100).default(50),
  cursor: cursorSchema.optional(),
});

/** Rows after the cursor in (column desc, id desc) order; a row comparison the index serves. */
export const olderThan = (column: string, cursor: { at: string; id: string }) =>
  sql<boolean>`(${sql.ref(column)}, id) < (${cursor.at}::timestamptz, ${cursor.id}::uuid)`;

/**
 * The keyset column as text with microseconds: a JS Date keeps only milliseconds, and a
 * cursor rounded to them would skip rows written within the same millisecond.
 */
export const cursorAt = (column: string) =>
  sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("cursor_at");

export function page<T extends { id: string; cursor_at: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit).map(({ cursor_at: _, ...item }) => item);
  const last = rows[limit - 1];
  const nextCursor =
    rows.length > limit && last ? Buffer.from(JSON.stringify([last.cursor_at, last.id])).toString("base64url") : null;
  return { items, nextCursor };
}

export const uuidInput = z.object({ id: z.uuid() });
