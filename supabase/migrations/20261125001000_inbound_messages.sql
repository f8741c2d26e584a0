-- Replies from callers that are not keywords (STOP, START, HELP and kin are consent
-- events or answered at once), kept for the dashboard. Written by the inbound message
-- webhook only; members read.
create table public.inbound_messages (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  -- Null when the sender is not a phone number we can reply to (a short code, say).
  contact_id uuid,
  channel text not null check (channel in ('sms', 'whatsapp')),
  -- As Twilio sent them, e.g. 'whatsapp:+15125550100'.
  from_number text not null check (length(from_number) <= 64),
  to_number text not null check (length(to_number) <= 64),
  body text not null check (length(body) <= 1600),
  provider_sid text not null unique check (provider_sid ~ '^(SM|MM)[0-9a-f]{32}$'),
  received_at timestamptz not null default now(),
  foreign key (organization_id, contact_id)
    references public.contacts (organization_id, id) on delete set null (contact_id)
);

-- The dashboard's list: newest first, keyset-paginated, within one org.
create index inbound_messages_org_received_at on public.inbound_messages (organization_id, received_at desc, id desc);
create index inbound_messages_org_contact on public.inbound_messages (organization_id, contact_id, received_at desc);

alter table public.inbound_messages enable row level security;
revoke all on public.inbound_messages from anon, authenticated;
-- Written by the system only.
grant select on public.inbound_messages to authenticated;
grant all on public.inbound_messages to service_role;

create policy "members read their inbound messages" on public.inbound_messages
  for select to authenticated
  using (organization_id = (select app.org_id()));
