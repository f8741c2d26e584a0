// The HTTP surface: health, tRPC at /trpc, webhooks. Everything it needs is passed in
// by the composition root (main.ts), so tests build the same app over their own parts.
import { randomUUID } from "node:crypto";
import { type Database, isDatabaseUnavailable, readMigrations, type Tx } from "@callflow/db";
import { paidPlans } from "@callflow/domain";
import type { BillingProvider, PhoneNumberDirectory, PlanPrice } from "@callflow/providers";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { sql } from "kysely";
import type { Session, VerifySession } from "../auth/session.ts";
import type { Log } from "../log.ts";
import type { WorkerMetrics } from "../observability/cluster-metrics.ts";
import { createOrganizationProvisioner } from "../organizations.ts";
import { createRateLimiter } from "../rate-limit.ts";
import { traceRequests } from "../tracing/http-spans.ts";
import type { RecentSpans } from "../tracing/recent-spans.ts";
import { traceEndpoint } from "../tracing/trace-endpoint.ts";
import { clerkWebhook } from "../webhooks/clerk.ts";
import { stripeWebhook } from "../webhooks/stripe.ts";
import { twilioWebhooks } from "../webhooks/twilio-webhooks.ts";
import { appConfigRoute } from "./app-config.ts";
import { limitBodyBytes } from "./body-limit.ts";
import { type DevSignInOptions, devSignIn } from "./dev-sign-in.ts";
import { type InngestEndpointOptions, inngestEndpoint } from "./inngest-endpoint.ts";
import { metricsEndpoint } from "./metrics-endpoint.ts";
import { trpcEndpoint } from "./trpc-endpoint.ts";
import { webhookAllowlist } from "./webhook-allowlist.ts";

export interface AppOptions {
  database: Database;
  verifySession: VerifySession;
  log: Log;
  webOrigins: string[];
  rateLimitPerMinute: number;
  /** Requests a minute to /trpc without a verified session, per client address. Default 120. */
  anonymousRateLimitPerMinute?: number;
  /** Networks allowed to call /webhooks/* (CIDR blocks); unset or empty: any. */
  webhookAllowedCidrs?: readonly string[];
  maxBodyBytes: number;
  maxBatchSize: number;
  clerkWebhookSecret?: string;
  /** Twilio's webhooks: signatures are checked against publicUrl + path with the auth token. */
  twilio?: { authToken: string; publicUrl: string };
  /**
   * Woken after a webhook committed the events it caused to the outbox (@callflow/inngest):
   * the relay that sends them. Without one, events wait in the outbox.
   */
  outbox?: { wake(): void };
  /** Inngest's endpoint: the client (its signing key checks requests), the functions, where it is served. */
  inngest?: InngestEndpointOptions;
  /** CallFlow's Twilio numbers: phoneNumbers.add connects only these. */
  phoneNumberDirectory?: PhoneNumberDirectory;
  /** Stripe: Checkout, the portal and the signature of /webhooks/stripe. */
  billing?: BillingProvider;
  /** Where the dashboard is (Checkout and the portal return there); default the first web origin. */
  dashboardUrl?: string;
  /** Local mode: the dashboard signs in through this dev token issuer at /dev/sign-in. */
  devIssuer?: Omit<DevSignInOptions, "database">;
  /** Clerk's publishable key, for the dashboard's sign-in in cloud mode (GET /app-config). */
  clerkPublishableKey?: string;
  /** Why the process cannot take work yet (null: it can); /readyz answers 503 with it. */
  readinessProblem?: () => string | null;
  /** METRICS_TOKEN: GET /metrics wants it as a bearer; unset, it answers loopback peers only. */
  metricsToken?: string;
  /** How long GET /metrics serves one database read of the delivery metrics; default 5 s. */
  metricsCacheMs?: number;
  /** In a cluster worker: GET /metrics counts every worker's traffic (cluster-metrics.ts). */
  workerMetrics?: WorkerMetrics;
  /** Local mode: the spans kept in memory, served to this machine at GET /dev/traces (npm run -s trace). */
  recentSpans?: RecentSpans;
}

type Variables = { requestId: string; log: Log };

/**
 * A header on the response a handler returned. Hono's c.header() after the handler copies the
 * response into one with a streamed body, which the Node adapter then writes chunk by chunk:
 * setting the header on the response itself keeps the single write. A response whose headers
 * are immutable (one from fetch) gets c.header()'s copy.
 */
function setResponseHeader(c: Context, name: string, value: string, append = false) {
  try {
    if (append) c.res.headers.append(name, value);
    else c.res.headers.set(name, value);
  } catch {
    c.header(name, value, { append });
  }
}

/**
 * CORS for the dashboard's origins: preflights are Hono's cors(); on every other request the
 * headers it would add are set once the response exists (setResponseHeader), not before it,
 * which would make Hono copy the handler's response into a new one.
 */
function corsFor(origins: readonly string[]): MiddlewareHandler {
  const preflight = cors({
    origin: [...origins],
    allowHeaders: ["authorization", "content-type", "x-request-id"],
    maxAge: 600,
  });
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return preflight(c, next);
    await next();
    const origin = c.req.header("origin");
    if (origin && origins.includes(origin)) setResponseHeader(c, "access-control-allow-origin", origin);
    setResponseHeader(c, "vary", "Origin", true);
  };
}

export function createApp(options: AppOptions) {
  const { database, log } = options;
  const ensureOrganization = createOrganizationProvisioner(database);
  const tenantDb =
    (session: Session, access: "read" | "write") =>
    <T>(fn: (tx: Tx) => Promise<T>) =>
      access === "read" ? database.readAsTenant(session.claims, fn) : database.withTenant(session.claims, fn);

  const app = new Hono<{ Variables: Variables }>();
  const metrics = metricsEndpoint({
    database,
    log,
    ...(options.metricsToken ? { token: options.metricsToken } : {}),
    ...(options.metricsCacheMs !== undefined ? { deliveryCacheMs: options.metricsCacheMs } : {}),
    ...(options.workerMetrics ? { workers: options.workerMetrics } : {}),
  });

  app.use(metrics.countRequests);
  // Before the request log: its line, and everything the handler logs, carry the span's ids.
  app.use(traceRequests());
  app.use(async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 100) || randomUUID();
    const requestLog = log.child({ requestId });
    c.set("requestId", requestId);
    c.set("log", requestLog);
    const started = performance.now();
    await next();
    setResponseHeader(c, "x-request-id", requestId);
    requestLog.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(corsFor(options.webOrigins));
  const limitBody = limitBodyBytes(options.maxBodyBytes, (c) =>
    c.json({ error: `request body is larger than ${options.maxBodyBytes} bytes` }, 413),
  );
  // /api/inngest has its own limit: a run's state can be larger than any request of ours.
  app.use("/trpc/*", limitBody);
  if (options.webhookAllowedCidrs?.length) app.use("/webhooks/*", webhookAllowlist(options.webhookAllowedCidrs));
  app.use("/webhooks/*", limitBody);
  app.use("/dev/*", limitBody);

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/metrics", metrics.handler);
  app.get("/readyz", async (c) => {
    try {
      const expected = (await readMigrations()).map((migration) => migration.version);
      const applied = await sql<{ version: string }>`select version from supabase_migrations.schema_migrations`.execute(
        database.owner,
      );
      const missing = expected.filter((version) => !applied.rows.some((row) => row.version === version));
      if (missing.length) return c.json({ ok: false, error: `migrations not applied: ${missing.join(", ")}` }, 503);
      const problem = options.readinessProblem?.();
      if (problem) return c.json({ ok: false, error: problem }, 503);
      return c.json({ ok: true });
    } catch (error) {
      c.get("log").warn("not ready", { error: (error as Error).message });
      return c.json({ ok: false, error: "database unreachable" }, 503);
    }
  });

  app.route(
    "/app-config",
    appConfigRoute(
      options.devIssuer ? { auth: "local" } : { auth: "clerk", clerkPublishableKey: options.clerkPublishableKey },
    ),
  );
  if (options.recentSpans) app.route("/dev/traces", traceEndpoint(options.recentSpans));
  if (options.devIssuer) app.route("/dev", devSignIn({ database, ...options.devIssuer }));
  app.post("/webhooks/clerk", clerkWebhook(database, options.clerkWebhookSecret));
  const outbox = options.outbox ?? { wake() {} };
  if (options.twilio) app.route("/webhooks/twilio", twilioWebhooks({ database, log, outbox, ...options.twilio }));
  if (options.billing) app.post("/webhooks/stripe", stripeWebhook({ database, billing: options.billing, outbox, log }));
  const limiter = (bucket: string, limit: number) =>
    createRateLimiter({
      database,
      bucket,
      limit,
      onCleanupError: (error) => log.warn("ended rate-limit windows not deleted yet", { error: error.message }),
    });
  if (options.inngest) {
    const syncLimit = limiter("inngest_sync", options.inngest.syncsPerMinute ?? 10);
    app.route("/api/inngest", inngestEndpoint({ ...options.inngest, syncLimit }));
  }

  app.all(
    "/trpc/*",
    trpcEndpoint({
      verifySession: options.verifySession,
      maxBatchSize: options.maxBatchSize,
      anonymousRateLimit: limiter("anonymous", options.anonymousRateLimitPerMinute ?? 120),
      services: {
        tenantDb,
        ensureOrganization,
        rateLimit: limiter("trpc", options.rateLimitPerMinute),
        phoneNumberDirectory: options.phoneNumberDirectory ?? null,
        billing: options.billing ?? null,
        planPrices: cachedPlanPrices(options.billing ?? null, log),
        dashboardUrl: options.dashboardUrl ?? options.webOrigins[0] ?? "http://localhost:5173",
      },
    }),
  );

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (isDatabaseUnavailable(error)) {
      // Nothing was written (the transaction did not commit): the provider's retry will do it all.
      c.get("log")?.warn("database unavailable", { error: error.message, path: c.req.path });
      c.header("Retry-After", "5");
      return c.json({ error: "the database is unavailable: try again shortly", requestId: c.get("requestId") }, 503);
    }
    c.get("log")?.error("unhandled error", { error: error.message, stack: error.stack });
    return c.json({ error: "internal error", requestId: c.get("requestId") }, 500);
  });
  return app;
}

/** Stripe's prices for the paid plans, asked at most every five minutes; null while it cannot be asked. */
function cachedPlanPrices(billing: BillingProvider | null, log: Log) {
  let cached: { at: number; prices: Map<string, PlanPrice> } | null = null;
  return async (): Promise<Map<string, PlanPrice> | null> => {
    if (!billing) return null;
    if (cached && Date.now() - cached.at < 5 * 60_000) return cached.prices;
    try {
      const lookupKeys = paidPlans.flatMap((plan) => (plan.stripeLookupKey ? [plan.stripeLookupKey] : []));
      cached = { at: Date.now(), prices: await billing.pricesByLookupKey(lookupKeys) };
      return cached.prices;
    } catch (error) {
      log.warn("Stripe's prices could not be read", { error: (error as Error).message });
      return null;
    }
  };
}
