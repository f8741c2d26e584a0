// The composition root: the running product from one configuration. The only code that
// knows whether a part is a cloud service or its local stand-in (embedded database, token
// issuer, Twilio sandbox, local Inngest executor); the configuration decided which.
// main.ts, the end-to-end tests and the benchmarks all start CallFlow through here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, seedOnce, startEmbeddedDatabase } from "@callflow/db";
import {
  type DevTokenIssuer,
  type StripeSandbox,
  startDevExecutor,
  startStripeSandbox,
  startTwilioSandbox,
  twilioSandboxAddressFile,
} from "@callflow/devstack";
import { paidPlans } from "@callflow/domain";
import { createFunctions, createInngestClient, type OutboxRelay, sendWith, startOutboxRelay } from "@callflow/inngest";
import {
  createStripeBilling,
  createTwilioMessaging,
  createTwilioNumbers,
  type PhoneNumberDirectory,
  statusCallbackUrls,
} from "@callflow/providers";
import { getRequestListener } from "@hono/node-server";
import { chooseAuth } from "./auth/auth-mode.ts";
import { type CallflowConfig, publicUrlOf, webOriginsOf } from "./config.ts";
import { createApp } from "./http/app.ts";
import { createDashboard } from "./http/dashboard.ts";
import { createLog, inngestLoggerOf, type Log } from "./log.ts";
import { startTracing } from "./tracing/start-tracing.ts";
import { startOverdueCallSweep } from "./webhooks/twilio-voice-overdue.ts";

/** The dashboard's build (npm start builds it when its sources changed). */
const WEB_DIST = fileURLToPath(new URL("../../web/dist", import.meta.url));

export interface RunningCallflow {
  /** The API's base URL on this machine, e.g. http://localhost:3000. */
  apiUrl: string;
  /** The dashboard on this machine, e.g. http://localhost:5173; null when not served. */
  webUrl: string | null;
  /** The data directory (embedded database, dev issuer key). */
  dataDir: string;
  /** Where providers reach the API (PUBLIC_URL). */
  publicUrl: string;
  /** The embedded database's socket, when served. */
  databaseSocketUrl: string | null;
  /** Local stand-ins' URLs, null when the cloud service is configured. */
  executorUrl: string | null;
  twilioSandboxUrl: string | null;
  stripeSandboxUrl: string | null;
  /** Local mode's Stripe stand-in, for tests and tools that act as Stripe would (complete a Checkout…). */
  stripeSandbox: StripeSandbox | null;
  /** Local mode's token issuer (null with Clerk). */
  devIssuer: DevTokenIssuer | null;
  database: Database;
  log: Log;
  /** Resolves once the functions are synced with the local executor (at once otherwise). */
  ready: Promise<void>;
  /** Stops accepting, lets requests in flight finish, then stops every part. */
  stop(): Promise<void>;
}

export async function startCallflow(config: CallflowConfig, options: { log?: Log } = {}): Promise<RunningCallflow> {
  const log = options.log ?? createLog(config.logLevel, { service: "api" });
  const stops = new Stops(log);
  try {
    // First started, last stopped: every part's spans go through it, and the last are exported.
    const tracing = startTracing(config.tracing);
    stops.add("tracing", () => tracing.shutdown());
    const { database, socketUrl } = await openTheDatabase(config, stops);
    const { applied } = await migrate(database);
    if (applied.length) log.info("migrations applied", { versions: applied });
    if (!config.database.url && (await seedOnce(database))) log.info("demo data seeded");

    // Listening first: with port 0 the public URL and the dashboard's origin are only known once bound.
    const server = await listen(config.port, "0.0.0.0");
    stops.add("the API server", () => closeServer(server));
    const webServer = config.webPort === null ? null : await listen(config.webPort, "0.0.0.0");
    if (webServer) stops.add("the dashboard server", () => closeServer(webServer));
    const apiPort = (server.address() as AddressInfo).port;
    const webPort = webServer ? (webServer.address() as AddressInfo).port : null;
    const publicUrl = publicUrlOf(config, apiPort);
    const webOrigins = webOriginsOf(config, webPort);

    const { verifySession, devIssuer } = chooseAuth({
      dataDir: config.dataDir,
      authorizedParties: config.authorizedParties ?? webOrigins,
      ...(config.auth.kind === "clerk"
        ? { clerkJwtKey: config.auth.jwtKey, clerkSecretKey: config.auth.secretKey, clerkIssuer: config.auth.issuer }
        : {}),
    });

    const { sandbox, twilioAccount } = await startTwilio(config, stops);
    const numbers = createTwilioNumbers({ ...twilioAccount, publicUrl });
    if (sandbox) await reconnectNumbers(database, numbers, log);
    const billing = await startBilling(config, publicUrl, stops);

    const { executor, inngest, signed } = await startInngest(config, database, log, stops, tracing.enabled);
    // Events written by webhooks (in their own transactions) go to Inngest from here, once
    // the functions are synced: the local executor starts runs only for functions it knows.
    let relay: OutboxRelay | null = null;
    const outbox = { wake: () => relay?.wake() };
    const startRelay = () => {
      relay = startOutboxRelay({
        database,
        send: sendWith(inngest),
        onError: (error) => log.warn("events not sent yet; the outbox keeps them", { error: error.message }),
      });
    };
    stops.add("the outbox relay", async () => relay?.stop());
    // Calls whose final status came before their Dial or Record action are settled once that grace has passed.
    const overdueCalls = startOverdueCallSweep({ database, outbox, log });
    stops.add("the overdue-call sweep", () => overdueCalls.stop());
    const functions = createFunctions(inngest, {
      database,
      billing: billing.provider,
      messaging: createTwilioMessaging(twilioAccount),
      statusCallbacks: statusCallbackUrls({ publicUrl, authToken: config.twilio.authToken }),
      senderRates: config.senderRates,
    });

    let functionsSynced = !executor;
    const app = createApp({
      database,
      verifySession,
      log,
      webOrigins,
      rateLimitPerMinute: config.limits.rateLimitPerMinute,
      anonymousRateLimitPerMinute: config.limits.anonymousRateLimitPerMinute,
      maxBodyBytes: config.limits.maxBodyBytes,
      maxBatchSize: config.limits.maxBatchSize,
      webhookAllowedCidrs: config.webhookAllowedCidrs,
      ...(config.clerkWebhookSecret ? { clerkWebhookSecret: config.clerkWebhookSecret } : {}),
      twilio: { authToken: config.twilio.authToken, publicUrl },
      outbox,
      inngest: {
        client: inngest,
        functions,
        serveOrigin: config.inngestServeOrigin ?? publicUrl,
        signed,
      },
      phoneNumberDirectory: numbers,
      billing: billing.provider,
      dashboardUrl: webOrigins[0] as string,
      ...(devIssuer ? { devIssuer: { issuer: devIssuer, authorizedParty: webOrigins[0] as string } } : {}),
      ...(config.auth.kind === "clerk" && config.auth.publishableKey
        ? { clerkPublishableKey: config.auth.publishableKey }
        : {}),
      readinessProblem: () => (functionsSynced ? null : "functions not yet synced with the local executor"),
      ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
      ...(tracing.recent ? { recentSpans: tracing.recent } : {}),
    });
    handle(server, getRequestListener(app.fetch));
    // The dashboard and its API on one origin: the built apps/web, with /trpc, /app-config and /dev/* handed to `app`.
    if (webServer) handle(webServer, getRequestListener(createDashboard({ distDir: WEB_DIST, api: app }).fetch));

    const apiUrl = `http://localhost:${apiPort}`;
    const webUrl = webPort === null ? null : `http://localhost:${webPort}`;
    // The functions register with the executor the way they do with Inngest: PUT /api/inngest.
    const ready = executor
      ? syncFunctions(`http://127.0.0.1:${apiPort}/api/inngest`).then(() => {
          functionsSynced = true;
          log.info("functions synced with the local executor");
          startRelay();
        })
      : Promise.resolve().then(startRelay);
    log.info("listening", {
      url: apiUrl,
      mode: config.database.url ? "cloud" : "local",
      auth: devIssuer ? "dev issuer" : "clerk",
      traces: [config.tracing.otlpTracesUrl ? "otlp" : null, tracing.recent ? "local view" : null].filter(Boolean),
    });
    return {
      apiUrl,
      webUrl,
      dataDir: config.dataDir,
      publicUrl,
      databaseSocketUrl: socketUrl,
      executorUrl: executor?.url ?? null,
      twilioSandboxUrl: sandbox?.url ?? null,
      stripeSandboxUrl: billing.sandbox?.url ?? null,
      stripeSandbox: billing.sandbox,
      devIssuer,
      database,
      log,
      ready,
      stop: () => stops.stopAll(),
    };
  } catch (error) {
    await stops.stopAll();
    throw error;
  }
}

/** Twilio's account, or in local mode the sandbox answering for it. */
async function startTwilio(config: CallflowConfig, stops: Stops) {
  const sandbox = config.twilio.sandbox
    ? await startTwilioSandbox({
        accountSid: config.twilio.accountSid,
        authToken: config.twilio.authToken,
        port: config.twilio.sandbox.port,
        // simulate:call (another process) finds the sandbox here, to place calls through it.
        addressFile: twilioSandboxAddressFile(config.dataDir),
      })
    : null;
  if (sandbox) stops.add("the Twilio sandbox", () => sandbox.stop());
  const twilioAccount = {
    accountSid: config.twilio.accountSid,
    authToken: config.twilio.authToken,
    ...(sandbox ? { baseUrl: sandbox.url } : {}),
  };
  return { sandbox, twilioAccount };
}

/** The Inngest client for the configured Inngest: Cloud, the dev server, or the local executor started here. */
async function startInngest(config: CallflowConfig, database: Database, log: Log, stops: Stops, tracing: boolean) {
  const inngestConfig = config.inngest;
  const executor =
    inngestConfig.kind === "local-executor"
      ? await startDevExecutor({
          database,
          signingKey: inngestConfig.signingKey,
          eventKey: inngestConfig.eventKey,
          port: config.executor.port,
          host: config.executor.host,
          log: ({ level, ...line }) => {
            const at = level === "debug" || level === "warn" || level === "error" ? level : "info";
            log[at](String(line.msg ?? "executor"), { ...line, service: "dev-executor" });
          },
        })
      : null;
  if (executor) stops.add("the local executor", () => executor.stop());
  const inngest = createInngestClient({
    ...(inngestConfig.kind === "dev-server"
      ? { baseUrl: inngestConfig.baseUrl, isDev: true }
      : {
          eventKey: inngestConfig.eventKey,
          signingKey: inngestConfig.signingKey,
          isDev: false,
          ...(inngestConfig.kind === "cloud" && inngestConfig.signingKeyFallback
            ? { signingKeyFallback: inngestConfig.signingKeyFallback }
            : {}),
          ...(executor ? { baseUrl: executor.url } : {}),
          ...(inngestConfig.kind === "cloud" && inngestConfig.baseUrl ? { baseUrl: inngestConfig.baseUrl } : {}),
        }),
    logger: inngestLoggerOf(log.child({ service: "inngest" })),
    tracing,
  });
  return { executor, inngest, signed: inngestConfig.kind !== "dev-server" };
}

/** Stripe, or in local mode its stand-in selling CallFlow's plans, its events signed for this API. */
async function startBilling(config: CallflowConfig, publicUrl: string, stops: Stops) {
  const stripe = config.stripe;
  const sandbox = stripe.sandbox
    ? await startStripeSandbox({
        port: stripe.sandbox.port,
        secretKey: stripe.secretKey,
        webhookUrl: `${publicUrl}/webhooks/stripe`,
        webhookSecret: stripe.webhookSecrets[0] as string,
        catalog: paidPlans.map((plan) => ({
          lookupKey: plan.stripeLookupKey as string,
          productName: `CallFlow ${plan.name}`,
          unitAmount: plan.monthlyPriceUsd * 100,
          currency: "usd",
          interval: "month" as const,
        })),
        stateFile: join(config.dataDir, "stripe-sandbox.json"),
      })
    : null;
  if (sandbox) stops.add("the Stripe sandbox", () => sandbox.stop());
  const provider = createStripeBilling({
    secretKey: stripe.secretKey,
    webhookSecrets: stripe.webhookSecrets,
    ...(sandbox ? { sandbox: { host: sandbox.host, port: sandbox.port } } : {}),
  });
  return { provider, sandbox };
}

/**
 * Local mode: the Twilio sandbox keeps its numbers' configuration in memory, so at each start
 * the numbers connected in the database are pointed at this API again (Voice URL and status
 * callback), as Twilio would still have them.
 */
async function reconnectNumbers(database: Database, numbers: PhoneNumberDirectory, log: Log) {
  const connected = await database.withService((tx) => tx.selectFrom("phone_numbers").select("e164").execute());
  for (const { e164 } of connected) {
    const owned = await numbers.findOwned(e164);
    if (owned) await numbers.connect(owned);
    else log.warn("a connected number is not the local Twilio account's: its calls cannot be simulated", { e164 });
  }
}

async function openTheDatabase(config: CallflowConfig, stops: Stops) {
  if (config.database.url) {
    const database = await openDatabase({ databaseUrl: config.database.url, poolSize: config.database.poolSize });
    stops.add("the database pool", () => database.close());
    return { database, socketUrl: null };
  }
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, port: config.database.socketPort });
  stops.add("the embedded database", embedded.stop);
  return { database: embedded.database, socketUrl: embedded.url };
}

async function syncFunctions(url: string): Promise<void> {
  const response = await fetch(url, { method: "PUT", signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`syncing the functions: ${response.status} ${await response.text()}`);
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;
const handlers = new WeakMap<Server, RequestListener>();

/** Until its handler is set, a bound server answers 503 "starting" rather than leave a request hanging. */
function starting(_request: IncomingMessage, response: ServerResponse) {
  response.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
  response.end('{"error":"CallFlow is starting: retry in a second"}');
}

const handle = (server: Server, listener: RequestListener) => handlers.set(server, listener);

function listen(port: number, host: string): Promise<Server> {
  const server = createServer((request, response) => (handlers.get(server) ?? starting)(request, response));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive connections would hold close() open; requests in flight still finish.
    server.closeIdleConnections();
  });
}

/** The parts started so far, stopped last first; a part slow to stop is named in the log while it is waited for. */
class Stops {
  readonly #parts: Array<{ part: string; stop: () => Promise<void> }> = [];
  constructor(private readonly log: Log) {}

  add(part: string, stop: () => Promise<void>) {
    this.#parts.unshift({ part, stop });
  }

  async stopAll() {
    for (const { part, stop } of this.#parts.splice(0)) {
      const slow = setInterval(() => this.log.warn("still stopping", { part }), 10_000);
      try {
        await stop();
      } finally {
        clearInterval(slow);
      }
    }
  }
}
