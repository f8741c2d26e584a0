// What the voice webhooks share: each callback writes the facts it reports to the call's log
// in one statement, app.record_call_report (which also locks the row, so callbacks of one call
// take turns), then the call's outcome is settled from everything known (settleCallOutcome)
// exactly once: one statement, app.settle_call, sets it and writes call/completed to the
// outbox, with the CallSid as event id; for a new row whose report settles it, the recording
// statement itself. A callback delivered again is answered as a repeat only once its call is
// settled: before that it settles the call from the facts its first delivery wrote, so no 200
// comes before the effect. After that the outcome never changes, whatever arrives later: the
// functions may have read it. A final status that finds the Dial or Record action still due
// leaves the call to settleOverdueCalls (twilio-voice-overdue.ts), which settles it once the
// grace has passed.
import { randomUUID } from "node:crypto";
import { type CallLogs, type Database, serviceFunctionCall, type Tx } from "@callflow/db";
import {
  type CallFacts,
  type CallStatus,
  callStatusOrder,
  type DialCallStatus,
  finalCallStatuses,
  isFinalCallStatus,
  parsePhoneNumber,
  settleCallOutcome,
  type VoiceFlow,
  type VoiceLanguage,
} from "@callflow/domain";
import { callCompleted, eventWithTraceContext } from "@callflow/inngest";
import { type Selectable, sql } from "kysely";
import { StatementBatches } from "./statement-batches.ts";
import { type NumberOwner, type Receipt, storedForm } from "./twilio-records.ts";
import { outcomePieces } from "./twilio-voice-outcome-pieces.ts";

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

/** The call's facts as settleCallOutcome reads them, and what settling it writes. */
export type SettleableCall = Pick<
  CallLogRow,
  | "id"
  | "call_sid"
  | "organization_id"
  | "status"
  | "duration_seconds"
  | "answered_by"
  | "voice_flow"
  | "dial_status"
  | "dial_duration_seconds"
  | "voicemail_offered"
  | "recording_duration_seconds"
> & { outcome_settled_at: Date | string | null };

/** A delivery's receipt, recorded by the same statement as its report. */
export interface ReceiptOf {
  externalId: string;
  kind: Receipt["kind"];
  /** Why nobody owns the called number, for operators (webhook_receipts.note). */
  unownedNote: string;
}

type Recorded = {
  result: "unowned" | "repeat" | "foreign" | "recorded";
  organization_id: string | null;
  answered_min_seconds: number | null;
  inserted: boolean;
  settled: boolean;
  call: SettleableCall | null;
};

const STATUS_ORDER = [...callStatusOrder];
const FINAL_STATUSES = [...finalCallStatuses];

/** One report as app.record_call_report takes it, and as app.record_call_reports takes each of a batch's. */
interface CallReportFacts {
  receiptId: string | null;
  receiptKind: string | null;
  /** The called number as phone_numbers stores it; null when it is none. */
  called: string | null;
  unownedNote: string | null;
  /** The caller in E.164, null when it is none (anonymous, client:...). */
  caller: string | null;
  /** The callback's facts as call_logs columns, with a new row's id. */
  call: Record<string, unknown> & { id: string; call_sid: string };
  /** What the report alone settles for each of the org's possible thresholds, and its call/completed. */
  settle: { organizationId: string; pieces: unknown; event: unknown } | null;
}

/**
 * A callback's facts, and, when the org that owns the number is known, what the report alone
 * settles for each of its possible thresholds and the call/completed event for that org.
 */
function callReportFacts(
  report: CallReport,
  receipt: ReceiptOf | null,
  expectedOrganizationId: string | null,
  called = storedForm(report.to),
): CallReportFacts {
  const final = isFinalCallStatus(report.status);
  const at = report.at ?? new Date();
  const endedAt = final ? at : null;
  // A first sight of the call at its end still gets a start: its end less its duration.
  const startedAt =
    endedAt && report.durationSeconds !== undefined ? new Date(at.getTime() - report.durationSeconds * 1000) : at;
  const recording = report.recording;
  const call = {
    id: randomUUID(),
    call_sid: report.callSid,
    from_number: report.from,
    to_number: report.to,
    direction: report.direction?.startsWith("outbound") ? "outbound" : "inbound",
    status: report.status,
    duration_seconds: report.durationSeconds ?? null,
    answered_by: report.answeredBy ?? null,
    started_at: startedAt.toISOString(),
    ended_at: endedAt?.toISOString() ?? null,
    voice_flow: report.voiceFlow ?? null,
    forwarded_to: report.forwardedTo ?? null,
    dial_status: report.dialStatus ?? null,
    dial_duration_seconds: report.dialDurationSeconds ?? null,
    voicemail_offered: report.voicemailOffered ?? false,
    recording_sid: recording?.sid ?? null,
    recording_duration_seconds: recording?.durationSeconds ?? null,
    recording_url: recording?.url ?? null,
  };
  const settle =
    expectedOrganizationId === null
      ? null
      : {
          organizationId: expectedOrganizationId,
          pieces: outcomePieces(factsOf(call)),
          event: eventWithTraceContext(
            callCompleted.outbox(
              { callSid: call.call_sid, organizationId: expectedOrganizationId, callLogId: call.id },
              call.call_sid,
            ),
          ),
        };
  const caller = parsePhoneNumber(report.from);
  return {
    receiptId: receipt?.externalId ?? null,
    receiptKind: receipt?.kind ?? null,
    called,
    unownedNote: receipt?.unownedNote ?? null,
    caller: caller.ok ? caller.e164 : null,
    call,
    settle,
  };
}

/** app.record_call_report's arguments. */
const recordCallArgs = (facts: CallReportFacts): unknown[] => [
  facts.receiptId,
  facts.receiptKind,
  facts.called,
  facts.unownedNote,
  facts.caller,
  JSON.stringify(facts.call),
  STATUS_ORDER,
  FINAL_STATUSES,
  facts.settle && JSON.stringify(facts.settle),
];

/**
 * Writes a callback's facts to its call's log (app.record_call_report) in the caller's
 * transaction, and settles the call when its facts now do; true when it wrote call/completed.
 * For the callbacks that decide their TwiML from the org's settings first (incoming, Dial).
 */
export async function reportCall(tx: Tx, owner: NumberOwner, report: CallReport): Promise<boolean> {
  const query = serviceFunctionCall(
    "app.record_call_report",
    recordCallArgs(callReportFacts(report, null, owner.organizationId)),
  );
  const [recorded] = (await tx.executeQuery<Recorded>(query)).rows;
  if (recorded?.result !== "recorded" || !recorded.call) return false;
  // An inserted row was settled by the statement when its report settles it; an updated row,
  // locked by the statement until this transaction ends, is settled from all its facts here.
  if (recorded.inserted) return recorded.settled;
  return settleCall(tx, recorded.call, owner.answeredMinSeconds);
}

/**
 * Which org owns each called number (as phone_numbers stores it), as last seen: the event is
 * built before the statement checks it.
 */
export class NumberOwnerMemo {
  readonly #owners = new Map<string, string>();
  get(e164: string | null): string | null {
    return (e164 && this.#owners.get(e164)) ?? null;
  }
  remember(e164: string | null, organizationId: string): void {
    if (!e164 || this.#owners.get(e164) === organizationId) return;
    // Bounded: a process serves a bounded set of numbers; a miss costs one more statement.
    if (this.#owners.size >= 10_000) this.#owners.clear();
    this.#owners.set(e164, organizationId);
  }
}

export type Ingested = "unowned" | "repeat" | "recorded" | "settled";

/**
 * Records the callbacks that are their own delivery (the status callback, the Record action),
 * with no transaction around them: one statement records the receipt, contact and call log and,
 * when the report alone settles a new row for the org expected, its outcome and call/completed.
 * Callbacks that arrive together are recorded together (app.record_call_reports, one statement
 * for the batch; see statement-batches.ts). A row whose facts now settle it is then settled by a
 * second statement (app.settle_call): two round trips. A crash between the two leaves the receipt
 * beside an unsettled call; the callback's retry is then not taken as a repeat
 * (record_call_report hands the call back) and settles it before it is answered.
 */
export class CallReportIngest {
  readonly #database: Database;
  readonly #owners: NumberOwnerMemo;
  readonly #records: StatementBatches<CallReportFacts, Recorded | undefined>;

  constructor(database: Database, owners = new NumberOwnerMemo()) {
    this.#database = database;
    this.#owners = owners;
    this.#records = new StatementBatches({
      runOne: async (facts) =>
        (await database.callServiceFunction<Recorded>("app.record_call_report", recordCallArgs(facts)))[0],
      runBatch: (reports) =>
        // In the reports' order: the function's rows are ordered by their ordinal.
        database.callServiceFunction<Recorded>("app.record_call_reports", [
          JSON.stringify(reports),
          STATUS_ORDER,
          FINAL_STATUSES,
        ]),
    });
  }

  async ingest(receipt: ReceiptOf, report: CallReport): Promise<Ingested> {
    const called = storedForm(report.to);
    const recorded = await this.#records.run(callReportFacts(report, receipt, this.#owners.get(called), called));
    if (!recorded || recorded.result === "unowned") return "unowned";
    if (recorded.organization_id) this.#owners.remember(called, recorded.organization_id);
    if (recorded.result !== "recorded" || !recorded.call) return "repeat";
    if (recorded.settled) return "settled";
    const settle = settleCallArgs(recorded.call, recorded.answered_min_seconds ?? 0, false);
    if (!settle) return "recorded";
    const [settled] = await this.#database.callServiceFunction<Settled>("app.settle_call", settle);
    return settled?.settled ? "settled" : "recorded";
  }
}

const factsOf = (
  row: Omit<SettleableCall, "id" | "call_sid" | "organization_id" | "outcome_settled_at">,
): CallFacts => ({
  callStatus: row.status,
  durationSeconds: row.duration_seconds,
  answeredBy: row.answered_by,
  flow: row.voice_flow,
  dialStatus: row.dial_status,
  dialDurationSeconds: row.dial_duration_seconds,
  voicemailOffered: row.voicemail_offered,
  recordingDurationSeconds: row.recording_duration_seconds,
});

const outcomeOf = (row: SettleableCall, answeredMinSeconds: number, overdue: boolean) =>
  settleCallOutcome(factsOf(row), { answeredMinSeconds, overdue });

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

type Settled = { settled: boolean };

/**
 * app.settle_call's arguments when the call's facts settle it now (null otherwise): the
 * outcome settleCallOutcome gives and the call/completed event, with the CallSid as its id.
 * `overdue`: the final status has waited out its grace (settleOverdueCalls).
 */
function settleCallArgs(row: SettleableCall, answeredMinSeconds: number, overdue: boolean): unknown[] | null {
  if (row.outcome_settled_at) return null;
  const settled = outcomeOf(row, answeredMinSeconds, overdue);
  if (!settled) return null;
  const event = eventWithTraceContext(
    callCompleted.outbox(
      { callSid: row.call_sid, organizationId: row.organization_id, callLogId: row.id },
      row.call_sid,
    ),
  );
  return [row.id, row.organization_id, settled.outcome, settled.source, JSON.stringify(event)];
}

/**
 * Settles the call's outcome when its facts do, once: app.settle_call sets it and writes
 * call/completed in one statement of the caller's transaction (no event when another settled
 * it first). True when it did (the outbox relay has an event to send).
 */
export async function settleCall(
  tx: Tx,
  row: SettleableCall,
  answeredMinSeconds: number,
  { overdue = false }: { overdue?: boolean } = {},
): Promise<boolean> {
  const settle = settleCallArgs(row, answeredMinSeconds, overdue);
  if (!settle) return false;
  const { rows } = await tx.executeQuery<Settled>(serviceFunctionCall("app.settle_call", settle));
  return rows[0]?.settled === true;
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
