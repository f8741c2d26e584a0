-- Reconciliation (inngest/src/functions/reconcile-deliveries.ts): Twilio may never send a
-- status callback, so a scheduled function asks Twilio for the status of messages that have
-- not settled and finishes jobs that nothing moves any more. What it needs to remember:
-- when a message may be asked about again, why the last ask failed, and which of a
-- message's events came from a callback and which from asking.
alter table public.messages
  add column reconcile_after timestamptz,
  add column reconcile_error text check (length(reconcile_error) <= 500);

alter table public.message_events
  add column source text not null default 'callback' check (source in ('callback', 'reconciled'));

-- What a run reads across every business: sent messages whose outcome is still unknown.
-- Partial: a settled message (delivered, read, failed, …) never matches, so it stays small.
create index messages_unsettled on public.messages (status_changed_at)
  where provider_sid is not null and status in ('accepted', 'scheduled', 'queued', 'sending', 'sent');

-- Jobs not final, by their last change: the stuck ones are the oldest.
create index message_jobs_open_updated_at on public.message_jobs (updated_at)
  where status in ('pending', 'scheduled', 'sending');
