// The one configuration of a CallFlow process, made from the environment (env.ts) in one
// place, so that the API, the CLIs (token, simulate:call, simulate:checkout), the tests and
// the benchmarks give every setting the same meaning. What runs locally instead of a cloud
// service is decided here, from the environment alone.
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { type EnvSource, REPOSITORY_ROOT } from "@callflow/db";
import {
  STRIPE_SANDBOX_LOCAL_SECRET_KEY,
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
} from "@callflow/devstack";
import type { SenderRates } from "@callflow/domain";
import type { ReconcileSettings } from "@callflow/inngest";
import { DEFAULT_TWILIO_TIMEOUT_MS } from "@callflow/providers";
import { apiEnv } from "./env.ts";
import type { LogLevel } from "./log.ts";
import type { TracingSettings } from "./tracing/start-tracing.ts";

export interface CallflowConfig {
  /** 0: any free port. */
  port: number;
  /** API processes sharing the port (node:cluster workers beside a primary when over 1; see api-cluster.ts). */
  apiProcesses: number;
  /** The dashboard's port (served by the API process); 0: any free port; null: no dashboard. */
  webPort: number | null;
  /** Null: http://localhost:<web port> once it is known. */
  webOrigins: string[] | null;
  /** Null: http://localhost:<API port> once it is known. */
  publicUrl: string | null;
  dataDir: string;
  database: { url: string | null; poolSize: number; socketPort: number | null };
  logLevel: LogLevel;
  auth:
    | { kind: "clerk"; jwtKey?: string; secretKey?: string; issuer?: string; publishableKey?: string }
    | { kind: "dev-issuer" };
  /** Accepted `azp` values; null: the web origins. */
  authorizedParties: string[] | null;
  clerkWebhookSecret?: string;
  twilio: {
    accountSid: string;
    authToken: string;
    /** How long a Twilio request may wait for its answer (TWILIO_REQUEST_TIMEOUT_MS): the adapter's `timeoutMs`. */
    requestTimeoutMs: number;
    sandbox: { port: number } | null;
  };
  stripe: { secretKey: string; webhookSecrets: string[]; sandbox: { port: number } | null };
  inngest:
    | { kind: "cloud"; eventKey: string; signingKey: string; signingKeyFallback?: string; baseUrl?: string }
    | { kind: "dev-server"; baseUrl: string }
    | { kind: "local-executor"; eventKey: string; signingKey: string };
  /** The local executor's address, in this process or as its own (npm run -s executor). */
  executor: { port: number; host: string };
  /** Where Inngest reaches the functions; null: the public URL. */
  inngestServeOrigin: string | null;
  limits: {
    rateLimitPerMinute: number;
    anonymousRateLimitPerMinute: number;
    maxBodyBytes: number;
    maxBatchSize: number;
  };
  webhookAllowedCidrs: string[];
  /** GET /metrics's bearer token; null: only loopback peers may scrape. */
  metricsToken: string | null;
  /** Messages a second per sender kind, over packages/domain's defaults (sender-pace.ts). */
  senderRates: Partial<SenderRates>;
  /** What reconcile-deliveries does and when (inngest/src/functions/reconcile-records.ts). */
  reconcile: ReconcileSettings;
  /** OpenTelemetry: OTLP export when an endpoint is set; the in-memory local view in local mode. */
  tracing: TracingSettings;
}

/** Thrown for settings that are each valid but do not fit together; the message says what to set. */
export class ConfigError extends Error {}

export function loadConfig(source?: EnvSource): CallflowConfig {
  const env = apiEnv(source);
  const dev = env.INNGEST_DEV;
  let inngest: CallflowConfig["inngest"];
  if (dev?.dev) {
    inngest = { kind: "dev-server", baseUrl: dev.url ?? env.INNGEST_BASE_URL ?? "http://localhost:8288" };
  } else if (env.INNGEST_SIGNING_KEY) {
    if (!env.INNGEST_EVENT_KEY) throw new ConfigError("INNGEST_SIGNING_KEY is set: set INNGEST_EVENT_KEY too");
    inngest = {
      kind: "cloud",
      eventKey: env.INNGEST_EVENT_KEY,
      signingKey: env.INNGEST_SIGNING_KEY,
      ...(env.INNGEST_SIGNING_KEY_FALLBACK ? { signingKeyFallback: env.INNGEST_SIGNING_KEY_FALLBACK } : {}),
      ...(env.INNGEST_BASE_URL ? { baseUrl: env.INNGEST_BASE_URL } : {}),
    };
  } else {
    // The local executor and this process share these keys and nothing else does.
    inngest = {
      kind: "local-executor",
      eventKey: `local-${randomBytes(16).toString("hex")}`,
      signingKey: `signkey-local-${randomBytes(32).toString("hex")}`,
    };
  }
  if (env.TWILIO_ACCOUNT_SID && !env.TWILIO_AUTH_TOKEN) {
    throw new ConfigError("TWILIO_ACCOUNT_SID is set: set TWILIO_AUTH_TOKEN too");
  }
  const clerk = env.CLERK_JWT_KEY || env.CLERK_SECRET_KEY;
  const apiProcesses = env.API_PROCESSES === "auto" ? availableParallelism() : Number(env.API_PROCESSES);
  if (apiProcesses > 1 && !env.DATABASE_URL) {
    // PGlite runs every statement on the one process that opened it: workers would queue on it.
    throw new ConfigError(
      `API_PROCESSES=${env.API_PROCESSES} (${apiProcesses} processes) needs DATABASE_URL: the embedded database belongs to one process, so set API_PROCESSES=1 or use a PostgreSQL server`,
    );
  }
  return {
    port: env.PORT,
    apiProcesses,
    webPort: env.WEB_PORT,
    webOrigins: env.WEB_ORIGIN ?? null,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, "") ?? null,
    dataDir: env.DATA_DIR,
    database: { url: env.DATABASE_URL ?? null, poolSize: env.DATABASE_POOL_SIZE, socketPort: env.DB_PORT ?? null },
    logLevel: env.LOG_LEVEL,
    auth: clerk
      ? {
          kind: "clerk",
          ...(env.CLERK_JWT_KEY ? { jwtKey: env.CLERK_JWT_KEY } : {}),
          ...(env.CLERK_SECRET_KEY ? { secretKey: env.CLERK_SECRET_KEY } : {}),
          ...(env.CLERK_ISSUER ? { issuer: env.CLERK_ISSUER } : {}),
          ...(env.CLERK_PUBLISHABLE_KEY ? { publishableKey: env.CLERK_PUBLISHABLE_KEY } : {}),
        }
      : { kind: "dev-issuer" },
    authorizedParties: env.CLERK_AUTHORIZED_PARTIES ?? null,
    ...(env.CLERK_WEBHOOK_SIGNING_SECRET ? { clerkWebhookSecret: env.CLERK_WEBHOOK_SIGNING_SECRET } : {}),
    twilio: {
      requestTimeoutMs: env.TWILIO_REQUEST_TIMEOUT_MS ?? DEFAULT_TWILIO_TIMEOUT_MS,
      ...(env.TWILIO_ACCOUNT_SID
        ? { accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN as string, sandbox: null }
        : {
            accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
            authToken: env.TWILIO_AUTH_TOKEN ?? TWILIO_SANDBOX_AUTH_TOKEN,
            sandbox: { port: env.TWILIO_SANDBOX_PORT },
          }),
    },
    stripe: env.STRIPE_SECRET_KEY
      ? { secretKey: env.STRIPE_SECRET_KEY, webhookSecrets: env.STRIPE_WEBHOOK_SECRET ?? [], sandbox: null }
      : {
          secretKey: STRIPE_SANDBOX_LOCAL_SECRET_KEY,
          webhookSecrets: env.STRIPE_WEBHOOK_SECRET ?? [`whsec_local_${randomBytes(24).toString("hex")}`],
          sandbox: { port: env.STRIPE_SANDBOX_PORT },
        },
    inngest,
    executor: { port: env.INNGEST_EXECUTOR_PORT, host: env.INNGEST_EXECUTOR_HOST },
    inngestServeOrigin: env.INNGEST_SERVE_ORIGIN?.replace(/\/+$/, "") ?? null,
    limits: {
      rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
      anonymousRateLimitPerMinute: env.ANONYMOUS_RATE_LIMIT_PER_MINUTE,
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxBatchSize: env.TRPC_MAX_BATCH,
    },
    webhookAllowedCidrs: env.WEBHOOK_ALLOWED_CIDRS ?? [],
    metricsToken: env.METRICS_TOKEN ?? null,
    senderRates: env.SENDER_RATES ?? {},
    reconcile: {
      cron: env.RECONCILE_CRON,
      afterMinutes: env.RECONCILE_AFTER_MINUTES,
      stuckJobMinutes: env.RECONCILE_STUCK_JOB_MINUTES,
      pageSize: env.RECONCILE_PAGE_SIZE,
    },
    tracing: tracingOf(env),
  };
}

/** OTEL_* as the specification reads them; the local view only where the whole product runs in this process. */
function tracingOf(env: ReturnType<typeof apiEnv>): TracingSettings {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, "");
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : null);
  const local = !env.DATABASE_URL && env.TRACE_VIEW_SPANS > 0;
  return {
    serviceName: env.OTEL_SERVICE_NAME,
    otlpTracesUrl: env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === "none" ? null : url,
    sampler: { name: env.OTEL_TRACES_SAMPLER, ratio: env.OTEL_TRACES_SAMPLER_ARG },
    localView: local && !env.OTEL_SDK_DISABLED ? { capacity: env.TRACE_VIEW_SPANS } : null,
  };
}

/**
 * The settings to put before a printed command (npm run -s token, simulate:call) so that it
 * reaches this running product: those of the API's port, dashboard port and data directory
 * that are not the defaults. Secrets are never printed; a command run where they are set
 * reads them as this process did.
 */
export function commandPrefix(running: { apiUrl: string; webUrl: string | null; dataDir: string }): string {
  const settings: string[] = [];
  const apiPort = new URL(running.apiUrl).port;
  if (apiPort !== "3000") settings.push(`PORT=${apiPort}`);
  const webPort = running.webUrl ? new URL(running.webUrl).port : null;
  if (webPort && webPort !== "5173") settings.push(`WEB_PORT=${webPort}`);
  if (running.dataDir !== resolve(REPOSITORY_ROOT, ".data")) settings.push(`DATA_DIR=${running.dataDir}`);
  return settings.map((setting) => `${setting} `).join("");
}

/** The dashboard's origins: as configured, else the dashboard's own local URL. */
export const webOriginsOf = (config: CallflowConfig, webPort: number | null) =>
  config.webOrigins ?? [`http://localhost:${webPort ?? config.webPort ?? 5173}`];

/** Where providers reach the API: as configured, else its own local URL. */
export const publicUrlOf = (config: CallflowConfig, apiPort: number) =>
  config.publicUrl ?? `http://localhost:${apiPort}`;
