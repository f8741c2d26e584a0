// Twilio's and Stripe's credentials, read from the environment here and nowhere else.
// Unset, local mode's stand-ins take their place (the composition root decides).
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

type EnvSource = Record<string, string | undefined>;

const list = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);

export function twilioEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      TWILIO_ACCOUNT_SID: z
        .string()
        .regex(/^AC[0-9a-f]{32}$/, "a Twilio Account SID is AC followed by 32 hex digits")
        .optional(),
      /** Also the key of X-Twilio-Signature on every Twilio webhook. */
      TWILIO_AUTH_TOKEN: z.string().min(8).optional(),
      /** How long a request to Twilio (or the local sandbox) may wait for its answer. */
      TWILIO_REQUEST_TIMEOUT_MS: z.coerce
        .number()
        .int("a whole number of milliseconds")
        .min(1000, "at least 1000 ms: Twilio needs a moment to answer")
        .max(120_000, "at most 120000 ms: a send step must not hang for minutes")
        .optional(),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}

export function stripeEnv(source: EnvSource = process.env) {
  return createEnv({
    server: {
      STRIPE_SECRET_KEY: z
        .string()
        .regex(/^(sk|rk)_(test|live)_\w+$/, "a Stripe secret key is sk_test_… or sk_live_…")
        .optional(),
      /** The webhook endpoint's signing secret; several, comma-separated, while one is being rotated. */
      STRIPE_WEBHOOK_SECRET: list.pipe(z.array(z.string().startsWith("whsec_")).min(1)).optional(),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}
