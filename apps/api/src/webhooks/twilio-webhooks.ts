// The Twilio webhooks, mounted at /webhooks/twilio. Each request's signature is checked
// before anything is read; each answer is sent after the durable write; each delivery is
// counted once (webhook_receipts, in the same transaction as the write).
import { Hono } from "hono";
import { inboundMessage } from "./twilio-inbound.ts";
import { messageStatusCallback } from "./twilio-message-status.ts";
import { type TwilioFormEnv, verifyTwilioSignature } from "./twilio-signature.ts";
import { voiceStatusCallback } from "./twilio-voice.ts";
import { voiceDialAction } from "./twilio-voice-dial.ts";
import { voiceIncoming } from "./twilio-voice-incoming.ts";
import { voiceRecording } from "./twilio-voice-recording.ts";
import type { TwilioWebhookOptions } from "./twilio-webhook-options.ts";

export function twilioWebhooks(options: TwilioWebhookOptions) {
  const signed = verifyTwilioSignature(options);
  return new Hono<TwilioFormEnv>()
    .post("/voice", signed, voiceStatusCallback(options))
    .post("/voice/incoming", signed, voiceIncoming(options))
    .post("/voice/dial", signed, voiceDialAction(options))
    .post("/voice/recording", signed, voiceRecording(options))
    .post("/messages/status", signed, messageStatusCallback(options))
    .post("/messages/inbound", signed, inboundMessage(options));
}
