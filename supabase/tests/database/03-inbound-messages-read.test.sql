-- Staff mark callers' replies read: a member may set read_at on their own org's replies
-- and nothing else on them; another org's replies stay untouched.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_read_a', 'Business A'), ('org_read_b', 'Business B');
insert into public.inbound_messages (organization_id, channel, from_number, to_number, body, provider_sid)
values ('org_read_a', 'sms', '+15550200001', '+15550100001', 'Are you open on Sunday?', 'SM' || md5('reply a')),
       ('org_read_b', 'sms', '+15550200002', '+15550100002', 'Call me back please', 'SM' || md5('reply b'));

create function pg_temp.outcome(statement text) returns text
language plpgsql
as $$
declare
  n bigint;
begin
  execute statement;
  get diagnostics n = row_count;
  return 'rows=' || n;
exception when others then
  return 'error=' || sqlstate;
end
$$;

select plan(8);

select has_column('public', 'inbound_messages', 'read_at', 'inbound_messages has read_at');
select ok(has_column_privilege('authenticated', 'public.inbound_messages', 'read_at', 'update'),
          'authenticated may update read_at');
select ok(not has_column_privilege('authenticated', 'public.inbound_messages', 'body', 'update'),
          'authenticated may not update the body');

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_member","o":{"id":"org_read_a","rol":"member"}}';
select is(pg_temp.outcome($$update public.inbound_messages set read_at = now()$$), 'rows=1',
          'a member marks their own org''s reply read, and only that one');
select is(pg_temp.outcome($$update public.inbound_messages set body = 'edited'$$), 'error=42501',
          'a member cannot edit a reply');
select is(pg_temp.outcome($$delete from public.inbound_messages$$), 'error=42501',
          'a member cannot delete a reply');
reset role;

select is((select count(*)::int from public.inbound_messages where organization_id = 'org_read_b' and read_at is not null),
          0, 'the other org''s reply is still unread');

set local role anon;
select is(pg_temp.outcome($$update public.inbound_messages set read_at = now()$$), 'error=42501',
          'anon cannot mark replies read');
reset role;

select * from finish();
rollback;
