-- What the schema holds for the after-call workflow as Twilio and WhatsApp really behave:
-- an opt-out cancels the caller's jobs not yet sending, whoever recorded it; the carrier's
-- opt-out (Twilio 21610) is the caller's own, like STOP; "not on WhatsApp" is dated; and
-- templates carry their WhatsApp category, businesses a WhatsApp sender.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_test_a', 'Business A');
insert into public.contacts (organization_id, e164, name) values
  ('org_test_a', '+15550300001', 'Texts STOP'),
  ('org_test_a', '+15550300002', 'Other caller'),
  ('org_test_a', '+15550300003', 'Staff opt out'),
  ('org_test_a', '+15550300004', 'Unsubscribed at the carrier');

create function pg_temp.contact(number text) returns uuid
language sql stable
as $$ select id from public.contacts where e164 = number $$;

create function pg_temp.outcome(statement text) returns text
language plpgsql
as $$
begin
  execute statement;
  return 'ok';
exception when others then
  return 'error=' || sqlstate || ' ' || sqlerrm;
end
$$;

-- One job per status for the first caller, one pending job for each of the others.
insert into public.call_logs (organization_id, call_sid, contact_id, from_number, to_number, status, outcome)
select 'org_test_a', 'CA' || md5(c.e164 || s.status), c.id, c.e164, '+15550100001', 'no-answer', 'missed'
  from public.contacts c
  cross join (values ('pending'), ('scheduled'), ('sending'), ('delivered')) s(status)
 where c.e164 = '+15550300001' or s.status = 'pending';
insert into public.message_jobs (organization_id, call_log_id, contact_id, to_number, decision, reason, status)
select cl.organization_id, cl.id, cl.contact_id, cl.from_number,
       case when s.status = 'scheduled' then 'defer' else 'send' end, 'missed call', s.status
  from public.call_logs cl
  cross join (values ('pending'), ('scheduled'), ('sending'), ('delivered')) s(status)
 where cl.call_sid = 'CA' || md5(cl.from_number || s.status);

create function pg_temp.job_statuses(number text) returns text
language sql stable
as $$
  select string_agg(j.status, ',' order by j.created_at, j.status)
    from public.message_jobs j
   where j.contact_id = pg_temp.contact(number)
$$;

select plan(17);

-- The caller texts STOP (the inbound webhook records it as the system).
insert into public.consent_events (organization_id, contact_id, channel, action, source, actor)
values ('org_test_a', pg_temp.contact('+15550300001'), 'sms', 'opt_out', 'inbound_keyword', 'SM' || md5('stop'));
select results_eq(
  $$select status, final_reason, completed_at is not null from public.message_jobs
     where contact_id = pg_temp.contact('+15550300001') order by status$$,
  $$values ('canceled'::text, 'canceled: the caller opted out before it was sent'::text, true),
           ('canceled', 'canceled: the caller opted out before it was sent', true),
           ('delivered', null, false),
           ('sending', null, false)$$,
  'a STOP cancels the caller''s pending and scheduled jobs, and leaves sending and finished ones');
select is(pg_temp.job_statuses('+15550300002'), 'pending', 'another caller''s job is untouched');

-- Staff record an opt-out from the dashboard: the same path cancels.
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_member","o":{"id":"org_test_a","rol":"member"}}';
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_out', '{"reason": "asked on the phone"}')$$,
                                 pg_temp.contact('+15550300003'))),
          'ok', 'a member records an opt-out');
select is(pg_temp.job_statuses('+15550300003'), 'canceled', '… which cancels the job though members cannot write jobs');
select is(pg_temp.outcome($$update public.message_jobs set status = 'canceled'$$), 'error=42501 permission denied for table message_jobs',
          'members still cannot write jobs themselves');
reset role;

-- Twilio refused a send with 21610: the system records the carrier's opt-out.
select lives_ok(
  format($$insert into public.consent_events (organization_id, contact_id, channel, action, source, actor, evidence)
           values ('org_test_a', %L, 'sms', 'opt_out', 'carrier', 'twilio_21610', '{"error_code": 21610}')$$,
         pg_temp.contact('+15550300004')),
  'the system records an opt-out from the carrier');
select is(pg_temp.job_statuses('+15550300004'), 'canceled', 'the carrier''s opt-out cancels too');
select isnt((select opted_out_at from public.contacts where e164 = '+15550300004'), null, 'and the contact is opted out');

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","org_id":"org_test_a","org_role":"org:admin"}';
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "they called us"}')$$,
                                 pg_temp.contact('+15550300004'))),
          'error=42501 the caller unsubscribed from this number at the carrier (Twilio error 21610); only they can opt back in, by texting START',
          'an admin cannot undo the carrier''s opt-out, and is told why');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "they called us"}')$$,
                                 pg_temp.contact('+15550300001'))),
          'error=42501 the caller opted out by texting a keyword such as STOP; only they can opt back in, by texting START',
          'nor the caller''s own STOP');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_out', '{"reason": "asked on the phone too"}')$$,
                                 pg_temp.contact('+15550300001'))) || ' then ' ||
          pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "they called us"}')$$,
                                 pg_temp.contact('+15550300001'))),
          'ok then error=42501 the caller opted out by texting a keyword such as STOP; only they can opt back in, by texting START',
          'an opt-out staff add on top of the caller''s STOP does not let staff opt them back in');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "asked again in the shop"}')$$,
                                 pg_temp.contact('+15550300003'))),
          'ok', 'but can undo an opt-out staff recorded');
reset role;

select lives_ok(
  format($$insert into public.consent_events (organization_id, contact_id, channel, action, source, actor)
           values ('org_test_a', %L, 'sms', 'opt_in', 'inbound_keyword', %L)$$,
         pg_temp.contact('+15550300004'), 'SM' || md5('start')),
  'the caller''s START undoes the carrier''s opt-out');

-- "Not on WhatsApp" is always dated, so it can expire.
update public.contacts set whatsapp_status = 'unavailable' where e164 = '+15550300002';
select ok((select whatsapp_checked_at = now() from public.contacts where e164 = '+15550300002'),
          'a status change without a date is dated now');
update public.contacts set whatsapp_status = 'unavailable', whatsapp_checked_at = '2026-01-02T03:04:05Z'
 where e164 = '+15550300003';
select is((select whatsapp_checked_at from public.contacts where e164 = '+15550300003'), '2026-01-02T03:04:05Z'::timestamptz,
          'a date given with the change is kept');

select is(pg_temp.outcome($$insert into public.templates (organization_id, name, trigger, sms_body, whatsapp_category)
                            values ('org_test_a', 'Promo', 'missed', 'Hi', 'promotional')$$),
          'error=23514 new row for relation "templates" violates check constraint "templates_whatsapp_category_check"',
          'a template''s WhatsApp category is utility, marketing or authentication');
select is(pg_temp.outcome($$update public.organizations set whatsapp_sender = 'whatsapp:+15550100001'$$),
          'error=23514 new row for relation "organizations" violates check constraint "organizations_whatsapp_sender_check"',
          'a WhatsApp sender is stored in E.164');

select * from finish();
rollback;
