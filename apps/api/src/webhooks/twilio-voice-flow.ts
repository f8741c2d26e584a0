// What the voice webhooks share: each callback writes the facts it reports to the call's log
// in one statement (which also locks the row, so callbacks of one call take turns), then the
// call's outcome is settled from everything known (settleCallOutcome) exactly once: the same
// transaction sets it and writes call/completed to the outbox, with the CallSid as event id.
// After that the outcome never changes, whatever arrives later: the functions may have read it.
// A final status that finds the Dial or Record action still due leaves the call to
// settleOverdueCalls (twilio-voice-overdue.ts), which settles it once the grace has passed.
import type { CallLogs, Tx } from "@callflow/db";
import {
  type CallStatus,
  callStatusOrder,
  type DialCallStatus,
  finalCallStatuses,
  settleCallOutcome,
  type VoiceFlow,
  type VoiceLanguage,
} from "@callflow/domain";
import { callCompleted, enqueueEvents } from "@callflow/inngest";
import { type RawBuilder, type Selectable, sql } from "kysely";
import { type NumberOwner, upsertContact } from "./twilio-records.ts";

export type CallLogRow = Selectable<CallLogs>;

/** What one callback reports about its call; absent fields change nothing. */
export interface CallReport {
  callSid: string;
  from: string;
  to: string;
  direction?: string;
  /** A TwiML request's CallStatus only while the call runs; only the status callback ends it. */
  status: CallStatus;
  /** From the final status callback. */
  durationSeconds?: number;
  answeredBy?: string;
  at?: Date;
  voiceFlow?: VoiceFlow;
  forwardedTo?: string;
  dialStatus?: DialCallStatus;
  dialDurationSeconds?: number;
  voicemailOffered?: boolean;
  recording?: RecordingReport;
}

export interface RecordingReport {
  sid?: string;
  /** 0: an empty recording. */
  durationSeconds: number;
  url?: string;
}

const sqlList = (values: readonly string[]) => sql.raw(`array[${values.map((value) => `'${value}'`).join(", ")}]`);

/** The status moves forward only, and a final one stays (callbacks arrive out of order). */
const forward = sql<boolean>`(call_logs.status <> all(${sqlList(finalCallStatuses)})
  and array_position(${sqlList(callStatusOrder)}, excluded.status) >= array_position(${sqlList(callStatusOrder)}, call_logs.status))`;
/** `value` when the status moves forward, else the column as it is (typed as the column it sets). */
const ifForward = (column: string, value: RawBuilder<unknown>) =>
  sql<never>`case when ${forward} then ${value} else ${sql.ref(`call_logs.${column}`)} end`;

/**
 * Writes a callback's facts to its call's log and settles the call when its facts now do
 * (settleCall); true when it wrote call/completed. Null row: the CallSid is another
 * organization's (Twilio-wide ids: a row of another org is never touched), nothing to settle.
 */
export async function reportCall(tx: Tx, owner: NumberOwner, report: CallReport): Promise<boolean> {
  const written = await recordCallReport(tx, owner, report);
  if (!written) return false;
  if (written.settledOnInsert) {
    await enqueueCallCompleted(tx, written.row);
    return true;
  }
  return settleCall(tx, written.row, owner.answeredMinSeconds);
}

/**
 * Writes a callback's facts to its call's log and returns the row as it now is, locked until
 * the transaction ends. The first callback of a call creates the row, settled already when
 * its report alone settles the call (a status callback of a call that never came through the
 * Voice URL, a goodbye): one write instead of two.
 */
async function recordCallReport(
  tx: Tx,
  owner: NumberOwner,
  report: CallReport,
): Promise<{ row: CallLogRow; settledOnInsert: boolean } | null> {
  const final = finalCallStatuses.includes(report.status);
  const at = report.at ?? new Date();
  const endedAt = final ? at : null;
  // A first sight of the call at its end still gets a start: its end less its duration.
  const startedAt =
    endedAt && report.durationSeconds !== undefined ? new Date(at.getTime() - report.durationSeconds * 1000) : at;
  const contactId = await upsertContact(tx, owner.organizationId, report.from);
  const recording = report.recording;
  const settledAlone = settleCallOutcome(
    {
      callStatus: report.status,
      durationSeconds: report.durationSeconds ?? null,
      answeredBy: report.answeredBy ?? null,
      flow: report.voiceFlow ?? null,
      dialStatus: report.dialStatus ?? null,
      dialDurationSeconds: report.dialDurationSeconds ?? null,
      voicemailOffered: report.voicemailOffered ?? false,
      recordingDurationSeconds: recording?.durationSeconds ?? null,
    },
    { answeredMinSeconds: owner.answeredMinSeconds },
  );
  const row = await tx
    .insertInto("call_logs")
    .values({
      organization_id: owner.organizationId,
      call_sid: report.callSid,
      phone_number_id: owner.phoneNumberId,
      contact_id: contactId,
      from_number: report.from,
      to_number: report.to,
      direction: report.direction?.startsWith("outbound") ? "outbound" : "inbound",
      status: report.status,
      duration_seconds: report.durationSeconds ?? null,
      answered_by: report.answeredBy ?? null,
      started_at: startedAt,
      ended_at: endedAt,
      voice_flow: report.voiceFlow ?? null,
      forwarded_to: report.forwardedTo ?? null,
      dial_status: report.dialStatus ?? null,
      dial_duration_seconds: report.dialDurationSeconds ?? null,
      voicemail_offered: report.voicemailOffered ?? false,
      recording_sid: recording?.sid ?? null,
      recording_duration_seconds: recording?.durationSeconds ?? null,
      recording_url: recording?.url ?? null,
      // Applied only when this inserts the row; an existing row keeps its outcome (settleCall decides).
      ...(settledAlone
        ? { outcome: settledAlone.outcome, outcome_source: settledAlone.source, outcome_settled_at: sql`now()` }
        : {}),
    })
    .onConflict((conflict) =>
      conflict
        .column("call_sid")
        .doUpdateSet({
          status: ifForward("status", sql`excluded.status`),
          duration_seconds: ifForward(
            "duration_seconds",
            sql`coalesce(excluded.duration_seconds, call_logs.duration_seconds)`,
          ),
          answered_by: ifForward("answered_by", sql`coalesce(excluded.answered_by, call_logs.answered_by)`),
          ended_at: ifForward("ended_at", sql`coalesce(excluded.ended_at, call_logs.ended_at)`),
          started_at: sql`least(call_logs.started_at, excluded.started_at)`,
          contact_id: sql`coalesce(call_logs.contact_id, excluded.contact_id)`,
          phone_number_id: sql`coalesce(call_logs.phone_number_id, excluded.phone_number_id)`,
          ...factUpdates,
        })
        .where(sql<boolean>`call_logs.organization_id = excluded.organization_id`),
    )
    .returningAll()
    // xmax is 0 on a row version this statement inserted, and set on one it updated.
    .returning(sql<boolean>`(call_logs.xmax = 0)`.as("inserted"))
    .executeTakeFirst();
  if (!row) return null;
  const { inserted, ...log } = row;
  return { row: log, settledOnInsert: inserted && settledAlone !== null };
}

/** How each fact merges with what earlier callbacks reported: first answer kept, a recording only grows. */
const factUpdates = {
  voice_flow: sql<never>`coalesce(call_logs.voice_flow, excluded.voice_flow)`,
  forwarded_to: sql<never>`coalesce(call_logs.forwarded_to, excluded.forwarded_to)`,
  dial_status: sql<never>`coalesce(call_logs.dial_status, excluded.dial_status)`,
  dial_duration_seconds: sql<never>`coalesce(call_logs.dial_duration_seconds, excluded.dial_duration_seconds)`,
  voicemail_offered: sql<never>`call_logs.voicemail_offered or excluded.voicemail_offered`,
  recording_sid: sql<never>`coalesce(excluded.recording_sid, call_logs.recording_sid)`,
  recording_duration_seconds: sql<never>`greatest(call_logs.recording_duration_seconds, excluded.recording_duration_seconds)`,
  recording_url: sql<never>`coalesce(excluded.recording_url, call_logs.recording_url)`,
};

/**
 * A recording status callback names only the call: its facts go to the call's existing log.
 * Null when CallFlow has no log of the call.
 */
export async function recordRecordingReport(
  tx: Tx,
  callSid: string,
  recording: RecordingReport,
): Promise<CallLogRow | null> {
  const row = await tx
    .updateTable("call_logs")
    .set({
      recording_sid: sql`coalesce(${recording.sid ?? null}, recording_sid)`,
      recording_duration_seconds: sql`greatest(recording_duration_seconds, ${recording.durationSeconds}::integer)`,
      recording_url: sql`coalesce(${recording.url ?? null}, recording_url)`,
    })
    .where("call_sid", "=", callSid)
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/**
 * Settles the call's outcome when its facts do, once: sets it and writes call/completed in
 * the caller's transaction. True when it did (the outbox relay has an event to send).
 * `overdue`: the final status has waited out its grace (settleOverdueCalls).
 */
export async function settleCall(
  tx: Tx,
  row: CallLogRow,
  answeredMinSeconds: number,
  { overdue = false }: { overdue?: boolean } = {},
): Promise<boolean> {
  if (row.outcome_settled_at) return false;
  const settled = settleCallOutcome(
    {
      callStatus: row.status,
      durationSeconds: row.duration_seconds,
      answeredBy: row.answered_by,
      flow: row.voice_flow,
      dialStatus: row.dial_status,
      dialDurationSeconds: row.dial_duration_seconds,
      voicemailOffered: row.voicemail_offered,
      recordingDurationSeconds: row.recording_duration_seconds,
    },
    { answeredMinSeconds, overdue },
  );
  if (!settled) return false;
  await tx
    .updateTable("call_logs")
    .set({ outcome: settled.outcome, outcome_source: settled.source, outcome_settled_at: sql`now()` })
    .where("id", "=", row.id)
    .where("outcome_settled_at", "is", null)
    .execute();
  await enqueueCallCompleted(tx, row);
  return true;
}

/** call/completed for a call just settled, in the transaction that settled it; its id is the CallSid. */
async function enqueueCallCompleted(tx: Tx, row: CallLogRow): Promise<void> {
  await enqueueEvents(tx, [
    callCompleted.outbox(
      { callSid: row.call_sid, organizationId: row.organization_id, callLogId: row.id },
      row.call_sid,
    ),
  ]);
}

/** What the voice flow's TwiML needs to know about the business. */
export interface VoiceSettings {
  businessName: string;
  answeredMinSeconds: number;
  /** Null also when it is a number connected to CallFlow: forwarding there would call CallFlow again. */
  forwardTo: string | null;
  forwardTimeoutSeconds: number;
  voicemailEnabled: boolean;
  voicemailGreeting: string | null;
  voiceLanguage: VoiceLanguage;
}

export async function voiceSettingsOf(tx: Tx, organizationId: string): Promise<VoiceSettings> {
  const org = await tx
    .selectFrom("organizations")
    .select([
      "name",
      "answered_min_seconds",
      "forward_to",
      "forward_timeout_seconds",
      "voicemail_enabled",
      "voicemail_greeting",
      "voice_language",
      (eb) =>
        eb
          .exists(
            eb.selectFrom("phone_numbers").select("id").whereRef("phone_numbers.e164", "=", "organizations.forward_to"),
          )
          .as("forwardsToCallflow"),
    ])
    .where("id", "=", organizationId)
    .executeTakeFirstOrThrow();
  return {
    businessName: org.name,
    answeredMinSeconds: org.answered_min_seconds,
    forwardTo: org.forwardsToCallflow ? null : org.forward_to,
    forwardTimeoutSeconds: org.forward_timeout_seconds,
    voicemailEnabled: org.voicemail_enabled,
    voicemailGreeting: org.voicemail_greeting,
    voiceLanguage: org.voice_language,
  };
}

export async function findCallLog(tx: Tx, callSid: string): Promise<CallLogRow | null> {
  return (await tx.selectFrom("call_logs").selectAll().where("call_sid", "=", callSid).executeTakeFirst()) ?? null;
}
