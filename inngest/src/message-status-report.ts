// A status Twilio reported for a sent message, applied the one way CallFlow applies it,
// whether it came by status callback (apps/api webhooks/twilio-message-status.ts) or because
// reconciliation asked Twilio (functions/reconcile-records.ts): one statement,
// app.record_message_status, that records a message_events row saying which, moves the
// message's status only forward (packages/domain mergeStatus, whose rules it is given), keeps
// what a failure teaches about the recipient, and writes message/status.updated to the outbox
// for a delivery waiting on the outcome. A callback's receipt is recorded by it too.

import { type Database, serviceFunctionCall, type Tx } from "@callflow/db";
import {
  isDeliveredLike,
  isFailure,
  type MessageStatus,
  messageStatuses,
  messageStatusProgress,
  parseMessageStatus,
} from "@callflow/domain";
import { classifyTwilioError } from "@callflow/providers";
import { eventWithTraceContext } from "./trace-context.ts";

export interface StatusReport {
  sid: string;
  /** The message our StatusCallback URL names, for a send whose sid was never stored; else null. */
  messageId: string | null;
  /** Twilio's MessageStatus as reported: one the domain does not know is recorded, not stored. */
  reported: string;
  errorCode: number | null;
  errorMessage: string | null;
  source: "callback" | "reconciled";
  /** What Twilio sent (the callback's form, or the fetched fields), kept with the event. */
  payload: Record<string, unknown>;
  at: Date;
}

/** What app.record_message_status did: `status` is the message's status after the report. */
export type RecordedStatus =
  | { result: "recorded" | "repeat"; note: null; organization_id: string; status: MessageStatus }
  | { result: "unknown"; note: string; organization_id: null; status: null };

const PROGRESS = JSON.stringify(messageStatusProgress);
const FAILURES = messageStatuses.filter(isFailure);
const DELIVERED = messageStatuses.filter(isDeliveredLike);

/** One report as app.record_message_status takes it, and as app.record_message_statuses takes each of a batch's. */
function statusReportFacts(report: StatusReport, receiptId: string | null) {
  // The event's data is completed by the statement (the message's ids, the stored status);
  // what starts it here is the active span's trace context, so its run continues the trace.
  const event = eventWithTraceContext({
    name: "message/status.updated",
    id: `${report.sid}:${report.reported}`,
    data: {} as Record<string, unknown>,
  });
  return {
    receiptId,
    sid: report.sid,
    messageId: report.messageId,
    reported: report.reported,
    incoming: parseMessageStatus(report.reported),
    errorCode: report.errorCode,
    errorMessage: report.errorMessage,
    errorKind: report.errorCode === null ? null : classifyTwilioError(report.errorCode),
    payload: report.payload,
    source: report.source,
    at: report.at,
    eventData: event.data,
  };
}

/**
 * The arguments of app.record_message_status for `report`; `receiptId` is a callback's
 * webhook_receipts id (`<sid>:<status>`), null for reconciliation.
 */
function recordMessageStatusArgs(report: StatusReport, receiptId: string | null): unknown[] {
  const facts = statusReportFacts(report, receiptId);
  return [
    facts.receiptId,
    facts.sid,
    facts.messageId,
    facts.reported,
    facts.incoming,
    PROGRESS,
    FAILURES,
    DELIVERED,
    facts.errorCode,
    facts.errorMessage,
    facts.errorKind,
    JSON.stringify(facts.payload),
    facts.source,
    facts.at,
    JSON.stringify(facts.eventData),
  ];
}

const callbackReceipt = (report: StatusReport) => `${report.sid}:${report.reported}`;

/** Records a status callback, its receipt (`<sid>:<status>`) first: a repeat records nothing. */
export async function recordStatusCallback(
  database: Database,
  report: StatusReport,
): Promise<RecordedStatus | undefined> {
  const args = recordMessageStatusArgs(report, callbackReceipt(report));
  return (await database.callServiceFunction<RecordedStatus>("app.record_message_status", args))[0];
}

/**
 * Records status callbacks that arrived together in one statement (app.record_message_statuses):
 * each as recordStatusCallback would, in order, in one transaction; answers in the reports' order.
 */
export function recordStatusCallbacks(database: Database, reports: readonly StatusReport[]): Promise<RecordedStatus[]> {
  const facts = reports.map((report) => statusReportFacts(report, callbackReceipt(report)));
  return database.callServiceFunction<RecordedStatus>("app.record_message_statuses", [
    JSON.stringify(facts),
    PROGRESS,
    FAILURES,
    DELIVERED,
  ]);
}

/** Applies a report in the caller's transaction, with no receipt (reconciliation's). */
export async function applyStatusReport(tx: Tx, report: StatusReport): Promise<RecordedStatus | undefined> {
  const call = serviceFunctionCall("app.record_message_status", recordMessageStatusArgs(report, null));
  return (await tx.executeQuery<RecordedStatus>(call)).rows[0];
}
