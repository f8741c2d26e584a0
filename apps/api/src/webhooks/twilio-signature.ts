// Every Twilio webhook is signed: X-Twilio-Signature is an HMAC of the URL Twilio called
// and the form fields it posted, keyed with the account's auth token. The check is the
// twilio SDK's own validateRequest; nothing is read or stored before it passes.

import { validateTwilioSignature } from "@callflow/providers";
import type { Context, MiddlewareHandler } from "hono";

/** A webhook's form fields as posted; a field sent more than once keeps every value. */
export type TwilioForm = Record<string, string | string[]>;

export type TwilioFormEnv = { Variables: { twilioForm: TwilioForm } };

export interface TwilioSignatureOptions {
  authToken: string;
  /** The origin (and path prefix, if any) Twilio calls, e.g. https://api.example.com. */
  publicUrl: string;
}

/** Verifies the signature, then hands the form to the route as `c.get("twilioForm")`. */
export function verifyTwilioSignature({
  authToken,
  publicUrl,
}: TwilioSignatureOptions): MiddlewareHandler<TwilioFormEnv> {
  const base = publicUrl.replace(/\/+$/, "");
  return async (c, next) => {
    // An empty key would make every signature computable by anyone.
    if (!authToken) return c.json({ error: "Twilio webhooks are not configured (no Twilio auth token)" }, 503);
    const signature = c.req.header("x-twilio-signature");
    if (!signature) return c.json({ error: "missing X-Twilio-Signature header" }, 403);
    const isForm = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header("content-type") ?? "");
    const form = isForm ? readForm(await c.req.text()) : {};
    if (!validateTwilioSignature(authToken, base + requestTarget(c), form, signature))
      return c.json({ error: "X-Twilio-Signature does not match this request" }, 403);
    if (!isForm) return c.json({ error: "expected an application/x-www-form-urlencoded body" }, 400);
    // Postgres text cannot hold NUL: refused here, with the field's name, not deep in a write.
    const withNul = Object.entries(form).find(
      ([key, value]) => key.includes("\0") || (Array.isArray(value) ? value : [value]).some((v) => v.includes("\0")),
    );
    if (withNul) return c.json({ error: `${JSON.stringify(withNul[0])} must not contain a NUL character` }, 400);
    c.set("twilioForm", form);
    await next();
  };
}

/**
 * Path and query exactly as requested: Twilio signs the URL as it called it, and a parsed
 * URL may re-encode characters (' becomes %27). The Node server's raw request line is
 * used when there is one.
 */
function requestTarget(c: Context): string {
  const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming;
  if (typeof incoming?.url === "string" && incoming.url.startsWith("/")) return incoming.url;
  const url = c.req.url;
  const start = url.indexOf("/", url.indexOf("://") + 3);
  return start === -1 ? "/" : url.slice(start);
}

function readForm(body: string): TwilioForm {
  // No prototype: a field named __proto__ stays a field.
  const form: TwilioForm = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = form[key];
    form[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return form;
}
