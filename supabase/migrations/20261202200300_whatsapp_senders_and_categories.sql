-- WhatsApp as Meta knows it: each template has its WhatsApp category (Meta prices and
-- restricts by it: marketing templates are not delivered to US numbers, Twilio 63049), and
-- a business may send WhatsApp from a sender other than the number callers ring.
alter table public.templates
  add column whatsapp_category text not null default 'utility'
    check (whatsapp_category in ('utility', 'marketing', 'authentication'));

-- E.164; null: the number that was called.
alter table public.organizations
  add column whatsapp_sender text check (whatsapp_sender ~ '^\+[1-9][0-9]{6,14}$');

-- The WhatsApp sender a job was decided with (null: the called number), so the delivery
-- sends from what the decision saw.
alter table public.message_jobs
  add column whatsapp_from text check (whatsapp_from ~ '^\+[1-9][0-9]{6,14}$');
