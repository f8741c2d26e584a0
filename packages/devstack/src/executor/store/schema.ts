// The executor's durable state lives in its own schema (`devstack`) of the app's database:
// synced functions, events, seen event ids and idempotency keys, runs with their memoised
// steps, timers and waits, and the throttle and rate-limit state. Local-only machinery, so
// it is created here at start rather than in supabase/migrations; each statement is
// idempotent, and databases made by earlier versions are brought up to date.
//
// Every store function takes the Kysely instance or transaction to use: on PGlite (and
// through its socket, one connection) a transaction holds the only connection, so nothing
// inside one may reach for another.
import type { DB } from "@callflow/db";
import { type Kysely, sql } from "kysely";

export type Db = Kysely<DB>;

export const SCHEMA = "devstack";

const DDL = [
  `create schema if not exists ${SCHEMA}`,
  `create table if not exists ${SCHEMA}.inngest_functions (
    id text primary key,
    app_name text not null,
    app_url text not null,
    config jsonb not null,
    synced_at timestamptz not null default now()
  )`,
  `create table if not exists ${SCHEMA}.inngest_events (
    internal_id text primary key,
    id text not null,
    name text not null,
    payload jsonb not null,
    received_at timestamptz not null
  )`,
  `create index if not exists inngest_events_received on ${SCHEMA}.inngest_events (received_at)`,
  `create table if not exists ${SCHEMA}.inngest_seen_keys (
    scope text not null,
    key text not null,
    seen_at timestamptz not null,
    primary key (scope, key)
  )`,
  `create table if not exists ${SCHEMA}.inngest_runs (
    run_id text primary key,
    function_id text not null,
    event jsonb not null,
    status text not null check (status in ('pending', 'sleeping', 'waiting', 'completed', 'failed')),
    attempt int not null default 0,
    next_at timestamptz not null,
    next_step text not null default 'step',
    planned jsonb not null default '[]',
    disable_immediate boolean not null default false,
    pending_step text,
    wait_event text,
    wait_if text,
    output jsonb,
    error jsonb,
    created_at timestamptz not null,
    start_at timestamptz not null,
    ended_at timestamptz
  )`,
  // A wait's `<path>=<value>` equality on the awaited event (see asyncEqualityKey), to find it by.
  `alter table ${SCHEMA}.inngest_runs add column if not exists wait_match text`,
  // The concurrency keys a run holds while a request of it is in flight.
  `alter table ${SCHEMA}.inngest_runs add column if not exists concurrency_keys text[] not null default '{}'`,
  // Throttling is GCRA state now (inngest_limits), not a scan of recent starts.
  `drop index if exists ${SCHEMA}.inngest_runs_throttle`,
  `alter table ${SCHEMA}.inngest_runs drop column if exists throttle_key`,
  `create index if not exists inngest_runs_due on ${SCHEMA}.inngest_runs (next_at)
     where status in ('pending', 'sleeping', 'waiting')`,
  `create index if not exists inngest_runs_waits on ${SCHEMA}.inngest_runs (wait_event, wait_match)
     where status = 'waiting'`,
  `create table if not exists ${SCHEMA}.inngest_steps (
    run_id text not null references ${SCHEMA}.inngest_runs (run_id) on delete cascade,
    step_id text not null,
    position int not null,
    result jsonb not null,
    recorded_at timestamptz not null default now(),
    primary key (run_id, step_id)
  )`,
  // GCRA: the theoretical arrival time of the next admission, per throttle or rate-limit key.
  `create table if not exists ${SCHEMA}.inngest_limits (
    scope text not null,
    key text not null,
    tat_ms double precision not null,
    primary key (scope, key)
  )`,
  // The last cron tick that started a run, per function and schedule (cron-ticker.ts).
  `create table if not exists ${SCHEMA}.inngest_cron_ticks (
    function_id text not null,
    cron text not null,
    last_tick timestamptz not null,
    primary key (function_id, cron)
  )`,
];

export async function ensureSchema(db: Db): Promise<void> {
  for (const statement of DDL) await sql.raw(statement).execute(db);
}

/** A value as a jsonb parameter. */
export const json = (value: unknown) => sql`${JSON.stringify(value ?? null)}::jsonb`;

/** Ids and keys seen more than a day ago go, and limit states that no longer limit anything. */
export async function pruneExpired(db: Db, now: number): Promise<void> {
  const dayAgo = new Date(now - 24 * 60 * 60 * 1000);
  await sql`delete from devstack.inngest_seen_keys where seen_at < ${dayAgo}`.execute(db);
  // A TAT in the past admits as no state does.
  await sql`delete from devstack.inngest_limits where tat_ms < ${now}`.execute(db);
}
