// POST /webhooks/twilio/messages/status: a sent message's status callbacks. Every distinct
// callback becomes a message_events row; the message's status moves only forward
// (mergeStatus), whatever order the callbacks arrive in; a failure's code teaches what it
// says about the recipient (not on WhatsApp, unsubscribed: recipient-facts.ts); then
// message/status.updated tells a waiting delivery what the stored status now is.
import type { Tx } from "@callflow/db";
import { isFailure, type MessageStatus, mergeStatus, parseMessageStatus } from "@callflow/domain";
import { enqueueEvents, messageStatusUpdated, recordRecipientFact } from "@callflow/inngest";
import { classifyTwilioError, statusCallbackUrls } from "@callflow/providers";
import type { Context } from "hono";
import { z } from "zod";
import { describeIssues, messageSid, optional, text, twilioErrorCode, twiml } from "./twilio-form.ts";
import { recordReceipt } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export const messageStatusCallbackSchema = z.object({
  MessageSid: messageSid,
  // Kept as sent: statuses the domain does not know are recorded as events, not stored.
  MessageStatus: text(32).min(1, "must not be empty"),
  ErrorCode: optional(twilioErrorCode),
  ErrorMessage: optional(z.string().transform((message) => message.slice(0, 1000))),
  To: optional(text(64)),
  From: optional(text(64)),
});

/**
 * Our StatusCallback URLs name the message row, for a send whose sid was never stored, with
 * a token that says this server made the URL for that message (status-callback-url.ts).
 */
const statusCallbackQuerySchema = z.object({
  messageId: optional(
    z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a message id (uuid)"),
  ),
  expires: optional(z.string().max(20)),
  token: optional(z.string().max(100)),
});

type StoredMessage = {
  id: string;
  organization_id: string;
  job_id: string;
  channel: "whatsapp" | "sms";
  provider_sid: string | null;
  status: MessageStatus;
};

export function messageStatusCallback({ database, outbox, log, publicUrl, authToken }: TwilioWebhookOptions) {
  const statusCallbacks = statusCallbackUrls({ publicUrl, authToken });
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = messageStatusCallbackSchema.safeParse(form);
    if (!parsed.success)
      return c.json({ error: `not a message status callback: ${describeIssues(parsed.error, form)}` }, 400);
    const rawQuery = c.req.query();
    const query = statusCallbackQuerySchema.safeParse(rawQuery);
    if (!query.success)
      return c.json({ error: `not a message status callback: ${describeIssues(query.error, rawQuery)}` }, 400);
    if (query.data.messageId !== undefined) {
      const problem = statusCallbacks.problemWith(query.data);
      if (problem) return c.json({ error: problem }, 403);
    }
    const callback = parsed.data;
    const messageId = query.data.messageId;
    const errorCode = callback.ErrorCode ?? null;

    const stored = await database.withService(async (tx) => {
      const externalId = `${callback.MessageSid}:${callback.MessageStatus}`;
      const found = await findMessage(tx, callback.MessageSid, messageId);
      if ("unknown" in found) {
        await recordReceipt(tx, { externalId, kind: "message.status", organizationId: null, note: found.unknown });
        log.warn("message status callback for an unknown message", { sid: callback.MessageSid, messageId });
        return null;
      }
      const message = found.message;
      const first = await recordReceipt(tx, {
        externalId,
        kind: "message.status",
        organizationId: message.organization_id,
      });
      if (!first) return false;

      await tx
        .insertInto("message_events")
        .values({
          organization_id: message.organization_id,
          message_id: message.id,
          provider_sid: callback.MessageSid,
          status: callback.MessageStatus,
          error_code: errorCode,
          payload: JSON.stringify(form),
        })
        .execute();

      const incoming = parseMessageStatus(callback.MessageStatus);
      const status = incoming ? mergeStatus(message.status, incoming) : message.status;
      const linked = message.provider_sid === null ? { provider_sid: callback.MessageSid } : {};
      const moved =
        status === message.status
          ? {}
          : {
              status,
              status_changed_at: new Date(),
              ...(isFailure(status) ? { error_code: errorCode, error_message: callback.ErrorMessage ?? null } : {}),
            };
      if (Object.keys(linked).length + Object.keys(moved).length > 0)
        await tx
          .updateTable("messages")
          .set({ ...linked, ...moved })
          .where("id", "=", message.id)
          .execute();
      if (isFailure(status) && errorCode !== null) await learnFromFailure(tx, message, errorCode);
      // In the same transaction as the status it reports: a waiting delivery learns it even
      // when Inngest is down right now. Waiters re-read the database after their wait anyway.
      await enqueueEvents(tx, [
        messageStatusUpdated.outbox(
          {
            sid: callback.MessageSid,
            messageId: message.id,
            jobId: message.job_id,
            organizationId: message.organization_id,
            status,
            errorCode,
          },
          externalId,
        ),
      ]);
      return true;
    });
    if (stored) outbox.wake();
    return c.body(twiml(), 200, { "content-type": "text/xml; charset=utf-8" });
  };
}

/**
 * The message by its sid, else by the id in the callback URL when its sid was never stored
 * (the send's step result was lost). Locked: concurrent callbacks merge one after another.
 */
async function findMessage(
  tx: Tx,
  sid: string,
  messageId: string | undefined,
): Promise<{ message: StoredMessage } | { unknown: string }> {
  const columns = ["id", "organization_id", "job_id", "channel", "provider_sid", "status"] as const;
  const bySid = await tx
    .selectFrom("messages")
    .select(columns)
    .where("provider_sid", "=", sid)
    .forUpdate()
    .executeTakeFirst();
  if (bySid) return { message: bySid };
  if (!messageId) return { unknown: `no message has provider sid ${sid}` };
  const byId = await tx
    .selectFrom("messages")
    .select(columns)
    .where("id", "=", messageId)
    .forUpdate()
    .executeTakeFirst();
  if (!byId) return { unknown: `no message has provider sid ${sid} or id ${messageId}` };
  if (byId.provider_sid !== null && byId.provider_sid !== sid)
    return { unknown: `message ${messageId} was sent as ${byId.provider_sid}, not ${sid}` };
  return { message: byId };
}

/**
 * A failure reported by callback says as much about the recipient as a refused send: 63024
 * after acceptance is how Twilio reports "not on WhatsApp". Not for a failure reported after
 * delivery, which the message's status ignores too.
 */
async function learnFromFailure(tx: Tx, message: StoredMessage, errorCode: number) {
  const job = await tx
    .selectFrom("message_jobs")
    .select("contact_id")
    .where("organization_id", "=", message.organization_id)
    .where("id", "=", message.job_id)
    .executeTakeFirst();
  await recordRecipientFact(tx, {
    organizationId: message.organization_id,
    contactId: job?.contact_id ?? null,
    jobId: message.job_id,
    messageId: message.id,
    channel: message.channel,
    code: errorCode,
    kind: classifyTwilioError(errorCode),
    at: new Date(),
  });
}
