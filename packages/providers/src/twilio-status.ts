import { type MessageStatus, parseMessageStatus } from "@callflow/domain";
import twilio from "twilio";

/**
 * Twilio's MessageStatus as the domain's status. Null for what an outbound message never
 * reports or the domain does not know (receiving, received, partially_delivered, and our own
 * "pending", which Twilio never sends): record those as events, do not store them.
 */
export function mapTwilioMessageStatus(twilioStatus: string): MessageStatus | null {
  const status = parseMessageStatus(twilioStatus.trim().toLowerCase());
  return status === "pending" ? null : status;
}

/**
 * Whether `signature` (the X-Twilio-Signature header) is Twilio's signature of this request:
 * `url` exactly as Twilio called it (scheme, host, path and query), `params` the form fields of
 * the POST body. The SDK's `validateRequest` does the work, with its tolerance for an explicit
 * or implicit port.
 */
export function validateTwilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string | string[]>,
  signature: string | null | undefined,
): boolean {
  if (!authToken || !signature) return false;
  return twilio.validateRequest(authToken, signature, url, params);
}
