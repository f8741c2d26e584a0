// POST /webhooks/twilio/voice/recording: the Record verb's action (requested when the message
// ends, even when the caller hung up) and its recording status callback (when the recording
// is processed: completed, or absent for silence after the beep). A recording with sound
// settles the call as voicemail; an empty one as missed. The status callback names only the
// call, so its facts go to the call's existing log.
import type { Tx } from "@callflow/db";
import { callStatusSchema } from "@callflow/domain";
import type { Context } from "hono";
import { z } from "zod";
import type { Log } from "../log.ts";
import { callSid, describeIssues, optional, text } from "./twilio-form.ts";
import { recordReceipt } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import { runningStatus, seconds } from "./twilio-voice.ts";
import {
  type CallLogRow,
  CallReportIngest,
  type RecordingReport,
  recordRecordingReport,
  settleCall,
} from "./twilio-voice-flow.ts";
import { emptyTwiml, hangupTwiml, TWIML_HEADERS } from "./twilio-voice-twiml.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export const recordingCallbackSchema = z.object({
  CallSid: callSid,
  RecordingSid: optional(z.string().regex(/^RE[0-9a-f]{32}$/, "must be RE followed by 32 hex digits")),
  RecordingUrl: optional(text(500).url("must be a URL")),
  RecordingDuration: optional(seconds),
  /** Only in the recording status callback. */
  RecordingStatus: optional(z.enum(["in-progress", "completed", "absent", "failed"])),
  /** Only in the Record action (and every TwiML request). */
  From: optional(text(64)),
  To: optional(text(64)),
  CallStatus: optional(callStatusSchema),
  Digits: optional(text(32)),
});

type RecordingCallback = z.infer<typeof recordingCallbackSchema>;

export function voiceRecording({ database, outbox, log }: TwilioWebhookOptions) {
  const reports = new CallReportIngest(database);
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = recordingCallbackSchema.safeParse(form);
    if (!parsed.success)
      return c.json({ error: `not a recording callback: ${describeIssues(parsed.error, form)}` }, 400);
    const callback = parsed.data;
    const isAction = callback.RecordingStatus === undefined;
    // The Record action carries the call's parties; the status callback carries RecordingStatus instead.
    if (isAction) {
      const missing = (["From", "To", "RecordingDuration"] as const).filter((field) => callback[field] === undefined);
      if (missing.length) return c.json({ error: `not a Record action: ${missing.join(", ")} missing` }, 400);
    }
    const settled = isAction
      ? await recordAction(reports, callback, log)
      : await database.withService((tx) => recordingStatus(tx, callback, log));
    if (settled) outbox.wake();
    // The caller has usually hung up (Twilio then ignores this); one who pressed a key is let go.
    return c.body(isAction ? hangupTwiml() : emptyTwiml(), 200, TWIML_HEADERS);
  };
}

/** The Record action is its own delivery: one statement records it (see CallReportIngest). */
async function recordAction(reports: CallReportIngest, callback: RecordingCallback, log: Log): Promise<boolean> {
  const to = callback.To as string;
  const ingested = await reports.ingest(
    {
      externalId: `${callback.CallSid}:record`,
      kind: "voice.recording",
      unownedNote: `no organization owns the called number ${to}`,
    },
    {
      callSid: callback.CallSid,
      from: callback.From as string,
      to,
      status: runningStatus(callback.CallStatus, "in-progress"),
      voicemailOffered: true,
      recording: recordingOf(callback, callback.RecordingDuration ?? 0),
    },
  );
  if (ingested === "unowned") log.warn("Record action for a number nobody owns", { callSid: callback.CallSid, to });
  return ingested === "settled";
}

async function recordingStatus(tx: Tx, callback: RecordingCallback, log: Log): Promise<boolean> {
  const status = callback.RecordingStatus;
  const externalId = `${callback.RecordingSid ?? callback.CallSid}:recording-${status}`;
  const known = await tx
    .selectFrom("call_logs")
    .innerJoin("organizations", "organizations.id", "call_logs.organization_id")
    .select(["call_logs.organization_id as organizationId", "organizations.answered_min_seconds as answeredMinSeconds"])
    .where("call_logs.call_sid", "=", callback.CallSid)
    .executeTakeFirst();
  if (!known) {
    await recordReceipt(tx, {
      externalId,
      kind: "voice.recording",
      organizationId: null,
      note: `a recording of a call CallFlow has no log of (${callback.CallSid})`,
    });
    log.warn("recording status for an unknown call", { callSid: callback.CallSid });
    return false;
  }
  if (!(await recordReceipt(tx, { externalId, kind: "voice.recording", organizationId: known.organizationId })))
    return false;
  // in-progress says nothing yet; a failed recording is a message nobody can hear, so no fact.
  if (status !== "completed" && status !== "absent") return false;
  const row: CallLogRow | null = await recordRecordingReport(
    tx,
    callback.CallSid,
    recordingOf(callback, status === "absent" ? 0 : (callback.RecordingDuration ?? 0)),
  );
  return row ? settleCall(tx, row, known.answeredMinSeconds) : false;
}

const recordingOf = (callback: RecordingCallback, durationSeconds: number): RecordingReport => ({
  durationSeconds,
  ...(callback.RecordingSid !== undefined ? { sid: callback.RecordingSid } : {}),
  ...(callback.RecordingUrl !== undefined ? { url: callback.RecordingUrl } : {}),
});
