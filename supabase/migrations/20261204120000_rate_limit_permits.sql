-- Rate limits taken in blocks (issue 13): an API process takes several permits of a key's
-- window in one statement and spends them without a round trip each, so a busy user costs a
-- statement per block, not per request. Every permit taken is counted here, so all processes
-- together never allow more than the limit; the API decides how many to ask for.
drop function app.take_rate_limit(text, text, integer);

-- p_permits more hits in the key's window, or p_permits in a new window when the last one
-- ended; the hits so far (these included) and the seconds until the window resets.
create function app.take_rate_limit(p_bucket text, p_key text, p_window_ms integer, p_permits integer)
returns table (hits integer, seconds_left double precision)
language sql
security definer
set search_path = ''
as $$
  insert into app.rate_limits as r (bucket, key, hits, resets_at)
  values (p_bucket, p_key, p_permits, now() + make_interval(secs => p_window_ms / 1000.0))
  on conflict (bucket, key) do update
     set hits = case when r.resets_at > now() then r.hits + p_permits else p_permits end,
         resets_at = case when r.resets_at > now() then r.resets_at else excluded.resets_at end
  returning r.hits, extract(epoch from (r.resets_at - now()))::float8
$$;

alter function app.take_rate_limit(text, text, integer, integer) owner to service_role;
revoke all on function app.take_rate_limit(text, text, integer, integer) from public, anon, authenticated;
grant execute on function app.take_rate_limit(text, text, integer, integer) to service_role;
