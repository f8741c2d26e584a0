import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { sql } from "kysely";
import type { Database } from "./database.ts";

// From the repository root, three levels up both here and in the API's bundle (apps/api/dist).
const REPOSITORY_ROOT_URL = new URL("../../../", import.meta.url);
export const MIGRATIONS_DIR = new URL("supabase/migrations/", REPOSITORY_ROOT_URL);
export const SEED_FILE = new URL("supabase/seed.sql", REPOSITORY_ROOT_URL);
const BOOTSTRAP_FILE = new URL("packages/db/src/bootstrap.sql", REPOSITORY_ROOT_URL);

// Serialises migrators that start together (two servers, a server and a CLI).
const MIGRATION_LOCK_KEY = 7_261_125;

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** `supabase/migrations/<version>_<name>.sql`, in version order, as the Supabase CLI reads them. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match?.[1] || !match[2]) throw new Error(`migration file name must be <version>_<name>.sql: ${file}`);
      return { version: match[1], name: match[2], sql: await readFile(new URL(file, dir), "utf8") };
    }),
  );
}

/**
 * Brings the database to the latest schema: Supabase's built-ins where missing, then
 * each pending migration, all in one transaction under an advisory lock. Applied
 * versions are recorded where the Supabase CLI records them, so a database set up by
 * `supabase db reset` is seen as up to date.
 */
export async function migrate(database: Database, dir: URL = MIGRATIONS_DIR): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(dir);
  const bootstrap = await readFile(BOOTSTRAP_FILE, "utf8");
  return database.owner.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx);
    await sql.raw(bootstrap).execute(tx);
    await sql
      .raw(
        `create schema if not exists supabase_migrations;
         create table if not exists supabase_migrations.schema_migrations
           (version text primary key, statements text[], name text)`,
      )
      .execute(tx);
    const done = await sql<{ version: string }>`select version from supabase_migrations.schema_migrations`.execute(tx);
    const appliedBefore = new Set(done.rows.map((row) => row.version));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (appliedBefore.has(migration.version)) continue;
      try {
        await sql.raw(migration.sql).execute(tx);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`migration ${migration.version}_${migration.name}.sql: ${reason}`, { cause: error });
      }
      await sql`insert into supabase_migrations.schema_migrations (version, statements, name)
                values (${migration.version}, ${[migration.sql]}, ${migration.name})`.execute(tx);
      applied.push(migration.version);
    }
    return { applied };
  });
}

/** Applies `supabase/seed.sql` once per database (demo data for local mode). */
export async function seedOnce(database: Database, file: URL = SEED_FILE): Promise<boolean> {
  const seed = await readFile(file, "utf8");
  const hash = createHash("sha256").update(seed).digest("hex");
  return database.owner.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx);
    await sql
      .raw(
        `create schema if not exists supabase_migrations;
         create table if not exists supabase_migrations.seed_files (path text primary key, hash text not null)`,
      )
      .execute(tx);
    const seeded = await sql`select 1 from supabase_migrations.seed_files where path = 'supabase/seed.sql'`.execute(tx);
    if (seeded.rows.length > 0) return false;
    await sql.raw(seed).execute(tx);
    await sql`insert into supabase_migrations.seed_files (path, hash) values ('supabase/seed.sql', ${hash})`.execute(
      tx,
    );
    return true;
  });
}
