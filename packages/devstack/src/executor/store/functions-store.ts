// Synced functions: each sync of an app replaces the functions it synced before.
import { sql } from "kysely";
import { type Db, json } from "./schema.ts";

export interface FunctionRow {
  id: string;
  app_name: string;
  app_url: string;
  config: Record<string, unknown>;
}

export async function loadFunctions(db: Db): Promise<FunctionRow[]> {
  const result = await sql<FunctionRow>`select id, app_name, app_url, config from devstack.inngest_functions`.execute(
    db,
  );
  return result.rows;
}

/** One transaction: the app's functions become exactly these. Returns the ids it no longer has. */
export async function replaceAppFunctions(
  db: Db,
  appName: string,
  appUrl: string,
  functions: Array<{ id: string; config: unknown }>,
): Promise<{ removed: string[] }> {
  return db.transaction().execute(async (trx) => {
    const ids = functions.map((fn) => fn.id);
    const removed = await sql<{ id: string }>`
      delete from devstack.inngest_functions where app_name = ${appName} and not (id = any(${ids}::text[]))
      returning id`.execute(trx);
    await sql`
      insert into devstack.inngest_functions (id, app_name, app_url, config, synced_at)
      select fn.id, ${appName}, ${appUrl}, fn.config, now()
      from jsonb_to_recordset(${json(functions)}) as fn(id text, config jsonb)
      on conflict (id) do update set app_name = excluded.app_name, app_url = excluded.app_url,
        config = excluded.config, synced_at = excluded.synced_at`.execute(trx);
    return { removed: removed.rows.map((row) => row.id) };
  });
}
