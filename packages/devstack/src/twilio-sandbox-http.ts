// The Twilio sandbox's REST plumbing: Twilio-shaped errors, bodies, Basic auth, ids and dates.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export const API_VERSION = "2010-04-01";
export const MAX_BODY_BYTES = 64 * 1024;
/** The shape Twilio accepts as a phone number (the same check as the domain's isE164). */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

/** A Twilio id: two letters and 32 hex digits (SM, CA, RE, PN…). */
export const newSid = (prefix: string) => `${prefix}${randomBytes(16).toString("hex")}`;

/** Twilio's date format: RFC 2822 with a numeric zone. */
export const rfc2822 = (date: Date) => date.toUTCString().replace("GMT", "+0000");

/** An error answered the way Twilio's REST API answers one: HTTP status, code, message. */
export class TwilioHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
    /** Answered as Retry-After when set. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const notFound = (path: string) =>
  new TwilioHttpError(404, 20404, `The requested resource ${path} was not found`);

export const methodNotAllowed = () => new TwilioHttpError(405, 20004, "Method not allowed");

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new TwilioHttpError(413, 20001, "Request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(json),
  });
  res.end(json);
}

export function sendError(res: ServerResponse, error: unknown) {
  const e =
    error instanceof TwilioHttpError
      ? error
      : new TwilioHttpError(500, 20500, `Internal server error: ${(error as Error).message}`);
  if (e.httpStatus === 401) res.setHeader("WWW-Authenticate", 'Basic realm="Twilio API"');
  if (e.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(e.retryAfterSeconds));
  sendJson(res, e.httpStatus, {
    code: e.code,
    message: e.message,
    more_info: `https://www.twilio.com/docs/errors/${e.code}`,
    status: e.httpStatus,
  });
}

/** HTTP Basic with the account's SID and auth token, as the SDK sends it. */
export function isAuthorized(header: string | undefined, accountSid: string, authToken: string): boolean {
  if (!header?.startsWith("Basic ")) return false;
  const expected = Buffer.from(`${accountSid}:${authToken}`).toString("base64");
  return header.slice("Basic ".length).trim() === expected;
}
