// The dev executor's durable state, in its own schema (`devstack`) of the app's database:
// synced functions, events, seen event ids and idempotency keys, runs with their memoised
// steps, timers and waits. Local-only machinery, so it is created here at start rather
// than in supabase/migrations. Every function takes the Kysely instance or transaction to
// use: on PGlite a transaction holds the only connection, so nothing inside one may reach
// for another.
import type { DB } from "@callflow/db";
import { type Kysely, sql } from "kysely";

export type Db = Kysely<DB>;

export type RunStatus = "pending" | "sleeping" | "waiting" | "completed" | "failed";

/** The event as a function sees it. */
export interface EventPayload {
  id: string;
  name: string;
  data: Record<string, unknown>;
  ts: number;
  user?: Record<string, unknown>;
  v?: string;
}

/** A memoised step: the SDK's `{ data }` or `{ error }`. */
export type StepResult = { data: unknown } | { error: unknown };

export interface RunRow {
  run_id: string;
  function_id: string;
  event: EventPayload;
  status: RunStatus;
  /** The attempt of the current request (reset when a step completes). */
  attempt: number;
  /** When the run next needs the executor: its next request, a timer, or a wait's timeout. */
  next_at: Date;
  /** The `stepId` of the next request: "step", or a planned or retried step's hashed id. */
  next_step: string;
  /** Steps the SDK planned and the executor has yet to run, in order. */
  planned: string[];
  disable_immediate: boolean;
  /** The Sleep or WaitForEvent step the run is parked on. */
  pending_step: string | null;
  wait_event: string | null;
  wait_if: string | null;
  wait_match: string | null;
  throttle_key: string | null;
  output: unknown;
  error: unknown;
  created_at: Date;
  start_at: Date;
  ended_at: Date | null;
}

export interface StepRow {
  step_id: string;
  position: number;
  result: StepResult;
}

export interface FunctionRow {
  id: string;
  app_name: string;
  app_url: string;
  config: Record<string, unknown>;
}

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
    throttle_key text,
    output jsonb,
    error jsonb,
    created_at timestamptz not null,
    start_at timestamptz not null,
    ended_at timestamptz
  )`,
  `create index if not exists inngest_runs_due on ${SCHEMA}.inngest_runs (next_at)
     where status in ('pending', 'sleeping', 'waiting')`,
  // A wait's `<path>=<value>` equality on the awaited event (see asyncEqualityKey), to find it by.
  `alter table ${SCHEMA}.inngest_runs add column if not exists wait_match text`,
  `create index if not exists inngest_runs_waits on ${SCHEMA}.inngest_runs (wait_event, wait_match)
     where status = 'waiting'`,
  `create index if not exists inngest_runs_throttle on ${SCHEMA}.inngest_runs (function_id, throttle_key, start_at desc)
     where throttle_key is not null`,
  `create table if not exists ${SCHEMA}.inngest_steps (
    run_id text not null references ${SCHEMA}.inngest_runs (run_id) on delete cascade,
    step_id text not null,
    position int not null,
    result jsonb not null,
    recorded_at timestamptz not null default now(),
    primary key (run_id, step_id)
  )`,
];

export async function ensureSchema(db: Db): Promise<void> {
  for (const statement of DDL) await sql.raw(statement).execute(db);
}

const json = (value: unknown) => sql`${JSON.stringify(value ?? null)}::jsonb`;

// ---- functions

export async function loadFunctions(db: Db): Promise<FunctionRow[]> {
  const result = await sql<FunctionRow>`select id, app_name, app_url, config from devstack.inngest_functions`.execute(
    db,
  );
  return result.rows;
}

/** An app's sync: its functions replace the ones it synced before. */
export async function replaceAppFunctions(
  db: Db,
  appName: string,
  appUrl: string,
  functions: Array<{ id: string; config: unknown }>,
): Promise<{ removed: string[] }> {
  return db.transaction().execute(async (trx) => {
    const before = await sql<{
      id: string;
    }>`select id from devstack.inngest_functions where app_name = ${appName}`.execute(trx);
    const keep = new Set(functions.map((fn) => fn.id));
    const removed = before.rows.map((row) => row.id).filter((id) => !keep.has(id));
    for (const id of removed) await sql`delete from devstack.inngest_functions where id = ${id}`.execute(trx);
    for (const fn of functions) {
      await sql`
        insert into devstack.inngest_functions (id, app_name, app_url, config, synced_at)
        values (${fn.id}, ${appName}, ${appUrl}, ${json(fn.config)}, now())
        on conflict (id) do update set app_name = excluded.app_name, app_url = excluded.app_url,
          config = excluded.config, synced_at = excluded.synced_at`.execute(trx);
    }
    return { removed };
  });
}

// ---- events, dedupe, idempotency

/** True when `key` is new in `scope` (or last seen before `cutoff`); records it either way. */
export async function claimKey(db: Db, scope: string, key: string, now: Date, cutoff: Date): Promise<boolean> {
  const result = await sql<{ key: string }>`
    insert into devstack.inngest_seen_keys (scope, key, seen_at) values (${scope}, ${key}, ${now})
    on conflict (scope, key) do update set seen_at = excluded.seen_at
      where devstack.inngest_seen_keys.seen_at < ${cutoff}
    returning key`.execute(db);
  return result.rows.length > 0;
}

export async function pruneSeenKeys(db: Db, cutoff: Date): Promise<void> {
  await sql`delete from devstack.inngest_seen_keys where seen_at < ${cutoff}`.execute(db);
}

export async function insertEvent(db: Db, internalId: string, event: EventPayload, now: Date): Promise<void> {
  await sql`
    insert into devstack.inngest_events (internal_id, id, name, payload, received_at)
    values (${internalId}, ${event.id}, ${event.name}, ${json(event)}, ${now})
    on conflict (internal_id) do nothing`.execute(db);
}

// ---- runs

export async function insertRun(
  db: Db,
  run: { runId: string; functionId: string; event: EventPayload; now: Date; startAt: Date; throttleKey: string | null },
): Promise<void> {
  await sql`
    insert into devstack.inngest_runs (run_id, function_id, event, status, next_at, created_at, start_at, throttle_key)
    values (${run.runId}, ${run.functionId}, ${json(run.event)}, 'pending', ${run.startAt}, ${run.now}, ${run.startAt},
            ${run.throttleKey})`.execute(db);
}

/** Throttle: the latest `limit` start times of a function's runs with this key, newest first. */
export async function recentStarts(db: Db, functionId: string, key: string, limit: number): Promise<Date[]> {
  await sql`select pg_advisory_xact_lock(hashtext(${`${functionId}|${key}`}))`.execute(db);
  const result = await sql<{ start_at: Date }>`
    select start_at from devstack.inngest_runs where function_id = ${functionId} and throttle_key = ${key}
    order by start_at desc limit ${limit}`.execute(db);
  return result.rows.map((row) => new Date(row.start_at));
}

/**
 * Runs parked on a wait for this event name that it may match, locked for the caller's
 * transaction: waits without an indexed equality, and those whose equality is among the
 * event's `keys` (all of them when `keys` is null).
 */
export async function waitingFor(db: Db, eventName: string, keys: string[] | null): Promise<RunRow[]> {
  const result = await sql<RunRow>`
    select * from devstack.inngest_runs
    where status = 'waiting' and wait_event = ${eventName}
      ${keys ? sql`and (wait_match is null or wait_match = any(${keys}::text[]))` : sql``}
    order by created_at for update`.execute(db);
  return result.rows;
}

/** Ends a sleep or wait with the step's result, unless something else ended it first. */
export async function resumeParked(
  db: Db,
  runId: string,
  stepId: string,
  result: StepResult,
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => resumeParkedIn(trx, runId, stepId, result, now));
}

export async function resumeParkedIn(
  trx: Db,
  runId: string,
  stepId: string,
  result: StepResult,
  now: Date,
): Promise<boolean> {
  const updated = await sql<{ run_id: string }>`
    update devstack.inngest_runs
    set status = 'pending', next_at = ${now}, attempt = 0, pending_step = null, wait_event = null, wait_if = null,
        wait_match = null
    where run_id = ${runId} and status in ('sleeping', 'waiting') and pending_step = ${stepId}
    returning run_id`.execute(trx);
  if (updated.rows.length === 0) return false;
  await appendSteps(trx, runId, [{ stepId, result }]);
  return true;
}

export async function loadRun(db: Db, runId: string): Promise<{ run: RunRow; steps: StepRow[] } | null> {
  const run = await sql<RunRow>`select * from devstack.inngest_runs where run_id = ${runId}`.execute(db);
  const row = run.rows[0];
  if (!row) return null;
  const steps = await sql<StepRow>`
    select step_id, position, result from devstack.inngest_steps where run_id = ${runId} order by position`.execute(db);
  return { run: { ...row, next_at: new Date(row.next_at) }, steps: steps.rows };
}

/** Memoises step results, in order; a step already recorded keeps its first result. */
export async function appendSteps(
  db: Db,
  runId: string,
  steps: Array<{ stepId: string; result: StepResult }>,
): Promise<void> {
  for (const step of steps) {
    await sql`
      insert into devstack.inngest_steps (run_id, step_id, position, result)
      values (${runId}, ${step.stepId},
              (select coalesce(max(position) + 1, 0) from devstack.inngest_steps where run_id = ${runId}),
              ${json(step.result)})
      on conflict (run_id, step_id) do nothing`.execute(db);
  }
}

/**
 * One statement (so atomic without a transaction): memoises steps at the given positions (a
 * step already recorded keeps its first result) and updates the run.
 */
export async function commitSteps(
  db: Db,
  runId: string,
  steps: Array<{ step_id: string; position: number; result: StepResult }>,
  patch: RunPatch,
): Promise<void> {
  await sql`
    with recorded as (
      insert into devstack.inngest_steps (run_id, step_id, position, result)
      select ${runId}, step.step_id, step.position, step.result
      from jsonb_to_recordset(${json(steps)}) as step(step_id text, position int, result jsonb)
      on conflict (run_id, step_id) do nothing
    )
    update devstack.inngest_runs set ${assignments(patch)} where run_id = ${runId}`.execute(db);
}

export interface RunPatch {
  status?: RunStatus;
  attempt?: number;
  next_at?: Date;
  next_step?: string;
  planned?: string[];
  disable_immediate?: boolean;
  pending_step?: string | null;
  wait_event?: string | null;
  wait_if?: string | null;
  wait_match?: string | null;
  output?: unknown;
  error?: unknown;
  ended_at?: Date | null;
}

const JSON_COLUMNS = new Set(["planned", "output", "error"]);

function assignments(patch: RunPatch) {
  const list = Object.entries(patch)
    .filter(([, value]) => value !== undefined)
    .map(([column, value]) => sql`${sql.ref(column)} = ${JSON_COLUMNS.has(column) ? json(value) : value}`);
  // A patch always sets something; run_id = run_id keeps the statement valid if not.
  return list.length ? sql.join(list) : sql`run_id = run_id`;
}

export async function updateRun(db: Db, runId: string, patch: RunPatch): Promise<void> {
  await sql`update devstack.inngest_runs set ${assignments(patch)} where run_id = ${runId}`.execute(db);
}

/** The earliest moments unfinished runs need the executor. */
export async function upcoming(db: Db, limit: number): Promise<Array<{ run_id: string; next_at: Date }>> {
  const result = await sql<{ run_id: string; next_at: Date }>`
    select run_id, next_at from devstack.inngest_runs where status in ('pending', 'sleeping', 'waiting')
    order by next_at, created_at limit ${limit}`.execute(db);
  return result.rows.map((row) => ({ run_id: row.run_id, next_at: new Date(row.next_at) }));
}

export async function countPending(db: Db): Promise<number> {
  const result = await sql<{ count: number | string }>`
    select count(*) as count from devstack.inngest_runs where status = 'pending'`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

export async function listRuns(db: Db): Promise<Array<RunRow & { step_count: number | string }>> {
  const result = await sql<RunRow & { step_count: number | string }>`
    select r.*, (select count(*) from devstack.inngest_steps s where s.run_id = r.run_id) as step_count
    from devstack.inngest_runs r order by r.created_at, r.run_id`.execute(db);
  return result.rows;
}
