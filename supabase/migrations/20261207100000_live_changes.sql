-- The dashboard's once-a-second poll (live.changes) as a function, so its plan is kept.
-- Sent as a statement, its six subqueries were planned on every poll, each with its table's
-- policy: on the PostgreSQL server 1.2 ms of planning for 0.36 ms of executing, about 2.3 ms
-- of Postgres CPU a poll under load. PL/pgSQL keeps a statement's plan for the connection's
-- life; the plan does not depend on the tenant (the policies read app.org_id() when it runs),
-- and Postgres plans again when the role or row_security differ from the ones it was made
-- for, so a pooled connection that served the service role cannot reuse it for a member.
-- security invoker: the caller's policies decide what each subquery sees, as before.
create function app.live_changes()
returns table (calls text, jobs text, messages text, replies text, subscription text, unread integer)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return query
  select (select max(c.updated_at)::text from public.call_logs c),
         (select max(j.updated_at)::text from public.message_jobs j),
         (select max(m.updated_at)::text from public.messages m),
         (select max(i.received_at)::text from public.inbound_messages i),
         (select max(s.updated_at)::text from public.subscriptions s),
         (select count(*)::integer from public.inbound_messages i where i.read_at is null);
end
$$;

revoke all on function app.live_changes() from public;
grant execute on function app.live_changes() to authenticated;
