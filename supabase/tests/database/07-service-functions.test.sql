-- The functions the API calls as statements of their own (packages/db callServiceFunction) run
-- as service_role with their own search_path, and no API role but service_role may call them:
-- a user's session can never write a call log or take the outbox through them.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(46);

select is(pg_get_userbyid(proowner)::text, 'service_role', proname || ' runs as service_role (its owner)')
  from pg_proc where oid in ('app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb)'::regprocedure,
                             'app.record_call_reports(jsonb, text[], text[])'::regprocedure,
                             'app.record_message_statuses(jsonb, jsonb, text[], text[])'::regprocedure,
                             'app.settle_call(uuid, text, text, text, jsonb)'::regprocedure,
                             'app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb)'::regprocedure,
                             'app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz)'::regprocedure,
                             'app.relay_outbox(bigint[], integer, integer)'::regprocedure,
                             'app.take_rate_limit(text, text, integer, integer)'::regprocedure)
 order by proname;
select ok(prosecdef, proname || ' is security definer')
  from pg_proc where oid in ('app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb)'::regprocedure,
                             'app.record_call_reports(jsonb, text[], text[])'::regprocedure,
                             'app.record_message_statuses(jsonb, jsonb, text[], text[])'::regprocedure,
                             'app.settle_call(uuid, text, text, text, jsonb)'::regprocedure,
                             'app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb)'::regprocedure,
                             'app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz)'::regprocedure,
                             'app.relay_outbox(bigint[], integer, integer)'::regprocedure,
                             'app.take_rate_limit(text, text, integer, integer)'::regprocedure)
 order by proname;
select ok(proconfig @> array['search_path=""'], proname || ' pins an empty search_path')
  from pg_proc where oid in ('app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb)'::regprocedure,
                             'app.record_call_reports(jsonb, text[], text[])'::regprocedure,
                             'app.record_message_statuses(jsonb, jsonb, text[], text[])'::regprocedure,
                             'app.settle_call(uuid, text, text, text, jsonb)'::regprocedure,
                             'app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb)'::regprocedure,
                             'app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz)'::regprocedure,
                             'app.relay_outbox(bigint[], integer, integer)'::regprocedure,
                             'app.take_rate_limit(text, text, integer, integer)'::regprocedure)
 order by proname;
select ok(not has_function_privilege(role, fn, 'execute'), role || ' may not ' || what)
  from (values ('app.record_call_report(text, text, text, text, text, jsonb, text[], text[], jsonb)', 'record call reports'),
               ('app.record_call_reports(jsonb, text[], text[])', 'record batches of call reports'),
               ('app.record_message_statuses(jsonb, jsonb, text[], text[])', 'record batches of message statuses'),
               ('app.settle_call(uuid, text, text, text, jsonb)', 'settle calls'),
               ('app.record_message_status(text, text, uuid, text, text, jsonb, text[], text[], integer, text, text, jsonb, text, timestamptz, jsonb)',
                'record message statuses'),
               ('app.record_recipient_fact(text, uuid, uuid, uuid, text, integer, text, timestamptz)',
                'record what a failure says about a recipient'),
               ('app.relay_outbox(bigint[], integer, integer)', 'take the outbox'),
               ('app.take_rate_limit(text, text, integer, integer)', 'count rate limits')) as f(fn, what),
       unnest(array['anon', 'authenticated']) as role;
-- Counts that are worth nothing after a crash: no WAL, so no flush per counted request.
select is((select relpersistence from pg_class where oid = 'app.rate_limits'::regclass), 'u'::"char",
          'app.rate_limits is unlogged');

set local role authenticated;
select throws_ok(
  $$select * from app.relay_outbox(array[]::bigint[], 100, 30000)$$,
  '42501', null, 'a user session calling the relay''s function is refused');
reset role;
select ok(has_function_privilege('service_role', 'app.relay_outbox(bigint[], integer, integer)', 'execute'),
          'service_role may take the outbox');

-- Permits are taken in blocks: each take adds its permits to the window's count, and a window
-- that ended starts again at the block taken.
select is((select hits from app.take_rate_limit('pgtap', 'k', 60000, 5)), 5, 'a first block of 5 counts 5');
select is((select hits from app.take_rate_limit('pgtap', 'k', 60000, 3)), 8, 'a second block adds to the window');
update app.rate_limits set resets_at = now() - interval '1 second' where bucket = 'pgtap';
select is((select hits from app.take_rate_limit('pgtap', 'k', 60000, 2)), 2, 'an ended window starts again');

select * from finish();
rollback;
