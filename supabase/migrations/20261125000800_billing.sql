-- Stripe state per org (written by billing sync functions) and message usage per
-- billing period (written when messages are sent). Members read; nobody else writes.
create table public.subscriptions (
  organization_id text primary key references public.organizations (id) on delete cascade,
  stripe_customer_id text unique check (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  stripe_subscription_id text unique check (stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
  plan text not null default 'free' check (plan ~ '^[a-z][a-z0-9_]{0,31}$'),
  status text not null default 'active'
    check (status in ('trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused')),
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (current_period_end is null or current_period_start is null or current_period_end > current_period_start)
);

create trigger subscriptions_touch_updated_at before update on public.subscriptions
  for each row execute function app.touch_updated_at();

create table public.usage_periods (
  organization_id text not null references public.organizations (id) on delete cascade,
  period_start timestamptz not null,
  period_end timestamptz not null,
  messages_sent integer not null default 0 check (messages_sent >= 0),
  whatsapp_sent integer not null default 0 check (whatsapp_sent >= 0),
  sms_sent integer not null default 0 check (sms_sent >= 0),
  sms_segments integer not null default 0 check (sms_segments >= 0),
  updated_at timestamptz not null default now(),
  primary key (organization_id, period_start),
  check (period_end > period_start)
);

create trigger usage_periods_touch_updated_at before update on public.usage_periods
  for each row execute function app.touch_updated_at();

alter table public.subscriptions enable row level security;
alter table public.usage_periods enable row level security;
revoke all on public.subscriptions, public.usage_periods from anon, authenticated;
-- Written by the system only.
grant select on public.subscriptions, public.usage_periods to authenticated;
grant all on public.subscriptions, public.usage_periods to service_role;

create policy "members read their subscription" on public.subscriptions
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "members read their usage" on public.usage_periods
  for select to authenticated
  using (organization_id = (select app.org_id()));
