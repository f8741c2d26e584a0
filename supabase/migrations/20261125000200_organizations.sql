-- A business (tenant). The id is the Clerk organization id. Messaging settings live
-- on the row: one business, one set of rules.
create table public.organizations (
  id text primary key check (id ~ '^[A-Za-z0-9_]{1,64}$'),
  name text not null default '' check (length(name) <= 200),
  timezone text not null default 'UTC' check (length(timezone) between 1 and 64),
  -- Weekly opening hours in the org's timezone: {"mon": [["09:00","17:00"]], ...}.
  business_hours jsonb not null default '{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}'
    check (jsonb_typeof(business_hours) = 'object'),
  -- No message goes out between start and end (local time); null: no quiet hours.
  quiet_hours jsonb default '{"start":"21:00","end":"08:00"}'
    check (quiet_hours is null or jsonb_typeof(quiet_hours) = 'object'),
  fallback_window_seconds integer not null default 300 check (fallback_window_seconds between 10 and 86400),
  cooldown_seconds integer not null default 86400 check (cooldown_seconds between 0 and 2592000),
  consent_policy text not null default 'implied' check (consent_policy in ('implied', 'explicit')),
  trigger_outcomes text[] not null default '{missed,voicemail}'
    check (trigger_outcomes <@ array['missed', 'answered', 'voicemail']::text[]),
  -- A completed call shorter than this counts as missed (hang-up during greeting).
  answered_min_seconds integer not null default 5 check (answered_min_seconds between 0 and 600),
  help_text text not null default 'Reply STOP to stop messages from us. Call us back any time.'
    check (length(help_text) between 1 and 320),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger organizations_touch_updated_at before update on public.organizations
  for each row execute function app.touch_updated_at();

alter table public.organizations enable row level security;
revoke all on public.organizations from anon, authenticated;
grant select, update on public.organizations to authenticated;
grant all on public.organizations to service_role;

-- Rows are created by the system on an org's first request and removed when Clerk
-- deletes the org, so members only read and admins only change settings.
create policy "members read their organization" on public.organizations
  for select to authenticated
  using (id = (select app.org_id()));

create policy "admins update their organization" on public.organizations
  for update to authenticated
  using (id = (select app.org_id()) and (select app.is_org_admin()))
  with check (id = (select app.org_id()) and (select app.is_org_admin()));
