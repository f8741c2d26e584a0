// GCRA state for throttles and rate limits: one theoretical arrival time per key.
import { sql } from "kysely";
import type { Db } from "./schema.ts";

/**
 * Reads a key's TAT and locks its row for the caller's transaction (the no-op update takes
 * the lock, also for a row it has just created), so concurrent events see each other's
 * admissions. Null when the key has no state yet.
 */
export async function lockLimit(db: Db, scope: string, key: string): Promise<number | null> {
  const result = await sql<{ tat_ms: number }>`
    insert into devstack.inngest_limits (scope, key, tat_ms) values (${scope}, ${key}, '-Infinity')
    on conflict (scope, key) do update set tat_ms = devstack.inngest_limits.tat_ms
    returning tat_ms`.execute(db);
  const tat = Number(result.rows[0]?.tat_ms);
  return Number.isFinite(tat) ? tat : null;
}

export async function saveLimit(db: Db, scope: string, key: string, tat: number): Promise<void> {
  await sql`update devstack.inngest_limits set tat_ms = ${tat} where scope = ${scope} and key = ${key}`.execute(db);
}
