-- A repeated voice callback is answered 200 only once the effect of its first delivery exists.
--
-- app.record_call_report commits a callback's receipt with its facts; for a row it leaves
-- unsettled, the API settles the call in a second statement. A process that died between the
-- two left a receipt whose call/completed did not exist yet, and Twilio's retry of that
-- callback was answered as a repeat: the overdue-call sweep settled the call 10-15 s later.
-- Now a repeat whose call (of the receipt's org) is still unsettled is not answered as one: it
-- comes back as 'recorded' with the call's row as it stands, so the API settles the call when
-- its facts do before answering (settling is idempotent: once per call, under the row lock). Its
-- facts are not written again: they were committed with the receipt, in one statement. Only a
-- repeat of a settled call, or of one the org has no row of, is answered as a repeat.
--
-- Considered instead: committing the receipt with the settle. The recording statement cannot
-- tell whether the API will settle (the rule is packages/domain's), so it would withhold the
-- receipt of every row it leaves unsettled, and a final status that finds the Dial action due
-- would cost a statement more for its receipt, or have none.
--
-- app.settle_call is the settle as a statement of its own (callServiceFunction): sets the
-- outcome the API decided and writes call/completed to the outbox, once, so the existing-row
-- path is two round trips with no transaction (it was one plus BEGIN, the settle, COMMIT).

create or replace function app.record_call_report(
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
      -- The receipt was committed with this delivery's facts, but perhaps not with the settle
      -- that follows them: while this org's call is unsettled, the repeat goes back to the API
      -- with the row as it stands (nothing written again), to settle it if its facts do.
      select to_jsonb(c) into v_call
        from public.call_logs c
       where c.call_sid = p_call ->> 'call_sid' and c.organization_id = v_org and c.outcome_settled_at is null;
      if v_call is not null then
        return query select 'recorded'::text, v_org, v_min, false, false, v_call;
        return;
      end if;
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

-- Settles a call once: sets the outcome settleCallOutcome gave (the API's) and writes its
-- call/completed to the outbox in one statement; true when this call did, false when the call
-- was settled already (a concurrent settle waits for the row lock, then finds it settled) or
-- is not this org's. Called on its own (ingestCallReport) or in a transaction (the Dial and
-- incoming webhooks, the recording status callback, the overdue-call sweep).
create function app.settle_call(
  p_call_id uuid,
  p_organization_id text,
  p_outcome text,
  p_source text,
  -- call/completed as built by the API: { id, name, data }.
  p_event jsonb
) returns table (settled boolean)
language sql
security definer
set search_path = ''
as $$
  with settled_call as (
    update public.call_logs
       set outcome = p_outcome, outcome_source = p_source, outcome_settled_at = now()
     where id = p_call_id and organization_id = p_organization_id and outcome_settled_at is null
    returning id
  ), queued as (
    insert into app.event_outbox (event_id, name, data)
    select p_event ->> 'id', p_event ->> 'name', p_event -> 'data' from settled_call
    on conflict (event_id) do nothing
    returning event_id
  )
  select exists (select 1 from queued);
$$;

alter function app.settle_call(uuid, text, text, text, jsonb) owner to service_role;
revoke all on function app.settle_call(uuid, text, text, text, jsonb) from public, anon, authenticated;
grant execute on function app.settle_call(uuid, text, text, text, jsonb) to service_role;
