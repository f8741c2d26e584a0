-- Voice callbacks that arrive together are recorded together: app.record_call_reports runs
-- app.record_call_report for each report of a batch in one statement, so one transaction, one
-- commit and one round trip serve them all. The API's webhooks queue the callbacks that arrive
-- while earlier batches are in flight (apps/api statement-batches.ts) and answer each one only
-- after its batch committed: a callback answered 200 is still never lost.
--
-- Measured on the PostgreSQL server (2 cores): 1.1-1.2 ms of server CPU a callback one by one,
-- 0.3-0.4 ms in batches of 16-64; the commit and the per-statement work were most of it.
--
-- The reports run in the batch's order; each statement of record_call_report sees what the
-- reports before it wrote (a repeat of a receipt in the same batch is a repeat). A batch that
-- fails (a deadlock with another batch, any error) has written nothing: the API then records
-- its reports one by one, so one report's error is that report's alone.
create function app.record_call_reports(
  -- [{ receiptId, receiptKind, called, unownedNote, caller, call, settle }], as
  -- record_call_report takes them one by one.
  p_reports jsonb,
  p_status_order text[],
  p_final_statuses text[]
) returns table (
  result text,
  organization_id text,
  answered_min_seconds integer,
  inserted boolean,
  settled boolean,
  call jsonb
)
language sql
security definer
set search_path = ''
as $$
  select recorded.*
    from jsonb_array_elements(p_reports) with ordinality as report(facts, ordinal)
   cross join lateral app.record_call_report(
     report.facts ->> 'receiptId',
     report.facts ->> 'receiptKind',
     report.facts ->> 'called',
     report.facts ->> 'unownedNote',
     report.facts ->> 'caller',
     report.facts -> 'call',
     p_status_order,
     p_final_statuses,
     nullif(report.facts -> 'settle', 'null'::jsonb)
   ) as recorded
   order by report.ordinal
$$;

alter function app.record_call_reports(jsonb, text[], text[]) owner to service_role;
revoke all on function app.record_call_reports(jsonb, text[], text[]) from public, anon, authenticated;
grant execute on function app.record_call_reports(jsonb, text[], text[]) to service_role;
