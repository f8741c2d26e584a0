// For the sandbox's tests: a sandbox with CallFlow-like plans, a real `stripe` client
// pointed at it, a controllable clock, and a webhook endpoint that checks every delivery
// with the SDK's own `constructEvent`, as CallFlow's /webhooks/stripe will.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { type StripeSandbox, type StripeSandboxOptions, startStripeSandbox } from "./stripe-sandbox.ts";
import type { CatalogEntry } from "./stripe-sandbox-objects.ts";

export const fixtureSecretKey = "sk_test_callflowSandboxFixture0001";
export const fixtureWebhookSecret = "whsec_callflowSandboxFixtureSecret01";

export const fixtureCatalog: CatalogEntry[] = [
  {
    lookupKey: "callflow_starter_monthly",
    productName: "Starter",
    unitAmount: 2900,
    currency: "usd",
    interval: "month",
  },
  { lookupKey: "callflow_growth_monthly", productName: "Growth", unitAmount: 7900, currency: "usd", interval: "month" },
  { lookupKey: "callflow_pro_monthly", productName: "Pro", unitAmount: 19900, currency: "usd", interval: "month" },
];

export interface ReceivedWebhook {
  raw: string;
  signature: string;
  /** The event as the SDK's constructEvent returned it; null when verification failed. */
  event: Stripe.Event | null;
  verifyError: string | null;
}

/** How the endpoint answers a delivery: the n-th it received (1-based), and the event if it verified. */
export type WebhookAnswer = (n: number, event: Stripe.Event | null) => number;

/**
 * An HTTP endpoint: POSTs are webhooks (verified, answered as `answer` says); GETs are
 * browser visits to success, cancel and return URLs.
 */
export async function startWebhookReceiver(secret: string, answer: WebhookAnswer = () => 200) {
  const received: ReceivedWebhook[] = [];
  const visits: string[] = [];
  const server = createServer(async (req, res) => {
    if (req.method === "GET") {
      visits.push(req.url ?? "");
      res.writeHead(200, { "Content-Type": "text/plain" }).end("back in the app");
      return;
    }
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const signature = String(req.headers["stripe-signature"] ?? "");
    let event: Stripe.Event | null = null;
    let verifyError: string | null = null;
    try {
      event = Stripe.webhooks.constructEvent(raw, signature, secret, 300);
    } catch (error) {
      verifyError = (error as Error).message;
    }
    received.push({ raw, signature, event, verifyError });
    res.writeHead(answer(received.length, event)).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    visits,
    /** Verified events, in arrival order. */
    events: () => received.flatMap((each) => (each.event ? [each.event] : [])),
    types: () => received.map((each) => each.event?.type ?? `unverified: ${each.verifyError}`),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/** A clock tests move by hand. */
export function manualClock(start: string) {
  let now = new Date(start);
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now = new Date(now.getTime() + ms);
    },
  };
}

export interface Fixture {
  sandbox: StripeSandbox;
  receiver: WebhookReceiver;
  stripe: Stripe;
  clock: ReturnType<typeof manualClock>;
  /** Price ids by lookup key. */
  priceId: (lookupKey: string) => string;
  /** A customer with an active subscription to `lookupKey`, through Checkout. */
  subscribe: (lookupKey?: string) => Promise<{ customer: Stripe.Customer; subscription: Stripe.Subscription }>;
  stop: () => Promise<void>;
}

export function stripeClient(sandbox: StripeSandbox, secretKey = fixtureSecretKey, maxNetworkRetries = 0) {
  return new Stripe(secretKey, { host: sandbox.host, port: sandbox.port, protocol: "http", maxNetworkRetries });
}

export async function startFixture(
  options: { answer?: WebhookAnswer; start?: string } & Partial<StripeSandboxOptions> = {},
): Promise<Fixture> {
  const { answer, start = "2027-01-31T10:00:00Z", ...overrides } = options;
  const receiver = await startWebhookReceiver(fixtureWebhookSecret, answer);
  const clock = manualClock(start);
  const sandbox = await startStripeSandbox({
    secretKey: fixtureSecretKey,
    webhookUrl: `${receiver.url}/webhooks/stripe`,
    webhookSecret: fixtureWebhookSecret,
    catalog: fixtureCatalog,
    clock: clock.now,
    deliveryRetryDelaysMs: [20, 40],
    ...overrides,
  });
  const stripe = stripeClient(sandbox);
  const prices = new Map(sandbox.prices().map((price) => [price.lookup_key, price.id]));
  const priceId = (lookupKey: string) => {
    const id = prices.get(lookupKey);
    if (!id) throw new Error(`no price with lookup key ${lookupKey}`);
    return id;
  };
  return {
    sandbox,
    receiver,
    stripe,
    clock,
    priceId,
    async subscribe(lookupKey = "callflow_starter_monthly") {
      const customer = await stripe.customers.create({
        name: "Northside Plumbing",
        metadata: { organization_id: "org_1" },
      });
      const session = await stripe.checkout.sessions.create({
        mode: "subscription",
        customer: customer.id,
        line_items: [{ price: priceId(lookupKey), quantity: 1 }],
        success_url: `${receiver.url}/billing?session={CHECKOUT_SESSION_ID}`,
        cancel_url: `${receiver.url}/billing?canceled=1`,
        subscription_data: { metadata: { organization_id: "org_1" } },
      });
      const completed = sandbox.completeCheckout(session.id);
      const subscription = await stripe.subscriptions.retrieve(completed.subscription as string);
      return { customer, subscription };
    },
    async stop() {
      await sandbox.stop();
      await receiver.stop();
    },
  };
}
