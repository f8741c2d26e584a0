// The StatusCallback URL of each send names the message it reports on (so a callback links
// the message even when the send's step result was lost), and that name is signed: an HMAC
// over the message id and an expiry, keyed from the Twilio auth token. Twilio's signature
// proves Twilio sent a callback, not which of our messages it is about; this token makes a
// URL minted for one message useless for another (say, a send made by someone else through
// the same Twilio account with our webhook as its callback).
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * How long a status callback URL is honoured: WhatsApp "read" receipts arrive when the
 * caller opens the chat, which can be days later; after 30 days a receipt no longer changes
 * anything a business acts on.
 */
export const STATUS_CALLBACK_TTL_SECONDS = 30 * 24 * 60 * 60;

export interface StatusCallbackQuery {
  messageId: string;
  expires: string;
  token: string;
}

export interface StatusCallbackUrls {
  /** The URL to give Twilio as StatusCallback for a send of this message. */
  urlFor(messageId: string, now?: Date): string;
  /** Null when the query was minted by this server for this message and is not expired; else why not. */
  problemWith(query: Partial<StatusCallbackQuery>, now?: Date): string | null;
}

export function statusCallbackUrls(options: { publicUrl: string; authToken: string }): StatusCallbackUrls {
  const key = createHmac("sha256", options.authToken).update("callflow:status-callback-url:v1").digest();
  const tokenFor = (messageId: string, expires: string) =>
    createHmac("sha256", key).update(`${messageId}.${expires}`).digest("base64url");
  const base = `${options.publicUrl.replace(/\/+$/, "")}/webhooks/twilio/messages/status`;
  return {
    urlFor(messageId, now = new Date()) {
      const expires = String(Math.floor(now.getTime() / 1000) + STATUS_CALLBACK_TTL_SECONDS);
      const query = new URLSearchParams({ messageId, expires, token: tokenFor(messageId, expires) });
      return `${base}?${query}`;
    },
    problemWith({ messageId, expires, token }, now = new Date()) {
      if (!messageId || !expires || !token) return "the status callback URL must carry messageId, expires and token";
      if (!/^\d{1,12}$/.test(expires)) return "the status callback URL's expires is not a time";
      const expected = Buffer.from(tokenFor(messageId, expires));
      const given = Buffer.from(token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return "the status callback URL was not made for this message";
      }
      if (Number(expires) * 1000 < now.getTime()) return "the status callback URL has expired";
      return null;
    },
  };
}
