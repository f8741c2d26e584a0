-- A tenant sees and changes only its own rows, in every table. Two orgs get a row in
-- every public table; then an admin of org A (so that admin-only policies are not what
-- stops them) tries to read, insert, update, delete and take over org B's rows, once
-- with each Clerk token format. The tables come from the catalog: a new table needs
-- fixture rows here (a test says so) and is then checked like the others.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

-- Fixture, written as the connecting superuser the way the system (service_role) writes.
-- The same fixture is used by 02-roles.test.sql.
do $fixture$
declare
  org text;
  n int := 0;
  phone_id uuid;
  contact_id uuid;
  call_id uuid;
  template_id uuid;
  job_id uuid;
  message_id uuid;
begin
  foreach org in array array['org_test_a', 'org_test_b'] loop
    n := n + 1;
    insert into public.organizations (id, name) values (org, 'Business ' || org);
    insert into public.phone_numbers (organization_id, e164, label)
      values (org, '+1555010000' || n, 'main line') returning id into phone_id;
    insert into public.contacts (organization_id, e164, name)
      values (org, '+1555020000' || n, 'Caller ' || n) returning id into contact_id;
    insert into public.consent_events (organization_id, contact_id, channel, action, source, actor)
      values (org, contact_id, 'dashboard', 'opt_in', 'dashboard', 'user_fixture');
    insert into public.call_logs (organization_id, call_sid, phone_number_id, contact_id, from_number, to_number,
                                  status, outcome, duration_seconds, ended_at)
      values (org, 'CA' || md5('call ' || org), phone_id, contact_id, '+1555020000' || n, '+1555010000' || n,
              'completed', 'missed', 0, now()) returning id into call_id;
    insert into public.templates (organization_id, name, trigger, whatsapp_content_sid, whatsapp_variables, sms_body)
      values (org, 'Missed call', 'missed', 'HX' || md5('template ' || org), '{"1": "{{business_name}}"}',
              'Sorry we missed your call. Reply STOP to opt out.') returning id into template_id;
    insert into public.message_jobs (organization_id, call_log_id, contact_id, template_id, to_number,
                                     decision, reason, status, sms_body)
      values (org, call_id, contact_id, template_id, '+1555020000' || n, 'send', 'missed call', 'sending',
              'Sorry we missed your call. Reply STOP to opt out.') returning id into job_id;
    insert into public.messages (organization_id, job_id, channel, provider_sid, to_number, from_number, status, sent_at)
      values (org, job_id, 'whatsapp', 'SM' || md5('message ' || org), '+1555020000' || n, '+1555010000' || n,
              'sent', now()) returning id into message_id;
    insert into public.message_events (organization_id, message_id, provider_sid, status)
      values (org, message_id, 'SM' || md5('message ' || org), 'sent');
    insert into public.inbound_messages (organization_id, contact_id, channel, from_number, to_number, body, provider_sid)
      values (org, contact_id, 'whatsapp', 'whatsapp:+1555020000' || n, 'whatsapp:+1555010000' || n,
              'Can I come by tomorrow?', 'SM' || md5('inbound ' || org));
    insert into public.subscriptions (organization_id, stripe_customer_id, stripe_subscription_id, plan, status,
                                      current_period_start, current_period_end)
      values (org, 'cus_pgtap' || n, 'sub_pgtap' || n, 'starter', 'active', '2026-11-01', '2026-12-01');
    insert into public.usage_periods (organization_id, period_start, period_end, messages_sent, whatsapp_sent)
      values (org, '2026-11-01', '2026-12-01', 1, 1);
    insert into public.webhook_receipts (provider, external_id, kind, organization_id)
      values ('twilio', 'CA' || md5('call ' || org), 'voice.status', org);
  end loop;
  -- A call to a number nobody owns: seen by operators only, never by a tenant.
  insert into public.webhook_receipts (provider, external_id, kind, organization_id, note)
    values ('twilio', 'CA' || md5('call to an unowned number'), 'voice.status', null, 'number not owned by any org');
end
$fixture$;

-- The column that says which org a row belongs to; null for a table that has none.
create function pg_temp.org_column(tbl regclass) returns text
language sql stable
as $$
  select case
           when tbl = 'public.organizations'::regclass then 'id'
           when exists (select 1 from pg_attribute
                         where attrelid = tbl and attname = 'organization_id' and not attisdropped)
             then 'organization_id'
         end
$$;

-- Runs a statement and says what happened: 'rows=<n>' (rows returned or changed) or
-- 'error=<SQLSTATE>'. The exception block rolls a failed statement back.
create function pg_temp.outcome(statement text) returns text
language plpgsql
as $$
declare
  n bigint;
begin
  execute statement;
  get diagnostics n = row_count;
  return 'rows=' || n;
exception when others then
  return 'error=' || sqlstate;
end
$$;

-- {rows of org A, rows of org B} in a table, as seen by the current role.
create function pg_temp.org_counts(tbl regclass) returns bigint[]
language plpgsql
as $$
declare
  counts bigint[];
begin
  if pg_temp.org_column(tbl) is null then
    return null;
  end if;
  execute format('select array[count(*) filter (where %1$I = %2$L), count(*) filter (where %1$I = %3$L)] from %4$s',
                 pg_temp.org_column(tbl), 'org_test_a', 'org_test_b', tbl)
    into counts;
  return counts;
end
$$;

-- The physical versions (ctids) of org B's rows, read past row level security: an
-- update or delete of any of them changes this value.
create function pg_temp.org_b_row_versions(tbl regclass) returns text
language plpgsql
security definer
set search_path = pg_catalog
as $$
declare
  versions text;
begin
  execute format('select coalesce(string_agg(ctid::text, %L order by ctid), %L) from %s where %I = %L',
                 ',', '', tbl, pg_temp.org_column(tbl), 'org_test_b')
    into versions;
  return versions;
end
$$;

-- Runs a statement, says whether it updated or deleted any of org B's rows in tbl
-- ('untouched', 'touched' or 'error=<SQLSTATE>'), and rolls it back either way.
create function pg_temp.org_b_touched_by(tbl regclass, statement text) returns text
language plpgsql
as $$
declare
  before text := pg_temp.org_b_row_versions(tbl);
  after text;
begin
  begin
    execute statement;
    after := pg_temp.org_b_row_versions(tbl);
    raise sqlstate 'PT000';
  exception when others then
    if sqlstate <> 'PT000' then
      return 'error=' || sqlstate;
    end if;
  end;
  return case when after = before then 'untouched' else 'touched' end;
end
$$;

-- One of an org's rows in a table, as jsonb, with a fresh uuid primary key (if the table
-- has one) so that only row level security can refuse it as a new row.
create function pg_temp.copy_of_a_row(tbl regclass, org text) returns jsonb
language plpgsql
as $$
declare
  row jsonb;
begin
  execute format('select to_jsonb(r) from %s r where %I = %L limit 1', tbl, pg_temp.org_column(tbl), org) into row;
  if pg_temp.org_column(tbl) <> 'id' and exists (
       select 1 from pg_attribute where attrelid = tbl and attname = 'id' and atttypid = 'uuid'::regtype) then
    row := row || jsonb_build_object('id', gen_random_uuid());
  end if;
  return row;
end
$$;

create temp table tenant_tables as
  select c.oid::regclass as tbl, pg_temp.org_column(c.oid) as org_column, pg_temp.org_counts(c.oid) as fixture_counts
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p');

create temp table b_rows as
  select tbl, pg_temp.copy_of_a_row(tbl, 'org_test_b') as row from tenant_tables where org_column is not null;

grant select on tenant_tables, b_rows to authenticated;

-- Everything org A's admin tries against each table, with the claims set by the caller.
create function pg_temp.isolation_checks(who text) returns setof text
language plpgsql
as $$
declare
  t record;
begin
  for t in
    select tt.tbl, tt.org_column, tt.fixture_counts, b.row as b_row
      from tenant_tables tt left join b_rows b on b.tbl = tt.tbl
     where tt.org_column is not null
     order by tt.tbl::text
  loop
    return next is(
      pg_temp.outcome(format('select 1 from %s where %I is distinct from %L', t.tbl, t.org_column, 'org_test_a')),
      'rows=0',
      format('%s sees no rows of another org (or of none) in %s', who, t.tbl));
    -- Without this, a policy that hides everything would pass every check here.
    return next is(
      pg_temp.outcome(format('select 1 from %s where %I = %L', t.tbl, t.org_column, 'org_test_a')),
      'rows=' || t.fixture_counts[1],
      format('%s sees all of org A''s rows in %s', who, t.tbl));
    return next is(
      pg_temp.outcome(format('insert into %1$s select * from jsonb_populate_record(null::%1$s, %2$L)', t.tbl, t.b_row)),
      'error=42501',
      format('%s cannot insert a row of org B into %s', who, t.tbl));
    return next is(
      pg_temp.outcome(format('update %1$s set %2$I = %2$I where %2$I = %3$L', t.tbl, t.org_column, 'org_test_b')),
      case when has_table_privilege(t.tbl, 'update') then 'rows=0' else 'error=42501' end,
      format('%s updates none of org B''s rows in %s', who, t.tbl));
    return next is(
      pg_temp.outcome(format('delete from %1$s where %2$I = %3$L', t.tbl, t.org_column, 'org_test_b')),
      case when has_table_privilege(t.tbl, 'delete') then 'rows=0' else 'error=42501' end,
      format('%s deletes none of org B''s rows in %s', who, t.tbl));
    -- Statements that read no column are not filtered by SELECT policies, so these reach
    -- the UPDATE and DELETE policies alone. Setting the org to A is what a leaky USING
    -- clause with a correct WITH CHECK would let through.
    return next matches(
      pg_temp.org_b_touched_by(t.tbl, format('update %1$s set %2$I = %3$L', t.tbl, t.org_column, 'org_test_a')),
      '^(untouched|error=42501)$',
      format('%s updates none of org B''s rows in %s with an unfiltered update', who, t.tbl));
    return next matches(
      pg_temp.org_b_touched_by(t.tbl, format('delete from %s', t.tbl)),
      '^(untouched|error=42501)$',
      format('%s deletes none of org B''s rows in %s with an unfiltered delete', who, t.tbl));
    return next matches(
      pg_temp.outcome(format('update %1$s set %2$I = %3$L', t.tbl, t.org_column, 'org_test_b')),
      '^(rows=0|error=42501)$',
      format('%s cannot move org A''s rows in %s to org B', who, t.tbl));
  end loop;
end
$$;

select plan(
  (select count(*)::int from tenant_tables)                                        -- fixture coverage
  + 2 * 8 * (select count(*)::int from tenant_tables where org_column is not null) -- two token formats
  + (select count(*)::int from tenant_tables where org_column is not null)         -- nothing moved
);

select ok(
         org_column is not null and fixture_counts[1] > 0 and fixture_counts[2] > 0,
         case when org_column is null
           then format('%s has an organization_id column (every public table is org-scoped)', tbl)
           else format('the fixture has rows of org A and org B in %s', tbl)
         end)
  from tenant_tables order by tbl::text;

-- A user request, as the API makes it: role authenticated and the token's claims for
-- this transaction (what set_config('request.jwt.claims', ..., true) does, without output).
-- Clerk session token v1 claims.
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","org_id":"org_test_a","org_role":"org:admin"}';
select * from pg_temp.isolation_checks('admin of org A (v1 token)');
reset role;

-- Clerk session token v2 claims.
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","o":{"id":"org_test_a","rol":"admin"}}';
select * from pg_temp.isolation_checks('admin of org A (v2 token)');
reset role;

-- As the superuser again, which sees every row.
select is(pg_temp.org_counts(tbl), fixture_counts, format('every row of %s is still where the fixture put it', tbl))
  from tenant_tables where org_column is not null order by tbl::text;

select * from finish();
rollback;
