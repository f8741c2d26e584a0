-- pg_stat_statements: per-statement call counts and timings, for finding slow queries
-- (README "Operations"). Supabase has it already (schema extensions); a PostgreSQL server we
-- start gets it here, when the server ships it and the migrating role may create it. PGlite
-- has no such extension: there this migration does nothing. Its numbers need the library in
-- shared_preload_libraries (scripts/pg-server.sh sets that); the extension exists either way.
do $pg_stat_statements$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_stat_statements') then
    create extension if not exists pg_stat_statements with schema extensions;
  end if;
exception
  -- Only a superuser may create it: a managed server that refuses is told how, and migrates on.
  when insufficient_privilege then
    raise warning 'pg_stat_statements was not created (%); a superuser can: create extension pg_stat_statements with schema extensions',
      sqlerrm;
end
$pg_stat_statements$;
