-- What GET /metrics reads at scrape time (apps/api/src/observability/delivery-snapshot.ts):
-- the last 24 hours of finished jobs, sends and provider errors across every business, and
-- the jobs not final yet. The other indexes all lead with organization_id, which a read over
-- every org cannot use; without these a scrape would scan the whole tables. Partial where the
-- rest of the table never matches, so they stay small and cost writes little.
create index message_jobs_completed_at on public.message_jobs (completed_at)
  where completed_at is not null;
create index message_jobs_open on public.message_jobs (status, created_at)
  where status in ('pending', 'scheduled', 'sending');
create index messages_sent_at on public.messages (sent_at)
  where sent_at is not null;
create index messages_provider_errors on public.messages (status_changed_at)
  where error_code is not null;
