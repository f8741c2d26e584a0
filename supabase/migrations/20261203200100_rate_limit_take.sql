-- A counted request costs one statement outside any transaction (app.take_rate_limit), not a
-- transaction of its own, and no WAL flush: the counts are worth nothing after a crash (each
-- window starts again), so the table is unlogged. Every tRPC request takes one.
alter table app.rate_limits set unlogged;

-- One more hit in the key's window, or 1 in a new window when the last one ended; the hits so
-- far and the seconds until the window resets.
create function app.take_rate_limit(p_bucket text, p_key text, p_window_ms integer)
returns table (hits integer, seconds_left double precision)
language sql
security definer
set search_path = ''
as $$
  insert into app.rate_limits as r (bucket, key, hits, resets_at)
  values (p_bucket, p_key, 1, now() + make_interval(secs => p_window_ms / 1000.0))
  on conflict (bucket, key) do update
     set hits = case when r.resets_at > now() then r.hits + 1 else 1 end,
         resets_at = case when r.resets_at > now() then r.resets_at else excluded.resets_at end
  returning r.hits, extract(epoch from (r.resets_at - now()))::float8
$$;

alter function app.take_rate_limit(text, text, integer) owner to service_role;
revoke all on function app.take_rate_limit(text, text, integer) from public, anon, authenticated;
grant execute on function app.take_rate_limit(text, text, integer) to service_role;
