-- A voice callback in one round trip (issue 13): the receipt, the caller's contact, the call's
-- log and, when the report alone settles the call, its outcome and call/completed outbox row,
-- written by one call of this function with no transaction around it (one statement: all of
-- it or nothing). It replaces a transaction of 7+ statements that the API compiled one by one.
--
-- What it does not decide: outcomes and events are the API's (packages/domain's
-- settleCallOutcome, inngest/src/events.ts). The API passes, for the org it expects to own the
-- number, the outcome the report settles for each range of that org's answered_min_seconds,
-- and the event as built there; this picks the range. A row that already existed comes back
-- unsettled for the API to settle in a second statement (and the overdue-call sweep settles
-- an ended call that a crash left between the two).
--
-- Runs as service_role (security definer, owned by it), as withService would: the API calls it
-- as a statement of its own. search_path is empty: every name below is qualified.
create function app.record_call_report(
  -- The delivery's webhook_receipts id; null when the caller's transaction recorded it.
  p_receipt_id text,
  p_receipt_kind text,
  -- The called number as phone_numbers stores it (null: no number at all), and the receipt's
  -- note when nobody owns it.
  p_called text,
  p_unowned_note text,
  -- The caller's number in E.164, null when it is none (anonymous, client:...).
  p_caller text,
  -- The call_logs columns this callback reports (jsonb_populate_record), id included.
  p_call jsonb,
  -- packages/domain's callStatusOrder and finalCallStatuses: a status only moves forward.
  p_status_order text[],
  p_final_statuses text[],
  -- Null, or { organizationId, pieces: [{ upTo, outcome, source }] ascending, event: { id, name, data } }.
  p_settle jsonb
) returns table (
  result text,
  organization_id text,
  answered_min_seconds integer,
  inserted boolean,
  settled boolean,
  call jsonb
)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_org text;
  v_phone uuid;
  v_min integer;
  v_contact uuid;
  v_new public.call_logs;
  v_piece jsonb;
  v_call jsonb;
  v_inserted boolean;
begin
  select p.organization_id, p.id, o.answered_min_seconds
    into v_org, v_phone, v_min
    from public.phone_numbers p
    join public.organizations o on o.id = p.organization_id
   where p.e164 = p_called;
  if v_org is null then
    if p_receipt_id is not null then
      insert into public.webhook_receipts (provider, external_id, kind, organization_id, note)
      values ('twilio', p_receipt_id, p_receipt_kind, null, left(p_unowned_note, 500))
      on conflict (provider, external_id) do nothing;
    end if;
    return query select 'unowned'::text, null::text, null::integer, false, false, null::jsonb;
    return;
  end if;

  -- Concurrent deliveries wait on the unique index for the first one's commit: one goes on.
  if p_receipt_id is not null then
    insert into public.webhook_receipts (provider, external_id, kind, organization_id)
    values ('twilio', p_receipt_id, p_receipt_kind, v_org)
    on conflict (provider, external_id) do nothing;
    if not found then
      return query select 'repeat'::text, v_org, v_min, false, false, null::jsonb;
      return;
    end if;
  end if;

  -- do nothing + select rather than a no-op update: no row lock, no updated_at churn. Each
  -- statement of a volatile function takes a new snapshot: a contact committed meanwhile is seen.
  if p_caller is not null then
    insert into public.contacts (organization_id, e164) values (v_org, p_caller)
    on conflict on constraint contacts_organization_id_e164_key do nothing
    returning id into v_contact;
    if v_contact is null then
      select c.id into v_contact from public.contacts c where c.organization_id = v_org and c.e164 = p_caller;
    end if;
  end if;

  v_new := jsonb_populate_record(null::public.call_logs, p_call);
  -- The outcome the report alone settles, for this org's threshold; applied only on insert.
  if p_settle is not null and p_settle ->> 'organizationId' = v_org then
    select piece into v_piece
      from jsonb_array_elements(p_settle -> 'pieces') as piece
     where v_min <= (piece ->> 'upTo')::integer
     order by (piece ->> 'upTo')::integer
     limit 1;
    if v_piece ->> 'outcome' is not null then
      v_new.outcome := v_piece ->> 'outcome';
      v_new.outcome_source := v_piece ->> 'source';
      v_new.outcome_settled_at := now();
    end if;
  end if;

  insert into public.call_logs as c (
    id, organization_id, call_sid, phone_number_id, contact_id, from_number, to_number, direction,
    status, duration_seconds, answered_by, started_at, ended_at, voice_flow, forwarded_to, dial_status,
    dial_duration_seconds, voicemail_offered, recording_sid, recording_duration_seconds, recording_url,
    outcome, outcome_source, outcome_settled_at
  ) values (
    coalesce(v_new.id, gen_random_uuid()), v_org, v_new.call_sid, v_phone, v_contact, v_new.from_number,
    v_new.to_number, coalesce(v_new.direction, 'inbound'), v_new.status, v_new.duration_seconds,
    v_new.answered_by, coalesce(v_new.started_at, now()), v_new.ended_at, v_new.voice_flow,
    v_new.forwarded_to, v_new.dial_status, v_new.dial_duration_seconds,
    coalesce(v_new.voicemail_offered, false), v_new.recording_sid, v_new.recording_duration_seconds,
    v_new.recording_url, v_new.outcome, v_new.outcome_source, v_new.outcome_settled_at
  )
  on conflict (call_sid) do update set
    -- Callbacks arrive out of order: the status moves forward only, and a final one stays.
    status = case when c.status <> all (p_final_statuses)
                   and array_position(p_status_order, excluded.status) >= array_position(p_status_order, c.status)
                  then excluded.status else c.status end,
    duration_seconds = case when c.status <> all (p_final_statuses)
                   and array_position(p_status_order, excluded.status) >= array_position(p_status_order, c.status)
                  then coalesce(excluded.duration_seconds, c.duration_seconds) else c.duration_seconds end,
    answered_by = case when c.status <> all (p_final_statuses)
                   and array_position(p_status_order, excluded.status) >= array_position(p_status_order, c.status)
                  then coalesce(excluded.answered_by, c.answered_by) else c.answered_by end,
    ended_at = case when c.status <> all (p_final_statuses)
                   and array_position(p_status_order, excluded.status) >= array_position(p_status_order, c.status)
                  then coalesce(excluded.ended_at, c.ended_at) else c.ended_at end,
    started_at = least(c.started_at, excluded.started_at),
    contact_id = coalesce(c.contact_id, excluded.contact_id),
    phone_number_id = coalesce(c.phone_number_id, excluded.phone_number_id),
    -- The first answer of each fact is kept; a recording only grows.
    voice_flow = coalesce(c.voice_flow, excluded.voice_flow),
    forwarded_to = coalesce(c.forwarded_to, excluded.forwarded_to),
    dial_status = coalesce(c.dial_status, excluded.dial_status),
    dial_duration_seconds = coalesce(c.dial_duration_seconds, excluded.dial_duration_seconds),
    voicemail_offered = c.voicemail_offered or excluded.voicemail_offered,
    recording_sid = coalesce(excluded.recording_sid, c.recording_sid),
    recording_duration_seconds = greatest(c.recording_duration_seconds, excluded.recording_duration_seconds),
    recording_url = coalesce(excluded.recording_url, c.recording_url)
  -- CallSids are Twilio-wide: a row of another org is never touched.
  where c.organization_id = excluded.organization_id
  -- xmax is 0 on a row version this statement inserted, and set on one it updated.
  returning to_jsonb(c), c.xmax = 0 into v_call, v_inserted;

  if v_call is null then
    return query select 'foreign'::text, v_org, v_min, false, false, null::jsonb;
    return;
  end if;
  if v_inserted and v_new.outcome_settled_at is not null then
    insert into app.event_outbox (event_id, name, data)
    values (p_settle -> 'event' ->> 'id', p_settle -> 'event' ->> 'name', p_settle -> 'event' -> 'data')
    on conflict (event_id) do nothing;
  end if;
  return query select 'recorded'::text, v_org, v_min, v_inserted, v_inserted and v_new.outcome_settled_at is not null, v_call;
end
$$;

alter function app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb) owner to service_role;
revoke all on function app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb) from public, anon, authenticated;
grant execute on function app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb) to service_role;

-- The overdue-call sweep also settles an ended call that never came through the Voice URL and
-- is still unsettled: one whose report was written but whose settling statement never ran.
drop index if exists public.call_logs_unsettled_voice_flow_idx;
create index call_logs_unsettled_ended_idx on public.call_logs (ended_at)
  where outcome_settled_at is null and ended_at is not null;

-- The outbox relay's one statement per batch (inngest/src/outbox.ts): marks the batch it has
-- just sent and claims the next (skip locked: several API processes take different rows), so
-- a batch costs one round trip and one send. Runs as service_role, as the relay's
-- transactions did.
create function app.relay_outbox(p_sent bigint[], p_limit integer, p_claim_ms integer)
returns table (id bigint, event_id text, name text, data jsonb)
language plpgsql
security definer
set search_path = ''
as $$
begin
  if cardinality(p_sent) > 0 then
    update app.event_outbox o
       set sent_at = now(), claimed_until = null, last_error = null
     where o.id = any (p_sent);
  end if;
  return query
    update app.event_outbox o
       set claimed_until = now() + make_interval(secs => p_claim_ms / 1000.0), attempts = o.attempts + 1
     where o.id in (select u.id from app.event_outbox u
                     where u.sent_at is null and (u.claimed_until is null or u.claimed_until < now())
                     order by u.id limit p_limit for update skip locked)
    returning o.id, o.event_id, o.name, o.data;
end
$$;

alter function app.relay_outbox(bigint[], integer, integer) owner to service_role;
revoke all on function app.relay_outbox(bigint[], integer, integer) from public, anon, authenticated;
grant execute on function app.relay_outbox(bigint[], integer, integer) to service_role;
