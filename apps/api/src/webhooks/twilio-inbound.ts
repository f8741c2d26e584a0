// POST /webhooks/twilio/messages/inbound: a caller texts or WhatsApps the business back.
// The carrier keywords (packages/domain consent-keywords.ts, English and Spanish) change
// consent (an opt-out covers every channel: the consent ledger's trigger sets
// contacts.opted_out_at) and are confirmed in the caller's language where Twilio does not
// confirm them; HELP is answered with the business's help text; anything else is kept for
// the dashboard.
import { consentConfirmation, consentKeywordOf, type KeywordLanguage } from "@callflow/domain";
import type { Context } from "hono";
import { z } from "zod";
import { describeIssues, messageSid, text, twiml } from "./twilio-form.ts";
import { findNumberOwner, recordReceipt, upsertContact } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

/** inbound_messages.body holds up to this; a longer WhatsApp message is kept truncated. */
const STORED_BODY_LIMIT = 1600;

export const inboundMessageSchema = z.object({
  MessageSid: messageSid,
  From: text(64),
  To: text(64),
  // Empty for a message with media only. WhatsApp allows 4,096 characters.
  Body: text(4096).default(""),
});

/**
 * Twilio answers the English keywords on SMS itself (its standard opt-out handling, which
 * also blocks sending after STOP); WhatsApp and Spanish keywords get CallFlow's answer.
 */
const twilioAnswers = (channel: "sms" | "whatsapp", language: KeywordLanguage) =>
  channel === "sms" && language === "en";

export function inboundMessage({ database, log }: TwilioWebhookOptions) {
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = inboundMessageSchema.safeParse(form);
    if (!parsed.success) return c.json({ error: `not an inbound message: ${describeIssues(parsed.error, form)}` }, 400);
    const message = parsed.data;
    const channel = /^whatsapp:/i.test(message.From) ? "whatsapp" : "sms";
    const keyword = consentKeywordOf(message.Body);

    const reply = await database.withService(async (tx) => {
      const owner = await findNumberOwner(tx, message.To);
      if (!owner) {
        await recordReceipt(tx, {
          externalId: message.MessageSid,
          kind: "message.inbound",
          organizationId: null,
          note: `no organization owns the number ${message.To}`,
        });
        log.warn("inbound message to a number nobody owns", { sid: message.MessageSid, to: message.To });
        return undefined;
      }
      const first = await recordReceipt(tx, {
        externalId: message.MessageSid,
        kind: "message.inbound",
        organizationId: owner.organizationId,
      });
      // A repeated delivery is answered again: Twilio repeats a webhook whose answer it did not get.
      const answer =
        keyword?.action === "help"
          ? owner.helpText
          : keyword && !twilioAnswers(channel, keyword.language)
            ? consentConfirmation(keyword.action, keyword.language, owner.businessName)
            : undefined;
      if (!first) return answer;

      const contactId = await upsertContact(tx, owner.organizationId, message.From);
      if (keyword && keyword.action !== "help" && contactId) {
        await tx
          .insertInto("consent_events")
          .values({
            organization_id: owner.organizationId,
            contact_id: contactId,
            channel,
            action: keyword.action,
            source: "inbound_keyword",
            actor: message.MessageSid,
            evidence: JSON.stringify({ body: message.Body }),
          })
          .execute();
        return answer;
      }
      if (keyword?.action === "help") return answer;
      // Also a keyword from a sender with no number to opt out (a short code): staff see it.
      await tx
        .insertInto("inbound_messages")
        .values({
          organization_id: owner.organizationId,
          contact_id: contactId,
          channel,
          from_number: message.From,
          to_number: message.To,
          body: message.Body.slice(0, STORED_BODY_LIMIT),
          provider_sid: message.MessageSid,
        })
        .execute();
      return undefined;
    });

    return c.body(twiml(reply), 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
