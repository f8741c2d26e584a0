-- Who is an org admin, defined once and read from the same claim format as the org:
-- a Clerk v1 token (org_id present) is admin with org_role 'org:admin', a v2 token with
-- o.rol 'admin'. The API's session normalisation (apps/api/src/auth/session.ts) applies
-- the same rule, so a token is an admin to both or to neither.
create or replace function app.is_org_admin() returns boolean
language sql stable
as $$
  select case
           when auth.jwt() ->> 'org_id' is not null then coalesce(auth.jwt() ->> 'org_role' = 'org:admin', false)
           else coalesce(auth.jwt() -> 'o' ->> 'rol' = 'admin', false)
         end
$$;
