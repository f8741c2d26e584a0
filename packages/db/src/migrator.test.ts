import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./database.ts";
import { migrate, readMigrations } from "./migrator.ts";
import { bareDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";

const appliedVersions = async (scratch: ScratchDatabase) =>
  (
    await sql<{ version: string }>`select version from supabase_migrations.schema_migrations order by version`.execute(
      scratch.database.owner,
    )
  ).rows.map((row) => row.version);

describe.each(testLanes())("migrator on %s", (lane) => {
  const scratches: ScratchDatabase[] = [];
  const fresh = async () => {
    const scratch = await bareDatabase(lane);
    scratches.push(scratch);
    return scratch;
  };
  afterEach(async () => {
    await Promise.all(scratches.splice(0).map((scratch) => scratch.dispose()));
  });

  it("applies every migration once, in order, and nothing on the second run", async () => {
    const scratch = await fresh();
    const versions = (await readMigrations()).map((migration) => migration.version);
    expect(versions.length).toBeGreaterThan(0);
    expect((await migrate(scratch.database)).applied).toEqual(versions);
    expect((await migrate(scratch.database)).applied).toEqual([]);
    expect(await appliedVersions(scratch)).toEqual(versions);
  });

  it("applies each migration once when two migrators start together", async () => {
    const scratch = await fresh();
    const versions = (await readMigrations()).map((migration) => migration.version);
    // On the server lane the second migrator has its own pool, like a second process.
    const other = scratch.url ? await openDatabase({ databaseUrl: scratch.url }) : null;
    const second = other ?? scratch.database;
    const results = await Promise.all([migrate(scratch.database), migrate(second)]);
    await other?.close();
    expect(results.map((result) => result.applied.length).sort()).toEqual([0, versions.length]);
    expect(await appliedVersions(scratch)).toEqual(versions);
  });

  it("applies nothing when a migration fails, and says which", async () => {
    const scratch = await fresh();
    const dir = await mkdtemp(join(tmpdir(), "callflow-migrations-"));
    try {
      await writeFile(join(dir, "20260101000000_good.sql"), "create table public.good (id int primary key);");
      await writeFile(join(dir, "20260101000100_bad.sql"), "create table public.bad (id int primary key, oops);");
      const migrations = pathToFileURL(`${dir}/`);
      await expect(migrate(scratch.database, migrations)).rejects.toThrow(/20260101000100_bad.sql: syntax error/);
      const good = await sql<{ t: string | null }>`select to_regclass('public.good')::text as t`.execute(
        scratch.database.owner,
      );
      expect(good.rows[0]?.t).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
