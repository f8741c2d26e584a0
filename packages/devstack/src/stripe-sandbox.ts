// Local mode's stand-in for Stripe: an HTTP server speaking the part of Stripe's API that
// CallFlow's billing uses, reached by the real `stripe` SDK through its host, port and
// protocol options, with hosted Checkout and portal pages and webhooks signed the way
// Stripe signs them. The account lives in memory; with `stateFile` it is also kept on disk
// (stripe-sandbox-state.ts), so a restart finds the same account, as a real one would.
//
//   GET  /v1/prices (lookup_keys, active, product, type, currency; paged)   GET /v1/prices/:id
//   POST /v1/customers   GET|POST /v1/customers/:id                        GET /v1/products/:id
//   POST /v1/checkout/sessions (subscription mode)   GET /v1/checkout/sessions/:id
//   POST /v1/billing_portal/sessions
//   GET  /v1/subscriptions (customer, price, status; paged)   GET|POST|DELETE /v1/subscriptions/:id
//   GET  /v1/invoices/:id
//   POST /v1/test_helpers/checkout/sessions/:id/complete        what the Checkout button does
//   POST /v1/test_helpers/subscriptions/:id/renew | fail_renewal | recover
//   POST /v1/test_helpers/events/:id/resend
//   GET  /c/pay/:checkout_session   the Checkout page (its form POSTs to the same URL)
//   GET  /p/session/:portal_session the portal page (forms POST to …/subscriptions/:id/<action>)
//
// Every /v1 call needs `Authorization: Bearer <secretKey>`; the pages need only their URL.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type Stripe from "stripe";
import { z } from "zod";
import { type FormValue, parseStripeForm, StripeFormError } from "./stripe-form.ts";
import { NO_REQUEST, SandboxAccount } from "./stripe-sandbox-account.ts";
import { handleApi } from "./stripe-sandbox-api.ts";
import { invalidRequest, parameterError, StripeApiError } from "./stripe-sandbox-errors.ts";
import { IdempotencyStore } from "./stripe-sandbox-idempotency.ts";
import type {
  CatalogEntry,
  SandboxEvent,
  WireCheckoutSession,
  WirePrice,
  WireSubscription,
} from "./stripe-sandbox-objects.ts";
import { stripeId } from "./stripe-sandbox-objects.ts";
import { CHECKOUT_PATH, escapeHtml, handlePage, PORTAL_PATH } from "./stripe-sandbox-pages.ts";
import {
  readSandboxState,
  SandboxStateFile,
  STRIPE_SANDBOX_STATE_VERSION,
  StripeSandboxStateError,
} from "./stripe-sandbox-state.ts";
import { type ReleaseOrder, type StripeWebhookDelivery, WebhookDispatcher } from "./stripe-sandbox-webhooks.ts";

/**
 * The API version whose shapes the sandbox serves: the installed SDK's pinned version. The
 * type makes the typecheck fail when the SDK moves to another version, so the shapes in
 * stripe-sandbox-objects.ts get looked at again.
 */
export const STRIPE_SANDBOX_API_VERSION: Stripe.LatestApiVersion = "2026-10-28.endive";

/** A secret key for local mode, for the composition root and the CLIs that call the test helpers. */
export const STRIPE_SANDBOX_LOCAL_SECRET_KEY = "sk_test_callflow_local_sandbox";

export interface StripeSandboxOptions {
  /** 0 (the default): any free port. */
  port?: number;
  host?: string;
  /** The secret key clients must send (`sk_test_…`). */
  secretKey: string;
  /** Where events are posted: CallFlow's `/webhooks/stripe`. */
  webhookUrl: string;
  /** The endpoint's signing secret (`whsec_…`). */
  webhookSecret: string;
  /** The prices on sale, found by lookup key. */
  catalog: readonly CatalogEntry[];
  /** Stripe's "now": object timestamps and billing periods. Signatures use the real time. */
  clock?: () => Date;
  /** Waits before the 2nd, 3rd, … delivery attempt of an event that failed. Default 1 s, 5 s, 30 s, 2 min, 10 min. */
  deliveryRetryDelaysMs?: readonly number[];
  /** How long an endpoint may take to answer. Default 10 s. */
  deliveryTimeoutMs?: number;
  /**
   * Where the account is kept across restarts (e.g. `<dataDir>/stripe-sandbox.json`): loaded
   * at start when it exists, saved after every change. Without it the account is in memory only.
   */
  stateFile?: string;
}

export interface StripeSandbox {
  /** Base URL, e.g. http://127.0.0.1:41234; its pages live under it too. */
  readonly url: string;
  /** What to give the SDK: `new Stripe(secretKey, { host, port, protocol: "http" })`. */
  readonly host: string;
  readonly port: number;
  readonly apiVersion: string;
  /** Every event, in the order it happened. */
  readonly events: readonly SandboxEvent[];
  /** Every delivery attempt, in the order made. */
  readonly deliveries: readonly StripeWebhookDelivery[];
  /** The catalog as Stripe prices. */
  prices(): WirePrice[];
  /** What the Checkout page's button does: subscribe, post the events; the session, completed. */
  completeCheckout(sessionId: string): WireCheckoutSession;
  /** The period ends paid: next period, `invoice.paid`, `customer.subscription.updated`. */
  renewPeriod(subscriptionId: string): WireSubscription;
  /** The renewal payment fails: next period, invoice open, `invoice.payment_failed`, subscription `past_due`. */
  failRenewal(subscriptionId: string): WireSubscription;
  /** The open invoice of a `past_due` subscription gets paid: `invoice.paid`, subscription `active`. */
  recoverPayment(subscriptionId: string): WireSubscription;
  /** Posts an event again (same id and payload), as the Dashboard's "Resend". */
  resendEvent(eventId: string): SandboxEvent;
  /** Keeps new events from being sent until releaseEvents(). */
  holdEvents(): void;
  /** Sends held events: as they happened, reversed, or by a list of event ids. */
  releaseEvents(order?: ReleaseOrder): void;
  /** Resolves once no delivery is in flight or waiting for a retry. */
  whenIdle(): Promise<void>;
  /** Resolves once every change so far is in the state file (at once without one). */
  whenSaved(): Promise<void>;
  /** Stops serving and delivering; with a state file, saves it a last time (a failure is a process warning). */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 256 * 1024;
/** Past the limit, a body is read and dropped up to this much before the connection closes. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

const optionsSchema = z.object({
  port: z.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  secretKey: z.string().regex(/^sk_test_[A-Za-z0-9_]{8,}$/, { error: "secretKey must be a test key: sk_test_…" }),
  webhookUrl: z.url({ protocol: /^https?$/, error: "webhookUrl must be an http(s) URL" }),
  webhookSecret: z.string().regex(/^whsec_\S{8,}$/, { error: "webhookSecret must look like whsec_…" }),
  catalog: z
    .array(
      z.object({
        lookupKey: z.string().min(1).max(200),
        productName: z.string().min(1).max(250),
        unitAmount: z.number().int().min(0).max(99_999_999),
        currency: z.string().regex(/^[a-z]{3}$/, { error: "currency is a lower-case ISO code such as usd" }),
        interval: z.literal("month"),
      }),
    )
    .min(1)
    .refine((entries) => new Set(entries.map((entry) => entry.lookupKey)).size === entries.length, {
      error: "catalog lookup keys must be unique",
    }),
  deliveryRetryDelaysMs: z.array(z.number().int().min(0)).max(20).optional(),
  deliveryTimeoutMs: z.number().int().min(1).optional(),
  stateFile: z.string().min(1, { error: "stateFile must be a file path" }).optional(),
});

export async function startStripeSandbox(options: StripeSandboxOptions): Promise<StripeSandbox> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(
      `Invalid Stripe sandbox options: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  }
  const clock = options.clock ?? (() => new Date());
  const stateFile = parsed.data.stateFile;
  // Read before anything listens: a file the sandbox cannot start from fails the start with its reason.
  const saved = stateFile === undefined ? null : await readSandboxState(stateFile, STRIPE_SANDBOX_API_VERSION);
  let baseUrl = "";
  let state: SandboxStateFile | null = null;
  const dispatcher = new WebhookDispatcher(
    {
      url: options.webhookUrl,
      secret: options.webhookSecret,
      apiVersion: STRIPE_SANDBOX_API_VERSION,
      clock,
      // Stripe retries for three days; locally, long enough to cover an API restart.
      retryDelaysMs: options.deliveryRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000, 600_000],
      timeoutMs: options.deliveryTimeoutMs ?? 10_000,
      onChange: () => state?.saveInBackground(),
    },
    saved ?? undefined,
  );
  const account = new SandboxAccount(
    {
      catalog: parsed.data.catalog,
      clock,
      record: (type, object, previous, request) => void dispatcher.publish(type, object, previous, request),
      checkoutPageUrl: (id) => `${baseUrl}${CHECKOUT_PATH}${id}`,
      portalPageUrl: (id) => `${baseUrl}${PORTAL_PATH}${id}`,
    },
    saved?.account,
  );
  const idempotency = new IdempotencyStore(clock, undefined, saved?.idempotencyKeys);
  if (stateFile !== undefined) state = await openStateFile(stateFile, { account, dispatcher, idempotency });
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Reached only by a bug: bad input is answered with a 4xx before this.
      if (!res.headersSent)
        sendJson(res, 500, {
          error: { type: "api_error", message: `Internal error in the Stripe sandbox: ${(error as Error).message}` },
        });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const method = req.method ?? "GET";
    if (!url.pathname.startsWith("/v1/")) return servePage(account, state, req, res, method, url.pathname);
    const requestId = stripeId("req_", 14);
    res.setHeader("Request-Id", requestId);
    res.setHeader("Stripe-Version", STRIPE_SANDBOX_API_VERSION);
    const answer = await answerApi(
      { account, dispatcher, idempotency, secretKey: options.secretKey },
      req,
      res,
      method,
      url,
      requestId,
    );
    // A change is on disk before it is answered, and so is the original of a replayed answer.
    if (state && answer.durable !== "no") {
      try {
        await (answer.durable === "flush" ? state.flush() : state.save());
      } catch (error) {
        res.removeHeader("Idempotent-Replayed");
        return sendJson(res, 500, saveFailure(state.path, error as Error).toJSON());
      }
    }
    return sendText(res, answer.status, answer.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port, address: host } = server.address() as AddressInfo;
  baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  account.pointPagesAtThisServer();
  dispatcher.resume();
  let stopped = false;
  /** A change made outside a request (test helpers): saved without anyone waiting. */
  const changed = <T>(value: T): T => {
    state?.saveInBackground();
    return value;
  };

  return {
    url: baseUrl,
    host,
    port,
    apiVersion: STRIPE_SANDBOX_API_VERSION,
    events: dispatcher.events,
    deliveries: dispatcher.deliveries,
    prices: () => structuredClone([...account.prices.values()]),
    completeCheckout: (sessionId) => changed(structuredClone(account.completeCheckoutSession(sessionId, NO_REQUEST))),
    renewPeriod: (id) => changed(structuredClone(account.renewPeriod(id))),
    failRenewal: (id) => changed(structuredClone(account.failRenewal(id))),
    recoverPayment: (id) => changed(structuredClone(account.recoverPayment(id))),
    resendEvent: (eventId) => dispatcher.resend(eventId),
    holdEvents: () => dispatcher.hold(),
    releaseEvents: (order) => dispatcher.release(order),
    whenIdle: () => dispatcher.whenIdle(),
    whenSaved: async () => state?.flush(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // Deliveries cut off here stay owed in the file: the next start makes them.
      await dispatcher.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Reported, not thrown: the parts stopped after the sandbox (the database) must still stop.
      await state
        ?.close()
        .catch((error: Error) =>
          warn(`The Stripe sandbox stopped without saving its last changes to ${stateFile}: ${error.message}`),
        );
    },
  };
}

/** The sandbox's account and what its answers depend on. */
type SandboxParts = { account: SandboxAccount; dispatcher: WebhookDispatcher; idempotency: IdempotencyStore };

/** The state file, written once at start: that shows it can be written, and fixes the catalog's price ids. */
async function openStateFile(path: string, { account, dispatcher, idempotency }: SandboxParts) {
  const state = new SandboxStateFile(
    path,
    () => ({
      version: STRIPE_SANDBOX_STATE_VERSION,
      apiVersion: STRIPE_SANDBOX_API_VERSION,
      savedAt: new Date().toISOString(),
      account: account.snapshot(),
      ...dispatcher.snapshot(),
      idempotencyKeys: idempotency.snapshot(),
    }),
    (error) => warn(`The Stripe sandbox could not save ${path} (trying again): ${error.message}`),
  );
  try {
    await state.prepare();
    await state.save();
  } catch (error) {
    throw new StripeSandboxStateError(path, `it cannot be written (${(error as Error).message})`);
  }
  return state;
}

/** The API's answer, and whether it changed the account ("save") or replays one that did ("flush"). */
async function answerApi(
  { account, dispatcher, idempotency, secretKey }: SandboxParts & { secretKey: string },
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  url: URL,
  requestId: string,
): Promise<{ status: number; body: string; durable: "no" | "save" | "flush" }> {
  const key = method === "POST" ? headerValue(req.headers["idempotency-key"]) : undefined;
  let params: { [key: string]: FormValue } = {};
  try {
    authenticate(req.headers.authorization, secretKey);
    const version = headerValue(req.headers["stripe-version"]);
    if (version !== undefined && version !== STRIPE_SANDBOX_API_VERSION) {
      throw invalidRequest(
        `The Stripe sandbox serves API version ${STRIPE_SANDBOX_API_VERSION} only; this request asked for ${version}. Create the client without apiVersion.`,
      );
    }
    params = await readParamsOf(req, method, url);
    if (key !== undefined) {
      res.setHeader("Idempotency-Key", key);
      const saved = idempotency.replay(key, `${method} ${url.pathname}`, params);
      if (saved) {
        res.setHeader("Idempotent-Replayed", "true");
        return { ...saved, durable: "flush" };
      }
    }
    const request = { id: requestId, idempotency_key: key ?? null };
    const result = handleApi(account, dispatcher, { method, path: url.pathname, params, request });
    const body = JSON.stringify(result.body, null, 2);
    if (key !== undefined) idempotency.save(key, `${method} ${url.pathname}`, params, { status: result.status, body });
    return { status: result.status, body, durable: method === "GET" ? "no" : "save" };
  } catch (error) {
    if (!(error instanceof StripeApiError)) throw error;
    if (error.httpStatus === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="Stripe"');
    if (error.httpStatus === 413) res.setHeader("Connection", "close");
    const body = JSON.stringify(error.toJSON(), null, 2);
    const kept = key !== undefined && error.replayable;
    if (kept) idempotency.save(key, `${method} ${url.pathname}`, params, { status: error.httpStatus, body });
    return { status: error.httpStatus, body, durable: kept ? "save" : "no" };
  }
}

/** Saves nobody waits for report here: Node prints process warnings on stderr. */
function warn(message: string) {
  process.emitWarning(message, { code: "STRIPE_SANDBOX_STATE" });
}

/** A change that took effect but is not on disk: Stripe answers 500 when a request's outcome is not known to last. */
function saveFailure(path: string, error: Error) {
  return new StripeApiError(
    500,
    {
      type: "api_error",
      message: `The Stripe sandbox could not save its state file ${path} (${error.message}). The change is in effect but not on disk; it is saved with the next change that succeeds.`,
    },
    false,
  );
}

/** The hosted pages: no API key (the session id in the URL is the credential, as on Stripe). */
async function servePage(
  account: SandboxAccount,
  state: SandboxStateFile | null,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
) {
  let body = "";
  if (method === "POST") {
    try {
      body = await readBody(req);
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      res.setHeader("Connection", "close");
      return sendHtml(
        res,
        error.httpStatus,
        `<!doctype html><html lang="en"><title>Error</title><p>${error.message}</p></html>`,
      );
    }
  }
  const page = handlePage(account, method, path, body);
  if (!page)
    return sendHtml(res, 404, `<!doctype html><html lang="en"><title>Not found</title><p>Not found.</p></html>`);
  // A form post may have subscribed, changed a plan or cancelled: on disk before the redirect says so.
  if (state && method === "POST") {
    try {
      await state.save();
    } catch (error) {
      const message = escapeHtml(saveFailure(state.path, error as Error).message);
      return sendHtml(res, 500, `<!doctype html><html lang="en"><title>Error</title><p>${message}</p></html>`);
    }
  }
  if (page.location !== undefined) {
    res.writeHead(page.status, { Location: page.location, "Content-Length": 0 });
    return res.end();
  }
  return sendHtml(res, page.status, page.html ?? "");
}

/** Bearer auth with the secret key (Basic with the key as user name also works, as with curl -u). */
function authenticate(header: string | undefined, secretKey: string) {
  if (header === undefined || header.trim() === "") {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  const [scheme = "", credential = ""] = header.trim().split(/\s+/, 2);
  // curl -u sk_test_…: sends Basic auth with the key as the user name.
  const given =
    scheme.toLowerCase() === "basic"
      ? Buffer.from(credential, "base64").toString("utf8").replace(/:.*$/s, "")
      : scheme.toLowerCase() === "bearer"
        ? credential
        : "";
  const expected = Buffer.from(secretKey);
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${maskKey(given)}`,
    });
  }
}

/** GET and DELETE carry parameters in the query string, POST in a form body (as the SDK sends them). */
async function readParamsOf(req: IncomingMessage, method: string, url: URL): Promise<{ [key: string]: FormValue }> {
  let text = url.search.slice(1);
  if (method === "POST") {
    if (text !== "")
      throw parameterError("The Stripe sandbox reads POST parameters from the form body, not the URL.", undefined);
    text = await readBody(req);
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (text !== "" && type !== "application/x-www-form-urlencoded") {
      throw parameterError(
        `Request bodies must be application/x-www-form-urlencoded (Stripe's form encoding), not ${type || "untyped"}.`,
        undefined,
      );
    }
  }
  try {
    return parseStripeForm(text);
  } catch (error) {
    if (error instanceof StripeFormError) throw parameterError(error.message, error.param);
    throw error;
  }
}

/** The body as text, refused with a 413 past MAX_BODY_BYTES (events, not `for await`, so the socket stays open to answer). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return reject(tooLarge(req));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off("data", onData);
      req.off("end", onEnd);
      reject(tooLarge(req));
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString("utf8"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", reject);
  });
}

/** 413, and the rest of the body is read and dropped (up to a bound) so the client sees the answer. */
function tooLarge(req: IncomingMessage) {
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.destroy();
  });
  req.resume();
  return new StripeApiError(
    413,
    {
      type: "invalid_request_error",
      message: `Request body too large: the Stripe sandbox accepts up to ${MAX_BODY_BYTES} bytes.`,
    },
    false,
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** sk_test_abc…wxyz → sk_test_********wxyz, as Stripe masks keys in errors. */
function maskKey(key: string): string {
  if (key.length <= 12) return "********";
  const prefix = key.match(/^(sk|rk|pk)_(test|live)_/)?.[0] ?? "";
  return `${prefix}${"*".repeat(Math.min(24, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

function sendText(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-cache, no-store",
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: object) {
  sendText(res, status, JSON.stringify(body, null, 2));
}

function sendHtml(res: ServerResponse, status: number, html: string) {
  res.writeHead(status, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": Buffer.byteLength(html),
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  });
  res.end(html);
}
