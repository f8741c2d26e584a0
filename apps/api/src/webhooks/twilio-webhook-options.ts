// What the Twilio webhooks are given by the composition root: the database, the account's
// auth token, where Twilio reaches them, and the relay that sends the events they write.
import type { Database } from "@callflow/db";
import type { Log } from "../log.ts";

export interface TwilioWebhookOptions {
  database: Database;
  /** The Twilio account's auth token: the key of X-Twilio-Signature. */
  authToken: string;
  /** Where Twilio reaches this server (PUBLIC_URL); signatures cover this + path + query. */
  publicUrl: string;
  /**
   * The events a webhook causes are written to the outbox in its own transaction
   * (@callflow/inngest enqueueEvents); after the commit, the relay is woken to send them.
   */
  outbox: { wake(): void };
  log: Log;
}
