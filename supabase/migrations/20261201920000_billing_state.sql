-- Billing state CallFlow keeps from Stripe: when a subscription became past due (the
-- grace period counts from there), the period each message was counted in, and the one way
-- an admin's request links the organization's Stripe customer.
alter table public.subscriptions add column past_due_since timestamptz;

-- The usage period a job's message was counted in when it was decided (usage_periods'
-- key); its sends add their channel counts to the same row.
alter table public.message_jobs add column usage_period_start timestamptz;

-- One Stripe customer per organization, created by the API for an admin on first need and
-- linked here, once: a second link keeps the first (concurrent requests converge on it).
-- security definer: subscriptions are the system's to write; this writes only the caller's
-- own org's customer id, and only for an admin.
create or replace function app.link_stripe_customer(customer_id text) returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  org text := app.org_id();
  linked text;
begin
  if org is null or not app.is_org_admin() then
    raise exception 'only an organization admin can link its Stripe customer' using errcode = 'insufficient_privilege';
  end if;
  if customer_id !~ '^cus_[A-Za-z0-9]+$' then
    raise exception 'not a Stripe customer id' using errcode = 'invalid_parameter_value';
  end if;
  insert into public.subscriptions (organization_id, stripe_customer_id)
  values (org, customer_id)
  on conflict (organization_id) do update
    set stripe_customer_id = coalesce(public.subscriptions.stripe_customer_id, excluded.stripe_customer_id)
  returning stripe_customer_id into linked;
  return linked;
end
$$;

revoke all on function app.link_stripe_customer(text) from public;
grant execute on function app.link_stripe_customer(text) to authenticated;
