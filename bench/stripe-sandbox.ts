// Benchmark: what the local Stripe stand-in costs, through what it exports
// (`startStripeSandbox`) and the real `stripe` SDK: (a) hostile form bodies posted at
// 64 KiB and 256 KiB (the most it accepts), ns per byte and the ratio (linear ≈ 1);
// (b) SDK calls over HTTP, ms per call; (c) Checkout completions until every event is
// verified (`constructEvent`) at a webhook endpoint in this process, per second.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type StripeCatalogEntry, startStripeSandbox } from "@callflow/devstack";
import Stripe from "stripe";
import { figure, flags, keepAliveClient, latencyFigures, printMachine, timeEach } from "./measure.ts";

const options = flags("stripe-sandbox: the local Stripe stand-in", { iterations: 500 }, { iterations: 100 });
const SECRET_KEY = "sk_test_callflowBench0000000001";
const WEBHOOK_SECRET = "whsec_callflowBenchWebhookSecret01";
const catalog: StripeCatalogEntry[] = ["starter", "growth"].map((plan, i) => ({
  lookupKey: `callflow_${plan}_monthly`,
  productName: plan,
  unitAmount: 2900 + i * 5000,
  currency: "usd",
  interval: "month",
}));

// ---- setup: a webhook endpoint verifying with the SDK, the sandbox posting to it
printMachine("stripe-sandbox");
let verified = 0;
let unverified = 0;
const endpoint = createServer((req, res) => {
  let raw = "";
  req.on("data", (chunk: Buffer) => {
    raw += chunk;
  });
  req.on("end", () => {
    try {
      Stripe.webhooks.constructEvent(raw, String(req.headers["stripe-signature"]), WEBHOOK_SECRET, 300);
      verified++;
    } catch {
      unverified++;
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
const sandbox = await startStripeSandbox({
  secretKey: SECRET_KEY,
  webhookUrl: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/webhooks/stripe`,
  webhookSecret: WEBHOOK_SECRET,
  catalog,
  deliveryRetryDelaysMs: [],
});
const stripe = new Stripe(SECRET_KEY, {
  host: sandbox.host,
  port: sandbox.port,
  protocol: "http",
  maxNetworkRetries: 0,
});
const priceOf = new Map(sandbox.prices().map((price) => [price.lookup_key, price.id]));

try {
  // ---- (a) hostile bodies, refused or accepted: the time per byte should not grow with size
  const http = keepAliveClient(sandbox.url, 1);
  const hostile: Record<string, (bytes: number) => string> = {
    unbalanced_brackets: (bytes) => `a${"[".repeat(bytes - 3)}=1`,
    closing_brackets: (bytes) => `a${"]".repeat(bytes - 3)}=1`,
    bad_escapes: (bytes) => `${"%".repeat(bytes - 2)}=1`,
    most_pairs: (bytes) => {
      const value = "v".repeat(Math.max(1, Math.floor(bytes / 1000) - 12));
      return Array.from({ length: 1000 }, (_, i) => `metadata[k${i}]=${value}`).join("&");
    },
  };
  const headers = {
    authorization: `Bearer ${SECRET_KEY}`,
    "content-type": "application/x-www-form-urlencoded",
  };
  for (const [name, make] of Object.entries(hostile)) {
    const perByte: number[] = [];
    for (const bytes of [64 * 1024, 256 * 1024]) {
      const body = make(bytes);
      const times = await timeEach(40, 5, () => http.request("POST", "/v1/customers", headers, body));
      perByte.push((times.summary().p50 * 1e6) / body.length);
    }
    const [small, large] = perByte as [number, number];
    figure(`stripe_sandbox_hostile_${name}_256k`, large, "ns_per_byte");
    figure(`stripe_sandbox_hostile_${name}_ratio_256k_to_64k`, large / small, "ratio");
  }
  http.close();

  // ---- (b) the SDK over HTTP
  const customer = await stripe.customers.create({ name: "Bench" });
  const checkout = () =>
    stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: priceOf.get("callflow_growth_monthly") as string, quantity: 1 }],
      success_url: "http://localhost:5173/billing?session={CHECKOUT_SESSION_ID}",
    });
  const subscription = sandbox.completeCheckout((await checkout()).id).subscription as string;
  const calls: Record<string, () => Promise<unknown>> = {
    customers_create: () => stripe.customers.create({ name: "Bench", metadata: { organization_id: "org_bench" } }),
    prices_list_expand: () =>
      stripe.prices.list({ lookup_keys: ["callflow_starter_monthly"], active: true, expand: ["data.product"] }),
    checkout_sessions_create: checkout,
    subscriptions_retrieve: () => stripe.subscriptions.retrieve(subscription),
  };
  for (const [name, call] of Object.entries(calls)) {
    latencyFigures(`stripe_sandbox_${name}`, (await timeEach(options.iterations, 50, call)).summary(), ["p50", "p95"]);
  }

  // ---- (c) completions → signed events → verified at the endpoint
  await sandbox.whenIdle();
  const [verifiedBefore, eventsBefore] = [verified, sandbox.events.length];
  const sessions = [];
  for (let i = 0; i < Math.max(20, options.iterations / 5); i++) sessions.push(await checkout());
  const started = performance.now();
  for (const session of sessions) sandbox.completeCheckout(session.id);
  await sandbox.whenIdle();
  const seconds = (performance.now() - started) / 1000;
  const events = sandbox.events.length - eventsBefore;
  console.log(
    `${sessions.length} completions: ${events} events, ${verified - verifiedBefore} verified, ${unverified} not`,
  );
  figure("stripe_sandbox_checkout_completions", sessions.length / seconds, "per_s");
  figure("stripe_sandbox_webhooks_verified", (verified - verifiedBefore) / seconds, "per_s");
  figure("stripe_sandbox_unverified_webhooks", unverified, "count");
} finally {
  await sandbox.stop();
  endpoint.close();
}
