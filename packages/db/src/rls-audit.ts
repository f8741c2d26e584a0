import { sql } from "kysely";
import type { Database } from "./database.ts";

export interface PublicTable {
  name: string;
  /** The column that says which org a row belongs to. */
  orgColumn: "organization_id" | "id";
  hasIdColumn: boolean;
}

/** Every table in `public` with the column that scopes it to an org (null: none). */
export async function listPublicTables(
  database: Database,
): Promise<Array<Omit<PublicTable, "orgColumn"> & { orgColumn: PublicTable["orgColumn"] | null }>> {
  const result = await sql<{ name: string; has_org: boolean; has_id: boolean }>`
    select c.relname as name,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped) as has_org,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'id' and not a.attisdropped) as has_id
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
     order by c.relname`.execute(database.owner);
  return result.rows.map((row) => ({
    name: row.name,
    orgColumn: row.has_org ? "organization_id" : row.name === "organizations" ? "id" : null,
    hasIdColumn: row.has_id,
  }));
}

/** Tables in `public` that anyone could read past: RLS off, or no policy at all. */
export async function findRowLevelSecurityGaps(database: Database): Promise<string[]> {
  const result = await sql<{ name: string; problem: string }>`
    select c.relname as name,
           case when not c.relrowsecurity then 'row level security is disabled' else 'no policy' end as problem
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
       and (not c.relrowsecurity or not exists (select 1 from pg_policy p where p.polrelid = c.oid))
     order by c.relname`.execute(database.owner);
  return result.rows.map((row) => `${row.name}: ${row.problem}`);
}
