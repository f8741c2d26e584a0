-- Helpers every policy uses. The claim lookup lives in one place so that both Clerk
-- session token formats are read the same way everywhere:
--   v1: { org_id, org_role: 'org:admin' }   v2: { o: { id, rol: 'admin' } }
-- Clerk user and org ids are text (never uuid), so auth.uid() is never used.
create schema if not exists app;
grant usage on schema app to anon, authenticated, service_role;

create or replace function app.org_id() returns text
language sql stable
as $$
  select coalesce(auth.jwt() ->> 'org_id', auth.jwt() -> 'o' ->> 'id')
$$;

create or replace function app.is_org_admin() returns boolean
language sql stable
as $$
  select coalesce(auth.jwt() ->> 'org_role' = 'org:admin', false)
      or coalesce(auth.jwt() -> 'o' ->> 'rol' = 'admin', false)
$$;

create or replace function app.touch_updated_at() returns trigger
language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

grant execute on function app.org_id(), app.is_org_admin() to authenticated, service_role;
