// Queries with parameters on PGlite run as prepared statements: the answers must be those of
// PGlite's own query(), whatever the session does to its statements meanwhile.
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Database, databaseOverPglite, openPglite } from "./database.ts";
import { PreparedStatements, preparedStatementsOf } from "./pglite-statements.ts";

const TABLE = `create table samples (
  id int primary key, label text, born timestamptz, facts jsonb, tags text[], big int8, ok boolean, note text
)`;
const INSERT = "insert into samples values ($1, $2, $3, $4, $5, $6, $7, $8)";
const SELECT = "select * from samples where id = $1";

describe("prepared statements on PGlite", () => {
  let pglite: PGlite;
  let database: Database;

  const preparedCount = async () =>
    (await pglite.query<{ n: number }>("select count(*)::int as n from pg_prepared_statements")).rows[0]?.n;

  beforeAll(async () => {
    pglite = await openPglite();
    database = databaseOverPglite(pglite);
  });
  afterAll(async () => {
    await database.close();
  });
  // Each test starts with a new table and no prepared statement (the dialect forgets them on DISCARD).
  beforeEach(async () => {
    await sql.raw(`drop table if exists samples; ${TABLE}`).execute(database.owner);
    await sql.raw("discard all").execute(database.owner);
  });

  it("answers as PGlite's query() does: values serialized for their columns, rows parsed, rows affected", async () => {
    const values = [1, "a", new Date("2026-12-02T10:00:00.123Z"), { a: [1, "x"] }, ["p", "q"], 2 ** 40, true, null];
    const prepared = await preparedStatementsOf(pglite).query(INSERT, values);
    const stock = await pglite.query(INSERT, [2, ...values.slice(1)]);
    expect(prepared.affectedRows).toBe(1);
    expect(prepared.affectedRows).toBe(stock.affectedRows);

    const one = await preparedStatementsOf(pglite).query<Record<string, unknown>>(SELECT, [1]);
    const two = await pglite.query<Record<string, unknown>>(SELECT, [2]);
    expect(one.rows).toEqual([{ ...two.rows[0], id: 1 }]);
    expect(one.rows[0]).toMatchObject({ born: new Date("2026-12-02T10:00:00.123Z"), facts: { a: [1, "x"] }, ok: true });
    expect(one.fields).toEqual(two.fields);
  });

  it("parses a text once, then binds it", async () => {
    for (let id = 1; id <= 3; id++) {
      await database.owner
        .insertInto("samples" as never)
        .values({ id, label: `n${id}` } as never)
        .execute();
    }
    const rows = await pglite.query<{ name: string; statement: string }>(
      "select name, statement from pg_prepared_statements",
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]?.name).toMatch(/^callflow_\d+$/);
    expect(rows.rows[0]?.statement).toContain('insert into "samples"');
  });

  it("prepares again after the session's statements are discarded, inside a transaction too", async () => {
    const seven = () =>
      database.owner
        .transaction()
        .execute(async (tx) => (await sql`select id from samples where id = ${7}`.execute(tx)).rows);
    await pglite.query(INSERT, [7, "seven", null, null, null, null, null, null]);
    expect(await seven()).toEqual([{ id: 7 }]);
    expect(await preparedCount()).toBe(1);
    await sql.raw("discard all").execute(database.owner);
    expect(await preparedCount()).toBe(0);
    expect(await seven()).toEqual([{ id: 7 }]);
  });

  it("runs a statement the session lost without being told (outside a transaction)", async () => {
    await preparedStatementsOf(pglite).query(SELECT, [1]);
    // Behind the cache's back: a raw exec, not through the dialect.
    await pglite.exec("deallocate all");
    await pglite.query(INSERT, [1, "back", null, null, null, null, null, null]);
    const again = await preparedStatementsOf(pglite).query<{ label: string }>(SELECT, [1]);
    expect(again.rows.map((row) => row.label)).toEqual(["back"]);
  });

  it("answers a select * with the table's new shape after it changed", async () => {
    await pglite.query(INSERT, [1, "before", null, null, null, null, null, null]);
    const before = await preparedStatementsOf(pglite).query<Record<string, unknown>>(SELECT, [1]);
    expect(Object.keys(before.rows[0] ?? {})).not.toContain("added");
    await pglite.exec("alter table samples add column added text default 'new'");
    const after = await preparedStatementsOf(pglite).query<Record<string, unknown>>(SELECT, [1]);
    expect(after.rows[0]).toMatchObject({ label: "before", added: "new" });
  });

  it("reports a statement PostgreSQL refuses every time, and keeps nothing of it", async () => {
    const statements = preparedStatementsOf(pglite);
    for (let i = 0; i < 2; i++) {
      await expect(statements.query("select * from no_such_table where id = $1", [1])).rejects.toMatchObject({
        code: "42P01",
      });
    }
    expect(await preparedCount()).toBe(0);
    // The session is usable afterwards.
    expect((await statements.query<{ n: number }>("select $1::int as n", [5])).rows).toEqual([{ n: 5 }]);
  });

  it("runs texts past its limit through query(), unprepared", async () => {
    const statements = new PreparedStatements(pglite, 2);
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { rows } = await statements.query<{ n: number }>(`select $1::int + ${i} as n`, [10]);
      answers.push(rows[0]?.n ?? -1);
    }
    expect(answers).toEqual([10, 11, 12, 13]);
    expect(await preparedCount()).toBe(2);
  });
});
