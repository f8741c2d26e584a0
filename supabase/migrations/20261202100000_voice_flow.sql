-- The voice flow: a connected number's Voice URL answers TwiML that forwards the call to the
-- business's own phone and offers voicemail; the Dial result and the recording decide the
-- call's outcome (packages/domain/src/voice-flow.ts).

-- The business's settings for it (defaults as in packages/domain/src/settings.ts).
alter table public.organizations
  -- The phone the business answers on; null: no forwarding (straight to voicemail).
  add column forward_to text check (forward_to ~ '^\+[1-9][0-9]{6,14}$'),
  -- Twilio may add up to 5 s; carriers' voicemail answers after about 20 s.
  add column forward_timeout_seconds integer not null default 12 check (forward_timeout_seconds between 5 and 60),
  add column voicemail_enabled boolean not null default true,
  -- null: the standard greeting in voice_language, naming the business.
  add column voicemail_greeting text check (length(voicemail_greeting) between 1 and 500),
  add column voice_language text not null default 'en-US'
    check (voice_language in ('en-US', 'en-GB', 'en-AU', 'es-ES', 'es-MX', 'es-US'));

-- What each callback of a call reported: the outcome is settled from these, once.
alter table public.call_logs
  -- What the incoming TwiML did; null: the call never came through CallFlow's Voice URL.
  add column voice_flow text check (voice_flow in ('forward', 'voicemail', 'hangup')),
  -- The business's phone the call was forwarded to, as it was then.
  add column forwarded_to text check (forwarded_to ~ '^\+[1-9][0-9]{6,14}$'),
  add column dial_status text check (dial_status in ('completed', 'answered', 'busy', 'no-answer', 'failed', 'canceled')),
  add column dial_duration_seconds integer check (dial_duration_seconds >= 0),
  add column voicemail_offered boolean not null default false,
  add column recording_sid text check (recording_sid ~ '^RE[0-9a-f]{32}$'),
  -- 0: an empty recording (silence after the beep).
  add column recording_duration_seconds integer check (recording_duration_seconds >= 0),
  add column recording_url text check (length(recording_url) <= 500),
  -- Which callback settled the outcome, and when call/completed was written: after that the
  -- outcome no longer changes (the functions may already have read it).
  add column outcome_source text check (outcome_source in ('incoming', 'dial', 'recording', 'status')),
  add column outcome_settled_at timestamptz,
  add constraint call_logs_settled_outcome check ((outcome_settled_at is null) = (outcome_source is null));

-- Calls logged before the voice flow were settled by their final status, which wrote their
-- call/completed: they are settled, and never settled again.
update public.call_logs
   set outcome_source = 'status', outcome_settled_at = coalesce(ended_at, updated_at)
 where status in ('completed', 'busy', 'no-answer', 'failed', 'canceled');

-- The overdue-call sweep (apps/api/src/webhooks/twilio-voice-overdue.ts) reads only the calls
-- of the voice flow still waiting for their outcome.
create index call_logs_unsettled_voice_flow_idx on public.call_logs (ended_at)
  where outcome_settled_at is null and voice_flow is not null;
