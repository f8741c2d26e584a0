// GCRA state for throttles and rate limits: one theoretical arrival time per key.
import { sql } from "kysely";
import { type Claim, claimsSql } from "./runs-store.ts";
import type { Db } from "./schema.ts";

/**
 * One statement: records the claims as seen (true when every one was new, or last seen
 * before `cutoff`), and reads each limit key's TAT (null: no state yet), locking its row for
 * the caller's transaction (the no-op update takes the lock, also for a row it has just
 * created), so concurrent events see each other's admissions. The new TATs are saved with
 * the run (insertLimitedRun).
 */
export async function claimAndLockLimits(
  db: Db,
  claims: Claim[],
  limits: Array<{ scope: string; key: string }>,
  now: Date,
  cutoff: Date,
): Promise<{ claimed: boolean; tats: Array<number | null> }> {
  const result = await sql<{ claimed: number; tats: Array<[string, string, string]> }>`
    with claimed as (${claimsSql(claims, now, cutoff)}),
    locked as (
      insert into devstack.inngest_limits (scope, key, tat_ms)
      select limit_key.scope, limit_key.key, '-Infinity'
      from jsonb_to_recordset(${JSON.stringify(limits)}::jsonb) as limit_key(scope text, key text)
      on conflict (scope, key) do update set tat_ms = devstack.inngest_limits.tat_ms
      returning scope, key, tat_ms
    )
    select (select count(*)::int from claimed) as claimed,
           coalesce((select jsonb_agg(jsonb_build_array(scope, key, tat_ms::text)) from locked), '[]') as tats`.execute(
    db,
  );
  const row = result.rows[0];
  const locked = new Map((row?.tats ?? []).map(([scope, key, tat]) => [`${scope}\n${key}`, Number(tat)]));
  return {
    claimed: (row?.claimed ?? 0) === claims.length,
    tats: limits.map(({ scope, key }) => {
      const tat = locked.get(`${scope}\n${key}`);
      return tat !== undefined && Number.isFinite(tat) ? tat : null;
    }),
  };
}
