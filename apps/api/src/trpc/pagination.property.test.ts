// The cursor is client input: any text gives a value or a validation error, never a throw;
// every cursor page() writes reads back as the row it came from.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { page, pageInput } from "./pagination.ts";

const base64urlOf = (value: unknown) => Buffer.from(JSON.stringify(value) ?? "").toString("base64url");

describe("cursors, properties", () => {
  it("never throw: any text, or any JSON encoded as a cursor, is a value or a BAD_REQUEST issue", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue().map(base64urlOf)), (cursor) => {
        const parsed = pageInput.safeParse({ cursor });
        if (!parsed.success) expect(parsed.error.issues.length).toBeGreaterThan(0);
      }),
    );
  });

  it("read back what page() wrote", () => {
    const instant = fc
      .date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
      .chain((date) =>
        fc
          .integer({ min: 0, max: 999 })
          .map((micros) => `${date.toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}Z`),
      );
    fc.assert(
      fc.property(instant, fc.uuid(), (at, id) => {
        const { nextCursor } = page(
          [
            { id: "first", cursor_at: at },
            { id, cursor_at: at },
            { id: "x", cursor_at: at },
          ],
          2,
        );
        const parsed = pageInput.parse({ cursor: nextCursor ?? undefined });
        expect(parsed.cursor).toEqual({ at, id });
      }),
    );
  });
});
