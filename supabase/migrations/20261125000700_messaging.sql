-- A call's message job (at most one per call, also for skips, with the decision and its
-- reason), one message per channel attempt, and every provider status callback.
-- All written by the system; members read.
create table public.message_jobs (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  call_log_id uuid not null unique,
  contact_id uuid,
  template_id uuid,
  to_number text not null check (length(to_number) <= 64),
  decision text not null check (decision in ('send', 'skip', 'defer')),
  reason text not null check (length(reason) between 1 and 500),
  status text not null default 'pending'
    check (status in ('pending', 'scheduled', 'sending', 'delivered', 'failed', 'skipped')),
  -- Channels in the order they are tried, e.g. {whatsapp,sms}, or {sms} when the
  -- number is known not to be on WhatsApp.
  channels text[] not null default '{whatsapp,sms}'
    check (channels <@ array['whatsapp', 'sms']::text[]),
  whatsapp_content_sid text,
  whatsapp_variables jsonb not null default '{}' check (jsonb_typeof(whatsapp_variables) = 'object'),
  sms_body text,
  fallback_window_seconds integer not null default 300 check (fallback_window_seconds between 10 and 86400),
  send_after timestamptz,
  final_channel text check (final_channel in ('whatsapp', 'sms')),
  final_reason text check (length(final_reason) <= 500),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (organization_id, id),
  foreign key (organization_id, call_log_id)
    references public.call_logs (organization_id, id) on delete cascade,
  foreign key (organization_id, contact_id)
    references public.contacts (organization_id, id) on delete set null (contact_id),
  foreign key (organization_id, template_id)
    references public.templates (organization_id, id) on delete set null (template_id)
);

create index message_jobs_org_created_at on public.message_jobs (organization_id, created_at desc, id desc);
create index message_jobs_org_contact on public.message_jobs (organization_id, contact_id, created_at desc);

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  job_id uuid not null,
  channel text not null check (channel in ('whatsapp', 'sms')),
  -- Null until the provider accepted the send: the row is written first, so a retried
  -- step sees the attempt and never sends twice.
  provider_sid text unique check (provider_sid ~ '^(SM|MM)[0-9a-f]{32}$'),
  to_number text not null check (length(to_number) <= 64),
  from_number text check (length(from_number) <= 64),
  status text not null default 'pending'
    check (status in ('pending', 'accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'canceled')),
  error_code integer,
  error_message text check (length(error_message) <= 1000),
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  status_changed_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (job_id, channel),
  unique (organization_id, id),
  foreign key (organization_id, job_id)
    references public.message_jobs (organization_id, id) on delete cascade
);

create index messages_org_created_at on public.messages (organization_id, created_at desc, id desc);

create table public.message_events (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null,
  message_id uuid not null,
  provider_sid text not null check (length(provider_sid) <= 64),
  status text not null check (length(status) <= 32),
  error_code integer,
  payload jsonb not null default '{}' check (jsonb_typeof(payload) = 'object'),
  received_at timestamptz not null default now(),
  foreign key (organization_id, message_id)
    references public.messages (organization_id, id) on delete cascade
);

create index message_events_org_message on public.message_events (organization_id, message_id, received_at);

create trigger message_jobs_touch_updated_at before update on public.message_jobs
  for each row execute function app.touch_updated_at();
create trigger messages_touch_updated_at before update on public.messages
  for each row execute function app.touch_updated_at();

alter table public.message_jobs enable row level security;
alter table public.messages enable row level security;
alter table public.message_events enable row level security;
revoke all on public.message_jobs, public.messages, public.message_events from anon, authenticated;
-- Written by the system only.
grant select on public.message_jobs, public.messages, public.message_events to authenticated;
grant all on public.message_jobs, public.messages, public.message_events to service_role;

create policy "members read their message jobs" on public.message_jobs
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "members read their messages" on public.messages
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "members read their message events" on public.message_events
  for select to authenticated
  using (organization_id = (select app.org_id()));
