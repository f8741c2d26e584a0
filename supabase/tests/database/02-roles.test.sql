-- Who may do what within their own org. anon may do nothing at all; authenticated
-- without an org sees nothing; members read everything of their org, keep contacts and
-- record consent; only admins change settings, numbers and templates; nobody edits the
-- consent ledger; tables the system writes are read-only for every user.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

-- Fixture, written as the connecting superuser the way the system (service_role) writes.
-- The same fixture as in 01-tenant-isolation.test.sql.
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

-- Org A's rows of a table as one value, to show that refused writes changed nothing.
create function pg_temp.org_a_fingerprint(tbl regclass) returns text
language plpgsql
as $$
declare
  fingerprint text;
begin
  execute format('select md5(coalesce(string_agg(to_jsonb(r)::text, %L order by to_jsonb(r)::text), %L)) from %s r where %I = %L',
                 ',', '', tbl, pg_temp.org_column(tbl), 'org_test_a')
    into fingerprint;
  return fingerprint;
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

create temp table public_tables as
  select c.oid::regclass as tbl
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p');

-- What only the system writes (webhooks, Inngest functions, billing sync), each with a
-- copy of one of org A's rows for A's admin to try to insert.
create temp table system_tables as
  select tbl, pg_temp.copy_of_a_row(tbl, 'org_test_a') as a_row
    from unnest(array['public.call_logs', 'public.message_jobs', 'public.messages', 'public.message_events',
                      'public.inbound_messages', 'public.subscriptions', 'public.usage_periods',
                      'public.webhook_receipts']::regclass[]) as tbl;

create temp table fingerprints as
  select tbl, pg_temp.org_a_fingerprint(tbl) as before
    from unnest(array['public.organizations', 'public.phone_numbers', 'public.templates']::regclass[]) as tbl;

grant select on public_tables to anon, authenticated;
grant select on system_tables to authenticated;

select plan(
  5 * (select count(*)::int from public_tables)
  + 3 * (select count(*)::int from system_tables)
  + (select count(*)::int from fingerprints)
  + 40
);

-- anon: no privilege on any table, whatever the policies say.
select ok(
         not has_table_privilege('anon', tbl, 'select, insert, update, delete, truncate, references, trigger'),
         format('anon holds no privilege on %s', tbl))
  from public_tables order by tbl::text;

set local role anon;
select is(pg_temp.outcome(format('select 1 from %s', tbl)), 'error=42501', format('anon cannot read %s', tbl))
  from public_tables order by tbl::text;
reset role;

-- authenticated without an active org (no token claims; a token with no org in it).
set local role authenticated;
select is(pg_temp.outcome(format('select 1 from %s', tbl)), 'rows=0', format('authenticated without claims sees no rows of %s', tbl))
  from public_tables order by tbl::text;
set local "request.jwt.claims" to '{"sub":"user_a_admin"}';
select is(pg_temp.outcome(format('select 1 from %s', tbl)), 'rows=0', format('a user with no active org sees no rows of %s', tbl))
  from public_tables order by tbl::text;
reset role;

-- A member of org A (v1 token): settings, numbers and templates are admin-only.
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_member","org_id":"org_test_a","org_role":"org:member"}';
select is(pg_temp.outcome($$insert into public.templates (organization_id, name, trigger, sms_body)
                            values ('org_test_a', 'Voicemail', 'voicemail', 'We got your voicemail.')$$),
          'error=42501', 'a member cannot add a template');
select is(pg_temp.outcome($$update public.templates set sms_body = 'changed by a member'$$),
          'rows=0', 'a member cannot change a template');
select is(pg_temp.outcome($$delete from public.templates$$), 'rows=0', 'a member cannot remove a template');
select is(pg_temp.outcome($$insert into public.phone_numbers (organization_id, e164) values ('org_test_a', '+15550100009')$$),
          'error=42501', 'a member cannot add a phone number');
select is(pg_temp.outcome($$update public.phone_numbers set label = 'changed by a member'$$),
          'rows=0', 'a member cannot change a phone number');
select is(pg_temp.outcome($$delete from public.phone_numbers$$), 'rows=0', 'a member cannot remove a phone number');
select is(pg_temp.outcome($$update public.organizations set name = 'changed by a member'$$),
          'rows=0', 'a member cannot change the organization');
select is(pg_temp.outcome('select 1 from public.templates'), 'rows=1', 'a member reads the org''s templates');

-- Members keep contacts and record consent; the ledger drives the contact's state.
select lives_ok($$insert into public.contacts (organization_id, e164, name) values ('org_test_a', '+15550300001', 'New caller')$$,
                'a member adds a contact');
select is(pg_temp.outcome($$update public.contacts set name = 'Renamed caller' where e164 = '+15550300001'$$),
          'rows=1', 'a member changes a contact');
select is(pg_temp.outcome($$delete from public.contacts where e164 = '+15550300001'$$),
          'error=42501', 'a member cannot remove a contact');
select is(pg_temp.outcome($$update public.contacts set opted_out_at = null where e164 = '+15550300001'$$),
          'error=42501', 'a member cannot change consent state without the ledger');
select is(pg_temp.outcome($$update public.contacts set whatsapp_status = 'available' where e164 = '+15550300001'$$),
          'error=42501', 'a member cannot change WhatsApp reachability');
select lives_ok($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                  select organization_id, id, 'opt_out', '{"reason": "asked on the phone"}'
                    from public.contacts where e164 = '+15550300001'$$,
                'a member records an opt-out');
select ok((select c.opted_out_at is not null and c.opted_out_at = e.at
             from public.contacts c join public.consent_events e on e.contact_id = c.id and e.action = 'opt_out'
            where c.e164 = '+15550300001'),
          'the opt-out sets the contact''s opted_out_at');
select lives_ok($$insert into public.consent_events (organization_id, contact_id, action, evidence)
                  select organization_id, id, 'opt_in', '{"reason": "asked to hear from us again"}'
                    from public.contacts where e164 = '+15550300001'$$,
                'a member records an opt-in');
select ok((select opted_out_at is null and opted_in_at = now()
             from public.contacts where e164 = '+15550300001'),
          'the opt-in clears opted_out_at and sets opted_in_at');
select is(pg_temp.outcome($$update public.consent_events set actor = 'someone else'$$),
          'error=42501', 'a member cannot edit the consent ledger');
select is(pg_temp.outcome($$delete from public.consent_events$$),
          'error=42501', 'a member cannot remove consent ledger entries');
reset role;

-- A member of org A (v2 token).
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_member","o":{"id":"org_test_a","rol":"member"}}';
select is(pg_temp.outcome($$update public.templates set sms_body = 'changed by a member'$$),
          'rows=0', 'a member (v2 token) cannot change a template');
select is(pg_temp.outcome($$insert into public.phone_numbers (organization_id, e164) values ('org_test_a', '+15550100009')$$),
          'error=42501', 'a member (v2 token) cannot add a phone number');
select is(pg_temp.outcome($$update public.organizations set name = 'changed by a member'$$),
          'rows=0', 'a member (v2 token) cannot change the organization');
select is(pg_temp.outcome('select 1 from public.contacts'), 'rows=2', 'a member (v2 token) reads the org''s contacts');
reset role;

select is(pg_temp.org_a_fingerprint(tbl), before, format('members changed nothing in %s', tbl))
  from fingerprints order by tbl::text;

-- An admin of org A (v1 token) manages templates, numbers and settings.
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","org_id":"org_test_a","org_role":"org:admin"}';
select lives_ok($$insert into public.templates (organization_id, name, trigger, sms_body)
                  values ('org_test_a', 'Voicemail', 'voicemail', 'We got your voicemail.')$$,
                'an admin adds a template');
select is(pg_temp.outcome($$update public.templates set sms_body = 'We got your message.' where trigger = 'voicemail'$$),
          'rows=1', 'an admin changes a template');
select is(pg_temp.outcome($$delete from public.templates where trigger = 'voicemail'$$), 'rows=1', 'an admin removes a template');
select lives_ok($$insert into public.phone_numbers (organization_id, e164, label) values ('org_test_a', '+15550100009', 'second line')$$,
                'an admin adds a phone number');
select is(pg_temp.outcome($$update public.phone_numbers set label = 'support line' where e164 = '+15550100009'$$),
          'rows=1', 'an admin changes a phone number');
select is(pg_temp.outcome($$delete from public.phone_numbers where e164 = '+15550100009'$$), 'rows=1', 'an admin removes a phone number');
select is(pg_temp.outcome($$update public.organizations set name = 'Renamed by an admin'$$),
          'rows=1', 'an admin changes the organization');
select is((select name from public.organizations), 'Renamed by an admin', 'the admin''s change is stored');
-- Removing a contact would erase its consent history with it.
select is(pg_temp.outcome($$delete from public.contacts where e164 = '+15550300001'$$), 'error=42501',
          'an admin cannot remove a contact');
-- Organizations come and go with Clerk, through the system only.
select is(pg_temp.outcome($$insert into public.organizations (id, name) values ('org_test_new', 'New')$$),
          'error=42501', 'an admin cannot create an organization');
select is(pg_temp.outcome($$delete from public.organizations$$), 'error=42501', 'an admin cannot delete the organization');
select is(pg_temp.outcome($$update public.consent_events set actor = 'someone else'$$),
          'error=42501', 'an admin cannot edit the consent ledger');
select is(pg_temp.outcome($$delete from public.consent_events$$),
          'error=42501', 'an admin cannot remove consent ledger entries');

-- Written by the system only: even an admin's insert, update and delete do nothing.
select is(pg_temp.outcome(format('insert into %1$s select * from jsonb_populate_record(null::%1$s, %2$L)', tbl, a_row)),
          'error=42501', format('an admin cannot insert into %s', tbl))
  from system_tables order by tbl::text;
select is(pg_temp.outcome(format('update %1$s set organization_id = organization_id', tbl)),
          'error=42501', format('an admin cannot update %s', tbl))
  from system_tables order by tbl::text;
select is(pg_temp.outcome(format('delete from %s', tbl)), 'error=42501', format('an admin cannot delete from %s', tbl))
  from system_tables order by tbl::text;
reset role;

-- An admin of org A (v2 token).
set local role authenticated;
set local "request.jwt.claims" to '{"sub":"user_a_admin","o":{"id":"org_test_a","rol":"admin"}}';
select lives_ok($$insert into public.templates (organization_id, name, trigger, sms_body)
                  values ('org_test_a', 'After hours', 'after_hours', 'We are closed; we will call you back.')$$,
                'an admin (v2 token) adds a template');
select is(pg_temp.outcome($$update public.organizations set name = 'Renamed again'$$),
          'rows=1', 'an admin (v2 token) changes the organization');
select is(pg_temp.outcome($$update public.consent_events set actor = 'someone else'$$),
          'error=42501', 'an admin (v2 token) cannot edit the consent ledger');
reset role;

-- The ledger is append-only by privilege, not only by policy.
select ok(not has_table_privilege('authenticated', 'public.consent_events', 'update, delete, truncate'),
          'authenticated holds no update, delete or truncate privilege on consent_events');

-- TRUNCATE skips row level security; TRIGGER and REFERENCES would let a user attach
-- code to, or probe, other orgs' rows.
select ok(not has_table_privilege('authenticated', tbl, 'truncate, references, trigger'),
          format('authenticated holds no truncate, references or trigger privilege on %s', tbl))
  from public_tables order by tbl::text;

select * from finish();
rollback;
