// POST /webhooks/twilio/messages/status: a sent message's status callbacks. Every distinct
// callback (webhook_receipts) is applied as reconciliation applies what it asks Twilio, in one
// statement (app.record_message_status, @callflow/inngest message-status-report.ts): a
// message_events row, the status only forward, what a failure says about the recipient, then
// message/status.updated for a waiting delivery. The message is found by its sid, else by the
// id in our callback URL when its sid was never stored (the send's step result was lost).
import { type RecordedStatus, recordStatusCallback, recordStatusCallbacks, type StatusReport } from "@callflow/inngest";
import { statusCallbackUrls } from "@callflow/providers";
import type { Context } from "hono";
import { z } from "zod";
import { StatementBatches } from "./statement-batches.ts";
import { describeIssues, messageSid, optional, text, twilioErrorCode, twiml } from "./twilio-form.ts";
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

export function messageStatusCallback({ database, outbox, log, publicUrl, authToken }: TwilioWebhookOptions) {
  const statusCallbacks = statusCallbackUrls({ publicUrl, authToken });
  // Callbacks that queue while two statements are in flight are recorded together (see
  // statement-batches.ts and app.record_message_statuses).
  const records = new StatementBatches<StatusReport, RecordedStatus | undefined>({
    runOne: (report) => recordStatusCallback(database, report),
    runBatch: (reports) => recordStatusCallbacks(database, reports),
  });
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

    // One statement: the receipt (a repeat stops there), the event row, the status, what a
    // failure teaches, and message/status.updated in the outbox.
    const recorded = await records.run({
      sid: callback.MessageSid,
      messageId: messageId ?? null,
      reported: callback.MessageStatus,
      errorCode: callback.ErrorCode ?? null,
      errorMessage: callback.ErrorMessage ?? null,
      source: "callback",
      payload: form,
      at: new Date(),
    });
    if (recorded?.result === "unknown")
      log.warn("message status callback for an unknown message", { sid: callback.MessageSid, messageId });
    if (recorded?.result === "recorded") outbox.wake();
    return c.body(twiml(), 200, { "content-type": "text/xml; charset=utf-8" });
  };
}
