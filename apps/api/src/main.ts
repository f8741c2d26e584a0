// The composition root: the only place that knows whether CallFlow runs locally (embedded
// database, dev token issuer) or against cloud services, decided by the environment alone.
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, seedOnce, startEmbeddedDatabase } from "@callflow/db";
import { startDevExecutor, startTwilioSandbox } from "@callflow/devstack";
import { createFunctions, createInngestClient } from "@callflow/inngest";
import { createTwilioMessaging } from "@callflow/providers";
import { serve } from "@hono/node-server";
import { chooseAuth } from "./auth/auth-mode.ts";
import { env } from "./env.ts";
import { createApp } from "./http/app.ts";
import { createDashboard } from "./http/dashboard.ts";
import { createLog } from "./log.ts";

const LOCAL_ACCOUNT_SID = `AC${"0".repeat(32)}`;
// Local mode's executor and this API share the process; the key never leaves it.
const LOCAL_SIGNING_KEY = `signkey-local-${randomBytes(32).toString("hex")}`;
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
// No Inngest configured (neither Cloud keys nor a dev server): the local executor runs the
// functions, over the same HTTP protocol, signing its requests as Inngest Cloud does.
const executor =
  env.INNGEST_SIGNING_KEY || env.INNGEST_BASE_URL || env.INNGEST_DEV === "1"
    ? null
    : await startDevExecutor({
        database,
        signingKey: LOCAL_SIGNING_KEY,
        port: env.INNGEST_EXECUTOR_PORT,
        log: (line) => log.debug("executor", line),
      });
const inngest = createInngestClient({
  eventKey: env.INNGEST_EVENT_KEY ?? (executor ? "local" : undefined),
  signingKey: env.INNGEST_SIGNING_KEY ?? (executor ? LOCAL_SIGNING_KEY : undefined),
  baseUrl: env.INNGEST_BASE_URL ?? executor?.url,
  isDev: env.INNGEST_DEV === "1",
});
const functions = createFunctions(inngest, { database, messaging, publicUrl });

let functionsSynced = !executor;
// The printed commands reach this API only if they are told its port too.
const portPrefix = env.PORT === 3000 ? "" : `PORT=${env.PORT} `;
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
  devIssuer: devIssuer
    ? { issuer: devIssuer, authorizedParty: env.WEB_ORIGIN[0] ?? "http://localhost:5173" }
    : undefined,
  clerkPublishableKey: env.CLERK_PUBLISHABLE_KEY,
  readinessProblem: () => (functionsSynced ? null : "functions not yet synced with the local executor"),
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
    console.log(`  ${portPrefix}npm run -s token -- --org org_demo_rosas_bakery --role admin\n`);
  }
  if (sandbox) {
    console.log(`Twilio sandbox  ${sandbox.url}  (callbacks signed for ${publicUrl})`);
  }
  if (executor) {
    console.log(`Inngest executor  ${executor.url}  (runs the functions at /api/inngest)`);
  }
  if (devIssuer) {
    console.log("\nSimulate a call (last digit of the caller: 0 not on WhatsApp, 1 no WhatsApp receipt, 2 both fail):");
    console.log(`  ${portPrefix}npm run -s simulate:call -- --org org_demo_northside_plumbing --from +15125550147\n`);
  }
  if (executor) {
    // The functions register with the executor the way they do with Inngest: PUT /api/inngest.
    void fetch(`http://127.0.0.1:${info.port}/api/inngest`, { method: "PUT" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        functionsSynced = true;
        log.info("functions synced with the local executor");
      })
      .catch((error: Error) => {
        log.error("could not sync the functions with the local executor", { error: error.message });
        process.exit(1);
      });
  }
});

// The dashboard and its API on one origin: the built apps/web, with /trpc, /app-config and /dev/* handed to `app`.
const webDist = resolve(fileURLToPath(new URL("../../web/dist", import.meta.url)));
const dashboard = env.WEB_PORT
  ? serve(
      { fetch: createDashboard({ distDir: webDist, api: app }).fetch, port: env.WEB_PORT, hostname: "0.0.0.0" },
      (info) => console.log(`CallFlow dashboard  http://localhost:${info.port}  (open it in a browser)\n`),
    )
  : null;

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  // Stop accepting; requests in flight finish; then the database goes.
  await Promise.all(
    [server, dashboard].map(
      (listener) => new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve())),
    ),
  );
  await executor?.stop();
  await sandbox?.stop();
  await stopDatabase();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
