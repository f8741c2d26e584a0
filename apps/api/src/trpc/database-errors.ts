// Refusals from below as errors a person can act on. Postgres's: the transaction has rolled
// back, so nothing was half-written; what the client hears says what to change, never
// Postgres's own text or a constraint's name. A provider's (Stripe, Twilio) that could not
// do what was asked: a 502 with our words for what failed.
import { isDatabaseUnavailable } from "@callflow/db";
import { ProviderRequestError } from "@callflow/providers";
import { TRPCError } from "@trpc/server";

/** What a unique constraint means to the person who ran into it. */
const CONFLICTS: Record<string, string> = {
  templates_one_active_per_trigger_language:
    "an active template for this trigger and language already exists: archive or deactivate it first",
};

/** SQLSTATE → the client's error; classes 22 (data) and 23 (integrity) are the caller's input. */
export function clientErrorOf(cause: unknown): TRPCError | null {
  if (cause instanceof ProviderRequestError) {
    return new TRPCError({ code: "BAD_GATEWAY", message: `${cause.message} Try again in a moment.` });
  }
  if (isDatabaseUnavailable(cause)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "the database is unavailable: try again shortly" });
  }
  const pg = cause as { code?: unknown; constraint?: unknown } | null;
  const code = typeof pg?.code === "string" ? pg.code : null;
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return null;
  if (code === "23505") {
    const known = typeof pg?.constraint === "string" ? CONFLICTS[pg.constraint] : undefined;
    return new TRPCError({ code: "CONFLICT", message: known ?? "that already exists" });
  }
  if (code === "42501") {
    return new TRPCError({ code: "FORBIDDEN", message: "your role in this organization does not allow this change" });
  }
  if (code === "22021" || code === "22P05") {
    return new TRPCError({ code: "BAD_REQUEST", message: "text must not contain NUL characters" });
  }
  if (code === "22007" || code === "22008") {
    return new TRPCError({ code: "BAD_REQUEST", message: "a date or time is out of the range CallFlow stores" });
  }
  if (code.startsWith("22") || code.startsWith("23")) {
    return new TRPCError({ code: "BAD_REQUEST", message: "the values given do not fit the data model" });
  }
  return null;
}
