-- The business's own numbers that callers dial. A number belongs to one org only:
-- it is how an incoming call finds its tenant.
create table public.phone_numbers (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  e164 text not null unique check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
  label text not null default '' check (length(label) <= 100),
  created_at timestamptz not null default now(),
  unique (organization_id, id)
);

alter table public.phone_numbers enable row level security;
revoke all on public.phone_numbers from anon, authenticated;
grant select, insert, update, delete on public.phone_numbers to authenticated;
grant all on public.phone_numbers to service_role;

create policy "members read their phone numbers" on public.phone_numbers
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "admins add phone numbers" on public.phone_numbers
  for insert to authenticated
  with check (organization_id = (select app.org_id()) and (select app.is_org_admin()));

create policy "admins change phone numbers" on public.phone_numbers
  for update to authenticated
  using (organization_id = (select app.org_id()) and (select app.is_org_admin()))
  with check (organization_id = (select app.org_id()) and (select app.is_org_admin()));

create policy "admins remove phone numbers" on public.phone_numbers
  for delete to authenticated
  using (organization_id = (select app.org_id()) and (select app.is_org_admin()));
