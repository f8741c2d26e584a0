-- One definition of an org admin, in both Clerk claim formats: v1 tokens carry
-- org_role 'org:admin', v2 tokens o.rol 'admin'; any other spelling is a member, to the
-- policies as to the API (apps/api/src/auth/session.test.ts checks the same tokens).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

insert into public.organizations (id, name) values ('org_test_a', 'Business A');

create temp table shapes (claims jsonb, admin boolean, what text);
insert into shapes values
  ('{"sub":"u","org_id":"org_test_a","org_role":"org:admin"}', true, 'v1 org_role org:admin'),
  ('{"sub":"u","org_id":"org_test_a","org_role":"admin"}', false, 'v1 org_role admin (no prefix)'),
  ('{"sub":"u","org_id":"org_test_a","org_role":"org:member"}', false, 'v1 org_role org:member'),
  ('{"sub":"u","o":{"id":"org_test_a","rol":"admin"}}', true, 'v2 o.rol admin'),
  ('{"sub":"u","o":{"id":"org_test_a","rol":"org:admin"}}', false, 'v2 o.rol org:admin (prefixed)'),
  ('{"sub":"u","o":{"id":"org_test_a","rol":"member"}}', false, 'v2 o.rol member'),
  ('{"sub":"u","org_id":"org_test_a","org_role":"org:member","o":{"id":"org_test_a","rol":"admin"}}', false,
   'v1 org with a v2 admin role beside it');
grant select on shapes to authenticated;

create function pg_temp.admin_and_update(claims jsonb) returns text
language plpgsql
as $$
declare
  admin boolean;
  n int;
begin
  perform set_config('request.jwt.claims', claims::text, true);
  set local role authenticated;
  admin := app.is_org_admin();
  update public.organizations set name = 'changed' where id = 'org_test_a';
  get diagnostics n = row_count;
  reset role;
  return admin || ',' || n;
end
$$;

select plan((select count(*)::int from shapes));

select is(pg_temp.admin_and_update(claims), case when admin then 'true,1' else 'false,0' end,
          format('%s: %s', what, case when admin then 'admin' else 'member' end))
  from shapes order by what;

select * from finish();
rollback;
