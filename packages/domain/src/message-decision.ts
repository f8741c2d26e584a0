// What CallFlow does after a call, decided from the call, the business's settings, the
// caller's contact record and templates. Pure: the workflow loads the inputs and writes
// the outcome (with its reason) whatever it is, skips included.

import { type Entitlement, quotaReachedReason } from "./billing.ts";
import {
  type BusinessHours,
  isQuietTime,
  isWithinBusinessHours,
  nextAllowedSendTime,
  type QuietHours,
} from "./business-hours.ts";
import type { CallOutcome } from "./call-outcome.ts";
import { consentRefusalOf } from "./consent.ts";
import { parsePhoneNumber } from "./phone-number.ts";
import { hasQuotaLeft } from "./plans.ts";
import { formatCallTime, renderTemplate, renderWhatsAppVariables } from "./template-render.ts";
import { isKnownNotOnWhatsApp, type WhatsAppStatus } from "./whatsapp-reachability.ts";
import { type WhatsAppCategory, whatsappRefusalOf } from "./whatsapp-templates.ts";

export type Channel = "whatsapp" | "sms";

export interface DecisionInput {
  call: { outcome: CallOutcome | null; from: string; to: string; endedAt: Date };
  organization: {
    name: string;
    timezone: string;
    businessHours: BusinessHours;
    quietHours: QuietHours | null;
    consentPolicy: "implied" | "explicit";
    triggerOutcomes: readonly CallOutcome[];
    cooldownSeconds: number;
    /** What the subscription allows now (billing.ts entitlementOf). */
    entitlement: Entitlement;
    messagesUsedThisPeriod: number;
  };
  /** Null when the caller has no contact record yet. */
  contact: {
    name: string | null;
    optedOut: boolean;
    optedIn: boolean;
    whatsappStatus: WhatsAppStatus;
    /** When the WhatsApp status was learnt: "not on WhatsApp" expires (whatsapp-reachability.ts). */
    whatsappCheckedAt: Date | null;
    lastMessagedAt: Date | null;
  } | null;
  templates: ReadonlyArray<{
    id: string;
    trigger: CallOutcome | "after_hours";
    language: string;
    whatsappContentSid: string | null;
    whatsappCategory: WhatsAppCategory;
    whatsappVariables: Record<string, string>;
    smsBody: string;
  }>;
  now: Date;
}

export type Decision =
  | { decision: "skip"; reason: string; to: string }
  | {
      decision: "send" | "defer";
      reason: string;
      to: string;
      templateId: string;
      channels: Channel[];
      whatsapp: { contentSid: string; variables: Record<string, string> } | null;
      smsBody: string;
      /** When the send may start: now, or the end of quiet hours. */
      sendAfter: Date;
    };

// The caller's language, guessed from their country calling code.
const LANGUAGE_BY_CALLING_CODE: Record<string, string> = {
  "1": "en",
  "44": "en",
  "61": "en",
  "353": "en",
  "64": "en",
  "34": "es",
  "52": "es",
  "54": "es",
  "57": "es",
  "56": "es",
  "51": "es",
  "33": "fr",
  "49": "de",
  "39": "it",
  "351": "pt",
  "55": "pt",
};

function callerLanguage(e164: string): string | null {
  for (const length of [3, 2, 1]) {
    const language = LANGUAGE_BY_CALLING_CODE[e164.slice(1, 1 + length)];
    if (language) return language;
  }
  return null;
}

/** A cooldown as the skip reason says it: whole hours in hours, anything else in minutes. */
function cooldownText(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${Math.ceil(seconds / 60)} min`;
}

export function decideMessage(input: DecisionInput): Decision {
  const { call, organization: org, contact, now } = input;
  const parsed = parsePhoneNumber(call.from);
  if (!parsed.ok)
    return { decision: "skip", reason: `caller number is not one we can message: ${parsed.reason}`, to: call.from };
  const to = parsed.e164;
  const skip = (reason: string): Decision => ({ decision: "skip", reason, to });

  if (!call.outcome) return skip("the call has not ended");
  const consentRefusal = consentRefusalOf(contact, org.consentPolicy);
  if (consentRefusal) return skip(consentRefusal);
  if (!org.triggerOutcomes.includes(call.outcome))
    return skip(`the business sends no message after ${call.outcome} calls`);
  if (contact?.lastMessagedAt && now.getTime() - contact.lastMessagedAt.getTime() < org.cooldownSeconds * 1000) {
    return skip(`the caller was messaged less than ${cooldownText(org.cooldownSeconds)} ago`);
  }
  if (!org.entitlement.sending) return skip(org.entitlement.reason);
  if (!hasQuotaLeft(org.entitlement.plan.id, org.messagesUsedThisPeriod)) {
    return skip(quotaReachedReason(org.entitlement.plan, org.messagesUsedThisPeriod));
  }

  const afterHours = !isWithinBusinessHours(org.businessHours, org.timezone, call.endedAt);
  const language = callerLanguage(to);
  const pick = (trigger: CallOutcome | "after_hours") => {
    const candidates = input.templates.filter((template) => template.trigger === trigger);
    return candidates.find((template) => template.language === language) ?? candidates[0];
  };
  const template = (afterHours ? pick("after_hours") : undefined) ?? pick(call.outcome);
  if (!template) return skip(`no active template for ${call.outcome} calls`);

  // Written as the caller reads it: the template's language, the business's clock.
  const variables = {
    business_name: org.name,
    caller_number: to,
    caller_name: contact?.name ?? null,
    call_time: formatCallTime(call.endedAt, org.timezone, template.language),
    business_phone: call.to,
  };
  const sms = renderTemplate(template.smsBody, variables, template.language);
  if (!sms.ok) return skip(`the template's SMS text cannot be rendered: ${sms.reason}`);
  const whatsapp = whatsappOf(template, variables, { to, contact, now });
  const channels: Channel[] = whatsapp.send ? ["whatsapp", "sms"] : ["sms"];
  const quiet = isQuietTime(org.quietHours, org.timezone, now);
  const why = [
    `${afterHours && template.trigger === "after_hours" ? "after-hours" : call.outcome} call`,
    whatsapp.send ? "WhatsApp first, SMS as fallback" : `SMS: ${whatsapp.why}`,
    ...(quiet ? ["deferred to the end of quiet hours"] : []),
  ].join("; ");
  return {
    decision: quiet ? "defer" : "send",
    reason: why,
    to,
    templateId: template.id,
    channels,
    whatsapp: whatsapp.send,
    smsBody: sms.text,
    sendAfter: quiet ? nextAllowedSendTime(org.quietHours, org.timezone, now) : now,
  };
}

/** The WhatsApp message to try first, or why there is none and SMS goes alone. */
function whatsappOf(
  template: DecisionInput["templates"][number],
  variables: Parameters<typeof renderWhatsAppVariables>[1],
  caller: { to: string; contact: DecisionInput["contact"]; now: Date },
): { send: { contentSid: string; variables: Record<string, string> }; why?: never } | { send: null; why: string } {
  if (!template.whatsappContentSid) return { send: null, why: "the template has no WhatsApp content" };
  if (caller.contact && isKnownNotOnWhatsApp(caller.contact, caller.now)) {
    return { send: null, why: "the number is not on WhatsApp" };
  }
  const refusal = whatsappRefusalOf(template.whatsappCategory, caller.to);
  if (refusal) return { send: null, why: refusal };
  const rendered = renderWhatsAppVariables(template.whatsappVariables, variables, template.language);
  if (!rendered.ok) return { send: null, why: `the WhatsApp variables cannot be filled: ${rendered.reason}` };
  return { send: { contentSid: template.whatsappContentSid, variables: rendered.variables } };
}
