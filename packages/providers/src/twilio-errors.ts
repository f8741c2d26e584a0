import type { ProviderErrorKind } from "./messaging-provider.ts";

export interface TwilioErrorEntry {
  kind: ProviderErrorKind;
  /** What happened, in words a business owner or operator can act on. */
  reason: string;
}

/**
 * The one table of Twilio error codes CallFlow tells apart, from Twilio's error reference
 * (twilio.com/docs/api/errors/<code>) and its WhatsApp error mapping. Codes arrive either
 * in a refused API request or as ErrorCode in a failed/undelivered status callback.
 *
 * not_on_whatsapp is for codes that say this recipient cannot get WhatsApp at all, so the
 * number is remembered and SMS goes at once. A recipient who blocked the business (63014)
 * or is excluded by Meta for now (63032, 63049) is permanent instead: not a fact about the
 * number to remember. recipient_opted_out is the recipient's own STOP, which Twilio enforces
 * (21610): it becomes an opt-out in CallFlow's consent ledger.
 */
export const twilioErrors: Readonly<Record<number, TwilioErrorEntry>> = {
  // Try again later.
  20429: { kind: "retryable", reason: "Twilio is rate-limiting this account (too many requests); try again shortly." },
  20500: { kind: "retryable", reason: "Twilio had an internal server error; try again shortly." },
  20503: { kind: "retryable", reason: "Twilio's service is temporarily unavailable; try again shortly." },
  63018: {
    kind: "retryable",
    reason: "The WhatsApp sender has hit WhatsApp's rate limit for the channel; try again later.",
  },

  // The recipient is not reachable on WhatsApp.
  63003: {
    kind: "not_on_whatsapp",
    reason: "WhatsApp could not find this number: it is not a WhatsApp user or no longer active.",
  },
  63024: {
    kind: "not_on_whatsapp",
    reason:
      "The number cannot receive WhatsApp messages: not on WhatsApp, terms not accepted, or an outdated WhatsApp app.",
  },
  63033: {
    kind: "not_on_whatsapp",
    reason: "WhatsApp cannot deliver to this recipient (deprecated code, WhatsApp error 1007).",
  },

  // Will not succeed as it is.
  20003: {
    kind: "permanent",
    reason:
      "Twilio refused the credentials: check the Account SID and Auth Token (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN).",
  },
  20404: { kind: "permanent", reason: "Twilio has no such resource (wrong message SID or account)." },
  21211: { kind: "permanent", reason: "The 'To' phone number is not a valid phone number." },
  21408: {
    kind: "permanent",
    reason: "The Twilio account may not send to this country; enable it in Twilio's geographic permissions.",
  },
  21602: { kind: "permanent", reason: "The message has no body or content template." },
  21603: { kind: "permanent", reason: "The message has no 'From' number." },
  21604: { kind: "permanent", reason: "The message has no 'To' number." },
  21606: { kind: "permanent", reason: "The 'From' number is not a messaging-capable number of this Twilio account." },
  21608: { kind: "permanent", reason: "A Twilio trial account can only message verified numbers." },
  21610: { kind: "recipient_opted_out", reason: "The recipient has unsubscribed (replied STOP) from this sender." },
  21612: { kind: "permanent", reason: "Twilio cannot route a message between this 'From' and 'To' pair." },
  21614: { kind: "permanent", reason: "The 'To' number is not a mobile number (likely a landline)." },
  21617: { kind: "permanent", reason: "The message body is longer than Twilio's 1600-character limit." },
  21654: { kind: "permanent", reason: "Content variables were given without a content template (ContentSid)." },
  21655: { kind: "permanent", reason: "The WhatsApp content template (ContentSid) does not exist in this account." },
  21656: {
    kind: "permanent",
    reason: "The WhatsApp template variables are invalid: not a JSON object, or a value is empty.",
  },
  21910: { kind: "permanent", reason: "'From' and 'To' are on different channels (one WhatsApp, one not)." },
  30002: { kind: "permanent", reason: "The Twilio account is suspended." },
  30003: { kind: "permanent", reason: "The recipient's phone is unreachable (switched off or out of coverage)." },
  30004: { kind: "permanent", reason: "The message was blocked (recipient or carrier blocks this sender)." },
  30005: { kind: "permanent", reason: "The carrier does not know this number (unknown or no longer in service)." },
  30006: { kind: "permanent", reason: "The number is a landline or its carrier cannot be reached." },
  30007: { kind: "permanent", reason: "The carrier filtered the message (looks like spam or breaks carrier rules)." },
  30008: { kind: "permanent", reason: "Delivery failed for an unknown reason reported by the carrier." },
  30034: { kind: "permanent", reason: "US carriers block messages from a 10DLC number that is not A2P-registered." },
  63001: {
    kind: "permanent",
    reason: "Twilio could not authenticate with the WhatsApp channel; check the sender setup.",
  },
  63007: { kind: "permanent", reason: "The 'From' number is not a WhatsApp sender of this Twilio account." },
  63012: { kind: "permanent", reason: "WhatsApp reported an internal error for this message." },
  63013: { kind: "permanent", reason: "WhatsApp refused the message for a policy violation." },
  63014: { kind: "permanent", reason: "The recipient blocked this business on WhatsApp." },
  63016: {
    kind: "permanent",
    reason: "Outside WhatsApp's 24-hour window: only an approved template (ContentSid) may start the conversation.",
  },
  63021: { kind: "permanent", reason: "WhatsApp rejected the message content (unsupported or too long)." },
  63032: { kind: "permanent", reason: "WhatsApp will not deliver this template to this user (Meta experiment)." },
  63049: { kind: "permanent", reason: "Meta chose not to deliver this marketing message to this user." },
};

/**
 * Decides what to do about a Twilio failure. A code in the table decides; otherwise the HTTP
 * status does (429 and 5xx are worth retrying); no code and no status means Twilio was not
 * reached at all (network), also worth retrying. Anything else is permanent.
 */
export function classifyTwilioError(code: number | null | undefined, httpStatus?: number | null): ProviderErrorKind {
  const entry = code == null ? undefined : twilioErrors[code];
  if (entry) return entry.kind;
  if (httpStatus != null) return httpStatus === 429 || httpStatus >= 500 ? "retryable" : "permanent";
  return code == null ? "retryable" : "permanent";
}

/** A reason a person can act on; unknown codes point to Twilio's page for them. */
export function describeTwilioError(code: number | null | undefined): string {
  if (code == null) return "Twilio did not answer (network error or timeout).";
  return (
    twilioErrors[code]?.reason ?? `Twilio error ${code}; see https://www.twilio.com/docs/api/errors/${code} for causes.`
  );
}
