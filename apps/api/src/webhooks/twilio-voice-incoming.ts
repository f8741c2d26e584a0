// POST /webhooks/twilio/voice/incoming: a connected number's Voice URL. Twilio asks what to do
// with an incoming call; the business's settings answer: forward it to the business's own
// phone (Dial, ringing for the ring time, its result to /voice/dial), or, with no forwarding
// number, the voicemail greeting and a recording, or a short goodbye when voicemail is off.
// The call's log starts here, with what the TwiML did; a repeat answers the same flow.
import { callStatusSchema } from "@callflow/domain";
import { voiceWebhookUrls } from "@callflow/providers";
import type { Context } from "hono";
import { z } from "zod";
import { callSid, describeIssues, optional, text } from "./twilio-form.ts";
import { findNumberOwner, recordReceipt } from "./twilio-records.ts";
import type { TwilioFormEnv } from "./twilio-signature.ts";
import { runningStatus } from "./twilio-voice.ts";
import { findCallLog, reportCall, voiceSettingsOf } from "./twilio-voice-flow.ts";
import { hangupTwiml, incomingTwiml, TWIML_HEADERS, voiceFlowOf } from "./twilio-voice-twiml.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export const incomingCallSchema = z.object({
  CallSid: callSid,
  From: text(64),
  To: text(64),
  CallStatus: optional(callStatusSchema),
  Direction: optional(text(32)),
});

export function voiceIncoming({ database, outbox, log, publicUrl }: TwilioWebhookOptions) {
  const urls = voiceWebhookUrls(publicUrl);
  return async (c: Context<TwilioFormEnv>) => {
    const form = c.get("twilioForm");
    const parsed = incomingCallSchema.safeParse(form);
    if (!parsed.success) return c.json({ error: `not an incoming call: ${describeIssues(parsed.error, form)}` }, 400);
    const call = parsed.data;

    const { twiml, settled } = await database.withService(async (tx) => {
      const externalId = `${call.CallSid}:incoming`;
      const owner = await findNumberOwner(tx, call.To);
      if (!owner) {
        // A number CallFlow no longer serves still pointing here: end the call, tell operators.
        await recordReceipt(tx, {
          externalId,
          kind: "voice.incoming",
          organizationId: null,
          note: `no organization owns the called number ${call.To}`,
        });
        log.warn("incoming call to a number nobody owns", { callSid: call.CallSid, to: call.To });
        return { twiml: hangupTwiml(), settled: false };
      }
      const settings = await voiceSettingsOf(tx, owner.organizationId);
      const first = await recordReceipt(tx, {
        externalId,
        kind: "voice.incoming",
        organizationId: owner.organizationId,
      });
      if (!first) {
        // Twilio's retry: the same flow as the first answer, whatever changed since.
        const known = await findCallLog(tx, call.CallSid);
        const flow = known?.voice_flow ?? voiceFlowOf(settings);
        const then = { ...settings, forwardTo: known?.forwarded_to ?? settings.forwardTo };
        return { twiml: incomingTwiml(flow, then, urls), settled: false };
      }
      const flow = voiceFlowOf(settings);
      const settled = await reportCall(tx, owner, {
        callSid: call.CallSid,
        from: call.From,
        to: call.To,
        status: runningStatus(call.CallStatus, "ringing"),
        voiceFlow: flow,
        ...(flow === "forward" && settings.forwardTo ? { forwardedTo: settings.forwardTo } : {}),
        voicemailOffered: flow === "voicemail",
        ...(call.Direction !== undefined ? { direction: call.Direction } : {}),
      });
      return { twiml: incomingTwiml(flow, settings, urls), settled };
    });
    if (settled) outbox.wake();
    return c.body(twiml, 200, TWIML_HEADERS);
  };
}
