// What deliver-message reads and writes: the prepared job, one send per job and channel
// (claimed before the provider is called), its outcome, and the job's final status.
import type { Database, Tx } from "@callflow/db";
import {
  type Channel,
  consentRefusalOf,
  countSmsSegments,
  finalJobStatuses,
  isFailure,
  type MessageStatus,
  mergeStatus,
} from "@callflow/domain";
import type { MessagingProvider, StatusCallbackUrls } from "@callflow/providers";
import { NonRetriableError, RetryAfterError } from "inngest";
import { sql } from "kysely";
import { recordRecipientFact } from "../recipient-facts.ts";

export interface DeliveryRecordsDeps {
  database: Database;
  messaging: MessagingProvider;
  /** Signed StatusCallback URLs at the API's public base URL, one per message. */
  statusCallbacks: StatusCallbackUrls;
  now?: () => Date;
}

export interface PreparedJob {
  id: string;
  organizationId: string;
  status: string;
  channels: Channel[];
  to: string;
  /** The senders: SMS from the called number, WhatsApp from the business's WhatsApp sender (or the same). */
  from: Record<Channel, string>;
  contactId: string | null;
  whatsappContentSid: string | null;
  whatsappVariables: Record<string, string>;
  smsBody: string | null;
  fallbackWindowSeconds: number;
  /** The usage period the message was counted in when it was decided (ISO); its sends are added there. */
  usagePeriodStart: string | null;
}

/**
 * One channel's send: accepted by the provider, refused (the next channel gets its turn),
 * withheld because the caller's consent no longer allows it, or refused because the caller
 * unsubscribed from the sender (21610). The last two end the job canceled.
 */
export type Attempt =
  | { outcome: "accepted"; messageId: string }
  | { outcome: "refused"; messageId: string; reason: string }
  | { outcome: "withheld" | "opted_out"; reason: string };

/**
 * The longest wait a Retry-After buys: a caller expects the message within minutes, and after
 * the step's retries the next channel goes, so a longer wait is better spent there.
 */
export const MAX_RETRY_AFTER_SECONDS = 60;

/** What an unanswered send leaves in its attempt's error_message until a status callback says more. */
export const OUTCOME_UNKNOWN = "outcome unknown";

/** The messages row of one channel's attempt for a job (one per job and channel). */
const attemptRow = (job: PreparedJob, channel: Channel) => ({
  organization_id: job.organizationId,
  job_id: job.id,
  channel,
  to_number: job.to,
  from_number: job.from[channel],
});

export const channelName = (channel: Channel) => (channel === "whatsapp" ? "WhatsApp" : "SMS");

export async function loadJob(deps: DeliveryRecordsDeps, jobId: string): Promise<PreparedJob> {
  return deps.database.withService(async (tx) => {
    const row = await tx
      .selectFrom("message_jobs as j")
      .innerJoin("call_logs as c", (join) =>
        join.onRef("c.organization_id", "=", "j.organization_id").onRef("c.id", "=", "j.call_log_id"),
      )
      .select([
        "j.id",
        "j.organization_id",
        "j.status",
        "j.decision",
        "j.channels",
        "j.to_number",
        "c.to_number as called_number",
        "j.whatsapp_from",
        "j.contact_id",
        "j.whatsapp_content_sid",
        "j.whatsapp_variables",
        "j.sms_body",
        "j.fallback_window_seconds",
        "j.usage_period_start",
      ])
      .where("j.id", "=", jobId)
      .executeTakeFirst();
    if (!row) throw new NonRetriableError(`message job ${jobId} does not exist`);
    if (row.decision === "skip") throw new NonRetriableError(`message job ${jobId} was skipped; nothing to deliver`);
    const final = finalJobStatuses.includes(row.status);
    if (!final) await tx.updateTable("message_jobs").set({ status: "sending" }).where("id", "=", jobId).execute();
    return {
      id: row.id,
      organizationId: row.organization_id,
      status: final ? row.status : "sending",
      channels: row.channels,
      to: row.to_number,
      from: { sms: row.called_number, whatsapp: row.whatsapp_from ?? row.called_number },
      contactId: row.contact_id,
      whatsappContentSid: row.whatsapp_content_sid,
      whatsappVariables: row.whatsapp_variables as Record<string, string>,
      smsBody: row.sms_body,
      fallbackWindowSeconds: row.fallback_window_seconds,
      usagePeriodStart: row.usage_period_start?.toISOString() ?? null,
    };
  });
}

type Claim =
  | { fresh: true; messageId: string }
  | { fresh: false; messageId: string; status: MessageStatus; errorMessage: string | null }
  | { withheld: string };

/**
 * The attempt row, written before the provider is called: a retried step that finds it does
 * not call again (the provider may have accepted the first call). A fresh claim first asks
 * the caller's consent as it is now: a STOP since the decision withholds the send.
 */
async function claimSend(deps: DeliveryRecordsDeps, job: PreparedJob, channel: Channel): Promise<Claim> {
  return deps.database.withService(async (tx) => {
    const existing = await tx
      .selectFrom("messages")
      .select(["id", "status", "error_message"])
      .where("job_id", "=", job.id)
      .where("channel", "=", channel)
      .executeTakeFirst();
    if (existing) {
      const status = existing.status as MessageStatus;
      return { fresh: false, messageId: existing.id, status, errorMessage: existing.error_message };
    }
    const org = await tx
      .selectFrom("organizations")
      .select("consent_policy")
      .where("id", "=", job.organizationId)
      .executeTakeFirstOrThrow();
    const consent = job.contactId
      ? await tx
          .selectFrom("contacts")
          .select(["opted_out_at", "opted_in_at"])
          .where("organization_id", "=", job.organizationId)
          .where("id", "=", job.contactId)
          .executeTakeFirst()
      : undefined;
    const contact = consent ? { optedOut: consent.opted_out_at !== null, optedIn: consent.opted_in_at !== null } : null;
    const refusal = consentRefusalOf(contact, org.consent_policy);
    if (refusal) return { withheld: `canceled before the ${channelName(channel)} send: ${refusal}` };
    const inserted = await tx
      .insertInto("messages")
      .values(attemptRow(job, channel))
      .onConflict((conflict) => conflict.columns(["job_id", "channel"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted) return { fresh: true, messageId: inserted.id };
    const raced = await tx
      .selectFrom("messages")
      .select(["id", "status", "error_message"])
      .where("job_id", "=", job.id)
      .where("channel", "=", channel)
      .executeTakeFirstOrThrow();
    return {
      fresh: false,
      messageId: raced.id,
      status: raced.status as MessageStatus,
      errorMessage: raced.error_message,
    };
  });
}

/** At most one send per job and channel; the status callback, which names the attempt, links it. */
export async function sendOnce(deps: DeliveryRecordsDeps, job: PreparedJob, channel: Channel): Promise<Attempt> {
  const claim = await claimSend(deps, job, channel);
  if ("withheld" in claim) return { outcome: "withheld", reason: claim.withheld };
  if (!claim.fresh) {
    return isFailure(claim.status)
      ? { outcome: "refused", messageId: claim.messageId, reason: claim.errorMessage ?? claim.status }
      : { outcome: "accepted", messageId: claim.messageId };
  }

  const statusCallback = deps.statusCallbacks.urlFor(claim.messageId, deps.now?.());
  const from = job.from[channel];
  const result =
    channel === "whatsapp"
      ? await deps.messaging.sendWhatsApp({
          to: job.to,
          from,
          contentSid: job.whatsappContentSid ?? "",
          contentVariables: job.whatsappVariables,
          statusCallback,
        })
      : await deps.messaging.sendSms({ to: job.to, from, body: job.smsBody ?? "", statusCallback });

  const now = deps.now?.() ?? new Date();
  if (!result.ok && result.error.outcomeUnknown) {
    // Twilio may have taken it: sending again could send twice. The claim stays and the run
    // waits as for an accepted send; if Twilio took it, its callbacks (to the URL naming this
    // attempt) link the message and move its status, and if none comes the channel did not deliver.
    const reason = `${OUTCOME_UNKNOWN}: ${result.error.message}`.slice(0, 1000);
    await deps.database.withService((tx) =>
      // A callback that came first has linked the message already: then there is nothing unknown to say.
      tx
        .updateTable("messages")
        .set({ error_message: reason })
        .where("id", "=", claim.messageId)
        .where("provider_sid", "is", null)
        .execute(),
    );
    return { outcome: "accepted", messageId: claim.messageId };
  }
  if (!result.ok && result.error.kind === "retryable") {
    // Refused, so not sent: release the claim so the retried step sends again. Its own
    // transaction: the error thrown after it must not roll the release back.
    await deps.database.withService((tx) => tx.deleteFrom("messages").where("id", "=", claim.messageId).execute());
    const message = `${channelName(channel)} send failed, will retry: ${result.error.message}`;
    const wait = result.error.retryAfterSeconds;
    // Twilio said when to come back (a 429's Retry-After): the retry waits that long, capped.
    if (wait !== undefined && wait > 0)
      throw new RetryAfterError(message, Math.min(wait, MAX_RETRY_AFTER_SECONDS) * 1000);
    throw new Error(message);
  }
  return deps.database.withService(async (tx) => {
    if (!result.ok) {
      await tx
        .updateTable("messages")
        .set({
          status: "failed",
          error_code: result.error.code,
          error_message: result.error.message.slice(0, 1000),
          status_changed_at: now,
        })
        .where("id", "=", claim.messageId)
        .execute();
      const fact = await recordRecipientFact(tx, {
        organizationId: job.organizationId,
        contactId: job.contactId,
        jobId: job.id,
        messageId: claim.messageId,
        channel,
        code: result.error.code,
        kind: result.error.kind,
        at: now,
      });
      if (fact === "opted_out") {
        const reason = `canceled: the caller unsubscribed from ${from} at their carrier (Twilio ${result.error.code}); recorded as their opt-out`;
        return { outcome: "opted_out", reason };
      }
      return { outcome: "refused", messageId: claim.messageId, reason: result.error.message };
    }
    // A status callback may already have linked the sid and moved the status on.
    const current = await tx
      .selectFrom("messages")
      .select("status")
      .where("id", "=", claim.messageId)
      .executeTakeFirstOrThrow();
    await tx
      .updateTable("messages")
      .set({
        provider_sid: result.sid,
        status: mergeStatus(current.status as MessageStatus, result.status),
        sent_at: now,
      })
      .where("id", "=", claim.messageId)
      .execute();
    // The message counted against the quota when it was decided; each accepted send adds
    // its channel (and SMS segments) to that same period.
    if (job.usagePeriodStart) {
      const segments = channel === "sms" ? countSmsSegments(job.smsBody ?? "").segments : 0;
      await sql`
        update public.usage_periods
           set whatsapp_sent = whatsapp_sent + ${channel === "whatsapp" ? 1 : 0},
               sms_sent = sms_sent + ${channel === "sms" ? 1 : 0},
               sms_segments = sms_segments + ${segments}
         where organization_id = ${job.organizationId} and period_start = ${job.usagePeriodStart}::timestamptz`.execute(
        tx,
      );
    }
    return { outcome: "accepted", messageId: claim.messageId };
  });
}

/**
 * The channel could not be sent at all: its retries ran out on errors worth retrying (Twilio
 * down, rate-limited, timeouts). Recorded as a failed attempt, so the next channel goes and
 * the job's reasons say why this one did not.
 */
export async function recordUnsent(
  deps: DeliveryRecordsDeps,
  job: PreparedJob,
  channel: Channel,
  lastError: string,
): Promise<Attempt> {
  const reason = `not sent, retries exhausted: ${lastError}`.slice(0, 1000);
  return deps.database.withService(async (tx) => {
    await tx
      .insertInto("messages")
      .values({ ...attemptRow(job, channel), status: "failed", error_message: reason })
      .onConflict((conflict) => conflict.columns(["job_id", "channel"]).doNothing())
      .execute();
    const row = await tx
      .selectFrom("messages")
      .select(["id", "status", "error_message"])
      .where("job_id", "=", job.id)
      .where("channel", "=", channel)
      .executeTakeFirstOrThrow();
    return { outcome: "refused", messageId: row.id, reason: row.error_message ?? reason };
  });
}

export async function readAttempt(deps: DeliveryRecordsDeps, messageId: string) {
  const row = await deps.database.withService((tx) =>
    tx.selectFrom("messages").select(["status", "error_code"]).where("id", "=", messageId).executeTakeFirstOrThrow(),
  );
  return { status: row.status as MessageStatus, errorCode: row.error_code };
}

/** Why each channel tried did not deliver, in the order they were tried: "whatsapp: failed (63016); sms: …". */
export async function reasonsOf(deps: DeliveryRecordsDeps, job: PreparedJob): Promise<string> {
  const rows = await deps.database.withService((tx) =>
    tx
      .selectFrom("messages")
      .select(["channel", "status", "error_code", "error_message", "provider_sid"])
      .where("job_id", "=", job.id)
      .execute(),
  );
  const reasons = job.channels.flatMap((channel) => {
    const row = rows.find((message) => message.channel === channel);
    if (!row) return [];
    const status = row.status as MessageStatus;
    if (row.provider_sid === null && row.error_message?.startsWith(OUTCOME_UNKNOWN)) {
      return [`${channel}: ${row.error_message}; no status callback came within ${job.fallbackWindowSeconds} s`];
    }
    if (!isFailure(status)) return [`${channel}: no delivery receipt within ${job.fallbackWindowSeconds} s`];
    // Refused or never sent: the provider's words. Failed later: the status and its code.
    if (row.provider_sid === null) return [`${channel}: ${row.error_message ?? status}`];
    return [`${channel}: ${status}${row.error_code ? ` (${row.error_code})` : ""}`];
  });
  return reasons.join("; ") || "no channel to try";
}

/** A job's outcome, once: a final job keeps the outcome it has. */
export type JobOutcome = { status: "delivered" | "failed" | "canceled"; channel: Channel | null; reason: string };

export async function finishJob(deps: DeliveryRecordsDeps, jobId: string, outcome: JobOutcome) {
  const now = deps.now?.() ?? new Date();
  await deps.database.withService((tx) => writeJobOutcome(tx, jobId, outcome, now));
  return outcome;
}

/** finishJob in the caller's transaction (reconciliation finishes the jobs it holds locked). */
export async function writeJobOutcome(tx: Tx, jobId: string, outcome: JobOutcome, now: Date): Promise<void> {
  await tx
    .updateTable("message_jobs")
    .set({
      status: outcome.status,
      final_channel: outcome.channel,
      final_reason: outcome.reason.slice(0, 500),
      completed_at: now,
    })
    .where("id", "=", jobId)
    .where("status", "not in", finalJobStatuses)
    .execute();
}
