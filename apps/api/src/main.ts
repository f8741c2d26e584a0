// The composition root: the only place that knows whether CallFlow runs locally (embedded
// database, dev token issuer) or against cloud services, decided by the environment alone.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, seedOnce, startEmbeddedDatabase } from "@callflow/db";
import { startTwilioSandbox } from "@callflow/devstack";
import { createFunctions, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { chooseAuth } from "./auth/auth-mode.ts";
import { env } from "./env.ts";
import { createApp } from "./http/app.ts";
import { createLog } from "./log.ts";

const LOCAL_ACCOUNT_SID = `AC${"0".repeat(32)}`;
const log = createLog(env.LOG_LEVEL, { service: "api" });
const dataDir = resolve(fileURLToPath(new URL("../../../", import.meta.url)), env.DATA_DIR);
const local = !env.DATABASE_URL;

let database: Database;
let stopDatabase: () => Promise<void>;
if (env.DATABASE_URL) {
  database = await openDatabase({ databaseUrl: env.DATABASE_URL });
  stopDatabase = () => database.close();
} else {
  const embedded = await startEmbeddedDatabase({ dataDir, port: env.DB_PORT || null }).catch((error: Error) => {
    log.error(error.message);
    process.exit(1);
  });
  database = embedded.database;
  stopDatabase = embedded.stop;
  if (embedded.url) log.info("embedded database served", { url: embedded.url });
}
const { applied } = await migrate(database);
if (applied.length) log.info("migrations applied", { versions: applied });
if (local && (await seedOnce(database))) log.info("demo data seeded");

const { verifySession, devIssuer } = chooseAuth({
  dataDir,
  authorizedParties: env.CLERK_AUTHORIZED_PARTIES ?? env.WEB_ORIGIN,
  clerkJwtKey: env.CLERK_JWT_KEY,
  clerkSecretKey: env.CLERK_SECRET_KEY,
  clerkIssuer: env.CLERK_ISSUER,
});

const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, "");
// Local mode without Twilio credentials: the sandbox answers sends and posts signed callbacks.
const twilioAuthToken = env.TWILIO_AUTH_TOKEN ?? "callflow-local-sandbox-token";
const sandbox = env.TWILIO_ACCOUNT_SID
  ? null
  : await startTwilioSandbox({
      accountSid: LOCAL_ACCOUNT_SID,
      authToken: twilioAuthToken,
      port: env.TWILIO_SANDBOX_PORT,
    });
const messaging = createTwilioMessaging({
  accountSid: env.TWILIO_ACCOUNT_SID ?? LOCAL_ACCOUNT_SID,
  authToken: twilioAuthToken,
  ...(sandbox ? { baseUrl: sandbox.url } : {}),
});
const inngest = createInngestClient({
  eventKey: env.INNGEST_EVENT_KEY,
  signingKey: env.INNGEST_SIGNING_KEY,
  baseUrl: env.INNGEST_BASE_URL,
  isDev: env.INNGEST_DEV ? env.INNGEST_DEV === "1" : !env.INNGEST_SIGNING_KEY,
});
const functions = createFunctions(inngest, { database, messaging, publicUrl });

const app = createApp({
  database,
  verifySession,
  log,
  webOrigins: env.WEB_ORIGIN,
  rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxBatchSize: env.TRPC_MAX_BATCH,
  clerkWebhookSecret: env.CLERK_WEBHOOK_SIGNING_SECRET,
  twilio: { authToken: twilioAuthToken, publicUrl, emit: async (event) => void (await inngest.send(event)) },
  inngest: { client: inngest, functions },
});

const server = serve({ fetch: app.fetch, port: env.PORT, hostname: "0.0.0.0" }, (info) => {
  log.info("listening", {
    url: `http://localhost:${info.port}`,
    mode: local ? "local" : "cloud",
    auth: devIssuer ? "dev issuer" : "clerk",
  });
  if (devIssuer) {
    console.log(`\nCallFlow API  http://localhost:${info.port}  (tRPC at /trpc, health at /healthz)`);
    console.log("Sign in locally with a dev token, for example:");
    console.log("  npx pnpm@10 -s run token --org org_demo_rosas_bakery --role admin\n");
  }
  if (sandbox) {
    console.log(`Twilio sandbox  ${sandbox.url}  (callbacks signed for ${publicUrl})\n`);
  }
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  // Stop accepting; requests in flight finish; then the database goes.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sandbox?.stop();
  await stopDatabase();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
