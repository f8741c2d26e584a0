// A status Twilio reported for a sent message, applied the one way CallFlow applies it,
// whether it came by status callback (apps/api webhooks/twilio-message-status.ts) or because
// reconciliation asked Twilio (functions/reconcile-deliveries.ts): a message_events row saying
// which, the message's status moved only forward (mergeStatus), what a failure teaches about
// the recipient, and message/status.updated for a delivery waiting on the outcome.
import type { Tx } from "@callflow/db";
import { isFailure, type MessageStatus, mergeStatus, parseMessageStatus } from "@callflow/domain";
import { classifyTwilioError } from "@callflow/providers";
import { messageStatusUpdated } from "./events.ts";
import { enqueueEvents } from "./outbox.ts";
import { recordRecipientFact } from "./recipient-facts.ts";

/** A messages row as the update needs it; read `for update` by the caller. */
export interface StoredMessage {
  id: string;
  organization_id: string;
  job_id: string;
  channel: "whatsapp" | "sms";
  provider_sid: string | null;
  status: MessageStatus;
}

export const storedMessageColumns = ["id", "organization_id", "job_id", "channel", "provider_sid", "status"] as const;

export interface StatusReport {
  sid: string;
  /** Twilio's MessageStatus as reported: one the domain does not know is recorded, not stored. */
  reported: string;
  errorCode: number | null;
  errorMessage: string | null;
  source: "callback" | "reconciled";
  /** What Twilio sent (the callback's form, or the fetched fields), kept with the event. */
  payload: Record<string, unknown>;
  at: Date;
}

/** Applies the report to the message in the caller's transaction; returns the stored status after it. */
export async function applyStatusReport(tx: Tx, message: StoredMessage, report: StatusReport): Promise<MessageStatus> {
  await tx
    .insertInto("message_events")
    .values({
      organization_id: message.organization_id,
      message_id: message.id,
      provider_sid: report.sid,
      status: report.reported.slice(0, 32),
      error_code: report.errorCode,
      payload: JSON.stringify(report.payload),
      source: report.source,
    })
    .execute();

  const incoming = parseMessageStatus(report.reported);
  const status = incoming ? mergeStatus(message.status, incoming) : message.status;
  const linked = message.provider_sid === null ? { provider_sid: report.sid } : {};
  const moved =
    status === message.status
      ? {}
      : {
          status,
          status_changed_at: report.at,
          ...(isFailure(status)
            ? { error_code: report.errorCode, error_message: report.errorMessage?.slice(0, 1000) ?? null }
            : {}),
        };
  if (Object.keys(linked).length + Object.keys(moved).length > 0)
    await tx
      .updateTable("messages")
      .set({ ...linked, ...moved })
      .where("id", "=", message.id)
      .execute();
  if (isFailure(status) && report.errorCode !== null) await learnFromFailure(tx, message, report.errorCode, report.at);
  // In the same transaction as the status it reports: a waiting delivery learns it even
  // when Inngest is down right now. The id is the callback's (`<sid>:<status>`), so a
  // callback and a reconciliation that report the same status are one event.
  await enqueueEvents(tx, [
    messageStatusUpdated.outbox(
      {
        sid: report.sid,
        messageId: message.id,
        jobId: message.job_id,
        organizationId: message.organization_id,
        status,
        errorCode: report.errorCode,
      },
      `${report.sid}:${report.reported}`,
    ),
  ]);
  return status;
}

/**
 * A failure reported after acceptance says as much about the recipient as a refused send:
 * 63024 is how Twilio reports "not on WhatsApp". Not for a failure reported after delivery,
 * which the message's status ignores too.
 */
async function learnFromFailure(tx: Tx, message: StoredMessage, errorCode: number, at: Date) {
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
    at,
  });
}
