// Generated from supabase/migrations by `pnpm --filter @callflow/db generate-types`; do not edit.
// A test fails when this file and the migrations disagree.
import type { ColumnType, Generated } from "kysely";

// jsonb columns are written as JSON text (JSON.stringify).
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CallLogs {
  id: Generated<string>;
  organization_id: string;
  call_sid: string;
  phone_number_id: string | null;
  contact_id: string | null;
  from_number: string;
  to_number: string;
  direction: Generated<"inbound" | "outbound">;
  status: "queued" | "ringing" | "in-progress" | "completed" | "busy" | "failed" | "no-answer" | "canceled";
  outcome: "missed" | "answered" | "voicemail" | null;
  duration_seconds: number | null;
  answered_by: string | null;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  ended_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  voice_flow: "forward" | "voicemail" | "hangup" | null;
  forwarded_to: string | null;
  dial_status: "completed" | "answered" | "busy" | "no-answer" | "failed" | "canceled" | null;
  dial_duration_seconds: number | null;
  voicemail_offered: Generated<boolean>;
  recording_sid: string | null;
  recording_duration_seconds: number | null;
  recording_url: string | null;
  outcome_source: "incoming" | "dial" | "recording" | "status" | null;
  outcome_settled_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface ConsentEvents {
  id: Generated<string>;
  organization_id: string;
  contact_id: string;
  channel: Generated<"sms" | "whatsapp" | "voice" | "dashboard" | "api">;
  action: "opt_in" | "opt_out";
  source: Generated<"inbound_keyword" | "dashboard" | "import" | "api" | "call" | "carrier">;
  actor: Generated<string>;
  evidence: ColumnType<JsonValue, string | undefined, string>;
  at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface Contacts {
  id: Generated<string>;
  organization_id: string;
  e164: string;
  name: string | null;
  whatsapp_status: Generated<"unknown" | "available" | "unavailable">;
  whatsapp_checked_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  opted_out_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  opted_in_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  last_messaged_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface InboundMessages {
  id: Generated<string>;
  organization_id: string;
  contact_id: string | null;
  channel: "sms" | "whatsapp";
  from_number: string;
  to_number: string;
  body: string;
  provider_sid: string;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
  read_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface MessageEvents {
  id: Generated<string>;
  organization_id: string;
  message_id: string;
  provider_sid: string;
  status: string;
  error_code: number | null;
  payload: ColumnType<JsonValue, string | undefined, string>;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
  source: Generated<"callback" | "reconciled">;
}

export interface MessageJobs {
  id: Generated<string>;
  organization_id: string;
  call_log_id: string;
  contact_id: string | null;
  template_id: string | null;
  to_number: string;
  decision: "send" | "skip" | "defer";
  reason: string;
  status: Generated<"pending" | "scheduled" | "sending" | "delivered" | "failed" | "skipped" | "canceled">;
  channels: Generated<("whatsapp" | "sms")[]>;
  whatsapp_content_sid: string | null;
  whatsapp_variables: ColumnType<JsonValue, string | undefined, string>;
  sms_body: string | null;
  fallback_window_seconds: Generated<number>;
  send_after: ColumnType<Date | null, Date | string | null, Date | string | null>;
  final_channel: "whatsapp" | "sms" | null;
  final_reason: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  completed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  usage_period_start: ColumnType<Date | null, Date | string | null, Date | string | null>;
  whatsapp_from: string | null;
}

export interface Messages {
  id: Generated<string>;
  organization_id: string;
  job_id: string;
  channel: "whatsapp" | "sms";
  provider_sid: string | null;
  to_number: string;
  from_number: string | null;
  status: Generated<"pending" | "accepted" | "scheduled" | "queued" | "sending" | "sent" | "delivered" | "read" | "undelivered" | "failed" | "canceled">;
  error_code: number | null;
  error_message: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  sent_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  status_changed_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  reconcile_after: ColumnType<Date | null, Date | string | null, Date | string | null>;
  reconcile_error: string | null;
}

export interface Organizations {
  id: string;
  name: Generated<string>;
  timezone: Generated<string>;
  business_hours: ColumnType<JsonValue, string | undefined, string>;
  quiet_hours: ColumnType<JsonValue | null, string | null | undefined, string | null>;
  fallback_window_seconds: Generated<number>;
  cooldown_seconds: Generated<number>;
  consent_policy: Generated<"implied" | "explicit">;
  trigger_outcomes: Generated<("missed" | "answered" | "voicemail")[]>;
  answered_min_seconds: Generated<number>;
  help_text: Generated<string>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  forward_to: string | null;
  forward_timeout_seconds: Generated<number>;
  voicemail_enabled: Generated<boolean>;
  voicemail_greeting: string | null;
  voice_language: Generated<"en-US" | "en-GB" | "en-AU" | "es-ES" | "es-MX" | "es-US">;
  whatsapp_sender: string | null;
}

export interface PhoneNumbers {
  id: Generated<string>;
  organization_id: string;
  e164: string;
  label: Generated<string>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface Subscriptions {
  organization_id: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  plan: Generated<string>;
  status: Generated<"trialing" | "active" | "past_due" | "canceled" | "unpaid" | "incomplete" | "incomplete_expired" | "paused">;
  current_period_start: ColumnType<Date | null, Date | string | null, Date | string | null>;
  current_period_end: ColumnType<Date | null, Date | string | null, Date | string | null>;
  cancel_at_period_end: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  past_due_since: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface Templates {
  id: Generated<string>;
  organization_id: string;
  name: string;
  trigger: "missed" | "answered" | "voicemail" | "after_hours";
  language: Generated<string>;
  whatsapp_content_sid: string | null;
  whatsapp_variables: ColumnType<JsonValue, string | undefined, string>;
  sms_body: string;
  active: Generated<boolean>;
  archived_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  whatsapp_category: Generated<"utility" | "marketing" | "authentication">;
}

export interface UsagePeriods {
  organization_id: string;
  period_start: ColumnType<Date, Date | string, Date | string>;
  period_end: ColumnType<Date, Date | string, Date | string>;
  messages_sent: Generated<number>;
  whatsapp_sent: Generated<number>;
  sms_sent: Generated<number>;
  sms_segments: Generated<number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookReceipts {
  id: Generated<string>;
  provider: "twilio" | "stripe" | "clerk";
  external_id: string;
  kind: string;
  organization_id: string | null;
  note: string | null;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface DB {
  call_logs: CallLogs;
  consent_events: ConsentEvents;
  contacts: Contacts;
  inbound_messages: InboundMessages;
  message_events: MessageEvents;
  message_jobs: MessageJobs;
  messages: Messages;
  organizations: Organizations;
  phone_numbers: PhoneNumbers;
  subscriptions: Subscriptions;
  templates: Templates;
  usage_periods: UsagePeriods;
  webhook_receipts: WebhookReceipts;
}
