-- The API's rate limits, shared by every API process (replicas, cluster workers): a fixed
-- window per (limit, key), counted by one upsert per request. In memory, N processes would
-- each allow the whole limit. System only: no API role reads or writes it. Windows that
-- ended are deleted by the API now and then (rate-limit.ts), so the table stays small.
create table app.rate_limits (
  -- Which limit: trpc (per user and org), anonymous (per address), inngest_sync (per address).
  bucket text not null check (length(bucket) between 1 and 40),
  key text not null check (length(key) between 1 and 300),
  hits integer not null check (hits >= 1),
  resets_at timestamptz not null,
  primary key (bucket, key)
);

-- The cleanup's scan: windows that ended.
create index rate_limits_resets_at on app.rate_limits (resets_at);

alter table app.rate_limits enable row level security;
revoke all on app.rate_limits from public, anon, authenticated;
grant select, insert, update, delete on app.rate_limits to service_role;
