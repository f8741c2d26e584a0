// Runs and their memoised steps. A step, once recorded, keeps its first result: a result
// that arrives twice (a checkpoint and the response after it, a retried request) is ignored.
import { sql } from "kysely";
import { canonicalJson } from "../expression.ts";
import type { EventPayload, RunState, RunStatus } from "../run-state.ts";
import { type Db, json } from "./schema.ts";

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
  return list.length ? sql.join(list) : sql`run_id = run_id`;
}

export interface Claim {
  scope: string;
  key: string;
}

/** A run to create, unless one of its claims names a key already claimed since the cutoff. */
export interface NewRun {
  run: RunState;
  claims: Claim[];
}

/**
 * Records the claims as seen (a key seen before `cutoff` counts as new) and inserts each run
 * whose claims were all new; its rows are the run ids inserted. A part of a statement (CTEs
 * `claimed` and `created`), so that a run is created with its claims, atomically.
 */
export function createRunsSql(runs: NewRun[], eventJson: string, now: Date, cutoff: Date) {
  const claims = runs.flatMap(({ claims }) => claims);
  const rows = runs.map(({ run, claims }) => ({
    run_id: run.runId,
    function_id: run.functionId,
    start_at: run.nextAt.toISOString(),
    concurrency_keys: run.concurrencyKeys,
    claims,
  }));
  return sql`
    claimed as (${claimsSql(claims, now, cutoff)}),
    created as (
      insert into devstack.inngest_runs (run_id, function_id, event, status, next_at, created_at, start_at, concurrency_keys)
      select run.run_id, run.function_id, ${eventJson}::jsonb, 'pending', run.start_at, ${now}, run.start_at,
             run.concurrency_keys
      from jsonb_to_recordset(${json(rows)}) as run(run_id text, function_id text, start_at timestamptz,
                                                    concurrency_keys text[], claims jsonb)
      where not exists (
        select 1 from jsonb_to_recordset(run.claims) as mine(scope text, key text)
        where not exists (select 1 from claimed where claimed.scope = mine.scope and claimed.key = mine.key))
      returning run_id
    )`;
}

/** One statement: saves the limits' new states and inserts the run (its claims were made when the limits were locked). */
export async function insertLimitedRun(db: Db, run: RunState, limits: LimitState[]): Promise<void> {
  await sql`
    with saved as (
      update devstack.inngest_limits as limit_state set tat_ms = saving.tat_ms
      from jsonb_to_recordset(${json(limits)}) as saving(scope text, key text, tat_ms double precision)
      where limit_state.scope = saving.scope and limit_state.key = saving.key
    )
    insert into devstack.inngest_runs (run_id, function_id, event, status, next_at, created_at, start_at, concurrency_keys)
    values (${run.runId}, ${run.functionId}, ${run.eventJson}::jsonb, 'pending', ${run.nextAt}, ${run.createdAt},
            ${run.nextAt}, ${run.concurrencyKeys}::text[])`.execute(db);
}

export interface LimitState {
  scope: string;
  key: string;
  /** GCRA's theoretical arrival time (gcra.ts), ms. */
  tat_ms: number;
}

export const claimsSql = (claims: Claim[], now: Date, cutoff: Date) => sql`
  insert into devstack.inngest_seen_keys (scope, key, seen_at)
  select claim.scope, claim.key, ${now} from jsonb_to_recordset(${json(claims)}) as claim(scope text, key text)
  on conflict (scope, key) do update set seen_at = excluded.seen_at
    where devstack.inngest_seen_keys.seen_at < ${cutoff}
  returning scope, key`;

interface RunRow {
  run_id: string;
  function_id: string;
  event: EventPayload;
  status: RunStatus;
  attempt: number;
  next_at: Date;
  next_step: string;
  planned: string[];
  disable_immediate: boolean;
  pending_step: string | null;
  concurrency_keys: string[];
  created_at: Date;
  steps: Array<[string, unknown]>;
}

/** One statement: the run with its memoised steps in order. */
export async function loadRun(db: Db, runId: string): Promise<RunState | null> {
  const result = await sql<RunRow>`
    select r.run_id, r.function_id, r.event, r.status, r.attempt, r.next_at, r.next_step, r.planned,
           r.disable_immediate, r.pending_step, r.concurrency_keys, r.created_at,
           coalesce((select jsonb_agg(jsonb_build_array(s.step_id, s.result) order by s.position)
                       from devstack.inngest_steps s where s.run_id = r.run_id), '[]') as steps
    from devstack.inngest_runs r where r.run_id = ${runId}`.execute(db);
  const row = result.rows[0];
  if (!row) return null;
  return {
    runId: row.run_id,
    functionId: row.function_id,
    event: row.event,
    eventJson: canonicalJson(row.event),
    createdAt: new Date(row.created_at),
    concurrencyKeys: row.concurrency_keys ?? [],
    status: row.status,
    attempt: row.attempt,
    nextAt: new Date(row.next_at),
    nextStep: row.next_step,
    planned: row.planned,
    disableImmediate: row.disable_immediate,
    pendingStep: row.pending_step,
    steps: new Map(row.steps.map(([stepId, result]) => [stepId, canonicalJson(result)])),
  };
}

export interface RecordedStep {
  stepId: string;
  /** Canonical JSON of `{ data }` or `{ error }`. */
  resultJson: string;
}

/**
 * One statement (so atomic without a transaction): memoises steps after the `known` ones
 * already recorded, and applies the patch to the run when there is one.
 */
export async function recordSteps(
  db: Db,
  runId: string,
  known: number,
  steps: RecordedStep[],
  patch: RunPatch | null,
): Promise<void> {
  const rows = `[${steps
    .map(
      (step, index) =>
        `{"step_id":${JSON.stringify(step.stepId)},"position":${known + index},"result":${step.resultJson}}`,
    )
    .join(",")}]`;
  const insert = sql`
    insert into devstack.inngest_steps (run_id, step_id, position, result)
    select ${runId}, step.step_id, step.position, step.result
    from jsonb_to_recordset(${rows}::jsonb) as step(step_id text, position int, result jsonb)
    on conflict (run_id, step_id) do nothing`;
  if (!patch) {
    await insert.execute(db);
    return;
  }
  await sql`
    with recorded as (${insert})
    update devstack.inngest_runs set ${assignments(patch)} where run_id = ${runId}`.execute(db);
}

export async function updateRun(db: Db, runId: string, patch: RunPatch): Promise<void> {
  await sql`update devstack.inngest_runs set ${assignments(patch)} where run_id = ${runId}`.execute(db);
}

/**
 * One statement: ends a sleep or wait with the step's result, unless something else ended
 * it first (a matching event, the timeout). True when this call ended it. Steps run in the
 * call again from here, as Inngest resets ForceStepPlan on resume (force_step_plan.go).
 */
export async function resumeParked(db: Db, runId: string, stepId: string, resultJson: string, now: Date) {
  const result = await sql<{ resumed: number }>`
    with resumed as (
      update devstack.inngest_runs
      set status = 'pending', next_at = ${now}, attempt = 0, pending_step = null, wait_event = null, wait_if = null,
          wait_match = null, disable_immediate = false
      where run_id = ${runId} and status in ('sleeping', 'waiting') and pending_step = ${stepId}
      returning run_id
    ), recorded as (
      insert into devstack.inngest_steps (run_id, step_id, position, result)
      select run_id, ${stepId},
             (select coalesce(max(position) + 1, 0) from devstack.inngest_steps where run_id = ${runId}),
             ${resultJson}::jsonb
      from resumed
      on conflict (run_id, step_id) do nothing
    )
    select count(*)::int as resumed from resumed`.execute(db);
  return (result.rows[0]?.resumed ?? 0) > 0;
}

/** What the scheduler needs to know of a run to start driving it. */
export interface ReadyRun {
  runId: string;
  functionId: string;
  concurrencyKeys: string[];
}

/**
 * The unfinished runs that need the executor soonest, leaving out those it is driving and
 * those holding a concurrency key that has no capacity left.
 */
export async function upcomingRuns(
  db: Db,
  options: { driving: string[]; saturatedKeys: string[]; limit: number },
): Promise<Array<ReadyRun & { nextAt: Date }>> {
  const result = await sql<{ run_id: string; function_id: string; concurrency_keys: string[]; next_at: Date }>`
    select run_id, function_id, concurrency_keys, next_at from devstack.inngest_runs
    where status in ('pending', 'sleeping', 'waiting')
      and not (run_id = any(${options.driving}::text[]))
      and not (concurrency_keys && ${options.saturatedKeys}::text[])
    order by next_at, created_at limit ${options.limit}`.execute(db);
  return result.rows.map((row) => ({
    runId: row.run_id,
    functionId: row.function_id,
    concurrencyKeys: row.concurrency_keys ?? [],
    nextAt: new Date(row.next_at),
  }));
}

/** Runs with a request to make, now or after a delay (retry, throttle); parked ones do not count. */
export async function countPending(db: Db): Promise<number> {
  const result = await sql<{ count: number | string }>`
    select count(*) as count from devstack.inngest_runs where status = 'pending'`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

export type RunListRow = {
  run_id: string;
  function_id: string;
  status: RunStatus;
  event: EventPayload;
  attempt: number;
  step_count: number | string;
  output: unknown;
  error: unknown;
  created_at: Date;
  start_at: Date;
  ended_at: Date | null;
  next_at: Date;
  wait_event: string | null;
};

export async function listRuns(db: Db, limit: number): Promise<RunListRow[]> {
  const result = await sql<RunListRow>`
    select r.run_id, r.function_id, r.status, r.event, r.attempt, r.output, r.error, r.created_at, r.start_at,
           r.ended_at, r.next_at, r.wait_event,
           (select count(*) from devstack.inngest_steps s where s.run_id = r.run_id) as step_count
    from devstack.inngest_runs r order by r.created_at, r.run_id limit ${limit}`.execute(db);
  return result.rows;
}

export async function runExists(db: Db, runId: string): Promise<boolean> {
  const result = await sql`select 1 from devstack.inngest_runs where run_id = ${runId}`.execute(db);
  return result.rows.length > 0;
}
