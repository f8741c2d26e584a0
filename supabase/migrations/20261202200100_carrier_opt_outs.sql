-- Twilio refuses a send with 21610 when the recipient unsubscribed from the sender (they
-- texted STOP to it, which Twilio honours before CallFlow hears of it). That is recorded in
-- the ledger as the caller's own opt-out, source 'carrier', and like a keyword STOP only
-- the caller can undo it (START): Twilio keeps refusing until they do.
--
-- The caller's own opt-out stands until their own opt-in, whatever staff record between:
-- the rule reads the caller's latest own entry, not the ledger's latest (an opt-out staff
-- added on top of a STOP must not let staff opt the caller back in).
alter table public.consent_events drop constraint consent_events_source_check;
alter table public.consent_events add constraint consent_events_source_check
  check (source in ('inbound_keyword', 'dashboard', 'import', 'api', 'call', 'carrier'));

create or replace function app.refuse_opt_in_over_callers_stop() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  latest_source text;
begin
  if new.action <> 'opt_in' or new.source = 'inbound_keyword' then
    return new;
  end if;
  select e.source into latest_source
    from (select e.action, e.source
            from public.consent_events e
           where e.organization_id = new.organization_id and e.contact_id = new.contact_id
             and ((e.action = 'opt_out' and e.source in ('inbound_keyword', 'carrier'))
                  or (e.action = 'opt_in' and e.source = 'inbound_keyword'))
           order by e.at desc, e.id desc
           limit 1) e
   where e.action = 'opt_out';
  if latest_source = 'inbound_keyword' then
    raise exception 'the caller opted out by texting a keyword such as STOP; only they can opt back in, by texting START'
      using errcode = 'insufficient_privilege';
  elsif latest_source = 'carrier' then
    raise exception 'the caller unsubscribed from this number at the carrier (Twilio error 21610); only they can opt back in, by texting START'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;
