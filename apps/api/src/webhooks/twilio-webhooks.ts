// The Twilio webhooks, mounted at /webhooks/twilio. Each request's signature is checked
// before anything is read; each answer is sent after the durable write; each delivery is
// counted once (webhook_receipts, in the same transaction as the write).
import type { Database } from "@callflow/db";
import { Hono } from "hono";
import type { Log } from "../log.ts";
import { inboundMessage } from "./twilio-inbound.ts";
import { messageStatusCallback } from "./twilio-message-status.ts";
import { type TwilioFormEnv, verifyTwilioSignature } from "./twilio-signature.ts";
import { voiceStatusCallback } from "./twilio-voice.ts";

export interface TwilioWebhookEvent {
  name: "call/completed" | "message/status.updated";
  /** Idempotency key: the same id sent twice is one event downstream. */
  id?: string;
  data: Record<string, unknown>;
}

export interface TwilioWebhookOptions {
  database: Database;
  /** The Twilio account's auth token: the key of X-Twilio-Signature. */
  authToken: string;
  /** Where Twilio reaches this server (PUBLIC_URL); signatures cover this + path + query. */
  publicUrl: string;
  /** Sends an event (to Inngest); called after the transaction committed. */
  emit: (event: TwilioWebhookEvent) => Promise<void>;
  log: Log;
}

export function twilioWebhooks(options: TwilioWebhookOptions) {
  const signed = verifyTwilioSignature(options);
  return new Hono<TwilioFormEnv>()
    .post("/voice", signed, voiceStatusCallback(options))
    .post("/messages/status", signed, messageStatusCallback(options))
    .post("/messages/inbound", signed, inboundMessage(options));
}
