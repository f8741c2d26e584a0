-- Events a webhook causes, written in the same transaction as the rows it writes (a
-- transactional outbox) and relayed to Inngest after the commit and by a sweep: a callback
-- answered 200 is never lost, even when Inngest is down or the process dies right after.
-- The event id is the provider's id, so a repeated callback adds nothing and Inngest runs
-- it once. System only: no API role reads or writes it (it is not in `public`).
create table app.event_outbox (
  id bigint generated always as identity primary key,
  event_id text not null unique check (length(event_id) between 1 and 255),
  name text not null check (length(name) between 1 and 100),
  data jsonb not null check (jsonb_typeof(data) = 'object'),
  created_at timestamptz not null default now(),
  -- A relay took it for sending until then; an expired claim is taken again (its sender died).
  claimed_until timestamptz,
  sent_at timestamptz,
  attempts integer not null default 0,
  last_error text check (length(last_error) <= 500)
);

-- What the relay reads: the unsent, oldest first.
create index event_outbox_unsent on app.event_outbox (id) where sent_at is null;

revoke all on app.event_outbox from public, anon, authenticated;
grant all on app.event_outbox to service_role;
