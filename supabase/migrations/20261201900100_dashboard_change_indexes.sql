-- The dashboard polls "what changed since" once a second per open tab: the newest change
-- of an org's calls, jobs and messages must be one index probe each, not a scan.
create index call_logs_org_updated_at on public.call_logs (organization_id, updated_at desc);
create index message_jobs_org_updated_at on public.message_jobs (organization_id, updated_at desc);
create index messages_org_updated_at on public.messages (organization_id, updated_at desc);
