// Billing through the product as it runs locally: the API's billing procedures, the Stripe
// stand-in reached by the real stripe SDK, its signed webhooks through /webhooks/stripe,
// the outbox, the local executor and sync-subscription, read back through billing.status.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STRIPE_SANDBOX_LOCAL_SECRET_KEY } from "@callflow/devstack";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, webOriginsOf } from "./config.ts";
import { type RunningCallflow, startCallflow } from "./start-callflow.ts";
import type { AppRouter } from "./trpc/root.ts";

const ORG = "org_billing_test";

describe("billing, end to end in the local product", () => {
  let callflow: RunningCallflow;
  let admin: ReturnType<typeof createTRPCClient<AppRouter>>;
  let member: ReturnType<typeof createTRPCClient<AppRouter>>;
  let stripe: Stripe;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "callflow-billing-"));
    const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "silent", DB_PORT: "" });
    callflow = await startCallflow({ ...config, webPort: null });
    await callflow.ready;
    const client = (role: "admin" | "member") =>
      createTRPCClient<AppRouter>({
        links: [
          httpLink({
            url: `${callflow.apiUrl}/trpc`,
            headers: () => ({
              authorization: `Bearer ${callflow.devIssuer?.issue({ orgId: ORG, role, authorizedParty: webOriginsOf(config, null)[0] })}`,
            }),
          }),
        ],
      });
    admin = client("admin");
    member = client("member");
    const sandbox = callflow.stripeSandbox as NonNullable<RunningCallflow["stripeSandbox"]>;
    stripe = new Stripe(STRIPE_SANDBOX_LOCAL_SECRET_KEY, { host: sandbox.host, port: sandbox.port, protocol: "http" });
  }, 120_000);
  afterAll(() => callflow?.stop());

  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => "OK",
      (error) => (error instanceof TRPCClientError ? (error.data as { code: string }).code : String(error)),
    );
  const eventually = async <T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string) => {
    for (let i = 0; i < 150; i++) {
      const value = await probe();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`not in time: ${what}`);
  };
  const sessionIdOf = (url: string) => new URL(url).pathname.split("/").at(-1) as string;
  const sandbox = () => callflow.stripeSandbox as NonNullable<RunningCallflow["stripeSandbox"]>;

  it("starts on the free plan with Stripe's prices for the others, and no billing account", async () => {
    const status = await member.billing.status.query();
    expect(status).toMatchObject({ plan: { id: "free", quota: 50 }, usage: { messages: 0 }, hasBillingAccount: false });
    expect(status.plans.map((plan) => [plan.id, plan.price.amount])).toEqual([
      ["free", 0],
      ["starter", 29],
      ["growth", 79],
      ["pro", 199],
    ]);
    expect(await codeOf(admin.billing.createPortalSession.mutate())).toBe("PRECONDITION_FAILED");
  });

  it("lets members see billing but not open Checkout or the portal", async () => {
    expect(await codeOf(member.billing.createCheckoutSession.mutate({ plan: "starter" }))).toBe("FORBIDDEN");
    expect(await codeOf(member.billing.createPortalSession.mutate())).toBe("FORBIDDEN");
    expect(await codeOf(admin.billing.createCheckoutSession.mutate({ plan: "free" }))).toBe("BAD_REQUEST");
  });

  it("upgrades through Checkout: one customer linked both ways, the plan from Stripe's webhook", async () => {
    const { url } = await admin.billing.createCheckoutSession.mutate({ plan: "starter" });
    sandbox().completeCheckout(sessionIdOf(url));
    const status = await eventually(
      () => member.billing.status.query(),
      (value) => value.plan.id === "starter",
      "the starter plan",
    );
    expect(status).toMatchObject({
      plan: { quota: 500 },
      subscription: { status: "active", managedBy: "stripe" },
      hasBillingAccount: true,
    });
    const row = await callflow.database.withService((tx) =>
      tx
        .selectFrom("subscriptions")
        .select("stripe_customer_id")
        .where("organization_id", "=", ORG)
        .executeTakeFirstOrThrow(),
    );
    const customer = await stripe.customers.retrieve(row.stripe_customer_id as string);
    expect(customer.deleted ? null : customer.metadata.organization_id).toBe(ORG);
    expect(await codeOf(admin.billing.createCheckoutSession.mutate({ plan: "growth" }))).toBe("CONFLICT");
    expect(new URL((await admin.billing.createPortalSession.mutate()).url).origin).toBe(sandbox().url);
  });

  it("ends in Stripe's state whatever order the events arrive in", async () => {
    const [subscription] = (await stripe.subscriptions.list({ limit: 1 })).data;
    if (!subscription) throw new Error("no subscription");
    const growth = sandbox()
      .prices()
      .find((price) => price.lookup_key === "callflow_growth_monthly");
    sandbox().holdEvents();
    await stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0]?.id, price: growth?.id }],
    });
    sandbox().failRenewal(subscription.id);
    sandbox().releaseEvents("reversed");
    const status = await eventually(
      () => member.billing.status.query(),
      (value) => value.plan.id === "growth" && value.subscription?.status === "past_due",
      "growth, past due",
    );
    expect(status.sending).toMatchObject({ allowed: true, graceUntil: expect.any(String) });
    sandbox().recoverPayment(subscription.id);
    await eventually(
      () => member.billing.status.query(),
      (value) => value.subscription?.status === "active",
      "active again",
    );
  });

  it("falls back to the free plan when the subscription is canceled", async () => {
    const [subscription] = (await stripe.subscriptions.list({ limit: 1 })).data;
    await stripe.subscriptions.cancel(subscription?.id as string);
    const status = await eventually(
      () => member.billing.status.query(),
      (value) => value.subscription?.status === "canceled",
      "canceled",
    );
    expect(status.plan).toMatchObject({ id: "free", quota: 50 });
  });
});
