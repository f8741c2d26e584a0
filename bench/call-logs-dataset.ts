// The call list's data set (3 orgs of equal size in call_logs) and the list's page query,
// shared by rls-pagination (SQL alone) and api-calls-list (over HTTP).
import type { Database, SessionClaims, Tx } from "@callflow/db";
import { sql } from "kysely";

export const ORGS = ["org_bench_a", "org_bench_b", "org_bench_c"] as const;
export const TENANT_ORG = ORGS[0];
export const TENANT: SessionClaims = { sub: "user_bench", o: { id: TENANT_ORG, rol: "admin" } };
export const PAGE_SIZE = 50;
const CHUNK_ROWS = 250_000;

/** The server database holding `perOrg` rows per org: one per size, so a quick run keeps the full data. */
export const callLogsDatabase = (perOrg: number) => `callflow_bench_${perOrg}`;

async function rowsPerOrg(database: Database): Promise<number | undefined> {
  const { rows } = await sql<{ organization_id: string; n: number }>`
    select organization_id, count(*)::int as n from public.call_logs group by organization_id`.execute(database.owner);
  const sizes = new Set(ORGS.map((org) => rows.find((row) => row.organization_id === org)?.n ?? -1));
  const [size] = [...sizes];
  return rows.length === ORGS.length && sizes.size === 1 && size !== undefined && size > 0 ? size : undefined;
}

/**
 * `perOrg` rows for each org unless the table holds exactly that. Deterministic values:
 * CallSid `CA` + md5, outcome cycling, started_at spread over a year by a multiplicative
 * hash (time order uncorrelated with heap order: the unfavourable case for a page). Loading
 * stops at the first chunk past `budgetSeconds` (PGlite loads ~10k rows/s); the rows per
 * org in the table are returned.
 */
export async function ensureCallLogs(database: Database, perOrg: number, budgetSeconds: number): Promise<number> {
  const existing = await rowsPerOrg(database);
  if (existing === perOrg) return existing;
  const started = performance.now();
  await sql`truncate public.call_logs cascade`.execute(database.owner);
  await sql`delete from public.organizations where id in (${sql.join([...ORGS])})`.execute(database.owner);
  await database.owner
    .insertInto("organizations")
    .values(ORGS.map((id) => ({ id, name: `Bench ${id.slice(-1).toUpperCase()}` })))
    .execute();
  const { rows } = await sql<{ now: string; superuser: boolean }>`
    select date_trunc('second', now())::text as now,
           (select rolsuper from pg_roles where rolname = current_user) as superuser`.execute(database.owner);
  const { now, superuser } = rows[0] as { now: string; superuser: boolean };
  let loaded = 0;
  while (loaded < perOrg && (loaded === 0 || performance.now() - started < budgetSeconds * 1000)) {
    const next = Math.min(perOrg, loaded + CHUNK_ROWS);
    for (const org of ORGS) {
      await database.owner.transaction().execute(async (tx) => {
        // The org rows exist: a superuser may skip the per-row foreign key triggers (~30% of the load).
        if (superuser) await sql`set local session_replication_role = replica`.execute(tx);
        await insertChunk(tx, org, loaded + 1, next, now);
      });
    }
    loaded = next;
    console.log(`  loaded ${loaded.toLocaleString("en-US")} call_logs per org in ${elapsed(started)}`);
  }
  // vacuum also sets hint bits and the visibility map, so the first timed reads do not pay for them.
  await sql`vacuum (analyze) public.call_logs`.execute(database.owner);
  console.log(`data: ${(loaded * ORGS.length).toLocaleString("en-US")} call_logs ready in ${elapsed(started)}`);
  return loaded;
}

const elapsed = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`;

function insertChunk(tx: Tx, org: string, from: number, to: number, now: string) {
  return sql`
    insert into public.call_logs
      (organization_id, call_sid, from_number, to_number, direction, status, outcome,
       duration_seconds, started_at, ended_at, created_at, updated_at)
    select ${org}, 'CA' || md5(${org}::text || ':' || g),
           '+1555' || lpad(((g::bigint * 7919) % 10000000)::text, 7, '0'), '+15550000000', 'inbound', 'completed',
           (array['missed', 'answered', 'voicemail'])[g % 3 + 1], d.duration, t.started_at,
           t.started_at + make_interval(secs => d.duration), t.started_at + make_interval(secs => d.duration),
           t.started_at + make_interval(secs => d.duration)
    from generate_series(${from}::int, ${to}::int) as g
    cross join lateral (
      select ${now}::timestamptz - make_interval(secs => ((g::bigint * 2654435761) % 31536000)::int) as started_at
    ) as t
    cross join lateral (
      select case g % 3 when 0 then 0 when 1 then 20 + g % 600 else 10 + g % 60 end as duration
    ) as d`.execute(tx);
}

export interface Cursor {
  started_at: Date;
  id: string;
}

export type Mode = "tenant" | "service";

/**
 * The dashboard's list, newest first with a keyset cursor. Tenant mode has no org filter:
 * the RLS policy does it. Service mode bypasses RLS and filters by org itself.
 */
export function pageQuery(tx: Tx, mode: Mode, cursor: Cursor | undefined) {
  let query = tx.selectFrom("call_logs").selectAll();
  if (mode === "service") query = query.where("organization_id", "=", TENANT_ORG);
  if (cursor)
    query = query.where(sql<boolean>`(started_at, id) < (${cursor.started_at}::timestamptz, ${cursor.id}::uuid)`);
  return query.orderBy("started_at", "desc").orderBy("id", "desc").limit(PAGE_SIZE);
}

/** One page through withTenant or withService. */
export function page(database: Database, mode: Mode, cursor?: Cursor) {
  const run = <T>(fn: (tx: Tx) => Promise<T>) =>
    mode === "tenant" ? database.withTenant(TENANT, fn) : database.withService(fn);
  return run((tx) => pageQuery(tx, mode, cursor).execute());
}
