-- Callers, one row per org and number, and the consent ledger behind their state.
-- The ledger is append-only and is the only way consent changes: contacts.opted_out_at /
-- opted_in_at are written by its trigger alone, so sending rules read one row and no
-- opt-out can be lifted without a ledger entry saying who and why.
create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  e164 text not null check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
  name text check (length(name) <= 200),
  -- Learnt from sends: 'unavailable' once WhatsApp said the number has no account.
  whatsapp_status text not null default 'unknown'
    check (whatsapp_status in ('unknown', 'available', 'unavailable')),
  whatsapp_checked_at timestamptz,
  -- Null unless the latest consent event was an opt-out (applies to every channel).
  opted_out_at timestamptz,
  -- Set by an explicit opt-in; needed when the org's consent policy is 'explicit'.
  opted_in_at timestamptz,
  last_messaged_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, e164),
  unique (organization_id, id)
);

create trigger contacts_touch_updated_at before update on public.contacts
  for each row execute function app.touch_updated_at();

create table public.consent_events (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null,
  contact_id uuid not null,
  -- The channel the request came through; an opt-out applies to every channel.
  channel text not null check (channel in ('sms', 'whatsapp', 'voice', 'dashboard', 'api')),
  action text not null check (action in ('opt_in', 'opt_out')),
  source text not null check (source in ('inbound_keyword', 'dashboard', 'import', 'api', 'call')),
  -- Who and why: a Clerk user id and reason, or the inbound message sid and text.
  actor text not null check (length(actor) between 1 and 200),
  evidence jsonb not null default '{}' check (jsonb_typeof(evidence) = 'object'),
  at timestamptz not null default now(),
  foreign key (organization_id, contact_id)
    references public.contacts (organization_id, id) on delete cascade
);

create index consent_events_org_contact_at on public.consent_events (organization_id, contact_id, at desc);

-- security definer: members may not write the consent columns themselves.
create or replace function app.apply_consent_event() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.contacts
     set opted_out_at = case when new.action = 'opt_out' then new.at end,
         opted_in_at = case when new.action = 'opt_in' then new.at else opted_in_at end
   where organization_id = new.organization_id and id = new.contact_id;
  return new;
end
$$;

create trigger consent_events_apply after insert on public.consent_events
  for each row execute function app.apply_consent_event();

alter table public.contacts enable row level security;
alter table public.consent_events enable row level security;
revoke all on public.contacts, public.consent_events from anon, authenticated;
-- Members may name a contact; consent and WhatsApp reachability are the system's to
-- write. Contacts are not deleted by tenants: deleting one would erase its consent
-- history with it (they go only with their organization).
grant select, insert (organization_id, e164, name), update (name) on public.contacts to authenticated;
-- The ledger is history: nobody edits or removes an entry.
grant select, insert on public.consent_events to authenticated;
grant all on public.contacts, public.consent_events to service_role;

create policy "members read their contacts" on public.contacts
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "members add contacts" on public.contacts
  for insert to authenticated
  with check (organization_id = (select app.org_id()));

create policy "members update their contacts" on public.contacts
  for update to authenticated
  using (organization_id = (select app.org_id()))
  with check (organization_id = (select app.org_id()));

create policy "members read their consent ledger" on public.consent_events
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "members record consent" on public.consent_events
  for insert to authenticated
  with check (organization_id = (select app.org_id()));
