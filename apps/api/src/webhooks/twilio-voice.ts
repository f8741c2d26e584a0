// POST /webhooks/twilio/voice: a call's status callbacks (the number's StatusCallback). Each
// one writes the call's status (one row per CallSid, never moving backwards). A final one
// settles the outcome when no other callback of the voice flow is due (see
// settleCallOutcome): for a call that never came through the Voice URL it is the only
// report, and it is the safety net when the Dial action never reached CallFlow. It never
// overrides an outcome the Dial result or the recording settled.
import { type CallStatus, callStatusSchema, isFinalCallStatus } from "@callflow/domain";
import type { Context } from "hono";
import { z } from "zod";
import { callSid, describeIssues, optional, text } from "./twilio-form.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import { CallReportIngest } from "./twilio-voice-flow.ts";
import { emptyTwiml, TWIML_HEADERS } from "./twilio-voice-twiml.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

/** A whole number of seconds, as Twilio sends durations. */
export const seconds = z
  .string()
  .regex(/^\d{1,7}$/, "must be a whole number of seconds")
  .transform(Number);

/** A TwiML request's CallStatus, as the call log keeps it: only the status callback ends a call. */
export const runningStatus = (status: CallStatus | undefined, fallback: CallStatus): CallStatus =>
  status === undefined || isFinalCallStatus(status) ? fallback : status;

export const voiceStatusCallbackSchema = z.object({
  CallSid: callSid,
  CallStatus: callStatusSchema,
  // As Twilio sent them: 'anonymous', 'client:...' and the like are kept, not refused.
  From: text(64),
  To: text(64),
  CallDuration: optional(seconds),
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

export function voiceStatusCallback({ database, outbox, log }: TwilioWebhookOptions) {
  const reports = new CallReportIngest(database);
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = voiceStatusCallbackSchema.safeParse(form);
    if (!parsed.success)
      return c.json({ error: `not a voice status callback: ${describeIssues(parsed.error, form)}` }, 400);
    const call = parsed.data;

    const ingested = await reports.ingest(
      {
        externalId: `${call.CallSid}:${call.CallStatus}`,
        kind: "voice.status",
        unownedNote: `no organization owns the called number ${call.To}`,
      },
      {
        callSid: call.CallSid,
        from: call.From,
        to: call.To,
        status: call.CallStatus,
        ...(call.Direction !== undefined ? { direction: call.Direction } : {}),
        ...(call.CallDuration !== undefined ? { durationSeconds: call.CallDuration } : {}),
        ...(call.AnsweredBy !== undefined ? { answeredBy: call.AnsweredBy } : {}),
        ...(call.Timestamp !== undefined ? { at: call.Timestamp } : {}),
      },
    );
    // 200 all the same for a number nobody owns: Twilio would only retry, and operators find the receipt.
    if (ingested === "unowned")
      log.warn("voice callback for a number nobody owns", { callSid: call.CallSid, to: call.To });
    if (ingested === "settled") outbox.wake();
    return c.body(emptyTwiml(), 200, TWIML_HEADERS);
  };
}
