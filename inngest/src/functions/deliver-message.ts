// deliver-message: the tenant-unaware worker. It delivers a prepared job: WhatsApp, a wait
// for the outcome, SMS when WhatsApp does not deliver in time, a final status. No
// business rules here; those were applied when the job was written.
import type { Database } from "@callflow/db";
import { countSmsSegments, isDeliveredLike, isFailure, type MessageStatus, mergeStatus } from "@callflow/domain";
import type { MessagingProvider, StatusCallbackUrls } from "@callflow/providers";
import { NonRetriableError } from "inngest";
import { sql } from "kysely";
import type { CallflowInngest } from "../client.ts";
import { messageJobCreated, messageStatusUpdated } from "../events.ts";

export interface DeliverMessageDeps {
  database: Database;
  messaging: MessagingProvider;
  /** Signed StatusCallback URLs at the API's public base URL, one per message. */
  statusCallbacks: StatusCallbackUrls;
  now?: () => Date;
}

type Channel = "whatsapp" | "sms";

interface PreparedJob {
  id: string;
  organizationId: string;
  status: string;
  channels: Channel[];
  to: string;
  from: string;
  contactId: string | null;
  whatsappContentSid: string | null;
  whatsappVariables: Record<string, string>;
  smsBody: string | null;
  fallbackWindowSeconds: number;
  /** The usage period the message was counted in when it was decided (ISO); its sends are added there. */
  usagePeriodStart: string | null;
}

type Attempt = { messageId: string; accepted: true } | { messageId: string; accepted: false; reason: string };

const FINAL_JOB_STATUSES = ["delivered", "failed", "skipped"];

export function createDeliverMessage(inngest: CallflowInngest, deps: DeliverMessageDeps) {
  return inngest.createFunction(
    {
      id: "deliver-message",
      triggers: [messageJobCreated],
      idempotency: "event.data.jobId",
      retries: 4,
      // No job stays "sending": when retries are exhausted the job fails with the reason.
      onFailure: async ({ event, error }) => {
        const jobId = event.data.event.data.jobId;
        await finishJob(deps, jobId, { status: "failed", channel: null, reason: `delivery stopped: ${error.message}` });
      },
    },
    async ({ event, step }) => {
      const job = await step.run("load-job", () => loadJob(deps, event.data.jobId));
      if (FINAL_JOB_STATUSES.includes(job.status)) return { status: job.status, reason: "already final" };

      const reasons: string[] = [];
      for (const channel of job.channels) {
        const attempt = await step.run(`send-${channel}`, () => sendOnce(deps, job, channel));
        if (!attempt.accepted) {
          reasons.push(`${channel}: ${attempt.reason}`);
          continue;
        }
        await step.waitForEvent(`wait-for-${channel}-outcome`, {
          event: messageStatusUpdated,
          timeout: `${job.fallbackWindowSeconds}s`,
          if: `async.data.messageId == '${attempt.messageId}' && (async.data.status == 'delivered' || async.data.status == 'read' || async.data.status == 'failed' || async.data.status == 'undelivered' || async.data.status == 'canceled')`,
        });
        // The database is the source of truth: a callback that arrived before the wait
        // began is there even though the wait did not see it.
        const outcome = await step.run(`check-${channel}`, () => readAttempt(deps, attempt.messageId));
        if (isDeliveredLike(outcome.status)) {
          return step.run("finish", () =>
            finishJob(deps, job.id, { status: "delivered", channel, reason: `delivered by ${channelName(channel)}` }),
          );
        }
        const lastChannel = channel === job.channels.at(-1);
        if (lastChannel && channel === "sms" && !isFailure(outcome.status) && outcome.status !== "pending") {
          // Many carriers never confirm SMS delivery: accepted and sent is as far as it goes.
          return step.run("finish", () =>
            finishJob(deps, job.id, {
              status: "delivered",
              channel,
              reason: `SMS ${outcome.status}; the carrier sent no delivery receipt`,
            }),
          );
        }
        reasons.push(
          isFailure(outcome.status)
            ? `${channel}: ${outcome.status}${outcome.errorCode ? ` (${outcome.errorCode})` : ""}`
            : `${channel}: no delivery receipt within ${job.fallbackWindowSeconds} s`,
        );
      }
      return step.run("finish", () =>
        finishJob(deps, job.id, { status: "failed", channel: null, reason: reasons.join("; ") || "no channel to try" }),
      );
    },
  );
}

const channelName = (channel: Channel) => (channel === "whatsapp" ? "WhatsApp" : "SMS");

async function loadJob(deps: DeliverMessageDeps, jobId: string): Promise<PreparedJob> {
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
        "c.to_number as from_number",
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
    if (!FINAL_JOB_STATUSES.includes(row.status)) {
      await tx.updateTable("message_jobs").set({ status: "sending" }).where("id", "=", jobId).execute();
    }
    return {
      id: row.id,
      organizationId: row.organization_id,
      status: FINAL_JOB_STATUSES.includes(row.status) ? row.status : "sending",
      channels: row.channels,
      to: row.to_number,
      from: row.from_number,
      contactId: row.contact_id,
      whatsappContentSid: row.whatsapp_content_sid,
      whatsappVariables: row.whatsapp_variables as Record<string, string>,
      smsBody: row.sms_body,
      fallbackWindowSeconds: row.fallback_window_seconds,
      usagePeriodStart: row.usage_period_start?.toISOString() ?? null,
    };
  });
}

/**
 * At most one send per job and channel. The attempt row is written before the provider is
 * called; a retried step that finds it does not call again (the provider may have
 * accepted the first call): the status callback, which names the attempt, links it.
 */
async function sendOnce(deps: DeliverMessageDeps, job: PreparedJob, channel: Channel): Promise<Attempt> {
  const claimed = await deps.database.withService(async (tx) => {
    const inserted = await tx
      .insertInto("messages")
      .values({
        organization_id: job.organizationId,
        job_id: job.id,
        channel,
        to_number: job.to,
        from_number: job.from,
      })
      .onConflict((conflict) => conflict.columns(["job_id", "channel"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted) return { messageId: inserted.id, fresh: true as const };
    const existing = await tx
      .selectFrom("messages")
      .select(["id", "status", "error_message"])
      .where("job_id", "=", job.id)
      .where("channel", "=", channel)
      .executeTakeFirstOrThrow();
    return {
      messageId: existing.id,
      fresh: false as const,
      status: existing.status,
      errorMessage: existing.error_message,
    };
  });
  if (!claimed.fresh) {
    return isFailure(claimed.status as MessageStatus)
      ? { messageId: claimed.messageId, accepted: false, reason: claimed.errorMessage ?? claimed.status }
      : { messageId: claimed.messageId, accepted: true };
  }

  const statusCallback = deps.statusCallbacks.urlFor(claimed.messageId, deps.now?.());
  const result =
    channel === "whatsapp"
      ? await deps.messaging.sendWhatsApp({
          to: job.to,
          from: job.from,
          contentSid: job.whatsappContentSid ?? "",
          contentVariables: job.whatsappVariables,
          statusCallback,
        })
      : await deps.messaging.sendSms({ to: job.to, from: job.from, body: job.smsBody ?? "", statusCallback });

  if (!result.ok && result.error.kind === "retryable") {
    // Not accepted: release the claim so the retried step sends again. The release commits
    // first: thrown inside its transaction, it would be rolled back with it.
    await deps.database.withService((tx) => tx.deleteFrom("messages").where("id", "=", claimed.messageId).execute());
    throw new Error(`${channelName(channel)} send failed, will retry: ${result.error.message}`);
  }
  const now = deps.now?.() ?? new Date();
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
        .where("id", "=", claimed.messageId)
        .execute();
      if (result.error.kind === "not_on_whatsapp" && job.contactId) {
        await tx
          .updateTable("contacts")
          .set({ whatsapp_status: "unavailable", whatsapp_checked_at: now })
          .where("organization_id", "=", job.organizationId)
          .where("id", "=", job.contactId)
          .execute();
      }
      return { messageId: claimed.messageId, accepted: false, reason: result.error.message };
    }
    // A status callback may already have linked the sid and moved the status on.
    const current = await tx
      .selectFrom("messages")
      .select("status")
      .where("id", "=", claimed.messageId)
      .executeTakeFirstOrThrow();
    await tx
      .updateTable("messages")
      .set({
        provider_sid: result.sid,
        status: mergeStatus(current.status as MessageStatus, result.status),
        sent_at: now,
      })
      .where("id", "=", claimed.messageId)
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
    return { messageId: claimed.messageId, accepted: true };
  });
}

async function readAttempt(deps: DeliverMessageDeps, messageId: string) {
  const row = await deps.database.withService((tx) =>
    tx.selectFrom("messages").select(["status", "error_code"]).where("id", "=", messageId).executeTakeFirstOrThrow(),
  );
  return { status: row.status as MessageStatus, errorCode: row.error_code };
}

async function finishJob(
  deps: DeliverMessageDeps,
  jobId: string,
  outcome: { status: "delivered" | "failed"; channel: Channel | null; reason: string },
) {
  const now = deps.now?.() ?? new Date();
  await deps.database.withService((tx) =>
    tx
      .updateTable("message_jobs")
      .set({
        status: outcome.status,
        final_channel: outcome.channel,
        final_reason: outcome.reason.slice(0, 500),
        completed_at: now,
      })
      .where("id", "=", jobId)
      .where("status", "not in", ["delivered", "failed", "skipped"])
      .execute(),
  );
  return outcome;
}
