-- Message status callbacks that arrive together are recorded together, as voice callbacks are
-- (app.record_call_reports): app.record_message_statuses runs app.record_message_status for
-- each report of a batch, in order, in one statement. A message has three or four callbacks,
-- and a campaign's (or a carrier outage's end) arrive in waves. The API batches only what queued
-- while earlier statements were in flight, answers each callback after its batch committed, and
-- records a failed batch's reports one by one (apps/api statement-batches.ts).
create function app.record_message_statuses(
  -- [{ receiptId, sid, messageId, reported, incoming, errorCode, errorMessage, errorKind,
  --    payload, source, at, eventData }], as record_message_status takes them one by one.
  p_reports jsonb,
  p_progress jsonb,
  p_failures text[],
  p_delivered text[]
) returns table (
  result text,
  note text,
  organization_id text,
  status text
)
language sql
security definer
set search_path = ''
as $$
  select recorded.*
    from jsonb_array_elements(p_reports) with ordinality as report(facts, ordinal)
   cross join lateral app.record_message_status(
     report.facts ->> 'receiptId',
     report.facts ->> 'sid',
     (report.facts ->> 'messageId')::uuid,
     report.facts ->> 'reported',
     report.facts ->> 'incoming',
     p_progress,
     p_failures,
     p_delivered,
     (report.facts ->> 'errorCode')::integer,
     report.facts ->> 'errorMessage',
     report.facts ->> 'errorKind',
     report.facts -> 'payload',
     report.facts ->> 'source',
     (report.facts ->> 'at')::timestamptz,
     report.facts -> 'eventData'
   ) as recorded
   order by report.ordinal
$$;

alter function app.record_message_statuses(jsonb, jsonb, text[], text[]) owner to service_role;
revoke all on function app.record_message_statuses(jsonb, jsonb, text[], text[]) from public, anon, authenticated;
grant execute on function app.record_message_statuses(jsonb, jsonb, text[], text[]) to service_role;
