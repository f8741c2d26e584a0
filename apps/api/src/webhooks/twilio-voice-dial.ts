// POST /webhooks/twilio/voice/dial: the Dial verb's action, requested when the forwarded leg
// ends. Its DialCallStatus says whether the business picked up: answered settles the call as
// answered; otherwise the caller gets the voicemail greeting and a recording when the business
// takes voicemail (the recording then settles it), or the call is missed and ends here.
import { callStatusSchema, dialAnswered, dialCallStatusSchema } from "@callflow/domain";
import { voiceWebhookUrls } from "@callflow/providers";
import type { Context } from "hono";
import { z } from "zod";
import { callSid, describeIssues, optional, text } from "./twilio-form.ts";
import { findNumberOwner, recordReceipt } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import { runningStatus, seconds } from "./twilio-voice.ts";
import { findCallLog, reportCall, voiceSettingsOf } from "./twilio-voice-flow.ts";
import { hangupTwiml, TWIML_HEADERS, voicemailTwiml } from "./twilio-voice-twiml.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export const dialActionSchema = z.object({
  CallSid: callSid,
  From: text(64),
  To: text(64),
  CallStatus: optional(callStatusSchema),
  DialCallStatus: dialCallStatusSchema,
  DialCallDuration: optional(seconds),
  DialCallSid: optional(callSid),
});

export function voiceDialAction({ database, outbox, log, publicUrl }: TwilioWebhookOptions) {
  const urls = voiceWebhookUrls(publicUrl);
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = dialActionSchema.safeParse(form);
    if (!parsed.success) return c.json({ error: `not a Dial action: ${describeIssues(parsed.error, form)}` }, 400);
    const dial = parsed.data;

    const { twiml, settled } = await database.withService(async (tx) => {
      const externalId = `${dial.CallSid}:dial`;
      const owner = await findNumberOwner(tx, dial.To);
      if (!owner) {
        await recordReceipt(tx, {
          externalId,
          kind: "voice.dial",
          organizationId: null,
          note: `no organization owns the called number ${dial.To}`,
        });
        log.warn("Dial action for a number nobody owns", { callSid: dial.CallSid, to: dial.To });
        return { twiml: hangupTwiml(), settled: false };
      }
      const settings = await voiceSettingsOf(tx, owner.organizationId);
      const first = await recordReceipt(tx, { externalId, kind: "voice.dial", organizationId: owner.organizationId });
      if (!first) {
        // Twilio's retry: offer the greeting again only if the first answer did.
        const known = await findCallLog(tx, dial.CallSid);
        return { twiml: known?.voicemail_offered ? voicemailTwiml(settings, urls) : hangupTwiml(), settled: false };
      }
      const answered = dialAnswered(dial.DialCallStatus, dial.DialCallDuration, settings.answeredMinSeconds);
      const offer = !answered && settings.voicemailEnabled;
      const settled = await reportCall(tx, owner, {
        callSid: dial.CallSid,
        from: dial.From,
        to: dial.To,
        status: runningStatus(dial.CallStatus, "in-progress"),
        voiceFlow: "forward",
        dialStatus: dial.DialCallStatus,
        ...(dial.DialCallDuration !== undefined ? { dialDurationSeconds: dial.DialCallDuration } : {}),
        voicemailOffered: offer,
      });
      return { twiml: offer ? voicemailTwiml(settings, urls) : hangupTwiml(), settled };
    });
    if (settled) outbox.wake();
    return c.body(twiml, 200, TWIML_HEADERS);
  };
}
