-- One Stripe customer per organization, linked by an admin's request through
-- app.link_stripe_customer(): only for the caller's own org, only by an admin, once.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_test_a', 'Business A'), ('org_test_b', 'Business B');
insert into public.subscriptions (organization_id, stripe_customer_id) values ('org_test_b', 'cus_TestB');

create function pg_temp.outcome(statement text) returns text
language plpgsql
as $$
declare
  result text;
begin
  execute statement into result;
  return coalesce(result, 'null');
exception when others then
  return 'error=' || sqlstate;
end
$$;

select plan(8);

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"u_member","o":{"id":"org_test_a","rol":"member"}}';
select is(pg_temp.outcome($$select app.link_stripe_customer('cus_TestA')$$), 'error=42501',
          'a member cannot link a Stripe customer');
reset role;

set local role authenticated;
set local "request.jwt.claims" to '{"sub":"u_admin","o":{"id":"org_test_a","rol":"admin"}}';
select is(pg_temp.outcome($$select app.link_stripe_customer('not-a-customer')$$), 'error=22023',
          'an id that is not a Stripe customer id is refused');
select is(pg_temp.outcome($$select app.link_stripe_customer('cus_TestB')$$), 'error=23505',
          'another org''s customer cannot be linked');
select is(pg_temp.outcome($$select app.link_stripe_customer('cus_TestA')$$), 'cus_TestA',
          'an admin links the org''s customer');
select is(pg_temp.outcome($$select app.link_stripe_customer('cus_TestA2')$$), 'cus_TestA',
          'a second link keeps the first');
select is(pg_temp.outcome($$update public.subscriptions set stripe_customer_id = 'cus_Other'$$), 'error=42501',
          'an admin still cannot write the subscription row itself');
reset role;

select is((select stripe_customer_id from public.subscriptions where organization_id = 'org_test_a'), 'cus_TestA',
          'the link is stored on the org''s own row');
select is((select stripe_customer_id from public.subscriptions where organization_id = 'org_test_b'), 'cus_TestB',
          'the other org''s row is untouched');

select * from finish();
rollback;
