// What the Twilio webhooks read and answer: field schemas shared by their form schemas,
// how a refused form is explained (one line a person reading Twilio's debugger can act
// on), and the TwiML they answer with.
import twilio from "twilio";
import { z } from "zod";
import type { TwilioForm } from "./twilio-signature.ts";

/** A text field sent once, at most `max` characters. */
export const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** Twilio sends some fields empty when they do not apply: empty counts as absent. */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

export const callSid = z.string().regex(/^CA[0-9a-f]{32}$/, "must be CA followed by 32 hex digits");

/** SM for SMS and WhatsApp, MM for MMS, as messages.provider_sid allows. */
export const messageSid = z.string().regex(/^(SM|MM)[0-9a-f]{32}$/, "must be SM or MM followed by 32 hex digits");

export const twilioErrorCode = z
  .string()
  .regex(/^\d{1,9}$/, "must be a Twilio error code (digits)")
  .transform(Number);

export function describeIssues(error: z.ZodError, form: TwilioForm): string {
  return error.issues
    .map((issue) => {
      const field = String(issue.path[0] ?? "body");
      if (issue.path.length === 1 && form[field] === undefined) return `${field} is missing`;
      if (Array.isArray(form[field])) return `${field} must be sent once`;
      return `${field}: ${issue.message}`;
    })
    .join("; ");
}

/** A TwiML document: empty (`<Response/>`) or replying with one message, escaped by the SDK. */
export function twiml(message?: string): string {
  const response = new twilio.twiml.MessagingResponse();
  if (message !== undefined) response.message(message);
  return response.toString();
}
