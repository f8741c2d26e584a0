-- Every table in public is behind row level security, and every policy has the shape
-- we rely on. The checks read the catalog, so a table or policy added later without
-- these properties fails here without anyone editing this file.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

-- The relations under test, computed once so that plan() and the tests agree.
create temp table rls_tables on commit drop as
  select c.oid::regclass as tbl, c.relrowsecurity as rls_enabled
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p');

create temp table rls_policies on commit drop as
  select p.oid, p.polrelid::regclass as tbl, p.polname, p.polroles,
         pg_get_expr(p.polqual, p.polrelid) as using_text,
         pg_get_expr(p.polwithcheck, p.polrelid) as check_text,
         coalesce(p.polqual::text, '') || ' ' || coalesce(p.polwithcheck::text, '') as node_trees
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public';

-- The table columns a policy reads (Var nodes of its own relation in USING / WITH CHECK).
create temp table rls_policy_columns on commit drop as
  select distinct p.tbl, a.attnum, a.attname
    from rls_policies p
    cross join lateral regexp_matches(p.node_trees, '\{VAR :varno 1 :varattno (\d+) [^}]*:varlevelsup 0 ', 'g') as m
    join pg_attribute a on a.attrelid = p.tbl and a.attnum = m[1]::int2;

create temp table rls_views on commit drop as
  select c.oid::regclass as view, c.relkind, c.reloptions
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('v', 'm');

select plan(
  1
  + 2 * (select count(*)::int from rls_tables)
  + 3 * (select count(*)::int from rls_policies)
  + (select count(*)::int from rls_policy_columns)
  + (select count(*)::int from rls_views)
);

select ok((select count(*) from rls_tables) > 0, 'schema public has tables to check');

select ok(rls_enabled, format('%s has row level security enabled', tbl))
  from rls_tables order by tbl::text;

select ok(
         exists (select 1 from pg_policy p where p.polrelid = t.tbl),
         format('%s has at least one policy', tbl))
  from rls_tables t order by tbl::text;

select is(
         polroles,
         array[(select oid from pg_roles where rolname = 'authenticated')]::oid[],
         format('policy "%s" on %s applies to authenticated only', polname, tbl))
  from rls_policies order by tbl::text, polname;

-- Clerk ids are text; auth.uid() casts the subject to uuid and breaks on them.
select ok(
         coalesce(using_text, '') !~* '(^|[^a-z0-9_])uid\s*\(' and coalesce(check_text, '') !~* '(^|[^a-z0-9_])uid\s*\(',
         format('policy "%s" on %s does not use auth.uid()', polname, tbl))
  from rls_policies order by tbl::text, polname;

-- A bare claim lookup is evaluated per row; wrapped in (select ...) it runs once per query.
select ok(
         regexp_replace(coalesce(using_text, '') || ' ' || coalesce(check_text, ''),
                        '\(\s*select\s+(app|auth)\.\w+\(\)\s+as\s+\w+\)', '', 'gi')
           !~* '(app|auth)\.\w+\s*\(',
         format('policy "%s" on %s wraps its claim lookups in (select ...)', polname, tbl))
  from rls_policies order by tbl::text, polname;

-- A policy filter runs on every query; without a leading index it is a sequential scan.
select ok(
         exists (
           select 1 from pg_index i
            where i.indrelid = pc.tbl and i.indkey[0] = pc.attnum
              and i.indisvalid and i.indpred is null),
         format('%s.%s (read by a policy) leads an index', pc.tbl, pc.attname))
  from rls_policy_columns pc order by pc.tbl::text, pc.attname;

-- A view runs with its owner's rights unless security_invoker is set, which would skip
-- RLS; a materialized view cannot have RLS at all, so no API role may read one.
select ok(
         case relkind
           when 'v' then exists (
             select 1 from unnest(coalesce(reloptions, '{}')) as o
              where lower(o) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'))
           else not has_table_privilege('anon', view, 'select')
                and not has_table_privilege('authenticated', view, 'select')
         end,
         case relkind
           when 'v' then format('view %s has security_invoker', view)
           else format('materialized view %s is not readable by anon or authenticated', view)
         end)
  from rls_views order by view::text;

select * from finish();
rollback;
