-- A job can end canceled: the caller opted out between the decision and the send (a STOP
-- while it waited for quiet hours to end, or while WhatsApp had its chance). An opt-out
-- cancels at once the caller's jobs that have not started sending, whatever recorded it
-- (their keyword, staff, the carrier): the ledger is the one path consent changes by.
alter table public.message_jobs drop constraint message_jobs_status_check;
alter table public.message_jobs add constraint message_jobs_status_check
  check (status in ('pending', 'scheduled', 'sending', 'delivered', 'failed', 'skipped', 'canceled'));

-- security definer: members record opt-outs but do not write jobs. Jobs already sending
-- are left to the delivery, which checks consent again before each channel's send.
create or replace function app.cancel_jobs_on_opt_out() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.action = 'opt_out' then
    update public.message_jobs
       set status = 'canceled',
           final_reason = 'canceled: the caller opted out before it was sent',
           completed_at = new.at
     where organization_id = new.organization_id
       and contact_id = new.contact_id
       and status in ('pending', 'scheduled');
  end if;
  return new;
end
$$;

create trigger consent_events_cancel_jobs after insert on public.consent_events
  for each row execute function app.cancel_jobs_on_opt_out();
