// call-completed: the tenant-aware half. A finished call becomes a message job (one per
// call, with the decision and its reason, skips included), then `message/job.created`.
import type { Database, Tx } from "@callflow/db";
import { decideMessage, entitlementOf, quotaReachedReason, usagePeriodOf } from "@callflow/domain";
import { NonRetriableError } from "inngest";
import { sql } from "kysely";
import type { CallflowInngest } from "../client.ts";
import { callCompleted, messageJobCreated } from "../events.ts";

export interface CallCompletedDeps {
  database: Database;
  now?: () => Date;
}

export interface JobDecision {
  jobId: string;
  decision: "send" | "skip" | "defer";
  reason: string;
  sendAfter: string | null;
}

export function createCallCompleted(inngest: CallflowInngest, deps: CallCompletedDeps) {
  return inngest.createFunction(
    {
      id: "call-completed",
      triggers: [callCompleted],
      // One run per call, however often Twilio repeats the callback.
      idempotency: "event.data.callSid",
      // A burst of calls to one business does not starve the others.
      throttle: { key: "event.data.organizationId", limit: 120, period: "1m" },
      retries: 4,
    },
    async ({ event, step }) => {
      const job = await step.run("decide", () =>
        decideAndWriteJob(deps, event.data.organizationId, event.data.callLogId),
      );
      if (job.decision === "skip") return job;
      if (job.decision === "defer" && job.sendAfter) {
        await step.sleepUntil("wait-for-quiet-hours-to-end", new Date(job.sendAfter));
      }
      await step.sendEvent(
        "job-created",
        messageJobCreated.create({ jobId: job.jobId, organizationId: event.data.organizationId }, { id: job.jobId }),
      );
      return job;
    },
  );
}

export async function decideAndWriteJob(
  deps: CallCompletedDeps,
  organizationId: string,
  callLogId: string,
): Promise<JobDecision> {
  const now = deps.now?.() ?? new Date();
  return deps.database.withService(async (tx) => {
    // A retried step finds the job it already wrote.
    const existing = await tx
      .selectFrom("message_jobs")
      .select(["id", "decision", "reason", "send_after"])
      .where("organization_id", "=", organizationId)
      .where("call_log_id", "=", callLogId)
      .executeTakeFirst();
    if (existing) return asJobDecision(existing);

    const call = await tx
      .selectFrom("call_logs")
      .selectAll()
      .where("organization_id", "=", organizationId)
      .where("id", "=", callLogId)
      .executeTakeFirst();
    if (!call) throw new NonRetriableError(`call ${callLogId} of ${organizationId} does not exist`);
    const org = await tx
      .selectFrom("organizations")
      .selectAll()
      .where("id", "=", organizationId)
      .executeTakeFirstOrThrow();
    const subscription = await tx
      .selectFrom("subscriptions")
      .select(["plan", "status", "past_due_since", "current_period_start", "current_period_end"])
      .where("organization_id", "=", organizationId)
      .executeTakeFirst();
    const billing = subscription
      ? {
          plan: subscription.plan,
          status: subscription.status,
          pastDueSince: subscription.past_due_since,
          currentPeriodStart: subscription.current_period_start,
          currentPeriodEnd: subscription.current_period_end,
        }
      : null;
    const entitlement = entitlementOf(billing, now);
    const period = usagePeriodOf(billing, now);
    const usage = await tx
      .selectFrom("usage_periods")
      .select("messages_sent")
      .where("organization_id", "=", organizationId)
      .where("period_start", "=", period.start)
      .executeTakeFirst();
    const contact = call.contact_id
      ? await tx
          .selectFrom("contacts")
          .selectAll()
          .where("organization_id", "=", organizationId)
          .where("id", "=", call.contact_id)
          .executeTakeFirst()
      : undefined;
    const templates = await tx
      .selectFrom("templates")
      .selectAll()
      .where("organization_id", "=", organizationId)
      .where("active", "=", true)
      .where("archived_at", "is", null)
      .orderBy("created_at")
      .execute();

    const decision = decideMessage({
      call: {
        outcome: call.outcome,
        from: call.from_number,
        to: call.to_number,
        endedAt: call.ended_at ?? call.updated_at,
      },
      organization: {
        name: org.name,
        timezone: org.timezone,
        businessHours: org.business_hours as never,
        quietHours: org.quiet_hours as never,
        consentPolicy: org.consent_policy,
        triggerOutcomes: org.trigger_outcomes,
        cooldownSeconds: org.cooldown_seconds,
        entitlement,
        messagesUsedThisPeriod: usage?.messages_sent ?? 0,
      },
      contact: contact
        ? {
            name: contact.name,
            optedOut: contact.opted_out_at !== null,
            optedIn: contact.opted_in_at !== null,
            whatsappStatus: contact.whatsapp_status,
            lastMessagedAt: contact.last_messaged_at,
          }
        : null,
      templates: templates.map((template) => ({
        id: template.id,
        trigger: template.trigger,
        language: template.language,
        whatsappContentSid: template.whatsapp_content_sid,
        whatsappVariables: template.whatsapp_variables as Record<string, string>,
        smsBody: template.sms_body,
      })),
      now,
    });

    const sending = decision.decision !== "skip" ? decision : null;
    const inserted = await tx
      .insertInto("message_jobs")
      .values({
        organization_id: organizationId,
        call_log_id: call.id,
        contact_id: call.contact_id,
        template_id: sending?.templateId ?? null,
        to_number: decision.to.slice(0, 64),
        decision: decision.decision,
        reason: decision.reason.slice(0, 500),
        status: decision.decision === "skip" ? "skipped" : decision.decision === "defer" ? "scheduled" : "pending",
        channels: sending?.channels ?? [],
        whatsapp_content_sid: sending?.whatsapp?.contentSid ?? null,
        whatsapp_variables: JSON.stringify(sending?.whatsapp?.variables ?? {}),
        sms_body: sending?.smsBody ?? null,
        fallback_window_seconds: org.fallback_window_seconds,
        send_after: sending?.sendAfter ?? null,
        completed_at: decision.decision === "skip" ? now : null,
        usage_period_start: sending ? period.start : null,
      })
      .onConflict((conflict) => conflict.column("call_log_id").doNothing())
      .returning(["id", "decision", "reason", "send_after"])
      .executeTakeFirst();
    if (!inserted) {
      const raced = await tx
        .selectFrom("message_jobs")
        .select(["id", "decision", "reason", "send_after"])
        .where("call_log_id", "=", call.id)
        .executeTakeFirstOrThrow();
      return asJobDecision(raced);
    }
    if (sending && !(await countMessage(tx, organizationId, period, entitlement.plan.monthlyMessageQuota))) {
      // Calls decided at the same moment took the last of the quota: this one is skipped.
      const reason = quotaReachedReason(entitlement.plan, entitlement.plan.monthlyMessageQuota);
      const skipped = await tx
        .updateTable("message_jobs")
        .set({ decision: "skip", status: "skipped", reason, channels: [], usage_period_start: null, completed_at: now })
        .where("id", "=", inserted.id)
        .returning(["id", "decision", "reason", "send_after"])
        .executeTakeFirstOrThrow();
      return asJobDecision({ ...skipped, send_after: null });
    }
    if (sending && call.contact_id) {
      // The cooldown runs from the decision, so two quick calls get one message.
      await sql`update public.contacts set last_messaged_at = ${now} where organization_id = ${organizationId} and id = ${call.contact_id}`.execute(
        tx,
      );
    }
    return asJobDecision(inserted);
  });
}

const asJobDecision = (row: {
  id: string;
  decision: JobDecision["decision"];
  reason: string;
  send_after: Date | null;
}): JobDecision => ({
  jobId: row.id,
  decision: row.decision,
  reason: row.reason,
  sendAfter: row.send_after ? row.send_after.toISOString() : null,
});

/**
 * Counts one message against the period's quota, in one statement: the check and the
 * count cannot be split by a concurrent decision, so calls at the edge never overshoot.
 * False when the quota was already used up.
 */
async function countMessage(
  tx: Tx,
  organizationId: string,
  period: { start: Date; end: Date },
  quota: number,
): Promise<boolean> {
  const { rows } = await sql<{ messages_sent: number }>`
    insert into public.usage_periods as u (organization_id, period_start, period_end, messages_sent)
    values (${organizationId}, ${period.start}, ${period.end}, 1)
    on conflict (organization_id, period_start) do update set messages_sent = u.messages_sent + 1
    where u.messages_sent < ${quota}
    returning messages_sent`.execute(tx);
  return rows.length > 0;
}
