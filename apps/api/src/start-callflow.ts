// The composition root: the running product from one configuration. The only code that
// knows whether a part is a cloud service or its local stand-in (embedded database, token
// issuer, Twilio sandbox, local Inngest executor); the configuration decided which.
// main.ts, the end-to-end tests and the benchmarks all start CallFlow through here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Database, migrate, openDatabase, seedOnce, startEmbeddedDatabase } from "@callflow/db";
import {
  type DevTokenIssuer,
  openDevTokenIssuer,
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
import type { WorkerMetrics } from "./observability/cluster-metrics.ts";
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

/**
 * What one process (a cluster's primary, api-cluster.ts) runs for every API process of the
 * cluster, handed to each: the local stand-ins' addresses. A worker given these starts none
 * of them, applies no migration and runs no timer: it serves HTTP and relays its outbox.
 */
export interface SharedParts {
  twilioSandboxUrl: string | null;
  stripeSandbox: { host: string; port: number; url: string } | null;
  executorUrl: string | null;
  /** Resolves once the primary synced the functions with the local executor. */
  synced: Promise<void>;
}

export async function startCallflow(
  config: CallflowConfig,
  options: { log?: Log; shared?: SharedParts; workerMetrics?: WorkerMetrics } = {},
): Promise<RunningCallflow> {
  const log = options.log ?? createLog(config.logLevel, { service: "api" });
  const { shared } = options;
  const stops = new Stops(log);
  try {
    // First started, last stopped: every part's spans go through it, and the last are exported.
    const tracing = await startTracing(config.tracing);
    stops.add("tracing", () => tracing.shutdown());
    const { database, socketUrl } = await openTheDatabase(config, stops);
    if (!shared) {
      const { applied } = await migrate(database);
      if (applied.length) log.info("migrations applied", { versions: applied });
      if (!config.database.url && (await seedOnce(database))) log.info("demo data seeded");
    }

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

    const { sandbox, twilioAccount } = shared
      ? { sandbox: null, twilioAccount: twilioAccountOf(config, shared.twilioSandboxUrl) }
      : await startTwilio(config, stops);
    const numbers = createTwilioNumbers({ ...twilioAccount, publicUrl });
    if (sandbox) await reconnectNumbers(database, numbers, log);
    const billing = shared
      ? { provider: stripeBillingOf(config, shared.stripeSandbox), sandbox: null }
      : await startBilling(config, publicUrl, stops);

    const { executor, inngest, signed } = await startInngest(config, database, log, stops, tracing.enabled, shared);
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
    if (!shared) {
      const overdueCalls = startOverdueCallSweep({ database, outbox, log });
      stops.add("the overdue-call sweep", () => overdueCalls.stop());
    }
    const functions = createFunctions(inngest, {
      database,
      billing: billing.provider,
      messaging: createTwilioMessaging(twilioAccount),
      statusCallbacks: statusCallbackUrls({ publicUrl, authToken: config.twilio.authToken }),
      senderRates: config.senderRates,
      reconcile: config.reconcile,
      outbox,
    });

    const executorUrl = executor?.url ?? shared?.executorUrl ?? null;
    let functionsSynced = !executorUrl;
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
      ...(options.workerMetrics ? { workerMetrics: options.workerMetrics } : {}),
      ...(tracing.recent ? { recentSpans: tracing.recent } : {}),
    });
    handle(server, getRequestListener(app.fetch));
    // The dashboard and its API on one origin: the built apps/web, with /trpc, /app-config and /dev/* handed to `app`.
    if (webServer) handle(webServer, getRequestListener(createDashboard({ distDir: WEB_DIST, api: app }).fetch));

    const apiUrl = `http://localhost:${apiPort}`;
    const webUrl = webPort === null ? null : `http://localhost:${webPort}`;
    // The functions register with the executor the way they do with Inngest: PUT /api/inngest.
    const synced = shared
      ? shared.synced
      : executor
        ? syncFunctions(`http://127.0.0.1:${apiPort}/api/inngest`).then(() =>
            log.info("functions synced with the local executor"),
          )
        : null;
    const ready = synced
      ? synced.then(() => {
          functionsSynced = true;
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
      executorUrl,
      twilioSandboxUrl: sandbox?.url ?? shared?.twilioSandboxUrl ?? null,
      stripeSandboxUrl: billing.sandbox?.url ?? shared?.stripeSandbox?.url ?? null,
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

export interface RunningSharedParts {
  /** What each worker is started with (its `synced` is the worker's own to make). */
  shared: Omit<SharedParts, "synced">;
  /** The ports the workers listen on (chosen here when the configuration said 0). */
  apiPort: number;
  webPort: number | null;
  publicUrl: string;
  devIssuer: DevTokenIssuer | null;
  log: Log;
  /** Once a worker listens: syncs the functions with the local executor (when there is one here) and starts this process's relay. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A cluster's primary (api-cluster.ts): the parts there must be one of, whatever the number of
 * API processes: migrations (before any worker starts), the local stand-ins (Twilio and
 * Stripe sandboxes, the local executor), the overdue-call sweep and a relay for the events it
 * writes. It serves no HTTP: the workers do, on the ports chosen here.
 */
export async function startSharedParts(
  config: CallflowConfig,
  options: { log?: Log } = {},
): Promise<RunningSharedParts> {
  const log = options.log ?? createLog(config.logLevel, { service: "api-primary" });
  if (!config.database.url) throw new Error("several API processes need DATABASE_URL");
  const stops = new Stops(log);
  try {
    const { database } = await openTheDatabase(config, stops);
    const { applied } = await migrate(database);
    if (applied.length) log.info("migrations applied", { versions: applied });
    // Made here, once: workers creating the dev issuer's key at the same moment would each write their own.
    const devIssuer = config.auth.kind === "dev-issuer" ? openDevTokenIssuer(config.dataDir) : null;
    const apiPort = config.port || (await freePort());
    const webPort = config.webPort === null ? null : config.webPort || (await freePort());
    const publicUrl = publicUrlOf(config, apiPort);

    const { sandbox, twilioAccount } = await startTwilio(config, stops);
    if (sandbox) await reconnectNumbers(database, createTwilioNumbers({ ...twilioAccount, publicUrl }), log);
    const billing = await startBilling(config, publicUrl, stops);
    // No tracing here: the primary serves no functions (its client only relays the sweep's events).
    const { executor, inngest } = await startInngest(config, database, log, stops, false);

    let relay: OutboxRelay | null = null;
    stops.add("the outbox relay", async () => relay?.stop());
    const overdueCalls = startOverdueCallSweep({ database, outbox: { wake: () => relay?.wake() }, log });
    stops.add("the overdue-call sweep", () => overdueCalls.stop());
    const stripeSandbox = billing.sandbox;
    return {
      shared: {
        twilioSandboxUrl: sandbox?.url ?? null,
        stripeSandbox: stripeSandbox
          ? { host: stripeSandbox.host, port: stripeSandbox.port, url: stripeSandbox.url }
          : null,
        executorUrl: executor?.url ?? null,
      },
      apiPort,
      webPort,
      publicUrl,
      devIssuer,
      log,
      async sync() {
        // Any worker answers the sync; the functions are registered at PUBLIC_URL whichever does.
        if (executor) {
          await syncFunctions(`http://127.0.0.1:${apiPort}/api/inngest`);
          log.info("functions synced with the local executor");
        }
        relay = startOutboxRelay({
          database,
          send: sendWith(inngest),
          onError: (error) => log.warn("events not sent yet; the outbox keeps them", { error: error.message }),
        });
      },
      stop: () => stops.stopAll(),
    };
  } catch (error) {
    await stops.stopAll();
    throw error;
  }
}

/** A port free now on every interface (a worker binds it a moment later; another program could take it first). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "0.0.0.0", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
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
  return { sandbox, twilioAccount: twilioAccountOf(config, sandbox?.url ?? null) };
}

/** Twilio's credentials, and the sandbox's address when it stands in for Twilio. */
const twilioAccountOf = (config: CallflowConfig, sandboxUrl: string | null) => ({
  accountSid: config.twilio.accountSid,
  authToken: config.twilio.authToken,
  timeoutMs: config.twilio.requestTimeoutMs,
  ...(sandboxUrl ? { baseUrl: sandboxUrl } : {}),
});

/** The Inngest client for the configured Inngest: Cloud, the dev server, or the local executor started here. */
async function startInngest(
  config: CallflowConfig,
  database: Database,
  log: Log,
  stops: Stops,
  tracing: boolean,
  shared?: Pick<SharedParts, "executorUrl">,
) {
  const inngestConfig = config.inngest;
  const executor =
    inngestConfig.kind === "local-executor" && !shared
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
          ...(executor ? { baseUrl: executor.url } : shared?.executorUrl ? { baseUrl: shared.executorUrl } : {}),
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
  return { provider: stripeBillingOf(config, sandbox), sandbox };
}

/** Stripe's client, pointed at the sandbox when it stands in for Stripe. */
const stripeBillingOf = (config: CallflowConfig, sandbox: { host: string; port: number } | null) =>
  createStripeBilling({
    secretKey: config.stripe.secretKey,
    webhookSecrets: config.stripe.webhookSecrets,
    ...(sandbox ? { sandbox: { host: sandbox.host, port: sandbox.port } } : {}),
  });

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
