import fc from "fast-check";
import { CompiledQuery } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineParameters, NulCharacterError } from "./inline-parameters.ts";
import { bareDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";

describe("inlineParameters", () => {
  it("writes each $n as its value's literal, multi-digit numbers included", () => {
    const parameters = Array.from({ length: 12 }, (_, index) => `v${index + 1}`);
    const text = parameters.map((_, index) => `$${index + 1}`).join(", ");
    expect(inlineParameters(`select ${text}`, parameters)).toBe(
      `select ${parameters.map((value) => `E'${value}'`).join(", ")}`,
    );
  });

  it.each([
    ["a literal", "select '$1', $1"],
    ["a literal with a doubled quote", "select 'it''s $1', $1"],
    ["an E'' literal with an escaped quote", "select E'\\' $1', $1"],
    ["a quoted name", 'select 1 as "$1 ""x""", $1'],
    ["a line comment", "select -- $1\n $1"],
    ["a nested block comment", "select /* $1 /* $1 */ $1 */ $1"],
    ["a dollar-quoted body", "select $$ $1 $$, $fn$ $1 $fn$, $1"],
    ["a name containing $", "select a$1, $1"],
  ])("leaves $n inside %s alone", (_, text) => {
    expect(inlineParameters(text, ["x"])).toBe(`${text.slice(0, text.lastIndexOf("$1"))}E'x'`);
  });

  it("quotes what a value holds, so it stays data", () => {
    expect(inlineParameters("select $1, $2, $3", [null, "a'b\\c", 42])).toBe("select NULL, E'a''b\\\\c', E'42'");
  });

  it("refuses a NUL in a value with Postgres's SQLSTATE for it", () => {
    expect(() => inlineParameters("select $1", ["a\0b"])).toThrow(NulCharacterError);
    expect(() => inlineParameters("select $1", ["a\0b"])).toThrow(expect.objectContaining({ code: "22021" }));
  });

  it("refuses a compiled query it cannot read", () => {
    expect(() => inlineParameters("select $2", ["x"])).toThrow(/\$2 without its value/);
    expect(() => inlineParameters("select 'open, $1", ["x"])).toThrow(/unterminated quote/);
    expect(() => inlineParameters("select /* open, $1", ["x"])).toThrow(/unterminated comment/);
    expect(() => inlineParameters("select $q$ open, $1", ["x"])).toThrow(/unterminated dollar quote/);
  });

  it("reads a long text in linear time", () => {
    const text = `select ${"'a''b', $1, ".repeat(50_000)}1`;
    const started = performance.now();
    expect(inlineParameters(text, ["x"]).length).toBeGreaterThan(text.length);
    // Quadratic scanning of 600 kB would take minutes; linear takes milliseconds.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe.each(testLanes())("an inlined query on %s means what the bound one meant", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await bareDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  const both = async (text: string, parameters: unknown[]) => {
    const owner = scratch.database.owner;
    const bound = await owner.executeQuery(CompiledQuery.raw(text, parameters));
    const inlined = await owner.executeQuery(CompiledQuery.raw(inlineParameters(text, parameters)));
    return { bound: bound.rows, inlined: inlined.rows };
  };

  it("gives back any text exactly", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "binary" }).filter((text) => !text.includes("\0")),
        async (text) => {
          const { bound, inlined } = await both("select $1::text as v", [text]);
          expect(inlined).toEqual([{ v: text }]);
          expect(inlined).toEqual(bound);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ["a timestamp", "select $1::timestamptz as v", new Date("2026-03-08T09:15:30.123Z")],
    ["an integer in a comparison", "select 5 < $1 as v", 7],
    ["a fraction", "select $1::numeric as v", 0.1],
    ["a boolean", "select $1::boolean as v", false],
    ["an array", "select $1::text[] as v", ["a", "b'c", null]],
    ["an object as jsonb", "select $1::jsonb as v", { a: "b'\\c", n: [1, 2] }],
    ["bytes", "select $1::bytea as v", Buffer.from([0, 1, 254, 255])],
    ["null", "select $1::text is null as v", null],
    ["a limit", "select generate_series(1, 10) as v limit $1", 3],
  ])("%s", async (_, text, value) => {
    const { bound, inlined } = await both(text, [value]);
    expect(inlined).toEqual(bound);
  });
});
