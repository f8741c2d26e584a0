// POST /webhooks/twilio/messages/inbound: a caller texts or WhatsApps the business back.
// The carrier keywords change consent (an opt-out covers every channel: the consent
// ledger's trigger sets contacts.opted_out_at), HELP is answered with the business's help
// text, and anything else is kept for the dashboard.
import type { Context } from "hono";
import { z } from "zod";
import { describeIssues, messageSid, text, twiml } from "./twilio-form.ts";
import { findNumberOwner, recordReceipt, upsertContact } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import type { TwilioWebhookOptions } from "./twilio-webhooks.ts";

/** inbound_messages.body holds up to this; a longer WhatsApp message is kept truncated. */
const STORED_BODY_LIMIT = 1600;

export const inboundMessageSchema = z.object({
  MessageSid: messageSid,
  From: text(64),
  To: text(64),
  // Empty for a message with media only. WhatsApp allows 4,096 characters.
  Body: text(4096).default(""),
});

const KEYWORDS: Record<string, "opt_out" | "opt_in" | "help"> = {
  STOP: "opt_out",
  STOPALL: "opt_out",
  UNSUBSCRIBE: "opt_out",
  CANCEL: "opt_out",
  END: "opt_out",
  QUIT: "opt_out",
  START: "opt_in",
  UNSTOP: "opt_in",
  HELP: "help",
  INFO: "help",
};

/** A keyword is the whole message, trimmed, in any case; "stop calling me" is a reply. */
export const keywordOf = (body: string) => KEYWORDS[body.trim().toUpperCase()];

export function inboundMessage({ database, log }: TwilioWebhookOptions) {
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = inboundMessageSchema.safeParse(form);
    if (!parsed.success) return c.json({ error: `not an inbound message: ${describeIssues(parsed.error, form)}` }, 400);
    const message = parsed.data;
    const channel = /^whatsapp:/i.test(message.From) ? "whatsapp" : "sms";
    const keyword = keywordOf(message.Body);

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
      // A repeated HELP is answered again: Twilio repeats a webhook whose answer it did not get.
      const helpReply = keyword === "help" ? owner.helpText : undefined;
      if (!first) return helpReply;

      const contactId = await upsertContact(tx, owner.organizationId, message.From);
      if ((keyword === "opt_out" || keyword === "opt_in") && contactId) {
        await tx
          .insertInto("consent_events")
          .values({
            organization_id: owner.organizationId,
            contact_id: contactId,
            channel,
            action: keyword,
            source: "inbound_keyword",
            actor: message.MessageSid,
            evidence: JSON.stringify({ body: message.Body }),
          })
          .execute();
        return undefined;
      }
      if (keyword === "help") return helpReply;
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
