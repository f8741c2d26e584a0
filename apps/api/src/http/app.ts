// The HTTP surface: health, tRPC at /trpc, webhooks. Everything it needs is passed in
// by the composition root (main.ts), so tests build the same app over their own parts.
import { randomUUID } from "node:crypto";
import { type Database, readMigrations, type Tx } from "@callflow/db";
import type { CallflowInngest } from "@callflow/inngest";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { InngestFunction } from "inngest";
import { serve as serveInngest } from "inngest/hono";
import { sql } from "kysely";
import { type Session, SessionError, type VerifySession } from "../auth/session.ts";
import type { Log } from "../log.ts";
import { createOrganizationProvisioner } from "../organizations.ts";
import { createRateLimiter } from "../rate-limit.ts";
import { appRouter } from "../trpc/root.ts";
import { clerkWebhook } from "../webhooks/clerk.ts";
import { twilioWebhooks } from "../webhooks/twilio-webhooks.ts";
import { appConfigRoute } from "./app-config.ts";
import { type DevSignInOptions, devSignIn } from "./dev-sign-in.ts";

export type Emit = Parameters<typeof twilioWebhooks>[0]["emit"];

export interface AppOptions {
  database: Database;
  verifySession: VerifySession;
  log: Log;
  webOrigins: string[];
  rateLimitPerMinute: number;
  maxBodyBytes: number;
  maxBatchSize: number;
  clerkWebhookSecret?: string;
  /** Twilio's webhooks: signatures are checked against publicUrl + path with the auth token. */
  twilio?: { authToken: string; publicUrl: string; emit: Emit };
  /** Inngest's endpoint: the client (its signing key checks requests) and the functions to serve. */
  inngest?: { client: CallflowInngest; functions: InngestFunction.Any[] };
  /** Local mode: the dashboard signs in through this dev token issuer at /dev/sign-in. */
  devIssuer?: Omit<DevSignInOptions, "database">;
  /** Clerk's publishable key, for the dashboard's sign-in in cloud mode (GET /app-config). */
  clerkPublishableKey?: string;
  /** Why the process cannot take work yet (null: it can); /readyz answers 503 with it. */
  readinessProblem?: () => string | null;
}

type Variables = { requestId: string; log: Log };

export function createApp(options: AppOptions) {
  const { database, log } = options;
  const ensureOrganization = createOrganizationProvisioner(database);
  const rateLimit = createRateLimiter(options.rateLimitPerMinute);
  const tenantDb =
    (session: Session) =>
    <T>(fn: (tx: Tx) => Promise<T>) =>
      database.withTenant(session.claims, fn);

  const app = new Hono<{ Variables: Variables }>();

  app.use(async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 100) || randomUUID();
    const requestLog = log.child({ requestId });
    c.set("requestId", requestId);
    c.set("log", requestLog);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    requestLog.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(
    cors({ origin: options.webOrigins, allowHeaders: ["authorization", "content-type", "x-request-id"], maxAge: 600 }),
  );
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) => c.json({ error: `request body is larger than ${options.maxBodyBytes} bytes` }, 413),
  });
  // Not /api/inngest: a run's memoised step state can be larger than any request of ours.
  app.use("/trpc/*", limitBody);
  app.use("/webhooks/*", limitBody);
  app.use("/dev/*", limitBody);

  app.get("/healthz", (c) => c.json({ ok: true }));
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
  if (options.devIssuer) app.route("/dev", devSignIn({ database, ...options.devIssuer }));
  app.post("/webhooks/clerk", clerkWebhook(database, options.clerkWebhookSecret));
  if (options.twilio) app.route("/webhooks/twilio", twilioWebhooks({ database, log, ...options.twilio }));
  if (options.inngest) {
    const handler = serveInngest({ client: options.inngest.client, functions: options.inngest.functions });
    app.on(["GET", "PUT", "POST"], "/api/inngest", (c) => handler(c));
  }

  app.all("/trpc/*", async (c) => {
    const header = c.req.header("authorization");
    let session: Session | null = null;
    let sessionProblem: string | null = null;
    if (header) {
      const token = /^Bearer (.+)$/i.exec(header)?.[1];
      if (!token) sessionProblem = "authorization header must be: Bearer <session token>";
      else {
        try {
          session = await options.verifySession(token);
        } catch (error) {
          if (!(error instanceof SessionError)) throw error;
          sessionProblem = error.message;
        }
      }
    }
    return fetchRequestHandler({
      endpoint: "/trpc",
      req: c.req.raw,
      router: appRouter,
      maxBatchSize: options.maxBatchSize,
      createContext: () => ({
        requestId: c.get("requestId"),
        log: c.get("log"),
        session,
        sessionProblem,
        tenantDb,
        ensureOrganization,
        rateLimit,
      }),
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR")
          c.get("log").error("procedure failed", { path, error: error.message, stack: error.cause?.stack });
      },
    });
  });

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    c.get("log")?.error("unhandled error", { error: error.message, stack: error.stack });
    return c.json({ error: "internal error", requestId: c.get("requestId") }, 500);
  });
  return app;
}
