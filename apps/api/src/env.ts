// The product's environment: each package's own settings (database, Twilio and Stripe,
// Inngest, the local stand-ins) and the API's, validated together once. Nothing outside
// an env.ts reads process.env (env-reads.test.ts fails when something does); config.ts
// turns these values into the configuration every process uses.
import { databaseEnv, type EnvSource } from "@callflow/db";
import { devstackEnv, parseCron } from "@callflow/devstack";
import { senderRatesSchema } from "@callflow/domain";
import { inngestEnv } from "@callflow/inngest";
import { stripeEnv, twilioEnv } from "@callflow/providers";
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

const list = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);
const port = z.coerce.number().int().min(0).max(65535);

export function apiEnv(source: EnvSource = process.env) {
  return createEnv({
    extends: [databaseEnv(source), twilioEnv(source), stripeEnv(source), inngestEnv(source), devstackEnv(source)],
    server: {
      /** The API's port; 0: any free port. */
      PORT: port.default(3000),
      /** API processes sharing PORT (node:cluster workers); "auto": one per core. Over 1 needs DATABASE_URL. */
      API_PROCESSES: z
        .string()
        .regex(/^(auto|[1-9]\d?)$/, 'a number of processes from 1 to 99, or "auto" (one per core)')
        .default("1"),
      /** The dashboard's port, served by the same process; 0: any free port. */
      WEB_PORT: port.default(5173),
      /** The dashboard's origin(s), comma-separated: CORS and the tokens' authorized parties. Default http://localhost:$WEB_PORT. */
      WEB_ORIGIN: list.pipe(z.array(z.string().url()).min(1)).optional(),
      /** Where Twilio, Stripe and Inngest reach this API. Default http://localhost:$PORT. */
      PUBLIC_URL: z.string().url().optional(),
      CLERK_SECRET_KEY: z.string().startsWith("sk_").optional(),
      /** PEM public key of the Clerk instance: networkless verification. */
      CLERK_JWT_KEY: z.string().includes("BEGIN PUBLIC KEY").optional(),
      /** Clerk Frontend API URL, e.g. https://example.clerk.accounts.dev: tokens must come from it. */
      CLERK_ISSUER: z.string().url().optional(),
      CLERK_AUTHORIZED_PARTIES: list.optional(),
      CLERK_WEBHOOK_SIGNING_SECRET: z.string().startsWith("whsec_").optional(),
      /** The dashboard's Clerk key (public by design): sign-in with Clerk's components. */
      CLERK_PUBLISHABLE_KEY: z.string().startsWith("pk_").optional(),
      LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
      RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
      /** Requests a minute to /trpc without a valid session, per client address. */
      ANONYMOUS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
      MAX_BODY_BYTES: z.coerce
        .number()
        .int()
        .min(1024)
        .default(256 * 1024),
      TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(100).default(10),
      /** Networks allowed to call /webhooks/*, comma-separated CIDR blocks; unset: any (signatures still checked). */
      WEBHOOK_ALLOWED_CIDRS: list.optional(),
      /** Messages a second per sender, by kind: "whatsapp=80,long_code=1"; kinds not named keep their default. */
      SENDER_RATES: list
        .transform((pairs) => Object.fromEntries(pairs.map((pair) => pair.split("=", 2).map((part) => part.trim()))))
        .pipe(z.record(z.string(), z.coerce.number({ error: "each rate is kind=messages a second, e.g. whatsapp=80" })))
        .pipe(senderRatesSchema)
        .optional(),
      /** Bearer token for GET /metrics (Prometheus's credentials); unset: only loopback peers may scrape. */
      // OpenTelemetry, with the specification's names and meanings (the exporter itself reads
      // OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and _COMPRESSION; the resource OTEL_RESOURCE_ATTRIBUTES).
      /** true: no spans at all, whatever else is set. */
      OTEL_SDK_DISABLED: z
        .enum(["true", "false", "TRUE", "FALSE", "True", "False"])
        .transform((value) => value.toLowerCase() === "true")
        .default(false),
      OTEL_SERVICE_NAME: z.string().min(1).max(200).default("callflow-api"),
      /** OTLP/HTTP base URL: traces go to <it>/v1/traces. */
      OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
      /** OTLP/HTTP traces URL, used as given (over OTEL_EXPORTER_OTLP_ENDPOINT). */
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
      /** none: no export even with an endpoint; otlp (default). */
      OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"]).default("otlp"),
      OTEL_TRACES_SAMPLER: z
        .enum([
          "always_on",
          "always_off",
          "traceidratio",
          "parentbased_always_on",
          "parentbased_always_off",
          "parentbased_traceidratio",
        ])
        .default("parentbased_always_on"),
      /** The ratio of the traceidratio samplers, 0 to 1. */
      OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
      /** Spans the local view keeps in memory (local mode; 0: none). */
      TRACE_VIEW_SPANS: z.coerce.number().int().min(0).max(1_000_000).default(20_000),
      METRICS_TOKEN: z
        .string()
        .regex(/^[\x21-\x7e]{16,512}$/, "16 to 512 visible ASCII characters, no spaces (a bearer token)")
        .optional(),
      /** Reconciliation (see Operations): when it runs, a cron schedule as Inngest reads it (`TZ=` prefix allowed). */
      RECONCILE_CRON: z
        .string()
        .superRefine((schedule, context) => {
          try {
            parseCron(schedule);
          } catch (error) {
            context.addIssue({ code: "custom", message: `not a cron schedule: ${(error as Error).message}` });
          }
        })
        .default("*/5 * * * *"),
      /** A sent message whose status has not moved for this many minutes is asked about at Twilio. */
      RECONCILE_AFTER_MINUTES: z.coerce.number().int().min(1).max(10_080).default(30),
      /** A job not final with no change for this many minutes beyond its fallback window is finished. */
      RECONCILE_STUCK_JOB_MINUTES: z.coerce.number().int().min(10).max(43_200).default(120),
      /** Messages asked about, and jobs finished, per run at most. */
      RECONCILE_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
    },
    runtimeEnv: source,
    emptyStringAsUndefined: true,
  });
}

export type ApiEnv = ReturnType<typeof apiEnv>;
