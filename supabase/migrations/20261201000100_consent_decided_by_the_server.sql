-- Staff change consent through the dashboard, and the server decides what the ledger
-- says about it: who (the session token's subject), through what (the dashboard) and when
-- (now). A member's insert names only the contact, the action and the evidence; it cannot
-- name another actor, a keyword source or a date in the past.
alter table public.consent_events
  alter column channel set default 'dashboard',
  alter column source set default 'dashboard',
  alter column actor set default (auth.jwt() ->> 'sub');

revoke insert on public.consent_events from authenticated;
grant insert (organization_id, contact_id, action, evidence) on public.consent_events to authenticated;

-- Only the caller can undo their own STOP: after an opt-out they sent by keyword, the
-- only opt-in accepted is their own keyword (START). Staff, imports and the API cannot.
create or replace function app.refuse_opt_in_over_callers_stop() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.action = 'opt_in' and new.source <> 'inbound_keyword' and exists (
       select 1
         from (select e.action, e.source
                 from public.consent_events e
                where e.organization_id = new.organization_id and e.contact_id = new.contact_id
                order by e.at desc, e.id desc
                limit 1) latest
        where latest.action = 'opt_out' and latest.source = 'inbound_keyword') then
    raise exception 'the caller opted out by texting a keyword such as STOP; only they can opt back in, by texting START'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;

create trigger consent_events_only_the_caller_undoes_stop before insert on public.consent_events
  for each row execute function app.refuse_opt_in_over_callers_stop();
