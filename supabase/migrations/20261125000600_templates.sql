-- What a caller receives: a WhatsApp Content template (approved by Meta, referenced by
-- its Content SID, with variables) and the SMS body used for the fallback.
create table public.templates (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references public.organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  trigger text not null check (trigger in ('missed', 'answered', 'voicemail', 'after_hours')),
  language text not null default 'en' check (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  whatsapp_content_sid text check (whatsapp_content_sid ~ '^HX[0-9a-f]{32}$'),
  -- Content variable number -> text with {{placeholders}}, e.g. {"1": "{{business_name}}"}.
  whatsapp_variables jsonb not null default '{}' check (jsonb_typeof(whatsapp_variables) = 'object'),
  sms_body text not null check (length(sms_body) between 1 and 1600),
  active boolean not null default true,
  archived_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (organization_id, id)
);

-- Template selection must be unambiguous: one live template per trigger and language.
create unique index templates_one_active_per_trigger_language
  on public.templates (organization_id, trigger, language)
  where active and archived_at is null;

create trigger templates_touch_updated_at before update on public.templates
  for each row execute function app.touch_updated_at();

alter table public.templates enable row level security;
revoke all on public.templates from anon, authenticated;
grant select, insert, update, delete on public.templates to authenticated;
grant all on public.templates to service_role;

create policy "members read their templates" on public.templates
  for select to authenticated
  using (organization_id = (select app.org_id()));

create policy "admins add templates" on public.templates
  for insert to authenticated
  with check (organization_id = (select app.org_id()) and (select app.is_org_admin()));

create policy "admins change templates" on public.templates
  for update to authenticated
  using (organization_id = (select app.org_id()) and (select app.is_org_admin()))
  with check (organization_id = (select app.org_id()) and (select app.is_org_admin()));

create policy "admins remove templates" on public.templates
  for delete to authenticated
  using (organization_id = (select app.org_id()) and (select app.is_org_admin()));
