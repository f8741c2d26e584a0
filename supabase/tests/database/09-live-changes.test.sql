-- app.live_changes, the dashboard's poll: it runs as its caller, so each org's policies
-- decide what it sees, and the plan it keeps never carries one caller's view to the next:
-- not another tenant's (the policies read the org when it runs), not a superuser's (made
-- without policies, planned again for a member).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_live_a', 'Business A'), ('org_live_b', 'Business B');
insert into public.call_logs (organization_id, call_sid, from_number, to_number, status, outcome, updated_at)
values ('org_live_a', 'CA' || md5('live a'), '+15550200001', '+15550100001', 'no-answer', 'missed', '2026-01-01 10:00:00+00'),
       ('org_live_b', 'CA' || md5('live b'), '+15550200002', '+15550100002', 'no-answer', 'missed', '2026-06-01 10:00:00+00');
insert into public.inbound_messages (organization_id, channel, from_number, to_number, body, provider_sid)
values ('org_live_b', 'sms', '+15550200002', '+15550100002', 'Call me back please', 'SM' || md5('live reply b'));

select plan(9);

select ok(not prosecdef, 'app.live_changes runs as its caller')
  from pg_proc where oid = 'app.live_changes()'::regprocedure;
select ok(has_function_privilege('authenticated', 'app.live_changes()', 'execute'), 'a member may poll');
select ok(not has_function_privilege('anon', 'app.live_changes()', 'execute'), 'anon may not poll');

-- First as the superuser: the connection's plan is made without policies.
select is((select calls from app.live_changes()), (select max(updated_at)::text from public.call_logs),
          'the superuser sees every org');

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a","o":{"id":"org_live_a","rol":"member"}}';
select is((select calls from app.live_changes()), '2026-01-01 10:00:00+00',
          'then a member of A sees only A''s calls');
select is((select unread from app.live_changes()), 0, 'and none of B''s unread replies');
set local "request.jwt.claims" to '{"sub":"user_b","o":{"id":"org_live_b","rol":"member"}}';
select is((select calls from app.live_changes()), '2026-06-01 10:00:00+00',
          'then, on the same connection, a member of B sees only B''s calls');
select is((select unread from app.live_changes()), 1, 'and B''s unread reply');
set local "request.jwt.claims" to '{"sub":"user_c","o":{"id":"org_live_nobody","rol":"member"}}';
select is((select row(calls, jobs, messages, replies, subscription, unread)::text from app.live_changes()),
          '(,,,,,0)', 'a member of an org with nothing sees nothing');
reset role;

select * from finish();
rollback;
