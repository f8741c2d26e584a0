// pg_stat_statements as README "Operations" documents it: the migration creates it on a
// PostgreSQL server and leaves PGlite (which has no such extension) migrating as before; the
// README's query for the slowest statements is valid there, and answers with this database's
// statements when the server preloads the library (scripts/pg-server.sh).
import { readFile } from "node:fs/promises";
import { migratedDatabase, type ScratchDatabase, testLanes } from "@callflow/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const README = new URL("../../../../README.md", import.meta.url);
const MIGRATION_VERSION = "20261202300100";

async function slowStatementsQuery(): Promise<string> {
  const readme = await readFile(README, "utf8");
  const section = readme.slice(readme.indexOf("### Slow statements"));
  const query = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!query) throw new Error('README has no sql block under "### Slow statements"');
  return query.trim().replace(/;$/, "");
}

describe.each(testLanes())("pg_stat_statements on %s", (lane) => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await migratedDatabase(lane);
  });
  afterAll(() => scratch?.dispose());

  const extensionSchema = async () => {
    const { rows } = await sql<{ schema: string }>`
      select extnamespace::regnamespace::text as schema from pg_extension
       where extname = 'pg_stat_statements'`.execute(scratch.database.owner);
    return rows[0]?.schema ?? null;
  };

  it("is created by the migration where the server ships it, and PGlite migrates without it", async () => {
    const { rows } = await sql<{ version: string }>`
      select version from supabase_migrations.schema_migrations where version = ${MIGRATION_VERSION}`.execute(
      scratch.database.owner,
    );
    expect(rows).toHaveLength(1);
    expect(await extensionSchema()).toBe(lane === "pglite" ? null : "extensions");
  });

  it("answers README's slowest-statements query with this database's statements", async () => {
    const query = await slowStatementsQuery();
    const owner = scratch.database.owner;
    if (lane === "pglite") {
      await expect(sql.raw(query).execute(owner)).rejects.toThrow(/pg_stat_statements" does not exist/);
      return;
    }
    // Planning checks every column and function the query names, loaded library or not.
    const plan = await sql.raw(`explain ${query}`).execute(owner);
    expect(plan.rows.length).toBeGreaterThan(0);

    const { rows: preload } = await sql<{ libraries: string }>`
      select current_setting('shared_preload_libraries') as libraries`.execute(owner);
    if (!preload[0]?.libraries.split(",").some((library) => library.trim() === "pg_stat_statements")) {
      // Not preloaded: the view says so, as README warns, rather than answering nothing.
      await expect(sql.raw(query).execute(owner)).rejects.toThrow(/shared_preload_libraries/);
      return;
    }
    // Slower than anything the migrations ran, so among the 20 that cost the most.
    await sql`select pg_sleep(0.3) as slow_statements_probe`.execute(owner);
    const { rows } = await sql.raw<{ statement: string; calls: number; total_ms: string }>(query).execute(owner);
    const probe = rows.find((row) => row.statement.includes("slow_statements_probe"));
    expect(probe).toMatchObject({ statement: "select pg_sleep($1) as slow_statements_probe", calls: 1 });
    expect(Number(probe?.total_ms)).toBeGreaterThanOrEqual(300);
    expect(rows.length).toBeLessThanOrEqual(20);
  });
});
