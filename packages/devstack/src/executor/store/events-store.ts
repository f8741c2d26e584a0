// Received events, each stored once per internal id (a send the SDK retries with its seed
// has the same ids), with the runs they create and the waits they may end found in the same
// statement.
import { sql } from "kysely";
import type { EventPayload } from "../run-state.ts";
import { createRunsSql, type NewRun } from "./runs-store.ts";
import type { Db } from "./schema.ts";

export interface StoredEvent {
  internalId: string;
  id: string;
  name: string;
  /** The event as canonical JSON: its payload, and the event of the runs it creates. */
  payloadJson: string;
}

/** A run parked on a wait the event may end. */
export interface ParkedRun {
  run_id: string;
  function_id: string;
  concurrency_keys: string[];
  event: EventPayload;
  pending_step: string;
  wait_if: string | null;
}

/**
 * One statement: stores the event, creates the runs whose claims are new (createRunsSql),
 * and reads the runs waiting for this event name that it may end: waits without an indexed
 * equality, and those whose equality is among the event's `keys` (all of them when null),
 * oldest first. The runs it creates are not among them (a statement sees the rows as they
 * were before it).
 */
export async function storeEvent(
  db: Db,
  event: StoredEvent,
  runs: NewRun[],
  keys: string[] | null,
  now: Date,
  cutoff: Date,
): Promise<{ created: string[]; waits: ParkedRun[] }> {
  const result = await sql<{ created: string[]; waits: ParkedRun[] }>`
    with recorded as (
      insert into devstack.inngest_events (internal_id, id, name, payload, received_at)
      values (${event.internalId}, ${event.id}, ${event.name}, ${event.payloadJson}::jsonb, ${now})
      on conflict (internal_id) do nothing
    ),
    ${createRunsSql(runs, event.payloadJson, now, cutoff)}
    select coalesce((select jsonb_agg(run_id) from created), '[]') as created,
           coalesce((
             select jsonb_agg(jsonb_build_object('run_id', run_id, 'function_id', function_id,
                                                 'concurrency_keys', concurrency_keys, 'event', event,
                                                 'pending_step', pending_step, 'wait_if', wait_if)
                              order by created_at)
             from devstack.inngest_runs
             where status = 'waiting' and wait_event = ${event.name} and pending_step is not null
               ${keys ? sql`and (wait_match is null or wait_match = any(${keys}::text[]))` : sql``}
           ), '[]') as waits`.execute(db);
  const row = result.rows[0];
  return { created: row?.created ?? [], waits: row?.waits ?? [] };
}
