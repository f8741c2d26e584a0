-- The dedupe ledger for every incoming webhook: a provider's event id is processed once.
-- organization_id is null when the event could not be tied to an org (for example a
-- call to a number nobody owns); those rows are for operators, seen by no tenant.
create table public.webhook_receipts (
  id uuid primary key default gen_random_uuid(),
  provider text not null check (provider in ('twilio', 'stripe', 'clerk')),
  external_id text not null check (length(external_id) between 1 and 255),
  kind text not null check (length(kind) between 1 and 100),
  organization_id text references public.organizations (id) on delete cascade,
  note text check (length(note) <= 500),
  received_at timestamptz not null default now(),
  unique (provider, external_id)
);

create index webhook_receipts_org_received_at on public.webhook_receipts (organization_id, received_at desc);

alter table public.webhook_receipts enable row level security;
revoke all on public.webhook_receipts from anon, authenticated;
-- Written by the system only.
grant select on public.webhook_receipts to authenticated;
grant all on public.webhook_receipts to service_role;

create policy "members read their webhook receipts" on public.webhook_receipts
  for select to authenticated
  using (organization_id = (select app.org_id()));
