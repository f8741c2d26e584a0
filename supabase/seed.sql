-- Demo data for local mode: two businesses with numbers, templates in two languages,
-- contacts, and a few hundred past calls with their message jobs and messages.
-- Applied by `supabase db reset` and, in local mode, once on first start.

insert into public.organizations (id, name, timezone, trigger_outcomes, help_text) values
  ('org_demo_rosas_bakery', 'Rosa''s Bakery', 'Europe/Madrid', '{missed,voicemail}',
   'Rosa''s Bakery: reply STOP to stop messages. Open Tue-Sun 8:00-20:00, call +34 911 230 100.'),
  ('org_demo_northside_plumbing', 'Northside Plumbing', 'America/Chicago', '{missed,voicemail,answered}',
   'Northside Plumbing: reply STOP to stop messages. 24/7 emergencies: call (512) 555-0100.');

update public.organizations
   set business_hours = '{"tue":[["08:00","20:00"]],"wed":[["08:00","20:00"]],"thu":[["08:00","20:00"]],"fri":[["08:00","20:00"]],"sat":[["08:00","20:00"]],"sun":[["08:00","14:00"]]}'
 where id = 'org_demo_rosas_bakery';

-- The voice flow: calls ring the owner's phone (fictional numbers), then voicemail in the business's language.
update public.organizations set forward_to = '+34911230199', voice_language = 'es-ES' where id = 'org_demo_rosas_bakery';
update public.organizations set forward_to = '+15125550199' where id = 'org_demo_northside_plumbing';
-- A 24/7 plumber holds no messages overnight: the README's example calls are sent at any hour
-- (Rosa's Bakery keeps the default quiet hours, 21:00-08:00 in Madrid, and shows deferral).
update public.organizations set quiet_hours = null where id = 'org_demo_northside_plumbing';

insert into public.phone_numbers (organization_id, e164, label) values
  ('org_demo_rosas_bakery', '+34911230100', 'Shop'),
  ('org_demo_northside_plumbing', '+15125550100', 'Main line'),
  ('org_demo_northside_plumbing', '+15125550101', 'Emergencies');

insert into public.templates (organization_id, name, trigger, language, whatsapp_content_sid, whatsapp_variables, sms_body) values
  ('org_demo_rosas_bakery', 'Llamada perdida', 'missed', 'es', 'HX' || md5('rosas missed es'),
   '{"1":"{{business_name}}"}', 'Hola, somos {{business_name}}. Perdimos tu llamada; te llamamos enseguida. Responde aquí si prefieres.'),
  ('org_demo_rosas_bakery', 'Missed call', 'missed', 'en', 'HX' || md5('rosas missed en'),
   '{"1":"{{business_name}}"}', 'Hi, this is {{business_name}}. Sorry we missed your call; we will call you back shortly.'),
  ('org_demo_rosas_bakery', 'Buzón de voz', 'voicemail', 'es', 'HX' || md5('rosas voicemail es'),
   '{"1":"{{business_name}}"}', 'Gracias por tu mensaje de voz. {{business_name}} te responde pronto.'),
  ('org_demo_rosas_bakery', 'Fuera de horario', 'after_hours', 'es', 'HX' || md5('rosas after es'),
   '{"1":"{{business_name}}"}', '{{business_name}} está cerrado ahora. Abrimos de martes a domingo a las 8:00.'),
  ('org_demo_northside_plumbing', 'Missed call', 'missed', 'en', 'HX' || md5('plumbing missed en'),
   '{"1":"{{business_name}}","2":"{{caller_number}}"}', 'Northside Plumbing here: sorry we missed you! Reply with your address and the problem and we will call back.'),
  ('org_demo_northside_plumbing', 'Llamada perdida', 'missed', 'es', 'HX' || md5('plumbing missed es'),
   '{"1":"{{business_name}}"}', 'Northside Plumbing: perdimos su llamada. Responda con su dirección y el problema.'),
  ('org_demo_northside_plumbing', 'Thanks for calling', 'answered', 'en', 'HX' || md5('plumbing answered en'),
   '{"1":"{{business_name}}"}', 'Thanks for calling Northside Plumbing. Reply here any time with photos of the problem.'),
  ('org_demo_northside_plumbing', 'Voicemail', 'voicemail', 'en', null,
   '{}', 'Northside Plumbing got your voicemail and will call back within the hour.'),
  ('org_demo_northside_plumbing', 'After hours', 'after_hours', 'en', 'HX' || md5('plumbing after en'),
   '{"1":"{{business_name}}"}', 'Northside Plumbing is closed right now. For emergencies call (512) 555-0101.');

-- 60 callers per business; the last digit decides how the local Twilio sandbox treats
-- them (0: not on WhatsApp, 1: WhatsApp never reports delivery, 2: both channels fail).
insert into public.contacts (organization_id, e164, name, whatsapp_status)
select org.id,
       org.prefix || lpad(n::text, 4, '0'),
       case when n % 3 = 0 then null else (array['Ana','Luis','Marta','Jorge','Sam','Priya','Dev','Kim','Lena','Omar'])[1 + n % 10] end,
       case when n % 10 = 0 then 'unavailable' when n % 4 = 0 then 'unknown' else 'available' end
  from (values ('org_demo_rosas_bakery', '+3461200'), ('org_demo_northside_plumbing', '+1512555')) as org(id, prefix),
       generate_series(1, 60) as n;

insert into public.consent_events (organization_id, contact_id, channel, action, source, actor, evidence, at)
select organization_id, id, 'sms', 'opt_out', 'inbound_keyword', 'SM' || md5(e164 || ' stop'),
       '{"body":"STOP"}', now() - interval '3 days'
  from public.contacts
 where right(e164, 2) in ('07', '37');

-- 200 calls per business over the last 30 days: every outcome and final status.
insert into public.call_logs (organization_id, call_sid, phone_number_id, contact_id, from_number, to_number,
                              status, outcome, duration_seconds, answered_by, started_at, ended_at,
                              outcome_source, outcome_settled_at)
select c.organization_id,
       'CA' || md5(c.organization_id || ' call ' || n),
       p.id, c.id, c.e164, p.e164,
       s.status, s.outcome, s.duration, s.answered_by,
       now() - (n * interval '3 hours 37 minutes'),
       now() - (n * interval '3 hours 37 minutes') + make_interval(secs => s.duration + 12),
       'status', now() - (n * interval '3 hours 37 minutes') + make_interval(secs => s.duration + 12)
  from generate_series(1, 200) as n
  join lateral (
    select * from public.contacts
     where organization_id = case when n % 2 = 0 then 'org_demo_rosas_bakery' else 'org_demo_northside_plumbing' end
     order by e164 offset (n * 7) % 60 limit 1
  ) c on true
  join lateral (
    select * from public.phone_numbers where organization_id = c.organization_id order by e164 limit 1
  ) p on true
  cross join lateral (
    select (array['no-answer','completed','completed','busy','completed','canceled'])[1 + (n / 2) % 6] as status,
           (array['missed','answered','voicemail','missed','answered','missed'])[1 + (n / 2) % 6] as outcome,
           (array[0, 184, 41, 0, 263, 0])[1 + (n / 2) % 6] as duration,
           (array[null, 'human', 'machine_end_beep', null, 'human', null])[1 + (n / 2) % 6] as answered_by
  ) s;

-- One job per call: skipped for opted-out callers and for outcomes the business does
-- not message; the rest went out and ended delivered, or fell back to SMS, or failed.
insert into public.message_jobs (organization_id, call_log_id, contact_id, template_id, to_number, decision, reason,
                                 status, channels, whatsapp_content_sid, whatsapp_variables, sms_body,
                                 final_channel, final_reason, created_at, completed_at)
select cl.organization_id, cl.id, cl.contact_id, t.id, cl.from_number,
       case when skip.reason is null then 'send' else 'skip' end,
       coalesce(skip.reason, cl.outcome || ' call'),
       case when skip.reason is not null then 'skipped'
            when right(cl.from_number, 1) = '2' then 'failed'
            else 'delivered' end,
       case when ct.whatsapp_status = 'unavailable' then '{sms}'::text[] else '{whatsapp,sms}'::text[] end,
       t.whatsapp_content_sid, coalesce(t.whatsapp_variables, '{}'),
       replace(t.sms_body, '{{business_name}}', o.name),
       case when skip.reason is not null or right(cl.from_number, 1) = '2' then null
            when right(cl.from_number, 1) in ('0', '1') or ct.whatsapp_status = 'unavailable' then 'sms'
            else 'whatsapp' end,
       case when skip.reason is not null then null
            when right(cl.from_number, 1) = '2' then 'WhatsApp failed (63016) and SMS undelivered (30003)'
            when right(cl.from_number, 1) = '0' or ct.whatsapp_status = 'unavailable' then 'not on WhatsApp (63024): delivered by SMS'
            when right(cl.from_number, 1) = '1' then 'no WhatsApp receipt within the fallback window: delivered by SMS'
            else 'delivered on WhatsApp' end,
       cl.ended_at + interval '2 seconds',
       cl.ended_at + interval '40 seconds'
  from public.call_logs cl
  join public.organizations o on o.id = cl.organization_id
  join public.contacts ct on ct.organization_id = cl.organization_id and ct.id = cl.contact_id
  left join lateral (
    select * from public.templates
     where organization_id = cl.organization_id and trigger = cl.outcome
     order by (language = case when cl.organization_id = 'org_demo_rosas_bakery' then 'es' else 'en' end) desc
     limit 1
  ) t on true
  cross join lateral (
    select case when ct.opted_out_at is not null then 'caller opted out'
                when not (cl.outcome = any (o.trigger_outcomes)) then 'no message for ' || cl.outcome || ' calls'
           end as reason
  ) skip;

insert into public.messages (organization_id, job_id, channel, provider_sid, to_number, from_number, status,
                             error_code, error_message, created_at, sent_at, status_changed_at)
select j.organization_id, j.id, ch.channel,
       'SM' || md5(j.id::text || ch.channel),
       j.to_number,
       case when ch.channel = 'whatsapp' then 'whatsapp:' || cl.to_number else cl.to_number end,
       ch.status, ch.error_code, ch.error_message,
       j.created_at + ch.offset_s, j.created_at + ch.offset_s, j.created_at + ch.offset_s + interval '2 seconds'
  from public.message_jobs j
  join public.call_logs cl on cl.id = j.call_log_id
  cross join lateral (
    values
      ('whatsapp', case right(j.to_number, 1) when '2' then 'failed' when '1' then 'sent' else 'read' end,
       case right(j.to_number, 1) when '2' then 63016 end,
       case right(j.to_number, 1) when '2' then 'Failed to send freeform message outside the window' end,
       interval '0 seconds',
       'whatsapp' = any (j.channels) and right(j.to_number, 1) <> '0'),
      ('sms', case right(j.to_number, 1) when '2' then 'undelivered' else 'delivered' end,
       case right(j.to_number, 1) when '2' then 30003 end,
       case right(j.to_number, 1) when '2' then 'Unreachable destination handset' end,
       interval '30 seconds',
       j.final_channel = 'sms' or right(j.to_number, 1) = '2')
  ) as ch(channel, status, error_code, error_message, offset_s, attempted)
 where j.decision = 'send' and ch.attempted;

insert into public.message_events (organization_id, message_id, provider_sid, status, error_code, payload, received_at)
select m.organization_id, m.id, m.provider_sid, st.status,
       case when st.status = m.status then m.error_code end,
       jsonb_build_object('MessageSid', m.provider_sid, 'MessageStatus', st.status),
       m.sent_at + st.step * interval '1 second'
  from public.messages m
  cross join lateral unnest(
    case m.status
      when 'read' then array['queued', 'sent', 'delivered', 'read']
      when 'delivered' then array['queued', 'sent', 'delivered']
      when 'sent' then array['queued', 'sent']
      else array['queued', m.status]
    end
  ) with ordinality as st(status, step);

update public.contacts c
   set last_messaged_at = j.last_at
  from (select contact_id, max(completed_at) as last_at from public.message_jobs where decision = 'send' group by 1) j
 where c.id = j.contact_id;

insert into public.subscriptions (organization_id, plan, status, current_period_start, current_period_end) values
  ('org_demo_rosas_bakery', 'starter', 'active', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month'),
  ('org_demo_northside_plumbing', 'growth', 'trialing', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month');

insert into public.usage_periods (organization_id, period_start, period_end, messages_sent, whatsapp_sent, sms_sent, sms_segments)
select j.organization_id, date_trunc('month', now()), date_trunc('month', now()) + interval '1 month',
       count(m.id), count(m.id) filter (where m.channel = 'whatsapp'), count(m.id) filter (where m.channel = 'sms'),
       count(m.id) filter (where m.channel = 'sms')
  from public.message_jobs j join public.messages m on m.job_id = j.id
 group by j.organization_id;
