// Benchmark: what the Stripe sandbox costs. It prints `figure <name> <value> <unit>` lines;
// it does not pass or fail.
//
//   (a) form parsing: a Checkout Session body as the SDK encodes it, µs per parse;
//   (b) linearity: hostile bodies (unbalanced brackets, runs of `]`, bad escapes, the most
//       pairs allowed) at 64 KiB and 256 KiB, ns per byte; a ratio near 1 is linear;
//   (c) the real SDK against the sandbox over HTTP: customers.create, prices.list with
//       expand, checkout.sessions.create, subscriptions.retrieve; ms per call, sequential;
//   (d) Checkout completions until every event is verified at a local endpoint, per second.
//
//   npx tsx packages/devstack/src/stripe-sandbox.bench.ts [--iterations 500]
import { performance } from "node:perf_hooks";
import { parseStripeForm } from "./stripe-form.ts";
import { startFixture } from "./stripe-sandbox-fixture.ts";

const iterationsFlag = process.argv.indexOf("--iterations");
const iterations = iterationsFlag === -1 ? 500 : Number(process.argv[iterationsFlag + 1]);
if (!Number.isInteger(iterations) || iterations < 10) throw new Error("--iterations must be a whole number ≥ 10");

const figure = (name: string, value: number, unit: string) =>
  console.log(`figure ${name} ${value < 10 ? value.toFixed(3) : value.toFixed(1)} ${unit}`);

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `fn` `times` times after a warm-up; the sorted durations in ms. */
async function timeEach(times: number, fn: () => unknown): Promise<number[]> {
  for (let i = 0; i < Math.min(50, times); i++) await fn();
  const durations: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await fn();
    durations.push(performance.now() - start);
  }
  return durations.sort((a, b) => a - b);
}

// (a) The body of stripe.checkout.sessions.create as the SDK sends it.
const checkoutBody = [
  "mode=subscription",
  "customer=cus_N4bX9TJQv3hKpR",
  "line_items[0][price]=price_1Q2w3E4r5T6y7U8i9O0pAsDf",
  "line_items[0][quantity]=1",
  "success_url=http%3A%2F%2Flocalhost%3A5173%2Fbilling%3Fsession%3D%7BCHECKOUT_SESSION_ID%7D",
  "cancel_url=http%3A%2F%2Flocalhost%3A5173%2Fbilling",
  "client_reference_id=org_demo_northside_plumbing",
  "metadata[organization_id]=org_demo_northside_plumbing",
  "subscription_data[metadata][organization_id]=org_demo_northside_plumbing",
].join("&");
const parses = await timeEach(iterations * 20, () => parseStripeForm(checkoutBody));
figure("stripe_form_parse_checkout_p50", percentile(parses, 50) * 1000, "us");

// (b) Hostile bodies, refused or accepted, at two sizes: time per byte should not grow.
const hostile: Record<string, (bytes: number) => string> = {
  unbalanced_brackets: (bytes) => `a${"[".repeat(bytes - 3)}=1`,
  closing_brackets: (bytes) => `a${"]".repeat(bytes - 3)}=1`,
  bad_escapes: (bytes) => `${"%".repeat(bytes - 2)}=1`,
  most_pairs: (bytes) => {
    const value = "v".repeat(Math.max(1, Math.floor(bytes / 1000) - 12));
    return Array.from({ length: 1000 }, (_, i) => `metadata[k${i}]=${value}`).join("&");
  },
};
for (const [name, make] of Object.entries(hostile)) {
  const perByte: number[] = [];
  for (const bytes of [64 * 1024, 256 * 1024]) {
    const body = make(bytes);
    const runs = await timeEach(40, () => {
      try {
        parseStripeForm(body);
      } catch {
        // Refusing is the expected outcome for most of these; its cost is what is measured.
      }
    });
    perByte.push((percentile(runs, 50) * 1e6) / body.length);
  }
  figure(`stripe_form_${name}_256k`, perByte[1] ?? Number.NaN, "ns_per_byte");
  figure(`stripe_form_${name}_ratio_256k_to_64k`, (perByte[1] ?? 0) / (perByte[0] ?? 1), "x");
}

// (c) and (d): the sandbox over HTTP with the real SDK.
const fixture = await startFixture({ start: new Date().toISOString(), deliveryRetryDelaysMs: [] });
try {
  const { stripe, priceId, sandbox, receiver } = fixture;
  const customer = await stripe.customers.create({ name: "Bench" });
  const { subscription } = await fixture.subscribe();
  const calls: Record<string, () => Promise<unknown>> = {
    customers_create: () => stripe.customers.create({ name: "Bench", metadata: { organization_id: "org_bench" } }),
    prices_list_expand: () =>
      stripe.prices.list({ lookup_keys: ["callflow_starter_monthly"], active: true, expand: ["data.product"] }),
    checkout_sessions_create: () =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        customer: customer.id,
        line_items: [{ price: priceId("callflow_growth_monthly"), quantity: 1 }],
        success_url: "http://localhost:5173/billing?session={CHECKOUT_SESSION_ID}",
      }),
    subscriptions_retrieve: () => stripe.subscriptions.retrieve(subscription.id),
  };
  for (const [name, call] of Object.entries(calls)) {
    const durations = await timeEach(iterations, call);
    figure(`stripe_sandbox_${name}_p50`, percentile(durations, 50), "ms");
    figure(`stripe_sandbox_${name}_p95`, percentile(durations, 95), "ms");
  }

  const before = receiver.received.length;
  const completions = Math.max(20, Math.floor(iterations / 5));
  const sessions = [];
  for (let i = 0; i < completions; i++) sessions.push(await calls.checkout_sessions_create?.());
  const start = performance.now();
  for (const session of sessions) sandbox.completeCheckout((session as { id: string }).id);
  await sandbox.whenIdle();
  const seconds = (performance.now() - start) / 1000;
  const verified = receiver.received.slice(before).filter((each) => each.verifyError === null).length;
  figure("stripe_sandbox_checkout_completions", completions / seconds, "per_s");
  figure("stripe_sandbox_webhooks_verified", verified / seconds, "per_s");
  if (verified !== completions * 3) console.log(`note: ${verified} of ${completions * 3} events verified`);
} finally {
  await fixture.stop();
}
