-- "Not on WhatsApp" is a fact with a date: a caller may join WhatsApp later, so the mark is
-- trusted for a while only (packages/domain whatsapp-reachability.ts). Every change of
-- contacts.whatsapp_status is dated; a writer that gives no date gets now().
create or replace function app.date_whatsapp_status() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.whatsapp_status <> 'unknown' and new.whatsapp_checked_at is null then
      new.whatsapp_checked_at := now();
    end if;
  elsif new.whatsapp_status is distinct from old.whatsapp_status
        and new.whatsapp_checked_at is not distinct from old.whatsapp_checked_at then
    new.whatsapp_checked_at := now();
  end if;
  return new;
end
$$;

create trigger contacts_date_whatsapp_status before insert or update on public.contacts
  for each row execute function app.date_whatsapp_status();

update public.contacts
   set whatsapp_checked_at = updated_at
 where whatsapp_status <> 'unknown' and whatsapp_checked_at is null;
