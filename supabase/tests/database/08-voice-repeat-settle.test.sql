-- A voice callback delivered again is answered as a repeat only once its call is settled:
-- app.record_call_report hands a repeat of an unsettled call back with the call's row (and
-- writes nothing again), so the API settles it before answering; app.settle_call settles a
-- call once, for its own org only. (20261203400000_voice_repeat_waits_for_settle.sql)
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_test_a', 'Business A'), ('org_test_b', 'Business B');
insert into public.phone_numbers (organization_id, e164) values
  ('org_test_a', '+15550400001'), ('org_test_b', '+15550400002');

-- One delivery of a status callback to `called`, as the API sends it (receipt <sid>:<status>,
-- no outcome the report alone settles).
create function pg_temp.report(sid text, status text, called text default '+15550400001')
returns table (result text, organization_id text, inserted boolean, settled boolean, call jsonb)
language sql
as $$
  select r.result, r.organization_id, r.inserted, r.settled, r.call
    from app.record_call_report(
      sid || ':' || status, 'voice.status', called, 'nobody owns it', null,
      jsonb_build_object('id', gen_random_uuid(), 'call_sid', sid, 'from_number', '+15125550123',
                         'to_number', called, 'status', status, 'duration_seconds', 30,
                         'ended_at', case when status = 'completed' then now() end),
      array['queued', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'canceled', 'failed'],
      array['completed', 'busy', 'no-answer', 'canceled', 'failed'],
      null) r
$$;

create function pg_temp.call_id(sid text) returns uuid
language sql stable
as $$ select id from public.call_logs where call_sid = sid $$;

create function pg_temp.settle(sid text, org text default 'org_test_a') returns boolean
language sql
as $$
  select s.settled from app.settle_call(
    pg_temp.call_id(sid), org, 'answered', 'status',
    jsonb_build_object('id', sid, 'name', 'call/completed',
                       'data', jsonb_build_object('callSid', sid, 'organizationId', org))) s
$$;

select plan(18);

-- The incoming webhook made the row; the final status comes, and the process dies before settling.
select is((select result from pg_temp.report('CA' || md5('one'), 'ringing')), 'recorded', 'ringing makes the call''s row');
select results_eq(
  $$select result, inserted, settled, call ->> 'status', call ->> 'outcome_settled_at'
      from pg_temp.report('CA' || md5('one'), 'completed')$$,
  $$values ('recorded'::text, false, false, 'completed'::text, null::text)$$,
  'a final status for an existing row is recorded, left for the API to settle');
create temporary table written on commit drop as
  select ctid as row_version from public.call_logs where call_sid = 'CA' || md5('one');

select results_eq(
  $$select result, organization_id, inserted, settled, call ->> 'id', call ->> 'status'
      from pg_temp.report('CA' || md5('one'), 'completed')$$,
  $$select 'recorded'::text, 'org_test_a'::text, false, false, pg_temp.call_id('CA' || md5('one'))::text, 'completed'::text$$,
  'its retry, the call still unsettled, is not a repeat: the call comes back for the API to settle');
select is((select ctid from public.call_logs where call_sid = 'CA' || md5('one')), (select row_version from written),
          '… and its facts are not written again (same row version)');
select is((select count(*)::int from public.webhook_receipts where external_id = 'CA' || md5('one') || ':completed'), 1,
          '… nor its receipt');

-- The API settles it.
select ok(pg_temp.settle('CA' || md5('one')), 'settle_call settles the call');
select results_eq(
  $$select outcome, outcome_source, outcome_settled_at is not null from public.call_logs where call_sid = 'CA' || md5('one')$$,
  $$values ('answered'::text, 'status'::text, true)$$,
  '… with the outcome the API gave');
select results_eq(
  $$select name, data ->> 'callSid' from app.event_outbox where event_id = 'CA' || md5('one')$$,
  $$values ('call/completed'::text, 'CA' || md5('one'))$$,
  '… and writes its call/completed to the outbox');
select ok(not pg_temp.settle('CA' || md5('one')), 'a second settle of the call does nothing');
select is((select count(*)::int from app.event_outbox where event_id = 'CA' || md5('one')), 1,
          '… one call/completed a call');

select results_eq(
  $$select result, call from pg_temp.report('CA' || md5('one'), 'completed')$$,
  $$values ('repeat'::text, null::jsonb)$$,
  'once the call is settled, a retry is a repeat');
select results_eq(
  $$select result, call from pg_temp.report('CA' || md5('one'), 'ringing')$$,
  $$values ('repeat'::text, null::jsonb)$$,
  '… so is a retry of an earlier callback of it');

-- CallSids are Twilio-wide: another org's call is never handed back, nor settled.
select is((select result from pg_temp.report('CA' || md5('two'), 'ringing')), 'recorded', 'org A''s call rings');
select is((select result from pg_temp.report('CA' || md5('two'), 'completed', '+15550400002')), 'foreign',
          'a callback to org B''s number naming org A''s call touches nothing');
select results_eq(
  $$select result, call from pg_temp.report('CA' || md5('two'), 'completed', '+15550400002')$$,
  $$values ('repeat'::text, null::jsonb)$$,
  '… and its retry does not hand org A''s unsettled call to org B');
select ok(not pg_temp.settle('CA' || md5('two'), 'org_test_b'), 'settle_call for another org does nothing');
select results_eq(
  $$select outcome, outcome_settled_at from public.call_logs where call_sid = 'CA' || md5('two')$$,
  $$values (null::text, null::timestamptz)$$,
  '… the call stays unsettled');
select is((select count(*)::int from app.event_outbox where event_id = 'CA' || md5('two')), 0,
          '… and no call/completed is written');

select * from finish();
rollback;
