// POST /webhooks/twilio/voice: a call's status callbacks. Each one upserts the call log
// (one row per CallSid, its status never moving backwards); a final one sends
// call/completed with the CallSid as event id, so downstream runs once per call however
// often Twilio repeats itself.
import type { Tx } from "@callflow/db";
import { callOutcome, callStatusOrder, callStatusSchema, finalCallStatuses, isFinalCallStatus } from "@callflow/domain";
import { callCompleted, enqueueEvents } from "@callflow/inngest";
import type { Context } from "hono";
import { sql } from "kysely";
import { z } from "zod";
import { callSid, describeIssues, optional, text, twiml } from "./twilio-form.ts";
import { findNumberOwner, type NumberOwner, recordReceipt, upsertContact } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export const voiceStatusCallbackSchema = z.object({
  CallSid: callSid,
  CallStatus: callStatusSchema,
  // As Twilio sent them: 'anonymous', 'client:...' and the like are kept, not refused.
  From: text(64),
  To: text(64),
  CallDuration: optional(
    z
      .string()
      .regex(/^\d{1,7}$/, "must be a whole number of seconds")
      .transform(Number),
  ),
  AnsweredBy: optional(text(64)),
  Timestamp: optional(
    text(64).transform((value, ctx) => {
      const at = new Date(value);
      if (!Number.isNaN(at.getTime())) return at;
      ctx.addIssue({ code: "custom", message: "must be a date (RFC 2822, as Twilio sends it)" });
      return z.NEVER;
    }),
  ),
  Direction: optional(text(32)),
});

export type VoiceStatusCallback = z.infer<typeof voiceStatusCallbackSchema>;

const sqlList = (values: readonly string[]) => sql.raw(`array[${values.map((value) => `'${value}'`).join(", ")}]`);

export function voiceStatusCallback({ database, outbox, log }: TwilioWebhookOptions) {
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = voiceStatusCallbackSchema.safeParse(form);
    if (!parsed.success)
      return c.json({ error: `not a voice status callback: ${describeIssues(parsed.error, form)}` }, 400);
    const call = parsed.data;

    const logged = await database.withService(async (tx) => {
      const externalId = `${call.CallSid}:${call.CallStatus}`;
      const owner = await findNumberOwner(tx, call.To);
      if (!owner) {
        // 200 all the same: Twilio would only retry, and operators find the receipt.
        await recordReceipt(tx, {
          externalId,
          kind: "voice.status",
          organizationId: null,
          note: `no organization owns the called number ${call.To}`,
        });
        log.warn("voice callback for a number nobody owns", { callSid: call.CallSid, to: call.To });
        return null;
      }
      const first = await recordReceipt(tx, { externalId, kind: "voice.status", organizationId: owner.organizationId });
      if (!first) return false;
      const callLogId = await upsertCallLog(tx, owner, call);
      // In the same transaction: the event is as durable as the call it is about. The
      // CallSid is its id, so the call is handled once however often Twilio repeats itself.
      if (callLogId && isFinalCallStatus(call.CallStatus)) {
        await enqueueEvents(tx, [
          callCompleted.outbox(
            { callSid: call.CallSid, organizationId: owner.organizationId, callLogId },
            call.CallSid,
          ),
        ]);
        return true;
      }
      return false;
    });
    if (logged) outbox.wake();
    return c.body(twiml(), 200, { "content-type": "text/xml; charset=utf-8" });
  };
}

async function upsertCallLog(tx: Tx, owner: NumberOwner, call: VoiceStatusCallback): Promise<string | null> {
  const final = isFinalCallStatus(call.CallStatus);
  const at = call.Timestamp ?? new Date();
  const endedAt = final ? at : null;
  // A first sight of the call at its end still gets a start: its end less its duration.
  const startedAt = endedAt && call.CallDuration !== undefined ? new Date(at.getTime() - call.CallDuration * 1000) : at;
  const contactId = await upsertContact(tx, owner.organizationId, call.From);
  const row = await tx
    .insertInto("call_logs")
    .values({
      organization_id: owner.organizationId,
      call_sid: call.CallSid,
      phone_number_id: owner.phoneNumberId,
      contact_id: contactId,
      from_number: call.From,
      to_number: call.To,
      direction: call.Direction?.startsWith("outbound") ? "outbound" : "inbound",
      status: call.CallStatus,
      outcome: callOutcome(
        { callStatus: call.CallStatus, durationSeconds: call.CallDuration, answeredBy: call.AnsweredBy },
        { answeredMinSeconds: owner.answeredMinSeconds },
      ),
      duration_seconds: call.CallDuration ?? null,
      answered_by: call.AnsweredBy ?? null,
      started_at: startedAt,
      ended_at: endedAt,
    })
    .onConflict((conflict) =>
      conflict
        .column("call_sid")
        .doUpdateSet({
          status: sql`excluded.status`,
          outcome: sql`excluded.outcome`,
          duration_seconds: sql`coalesce(excluded.duration_seconds, call_logs.duration_seconds)`,
          answered_by: sql`coalesce(excluded.answered_by, call_logs.answered_by)`,
          started_at: sql`least(call_logs.started_at, excluded.started_at)`,
          ended_at: sql`coalesce(excluded.ended_at, call_logs.ended_at)`,
          contact_id: sql`coalesce(call_logs.contact_id, excluded.contact_id)`,
          phone_number_id: sql`coalesce(call_logs.phone_number_id, excluded.phone_number_id)`,
        })
        // Out-of-order callbacks: a status only moves forward, and a final one stays.
        // A CallSid is Twilio-wide; a row of another org is never touched.
        .where(
          sql<boolean>`call_logs.organization_id = excluded.organization_id
            and call_logs.status <> all(${sqlList(finalCallStatuses)})
            and array_position(${sqlList(callStatusOrder)}, excluded.status) >= array_position(${sqlList(callStatusOrder)}, call_logs.status)`,
        ),
    )
    .returning("id")
    .executeTakeFirst();
  return row?.id ?? findCallLog(tx, owner, call.CallSid);
}

async function findCallLog(tx: Tx, owner: NumberOwner, sid: string): Promise<string | null> {
  const row = await tx
    .selectFrom("call_logs")
    .select("id")
    .where("call_sid", "=", sid)
    .where("organization_id", "=", owner.organizationId)
    .executeTakeFirst();
  return row?.id ?? null;
}
