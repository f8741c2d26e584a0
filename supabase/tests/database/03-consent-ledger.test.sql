-- What the consent ledger records when staff change consent is decided by the server:
-- the actor is the session token's subject, the source and channel are the dashboard, the
-- time is now. And only the caller can undo their own STOP.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_test_a', 'Business A');
insert into public.contacts (organization_id, e164, name) values
  ('org_test_a', '+15550200001', 'Staff opted out'),
  ('org_test_a', '+15550200002', 'Texted STOP'),
  ('org_test_a', '+15550200003', 'Texted STOP then START');
-- The caller's own keywords, as the inbound webhook (the system) records them.
insert into public.consent_events (organization_id, contact_id, channel, action, source, actor, at)
  select 'org_test_a', id, 'sms', 'opt_out', 'inbound_keyword', 'SM' || md5(e164), now() - interval '2 hours'
    from public.contacts where e164 in ('+15550200002', '+15550200003');
insert into public.consent_events (organization_id, contact_id, channel, action, source, actor, at)
  select 'org_test_a', id, 'sms', 'opt_in', 'inbound_keyword', 'SM' || md5(e164 || 'start'), now() - interval '1 hour'
    from public.contacts where e164 = '+15550200003';

create function pg_temp.outcome(statement text) returns text
language plpgsql
as $$
begin
  execute statement;
  return 'ok';
exception when others then
  return 'error=' || sqlstate;
end
$$;

create function pg_temp.contact(number text) returns uuid
language sql stable
as $$ select id from public.contacts where e164 = number $$;

select plan(14);

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_member","o":{"id":"org_test_a","rol":"member"}}';

select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, actor)
                                   values ('org_test_a', %L, 'opt_out', 'user_someone_else')$$,
                                 pg_temp.contact('+15550200001'))),
          'error=42501', 'a member cannot name another actor');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, source)
                                   values ('org_test_a', %L, 'opt_out', 'inbound_keyword')$$,
                                 pg_temp.contact('+15550200001'))),
          'error=42501', 'a member cannot claim a keyword source');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, channel)
                                   values ('org_test_a', %L, 'opt_out', 'sms')$$,
                                 pg_temp.contact('+15550200001'))),
          'error=42501', 'a member cannot claim a channel');
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, at)
                                   values ('org_test_a', %L, 'opt_out', '2001-01-01')$$,
                                 pg_temp.contact('+15550200001'))),
          'error=42501', 'a member cannot date an entry');

select lives_ok(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                         values ('org_test_a', %L, 'opt_out', '{"reason": "asked on the phone"}')$$,
                       pg_temp.contact('+15550200001')),
                'a member records an opt-out with a reason');
select results_eq(
  format($$select actor, source, channel, at = now() from public.consent_events where contact_id = %L$$,
         pg_temp.contact('+15550200001')),
  $$values ('user_a_member'::text, 'dashboard'::text, 'dashboard'::text, true)$$,
  'the server decided who, through what and when');
select lives_ok(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                         values ('org_test_a', %L, 'opt_in', '{"reason": "the caller asked us"}')$$,
                       pg_temp.contact('+15550200001')),
                'staff may undo an opt-out staff recorded');

select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "they called us"}')$$,
                                 pg_temp.contact('+15550200002'))),
          'error=42501', 'a member cannot undo the caller''s own STOP');
reset role;

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","org_id":"org_test_a","org_role":"org:admin"}';
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                                   values ('org_test_a', %L, 'opt_in', '{"reason": "they called us"}')$$,
                                 pg_temp.contact('+15550200002'))),
          'error=42501', 'an admin cannot undo the caller''s own STOP either');
select lives_ok(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                         values ('org_test_a', %L, 'opt_out', '{"reason": "asked again on the phone"}')$$,
                       pg_temp.contact('+15550200002')),
                'staff may still record an opt-out for a caller who texted STOP');
select lives_ok(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                         values ('org_test_a', %L, 'opt_out', '{"reason": "asked on the phone"}')$$,
                       pg_temp.contact('+15550200003')),
                'once the caller texted START, staff may opt them out');
select lives_ok(format($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                         values ('org_test_a', %L, 'opt_in', '{"reason": "asked back in on the phone"}')$$,
                       pg_temp.contact('+15550200003')),
                '… and back in, since that opt-out was staff''s');
reset role;

set local role authenticated;
set local "request.jwt.claims" to '{"o":{"id":"org_test_a","rol":"admin"}}';
select is(pg_temp.outcome(format($$insert into public.consent_events (organization_id, contact_id, action)
                                   values ('org_test_a', %L, 'opt_out')$$,
                                 pg_temp.contact('+15550200001'))),
          'error=23502', 'a token without a subject records nothing');
reset role;

select ok(not has_column_privilege('authenticated', 'public.consent_events', 'actor', 'insert')
          and not has_column_privilege('authenticated', 'public.consent_events', 'source', 'insert')
          and not has_column_privilege('authenticated', 'public.consent_events', 'at', 'insert'),
          'authenticated holds no insert privilege on actor, source or at');

select * from finish();
rollback;
