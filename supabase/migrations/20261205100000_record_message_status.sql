-- A message status callback recorded in one statement, as a voice callback is
-- (app.record_call_report): the receipt, the message_events row, the status moved only
-- forward, what a failure teaches about the recipient, and message/status.updated in the
-- outbox. It was a transaction of five statements (seven round trips with BEGIN and COMMIT),
-- and a message has three or four callbacks. Reconciliation applies what it asks Twilio
-- through the same function (no receipt), so a status is applied one way whoever reports it.
--
-- The rules stay packages/domain's: the API passes the status order, the failures and the
-- delivered-like statuses (message-status.ts), and what the error code means
-- (packages/providers twilio-errors.ts), as record_call_report takes the call status order.

-- What a provider's failure says about the recipient (inngest recipient-facts.ts): "not on
-- WhatsApp" marks the contact, dated; an unsubscribe is the caller's opt-out in the consent
-- ledger, once per opt-out. Returns which ('not_on_whatsapp', 'opted_out') or null.
create function app.record_recipient_fact(
  p_organization_id text,
  p_contact_id uuid,
  p_job_id uuid,
  p_message_id uuid,
  p_channel text,
  p_code integer,
  -- classifyTwilioError(p_code): 'not_on_whatsapp', 'recipient_opted_out', or another kind.
  p_kind text,
  p_at timestamptz
) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_opted_out_at timestamptz;
begin
  if p_code is null or p_contact_id is null then
    return null;
  end if;
  if p_kind = 'not_on_whatsapp' and p_channel = 'whatsapp' then
    update public.contacts
       set whatsapp_status = 'unavailable', whatsapp_checked_at = p_at
     where organization_id = p_organization_id and id = p_contact_id;
    return 'not_on_whatsapp';
  end if;
  if p_kind = 'recipient_opted_out' then
    select c.opted_out_at into v_opted_out_at
      from public.contacts c
     where c.organization_id = p_organization_id and c.id = p_contact_id
       for update;
    if found and v_opted_out_at is null then
      insert into public.consent_events (organization_id, contact_id, channel, action, source, actor, evidence)
      values (p_organization_id, p_contact_id, p_channel, 'opt_out', 'carrier', 'twilio_' || p_code,
              jsonb_build_object('error_code', p_code, 'message_id', p_message_id, 'job_id', p_job_id));
    end if;
    return 'opted_out';
  end if;
  return null;
end
$$;

alter function app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz) owner to service_role;
revoke all on function app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz) from public, anon, authenticated;
grant execute on function app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz) to service_role;

create function app.record_message_status(
  -- The callback's webhook_receipts external id (`<sid>:<status>`); null for reconciliation.
  p_receipt_id text,
  p_sid text,
  -- The message id our StatusCallback URL names (checked by the API), for a send whose sid
  -- was never stored; null when the URL names none.
  p_message_id uuid,
  -- Twilio's MessageStatus as reported, and the same when packages/domain knows it (else null:
  -- recorded as an event, not stored).
  p_reported text,
  p_incoming text,
  -- packages/domain: progress of each status ({"queued": 2, ...}), the failures, the delivered-like.
  p_progress jsonb,
  p_failures text[],
  p_delivered text[],
  p_error_code integer,
  p_error_message text,
  -- classifyTwilioError(p_error_code), null without a code.
  p_error_kind text,
  -- What Twilio sent (the callback's form, or the fetched fields), and which of the two.
  p_payload jsonb,
  p_source text,
  p_at timestamptz,
  -- message/status.updated's data as the API starts it (its trace context); the function adds
  -- the message's fields and the status stored after the report.
  p_event_data jsonb
) returns table (
  -- 'recorded', 'repeat' (this receipt was recorded before), 'unknown' (no such message).
  result text,
  note text,
  organization_id text,
  status text
)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_message public.messages;
  v_note text;
  v_status text;
  v_contact uuid;
begin
  -- Locked: concurrent callbacks for one message merge one after another.
  select m.* into v_message from public.messages m where m.provider_sid = p_sid for update;
  if not found then
    if p_message_id is null then
      v_note := 'no message has provider sid ' || p_sid;
    else
      select m.* into v_message from public.messages m where m.id = p_message_id for update;
      if not found then
        v_note := 'no message has provider sid ' || p_sid || ' or id ' || p_message_id;
      elsif v_message.provider_sid is not null and v_message.provider_sid <> p_sid then
        v_note := 'message ' || p_message_id || ' was sent as ' || v_message.provider_sid || ', not ' || p_sid;
      end if;
    end if;
  end if;
  if v_note is not null then
    if p_receipt_id is not null then
      insert into public.webhook_receipts (provider, external_id, kind, organization_id, note)
      values ('twilio', p_receipt_id, 'message.status', null, left(v_note, 500))
      on conflict (provider, external_id) do nothing;
    end if;
    return query select 'unknown'::text, v_note, null::text, null::text;
    return;
  end if;

  if p_receipt_id is not null then
    insert into public.webhook_receipts (provider, external_id, kind, organization_id)
    values ('twilio', p_receipt_id, 'message.status', v_message.organization_id)
    on conflict (provider, external_id) do nothing;
    if not found then
      return query select 'repeat'::text, null::text, v_message.organization_id, v_message.status;
      return;
    end if;
  end if;

  insert into public.message_events (organization_id, message_id, provider_sid, status, error_code, payload, source)
  values (v_message.organization_id, v_message.id, p_sid, left(p_reported, 32), p_error_code, p_payload, p_source);

  -- packages/domain mergeStatus: a failure ends the message and replaces anything short of
  -- delivered; otherwise a status only moves forward.
  v_status := case
    when p_incoming is null or v_message.status = any (p_failures) then v_message.status
    when p_incoming = any (p_failures) then
      case when v_message.status = any (p_delivered) then v_message.status else p_incoming end
    when coalesce((p_progress ->> p_incoming)::integer, 0) > coalesce((p_progress ->> v_message.status)::integer, 0)
      then p_incoming
    else v_message.status
  end;
  if v_message.provider_sid is null or v_status <> v_message.status then
    update public.messages m
       set provider_sid = coalesce(m.provider_sid, p_sid),
           status = v_status,
           status_changed_at = case when v_status <> v_message.status then p_at else m.status_changed_at end,
           error_code = case when v_status <> v_message.status and v_status = any (p_failures)
                             then p_error_code else m.error_code end,
           error_message = case when v_status <> v_message.status and v_status = any (p_failures)
                                then left(p_error_message, 1000) else m.error_message end
     where m.id = v_message.id;
  end if;

  -- A failure reported after acceptance says as much about the recipient as a refused send.
  if v_status = any (p_failures) and p_error_code is not null then
    select j.contact_id into v_contact
      from public.message_jobs j
     where j.organization_id = v_message.organization_id and j.id = v_message.job_id;
    perform app.record_recipient_fact(v_message.organization_id, v_contact, v_message.job_id, v_message.id,
                                      v_message.channel, p_error_code, p_error_kind, p_at);
  end if;

  -- In the same statement as the status it reports: a waiting delivery learns it even when
  -- Inngest is down right now. The id is `<sid>:<reported>`, so a callback and a
  -- reconciliation that report the same status are one event.
  insert into app.event_outbox (event_id, name, data)
  values (p_sid || ':' || p_reported, 'message/status.updated',
          coalesce(p_event_data, '{}'::jsonb) || jsonb_build_object(
            'sid', p_sid, 'messageId', v_message.id, 'jobId', v_message.job_id,
            'organizationId', v_message.organization_id, 'status', v_status, 'errorCode', p_error_code))
  on conflict (event_id) do nothing;

  return query select 'recorded'::text, null::text, v_message.organization_id, v_status;
end
$$;

alter function app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb) owner to service_role;
revoke all on function app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb) from public, anon, authenticated;
grant execute on function app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb) to service_role;
