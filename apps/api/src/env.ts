// The API's environment, validated once. Nothing else reads process.env.
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

const list = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);

export const env = createEnv({
  server: {
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Unset: the embedded database under DATA_DIR. */
    DATABASE_URL: z.string().url().optional(),
    /** Relative paths are taken from the repository root. */
    DATA_DIR: z.string().min(1).default(".data"),
    /** Port the embedded database is served on for psql and other processes (local mode). */
    DB_PORT: z.coerce.number().int().min(0).max(65535).default(54322),
    /** Port the dashboard (apps/web/dist, with /trpc on the same origin) is served on; 0: not served. */
    WEB_PORT: z.coerce.number().int().min(0).max(65535).default(5173),
    /** The dashboard's origin(s): CORS and the tokens' authorized parties. */
    WEB_ORIGIN: list.default(["http://localhost:5173"]),
    CLERK_SECRET_KEY: z.string().startsWith("sk_").optional(),
    /** Clerk's publishable key (pk_…), handed to the dashboard by GET /app-config. */
    CLERK_PUBLISHABLE_KEY: z.string().startsWith("pk_").optional(),
    /** PEM public key of the Clerk instance: networkless verification. */
    CLERK_JWT_KEY: z.string().includes("BEGIN PUBLIC KEY").optional(),
    /** Clerk Frontend API URL, e.g. https://example.clerk.accounts.dev: tokens must come from it. */
    CLERK_ISSUER: z.string().url().optional(),
    CLERK_AUTHORIZED_PARTIES: list.optional(),
    CLERK_WEBHOOK_SIGNING_SECRET: z.string().startsWith("whsec_").optional(),
    /** The base URL Twilio reaches this API at: webhooks are signed against it. Default http://localhost:$PORT. */
    PUBLIC_URL: z.string().url().optional(),
    /** Unset: the local Twilio sandbox stands in (local mode). */
    TWILIO_ACCOUNT_SID: z
      .string()
      .regex(/^AC[0-9a-f]{32}$/, "a Twilio Account SID is AC followed by 32 hex digits")
      .optional(),
    TWILIO_AUTH_TOKEN: z.string().min(8).optional(),
    /** Port of the local Twilio sandbox (local mode); 0: any free port. */
    TWILIO_SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    /** Inngest Cloud keys; with INNGEST_DEV=1 and INNGEST_BASE_URL, the Inngest dev server or the local executor. */
    INNGEST_EVENT_KEY: z.string().optional(),
    INNGEST_SIGNING_KEY: z.string().optional(),
    INNGEST_BASE_URL: z.string().url().optional(),
    INNGEST_DEV: z.enum(["0", "1"]).optional(),
    /** Port of the local executor (local mode); 0: any free port. */
    INNGEST_EXECUTOR_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(256 * 1024),
    TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(100).default(10),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});

export type Env = typeof env;
