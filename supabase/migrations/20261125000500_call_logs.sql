-- One row per call, keyed by Twilio's CallSid; written only by the voice webhook.
create table public.call_logs (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  call_sid text not null unique check (call_sid ~ '^CA[0-9a-f]{32}$'),
  phone_number_id uuid,
  contact_id uuid,
  -- As Twilio sent it: may be 'anonymous' or otherwise not a valid E.164 number.
  from_number text not null check (length(from_number) <= 64),
  to_number text not null check (length(to_number) <= 64),
  direction text not null default 'inbound' check (direction in ('inbound', 'outbound')),
  status text not null check (status in ('queued', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled')),
  outcome text check (outcome in ('missed', 'answered', 'voicemail')),
  duration_seconds integer check (duration_seconds >= 0),
  answered_by text check (length(answered_by) <= 64),
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id),
  foreign key (organization_id, phone_number_id)
    references public.phone_numbers (organization_id, id) on delete set null (phone_number_id),
  foreign key (organization_id, contact_id)
    references public.contacts (organization_id, id) on delete set null (contact_id)
);

-- The dashboard's list: newest first, keyset-paginated, within one org.
create index call_logs_org_started_at on public.call_logs (organization_id, started_at desc, id desc);
create index call_logs_org_contact on public.call_logs (organization_id, contact_id, started_at desc);

create trigger call_logs_touch_updated_at before update on public.call_logs
  for each row execute function app.touch_updated_at();

alter table public.call_logs enable row level security;
revoke all on public.call_logs from anon, authenticated;
-- Written by the system only.
grant select on public.call_logs to authenticated;
grant all on public.call_logs to service_role;

create policy "members read their calls" on public.call_logs
  for select to authenticated
  using (organization_id = (select app.org_id()));
