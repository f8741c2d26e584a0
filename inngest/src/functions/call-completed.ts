// call-completed: the tenant-aware half. A finished call becomes a message job (one per
// call, with the decision and its reason, skips included), then the request to deliver it
// on its first channel. A job deferred to the end of quiet hours checks the caller's consent
// again when it wakes: a STOP in between cancels it.
import type { CallLogs, Database, Tx } from "@callflow/db";
import {
  type Channel,
  consentRefusalOf,
  type DecisionInput,
  decideMessage,
  entitlementOf,
  quotaReachedReason,
  type SenderRates,
  subscriptionStateOf,
  usagePeriodOf,
} from "@callflow/domain";
import { NonRetriableError } from "inngest";
import { type Selectable, sql } from "kysely";
import type { CallflowInngest } from "../client.ts";
import { deliveryRequestOf } from "../delivery-request.ts";
import { callCompleted } from "../events.ts";

export interface CallCompletedDeps {
  database: Database;
  now?: () => Date;
  /** Messages a second per sender, by kind (packages/domain sender-pace.ts has the defaults). */
  senderRates?: Partial<SenderRates>;
}

export interface JobDecision {
  jobId: string;
  decision: "send" | "skip" | "defer";
  reason: string;
  sendAfter: string | null;
  /** The first channel to try and the sender it goes from; null for a skip. */
  firstSend: { channel: Channel; from: string } | null;
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
      const { organizationId } = event.data;
      const job = await step.run("decide", () => decideAndWriteJob(deps, organizationId, event.data.callLogId));
      if (!job.firstSend) return job;
      if (job.decision === "defer" && job.sendAfter) {
        await step.sleepUntil("wait-for-quiet-hours-to-end", new Date(job.sendAfter));
        const waking = await step.run("check-consent-on-waking", () => checkConsentOnWaking(deps, job.jobId));
        if (waking.canceled) return { ...job, canceled: waking.reason };
      }
      await step.sendEvent(
        "request-delivery",
        deliveryRequestOf({ jobId: job.jobId, organizationId, ...job.firstSend }, deps.senderRates),
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
    const existing = await findJob(tx, organizationId, callLogId);
    if (existing) return existing;

    const call = await tx
      .selectFrom("call_logs")
      .selectAll()
      .where("organization_id", "=", organizationId)
      .where("id", "=", callLogId)
      .executeTakeFirst();
    if (!call) throw new NonRetriableError(`call ${callLogId} of ${organizationId} does not exist`);
    const { input, org, period, entitlement } = await loadDecisionInput(tx, organizationId, call, now);
    const decision = decideMessage(input);

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
        whatsapp_from: sending?.whatsapp ? org.whatsapp_sender : null,
        sms_body: sending?.smsBody ?? null,
        fallback_window_seconds: org.fallback_window_seconds,
        send_after: sending?.sendAfter ?? null,
        completed_at: decision.decision === "skip" ? now : null,
        usage_period_start: sending ? period.start : null,
      })
      .onConflict((conflict) => conflict.column("call_log_id").doNothing())
      .returning("id")
      .executeTakeFirst();
    // A concurrent decision of the same call wrote it first.
    if (!inserted) return (await findJob(tx, organizationId, callLogId)) as JobDecision;
    if (sending && !(await countMessage(tx, organizationId, period, entitlement.plan.monthlyMessageQuota))) {
      // Calls decided at the same moment took the last of the quota: this one is skipped.
      const reason = quotaReachedReason(entitlement.plan, entitlement.plan.monthlyMessageQuota);
      await tx
        .updateTable("message_jobs")
        .set({ decision: "skip", status: "skipped", reason, channels: [], usage_period_start: null, completed_at: now })
        .where("id", "=", inserted.id)
        .execute();
    } else if (sending && call.contact_id) {
      // The cooldown runs from the decision, so two quick calls get one message.
      await sql`update public.contacts set last_messaged_at = ${now} where organization_id = ${organizationId} and id = ${call.contact_id}`.execute(
        tx,
      );
    }
    return (await findJob(tx, organizationId, callLogId)) as JobDecision;
  });
}

/** Everything the decision rules read: the call, the business and its plan, the caller, the templates. */
async function loadDecisionInput(tx: Tx, organizationId: string, call: Selectable<CallLogs>, now: Date) {
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
  const billing = subscriptionStateOf(subscription);
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

  const input: DecisionInput = {
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
          whatsappCheckedAt: contact.whatsapp_checked_at,
          lastMessagedAt: contact.last_messaged_at,
        }
      : null,
    templates: templates.map((template) => ({
      id: template.id,
      trigger: template.trigger,
      language: template.language,
      whatsappContentSid: template.whatsapp_content_sid,
      whatsappCategory: template.whatsapp_category,
      whatsappVariables: template.whatsapp_variables as Record<string, string>,
      smsBody: template.sms_body,
    })),
    now,
  };
  return { input, org, period, entitlement };
}

/** The call's job as the workflow goes on with it, with its first send. */
async function findJob(tx: Tx, organizationId: string, callLogId: string): Promise<JobDecision | undefined> {
  const row = await tx
    .selectFrom("message_jobs as j")
    .innerJoin("call_logs as c", (join) =>
      join.onRef("c.organization_id", "=", "j.organization_id").onRef("c.id", "=", "j.call_log_id"),
    )
    .select(["j.id", "j.decision", "j.reason", "j.send_after", "j.channels", "j.whatsapp_from", "c.to_number"])
    .where("j.organization_id", "=", organizationId)
    .where("j.call_log_id", "=", callLogId)
    .executeTakeFirst();
  if (!row) return undefined;
  const channel = row.decision === "skip" ? undefined : row.channels[0];
  return {
    jobId: row.id,
    decision: row.decision,
    reason: row.reason,
    sendAfter: row.send_after ? row.send_after.toISOString() : null,
    firstSend: channel
      ? { channel, from: channel === "whatsapp" ? (row.whatsapp_from ?? row.to_number) : row.to_number }
      : null,
  };
}

/**
 * A deferred job, when its quiet hours end: still allowed by the caller's consent? An
 * opt-out while it waited already canceled it (the ledger's trigger); a consent policy
 * turned explicit without the caller's opt-in cancels it here.
 */
export async function checkConsentOnWaking(
  deps: CallCompletedDeps,
  jobId: string,
): Promise<{ canceled: false } | { canceled: true; reason: string }> {
  const now = deps.now?.() ?? new Date();
  return deps.database.withService(async (tx) => {
    const job = await tx
      .selectFrom("message_jobs as j")
      .innerJoin("organizations as o", "o.id", "j.organization_id")
      .leftJoin("contacts as c", (join) =>
        join.onRef("c.organization_id", "=", "j.organization_id").onRef("c.id", "=", "j.contact_id"),
      )
      .select([
        "j.status",
        "j.final_reason",
        "o.consent_policy",
        "c.id as contact_id",
        "c.opted_out_at",
        "c.opted_in_at",
      ])
      .where("j.id", "=", jobId)
      .forUpdate("j")
      .executeTakeFirstOrThrow();
    if (job.status === "canceled") return { canceled: true, reason: job.final_reason ?? "canceled" };
    const contact = job.contact_id ? { optedOut: job.opted_out_at !== null, optedIn: job.opted_in_at !== null } : null;
    const refusal = consentRefusalOf(contact, job.consent_policy);
    if (!refusal) return { canceled: false };
    const reason = `canceled: ${refusal} while it waited for quiet hours to end`;
    await tx
      .updateTable("message_jobs")
      .set({ status: "canceled", final_reason: reason, completed_at: now })
      .where("id", "=", jobId)
      .where("status", "in", ["pending", "scheduled"])
      .execute();
    return { canceled: true, reason };
  });
}

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
