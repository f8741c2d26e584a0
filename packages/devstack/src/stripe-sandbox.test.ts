import { type AddressInfo, connect as createConnection, createServer, type Socket } from "node:net";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { STRIPE_SANDBOX_API_VERSION, STRIPE_SANDBOX_LOCAL_SECRET_KEY, startStripeSandbox } from "./stripe-sandbox.ts";
import {
  type Fixture,
  fixtureCatalog,
  fixtureSecretKey,
  fixtureWebhookSecret,
  startFixture,
  stripeClient,
} from "./stripe-sandbox-fixture.ts";
import type { CatalogEntry as StripeCatalogEntry } from "./stripe-sandbox-objects.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(options: Parameters<typeof startFixture>[0] = {}): Promise<Fixture> {
  const fixture = await startFixture(options);
  cleanups.push(fixture.stop);
  return fixture;
}

const at = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

/** Catches what an SDK call throws, to look at the typed error. */
async function failure(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await call;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error("the call succeeded");
}

/** A raw request, to send what the SDK never would. */
async function raw(
  fixture: Fixture,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${fixture.sandbox.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${fixtureSecretKey}`,
      ...(body !== undefined ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: response.status, json: (await response.json()) as { error?: Record<string, string> } };
}

/**
 * A TCP proxy that lets the first `dropped` requests reach the sandbox but cuts the
 * connection before their answers come back: the SDK sees a reset and retries.
 */
async function startLossyProxy(target: { host: string; port: number }, dropped: number) {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const drop = connections <= dropped;
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.pipe(upstream);
    if (drop) {
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("Stripe sandbox, through the stripe SDK", () => {
  it("serves the API version the installed SDK pins", async () => {
    const { stripe } = await setup();
    expect(STRIPE_SANDBOX_API_VERSION).toBe(Stripe.API_VERSION);
    const customer = await stripe.customers.create({ name: "Versioned" });
    expect(customer.lastResponse.apiVersion).toBe(Stripe.API_VERSION);
    expect(customer.lastResponse.requestId).toMatch(/^req_[A-Za-z0-9]{14}$/);
  });

  it("lists prices by lookup key, active only, with the product expanded", async () => {
    const { stripe } = await setup();
    const prices = await stripe.prices.list({
      lookup_keys: ["callflow_growth_monthly", "callflow_starter_monthly", "no_such_plan"],
      active: true,
      expand: ["data.product"],
    });
    expect(prices.object).toBe("list");
    expect(prices.has_more).toBe(false);
    expect(prices.data.map((price) => price.lookup_key).sort()).toEqual([
      "callflow_growth_monthly",
      "callflow_starter_monthly",
    ]);
    const growth = prices.data.find((price) => price.lookup_key === "callflow_growth_monthly");
    expect(growth).toMatchObject({
      object: "price",
      active: true,
      currency: "usd",
      unit_amount: 7900,
      type: "recurring",
      recurring: { interval: "month", interval_count: 1, usage_type: "licensed" },
      livemode: false,
    });
    expect(growth?.id).toMatch(/^price_[A-Za-z0-9]{24}$/);
    // The SDK turns Stripe's decimal strings into its Decimal type: the wire carried "7900".
    expect(String(growth?.unit_amount_decimal)).toBe("7900");
    const product = growth?.product as Stripe.Product;
    expect(product).toMatchObject({ object: "product", name: "Growth", active: true, default_price: growth?.id });
    expect(product.id).toMatch(/^prod_/);

    const unexpanded = await stripe.prices.list({ lookup_keys: ["callflow_pro_monthly"] });
    expect(unexpanded.data).toHaveLength(1);
    expect(unexpanded.data[0]?.product).toBe(
      (await stripe.products.retrieve(unexpanded.data[0]?.product as string)).id,
    );
    expect((await stripe.prices.list({ active: false })).data).toEqual([]);
  });

  it("pages lists with limit and starting_after, newest first", async () => {
    const { stripe } = await setup();
    const first = await stripe.prices.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const rest = await stripe.prices.list({ limit: 2, starting_after: first.data[1]?.id });
    expect(rest.data).toHaveLength(1);
    expect(rest.has_more).toBe(false);
    expect([...first.data, ...rest.data].map((price) => price.lookup_key)).toEqual(
      fixtureCatalog.map((entry) => entry.lookupKey).reverse(),
    );
    const all: string[] = [];
    for await (const price of stripe.prices.list({ limit: 1 })) all.push(price.id);
    expect(all).toHaveLength(3);
  });

  it("creates, retrieves and updates customers with Stripe's metadata rules", async () => {
    const { stripe } = await setup();
    const customer = await stripe.customers.create(
      { name: "Rosa's Bakery", metadata: { organization_id: "org_rosa" } },
      { idempotencyKey: "org_rosa:customer" },
    );
    expect(customer).toMatchObject({
      object: "customer",
      name: "Rosa's Bakery",
      email: null,
      metadata: { organization_id: "org_rosa" },
      livemode: false,
      balance: 0,
      delinquent: false,
    });
    expect(customer.id).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    expect(customer.created).toBe(at("2027-01-31T10:00:00Z"));

    const fetched = await stripe.customers.retrieve(customer.id);
    expect(fetched).toMatchObject({ id: customer.id, name: "Rosa's Bakery" });

    const updated = await stripe.customers.update(customer.id, {
      email: "owner@rosas.example",
      metadata: { organization_id: "", plan: "starter" },
    });
    expect(updated).toMatchObject({ email: "owner@rosas.example", metadata: { plan: "starter" } });
    expect(updated.metadata).not.toHaveProperty("organization_id");
    const cleared = await stripe.customers.update(customer.id, { metadata: "", name: "" });
    expect(cleared.metadata).toEqual({});
    expect(cleared.name).toBeNull();
  });

  it("replays an idempotent request: the same key returns the same object, other parameters are refused", async () => {
    const { stripe, priceId } = await setup();
    const params = { name: "Northside", metadata: { organization_id: "org_north" } };
    const first = await stripe.customers.create(params, { idempotencyKey: "org_north:customer" });
    const second = await stripe.customers.create(params, { idempotencyKey: "org_north:customer" });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(first.lastResponse.headers["idempotent-replayed"]).toBeUndefined();

    const other = await failure(
      stripe.customers.create({ ...params, name: "Someone else" }, { idempotencyKey: "org_north:customer" }),
    );
    expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(other.message).toMatch(/same parameters they were first used with/);
    const elsewhere = await failure(
      stripe.checkout.sessions.create(
        {
          mode: "subscription",
          customer: first.id,
          line_items: [{ price: priceId("callflow_pro_monthly"), quantity: 1 }],
        },
        { idempotencyKey: "org_north:customer" },
      ),
    );
    expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(elsewhere.message).toMatch(/same endpoint/);

    // An answer the endpoint gave (a missing price) is kept for the key; a parse failure is not.
    const missing = {
      mode: "subscription" as const,
      customer: first.id,
      line_items: [{ price: "price_none", quantity: 1 }],
    };
    const once = await failure(stripe.checkout.sessions.create(missing, { idempotencyKey: "k-missing" }));
    const twice = await failure(stripe.checkout.sessions.create(missing, { idempotencyKey: "k-missing" }));
    expect([once.code, twice.code]).toEqual(["resource_missing", "resource_missing"]);
    expect(twice.headers?.["idempotent-replayed"]).toBe("true");
    const invalid = await failure(
      stripe.checkout.sessions.create(
        { ...missing, mode: "subscription", line_items: [] },
        { idempotencyKey: "k-fixed" },
      ),
    );
    expect(invalid.code).toBe("parameter_missing");
    const fixed = await stripe.checkout.sessions.create(
      { ...missing, line_items: [{ price: priceId("callflow_pro_monthly"), quantity: 1 }] },
      { idempotencyKey: "k-fixed" },
    );
    expect(fixed.status).toBe("open");
  });

  it("gives the SDK's automatic retry the first answer: one customer, replayed", async () => {
    const { sandbox } = await setup();
    const proxy = await startLossyProxy({ host: sandbox.host, port: sandbox.port }, 1);
    cleanups.push(proxy.stop);
    const stripe = new Stripe(fixtureSecretKey, {
      host: "127.0.0.1",
      port: proxy.port,
      protocol: "http",
      maxNetworkRetries: 2,
    });
    const customer = await stripe.customers.create({ name: "Retry Roofing" });
    expect(proxy.connections()).toBe(2);
    expect(customer.lastResponse.idempotencyKey).toMatch(/^stripe-node-retry-/);
    // The sandbox had created the customer on the first attempt; the retry got that answer back.
    expect(customer.lastResponse.headers["idempotent-replayed"]).toBe("true");
    const stored = (await stripeClient(sandbox).customers.retrieve(customer.id)) as Stripe.Customer;
    expect(stored.name).toBe("Retry Roofing");
  });

  it("refuses a wrong or missing key with the SDK's StripeAuthenticationError", async () => {
    const { sandbox } = await setup();
    const wrong = await failure(stripeClient(sandbox, "sk_test_notTheSandboxKey1234").customers.create({ name: "x" }));
    expect(wrong).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.message).toMatch(/^Invalid API Key provided: sk_test_\*+1234$/);

    const fixture = { sandbox } as Fixture;
    const none = await raw(fixture, "GET", "/v1/customers/cus_x", undefined, { Authorization: "" });
    expect(none.status).toBe(401);
    expect(none.json.error?.message).toMatch(/You did not provide an API key/);
    const basic = await raw(fixture, "GET", "/v1/prices", undefined, {
      Authorization: `Basic ${Buffer.from(`${fixtureSecretKey}:`).toString("base64")}`,
    });
    expect(basic.status).toBe(200);
  });

  it("answers an unknown id with StripeInvalidRequestError resource_missing", async () => {
    const { stripe } = await setup();
    const cases: [Promise<unknown>, string][] = [
      [stripe.customers.retrieve("cus_missing"), "No such customer: 'cus_missing'"],
      [stripe.subscriptions.retrieve("sub_missing"), "No such subscription: 'sub_missing'"],
      [stripe.checkout.sessions.retrieve("cs_test_missing"), "No such checkout.session: 'cs_test_missing'"],
      [stripe.customers.update("cus_missing", { name: "x" }), "No such customer: 'cus_missing'"],
      [stripe.subscriptions.cancel("sub_missing"), "No such subscription: 'sub_missing'"],
    ];
    for (const [call, message] of cases) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id", message });
      expect(error.doc_url).toBe("https://stripe.com/docs/error-codes/resource-missing");
    }
    const session = await failure(stripe.billingPortal.sessions.create({ customer: "cus_missing" }));
    expect(session).toMatchObject({ code: "resource_missing", param: "customer" });
  });

  it("creates a Checkout Session whose url is the sandbox's own page, and retrieves it", async () => {
    const { stripe, sandbox, priceId, receiver } = await setup();
    const customer = await stripe.customers.create({ name: "Northside", metadata: { organization_id: "org_1" } });
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: priceId("callflow_growth_monthly"), quantity: 1 }],
      success_url: `${receiver.url}/billing?session={CHECKOUT_SESSION_ID}`,
      cancel_url: `${receiver.url}/billing`,
      client_reference_id: "org_1",
      metadata: { organization_id: "org_1", plan: "growth" },
      subscription_data: { metadata: { organization_id: "org_1" } },
    });
    expect(session.id).toMatch(/^cs_test_[A-Za-z0-9]{58}$/);
    expect(session.url).toBe(`${sandbox.url}/c/pay/${session.id}`);
    expect(session).toMatchObject({
      object: "checkout.session",
      mode: "subscription",
      status: "open",
      payment_status: "unpaid",
      customer: customer.id,
      client_reference_id: "org_1",
      metadata: { organization_id: "org_1", plan: "growth" },
      amount_total: 7900,
      currency: "usd",
      subscription: null,
      expires_at: at("2027-02-01T10:00:00Z"),
      success_url: `${receiver.url}/billing?session={CHECKOUT_SESSION_ID}`,
    });
    const fetched = await stripe.checkout.sessions.retrieve(session.id);
    expect(fetched.url).toBe(session.url);
  });

  it("refuses Checkout parameters it does not take, in Stripe's words", async () => {
    const { stripe, priceId } = await setup();
    const line_items = [{ price: priceId("callflow_starter_monthly"), quantity: 1 }];
    const cases: [Stripe.Checkout.SessionCreateParams, Partial<Stripe.errors.StripeError>][] = [
      [
        { mode: "payment", line_items },
        { param: "mode", message: expect.stringMatching(/subscription mode only/) },
      ],
      [{ mode: "subscription" }, { param: "line_items", code: "parameter_missing" }],
      [
        { mode: "subscription", line_items: [{ quantity: 1 }] },
        { param: "line_items[0][price]", code: "parameter_missing" },
      ],
      [
        { mode: "subscription", line_items: [{ price: "price_nope", quantity: 1 }] },
        { param: "line_items[0][price]", code: "resource_missing", message: "No such price: 'price_nope'" },
      ],
      [
        { mode: "subscription", line_items, allow_promotion_codes: true },
        { param: "allow_promotion_codes", code: "parameter_unknown" },
      ],
      [
        { mode: "subscription", line_items, success_url: "javascript:alert(1)" },
        { param: "success_url", message: "Invalid success_url: Not a valid URL" },
      ],
      [
        { mode: "subscription", line_items, customer: "cus_x", customer_email: "a@b.example" },
        { code: "parameters_exclusive" },
      ],
      [
        { mode: "subscription", line_items, metadata: { ["k".repeat(41)]: "v" } },
        { param: `metadata[${"k".repeat(41)}]` },
      ],
    ];
    for (const [params, expected] of cases) {
      const error = await failure(stripe.checkout.sessions.create(params));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", ...expected });
    }
  });

  it("completes a checkout: an active subscription for a month, with the session's metadata", async () => {
    const { stripe, sandbox, subscribe } = await setup();
    const { customer, subscription } = await subscribe("callflow_starter_monthly");
    expect(subscription.id).toMatch(/^sub_/);
    expect(subscription).toMatchObject({
      object: "subscription",
      status: "active",
      customer: customer.id,
      currency: "usd",
      cancel_at_period_end: false,
      metadata: { organization_id: "org_1" },
      start_date: at("2027-01-31T10:00:00Z"),
      billing_cycle_anchor: at("2027-01-31T10:00:00Z"),
    });
    const [item] = subscription.items.data;
    expect(item?.id).toMatch(/^si_/);
    // Periods live on items in this API version; January 31st plus a month is February 28th.
    expect(item).toMatchObject({
      current_period_start: at("2027-01-31T10:00:00Z"),
      current_period_end: at("2027-02-28T10:00:00Z"),
      quantity: 1,
      price: { lookup_key: "callflow_starter_monthly", unit_amount: 2900 },
    });
    const invoice = (await stripe.subscriptions.retrieve(subscription.id, { expand: ["latest_invoice"] }))
      .latest_invoice as Stripe.Invoice;
    expect(invoice.id).toMatch(/^in_/);
    expect(invoice).toMatchObject({
      status: "paid",
      billing_reason: "subscription_create",
      amount_paid: 2900,
      customer: customer.id,
      parent: { type: "subscription_details", subscription_details: { subscription: subscription.id } },
    });
    expect(invoice.lines.data[0]?.description).toBe("1 × Starter (at $29.00 / month)");

    const session = sandbox.events.find((event) => event.type === "checkout.session.completed");
    const completed = await stripe.checkout.sessions.retrieve(session?.data.object.id as string, {
      expand: ["subscription"],
    });
    expect(completed).toMatchObject({ status: "complete", payment_status: "paid", customer: customer.id });
    expect((completed.subscription as Stripe.Subscription).id).toBe(subscription.id);
    const again = await failure(
      stripe.rawRequest("POST", `/v1/test_helpers/checkout/sessions/${completed.id}/complete`, {}),
    );
    expect(again.message).toBe("This Checkout Session is already complete.");
  });

  it("creates the customer at completion when the session names only an email, as Checkout does", async () => {
    const { stripe, sandbox, priceId } = await setup();
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer_email: "owner@newshop.example",
      line_items: [{ price: priceId("callflow_starter_monthly"), quantity: 2 }],
    });
    expect(session).toMatchObject({ customer: null, customer_creation: "always", amount_total: 5800 });
    const completed = sandbox.completeCheckout(session.id);
    const customer = (await stripe.customers.retrieve(completed.customer as string)) as Stripe.Customer;
    expect(customer).toMatchObject({ email: "owner@newshop.example", currency: "usd" });
    const subscription = await stripe.subscriptions.retrieve(completed.subscription as string, {
      expand: ["latest_invoice"],
    });
    expect(subscription.items.data[0]?.quantity).toBe(2);
    expect((subscription.latest_invoice as Stripe.Invoice).amount_paid).toBe(5800);
  });

  it("lists a customer's subscriptions: current ones by default, all with status=all", async () => {
    const { stripe, sandbox, subscribe, priceId } = await setup();
    const { customer, subscription: first } = await subscribe();
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: priceId("callflow_pro_monthly"), quantity: 1 }],
    });
    const second = sandbox.completeCheckout(session.id).subscription as string;
    await stripe.subscriptions.cancel(first.id);

    const current = await stripe.subscriptions.list({ customer: customer.id });
    expect(current.data.map((each) => each.id)).toEqual([second]);
    const all = await stripe.subscriptions.list({ customer: customer.id, status: "all", limit: 10 });
    expect(all.data.map((each) => each.id)).toEqual([second, first.id]);
    const canceled = await stripe.subscriptions.list({ customer: customer.id, status: "canceled" });
    expect(canceled.data.map((each) => each.status)).toEqual(["canceled"]);
    const one = await stripe.subscriptions.list({ customer: customer.id, status: "all", limit: 1 });
    expect(one.has_more).toBe(true);
    expect((await stripe.subscriptions.list({ customer: "cus_other", status: "all" })).data).toEqual([]);
  });

  it("changes the price through items and cancels at period end, each reported as customer.subscription.updated", async () => {
    const { stripe, sandbox, subscribe, priceId } = await setup();
    const { subscription } = await subscribe("callflow_starter_monthly");
    const item = subscription.items.data[0] as Stripe.SubscriptionItem;

    const upgraded = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item.id, price: priceId("callflow_pro_monthly") }],
      proration_behavior: "create_prorations",
    });
    expect(upgraded.items.data).toHaveLength(1);
    expect(upgraded.items.data[0]).toMatchObject({
      id: item.id,
      price: { lookup_key: "callflow_pro_monthly" },
      plan: { amount: 19900 },
      current_period_end: item.current_period_end,
    });
    const change = sandbox.events.at(-1);
    expect(change?.type).toBe("customer.subscription.updated");
    const previous = change?.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(previous).toEqual({ items: expect.objectContaining({ object: "list" }) });
    expect(previous.items?.data[0]?.price.lookup_key).toBe("callflow_starter_monthly");

    const canceling = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(canceling).toMatchObject({
      status: "active",
      cancel_at_period_end: true,
      cancel_at: item.current_period_end,
      canceled_at: at("2027-01-31T10:00:00Z"),
      cancellation_details: { reason: "cancellation_requested" },
    });
    expect(sandbox.events.at(-1)?.data.previous_attributes).toMatchObject({
      cancel_at_period_end: false,
      cancel_at: null,
    });
    const count = sandbox.events.length;
    await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(sandbox.events).toHaveLength(count);

    // Swapping through delete-and-add keeps one item; two items are refused with the reason.
    const swapped = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item.id, deleted: true }, { price: priceId("callflow_growth_monthly") }],
    });
    expect(swapped.items.data.map((each) => each.price.lookup_key)).toEqual(["callflow_growth_monthly"]);
    const two = await failure(
      stripe.subscriptions.update(subscription.id, { items: [{ price: priceId("callflow_pro_monthly") }] }),
    );
    expect(two.message).toMatch(/exactly one item/);
    const unknownItem = await failure(
      stripe.subscriptions.update(subscription.id, {
        items: [{ id: "si_nope", price: priceId("callflow_pro_monthly") }],
      }),
    );
    expect(unknownItem).toMatchObject({ code: "resource_missing", param: "items[0][id]" });
  });

  it("cancels a subscription at once: customer.subscription.deleted, and no more changes", async () => {
    const { stripe, sandbox, subscribe } = await setup();
    const { subscription } = await subscribe();
    const canceled = await stripe.subscriptions.cancel(subscription.id, {
      cancellation_details: { comment: "closing the shop", feedback: "unused" },
    });
    expect(canceled).toMatchObject({
      status: "canceled",
      canceled_at: at("2027-01-31T10:00:00Z"),
      ended_at: at("2027-01-31T10:00:00Z"),
      cancellation_details: { reason: "cancellation_requested", comment: "closing the shop", feedback: "unused" },
    });
    expect(sandbox.events.at(-1)).toMatchObject({
      type: "customer.subscription.deleted",
      data: { object: { id: subscription.id, status: "canceled" } },
    });
    const update = await failure(stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true }));
    expect(update.message).toBe("A canceled subscription can only update its cancellation_details and metadata.");
    const metadataOnly = await stripe.subscriptions.update(subscription.id, { metadata: { note: "kept" } });
    expect(metadataOnly.metadata).toEqual({ organization_id: "org_1", note: "kept" });
    const twice = await failure(stripe.subscriptions.cancel(subscription.id));
    expect(twice).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it("creates portal sessions whose url is the sandbox's portal page", async () => {
    const { stripe, sandbox, subscribe, receiver } = await setup();
    const { customer } = await subscribe();
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: `${receiver.url}/billing`,
    });
    expect(portal.id).toMatch(/^bps_/);
    expect(portal).toMatchObject({
      object: "billing_portal.session",
      customer: customer.id,
      return_url: `${receiver.url}/billing`,
      livemode: false,
      url: `${sandbox.url}/p/session/${portal.id}`,
    });
    expect(portal.configuration).toMatch(/^bpc_/);
  });

  it("expands nested ids and refuses what cannot be expanded", async () => {
    const { stripe, sandbox, subscribe } = await setup();
    const { subscription } = await subscribe();
    const expanded = await stripe.subscriptions.retrieve(subscription.id, {
      expand: ["customer", "items.data.price.product", "latest_invoice.customer"],
    });
    expect((expanded.customer as Stripe.Customer).name).toBe("Northside Plumbing");
    const product = expanded.items.data[0]?.price.product as Stripe.Product;
    expect(product.name).toBe("Starter");
    expect(((expanded.latest_invoice as Stripe.Invoice).customer as Stripe.Customer).object).toBe("customer");
    for (const path of ["status", "id", "nothing_here", "items", "items.data", "items.data.price", "__proto__"]) {
      const error = await failure(stripe.subscriptions.retrieve(subscription.id, { expand: [path] }));
      expect(error).toMatchObject({ param: "expand", message: `This property cannot be expanded (${path}).` });
    }
    const listed = await stripe.subscriptions.list({ expand: ["data.customer"] });
    const listedCustomer = listed.data[0]?.customer as Stripe.Customer;
    expect(listedCustomer.id).toBe(subscription.customer);
    const deep = "subscription.items.data.price.product.default_price.product.default_price";
    const session = sandbox.events.find((event) => event.type === "checkout.session.completed")?.data.object.id;
    const refused = await failure(stripe.checkout.sessions.retrieve(session as string, { expand: [deep] }));
    expect(refused.message).toBe(`You cannot expand more than 4 levels of a property. Property: ${deep}`);
  });

  it("checks a request whole before changing anything: a refused update leaves no trace", async () => {
    const { stripe, sandbox, subscribe } = await setup();
    const { customer, subscription } = await subscribe();
    const events = sandbox.events.length;
    const badExpand = await failure(
      stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true, expand: ["nothing_here"] }),
    );
    expect(badExpand.param).toBe("expand");
    const tooMany = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key${i}`, "v"]));
    const badMetadata = await failure(
      stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true, metadata: tooMany }),
    );
    expect(badMetadata.message).toBe("Invalid metadata: may have at most 50 keys.");
    const badItem = await failure(
      stripe.subscriptions.update(subscription.id, {
        cancel_at_period_end: true,
        items: [{ id: "si_nope", price: "x" }],
      }),
    );
    expect(badItem.code).toBe("resource_missing");
    expect(await stripe.subscriptions.retrieve(subscription.id)).toMatchObject({
      cancel_at_period_end: false,
      metadata: { organization_id: "org_1" },
    });
    expect(sandbox.events).toHaveLength(events);

    const { key0: _, ...fortyNine } = tooMany;
    const full = await stripe.customers.update(customer.id, { metadata: fortyNine });
    expect(Object.keys(full.metadata)).toHaveLength(50);
    const over = await failure(stripe.customers.update(customer.id, { name: "Renamed", metadata: { one_more: "x" } }));
    expect(over.message).toBe("Invalid metadata: may have at most 50 keys.");
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).name).toBe("Northside Plumbing");
  });

  it("refuses another API version than the one it serves", async () => {
    const { sandbox } = await setup();
    const old = new Stripe(fixtureSecretKey, {
      host: sandbox.host,
      port: sandbox.port,
      protocol: "http",
      apiVersion: "2024-06-20" as Stripe.LatestApiVersion,
    });
    const error = await failure(old.customers.create({ name: "x" }));
    expect(error.message).toMatch(/serves API version 2026-10-28\.endive only; this request asked for 2024-06-20/);
  });

  it("refuses options it cannot run with", async () => {
    const base = {
      secretKey: fixtureSecretKey,
      webhookUrl: "http://127.0.0.1:1/webhooks/stripe",
      webhookSecret: fixtureWebhookSecret,
      catalog: fixtureCatalog,
    };
    await expect(startStripeSandbox({ ...base, secretKey: "sk_live_realKey12345" })).rejects.toThrow(/test key/);
    const local = await startStripeSandbox({ ...base, secretKey: STRIPE_SANDBOX_LOCAL_SECRET_KEY });
    cleanups.push(local.stop);
    expect((await stripeClient(local, STRIPE_SANDBOX_LOCAL_SECRET_KEY).prices.list()).data).toHaveLength(3);
    await expect(startStripeSandbox({ ...base, webhookSecret: "secret" })).rejects.toThrow(/whsec_/);
    await expect(
      startStripeSandbox({ ...base, catalog: [...fixtureCatalog, fixtureCatalog[0] as StripeCatalogEntry] }),
    ).rejects.toThrow(/unique/);
    await expect(
      startStripeSandbox({ ...base, catalog: [{ ...(fixtureCatalog[0] as StripeCatalogEntry), currency: "USD" }] }),
    ).rejects.toThrow(/lower-case/);
  });
});

describe("Stripe sandbox, malformed requests", () => {
  it.each([
    ["deep nesting", "metadata[a][b][c][d][e][f]=1", /nested deeper than 5 levels/],
    ["a name both text and hash", "name=x&name[first]=y", /Conflicting values for parameter "name"/],
    ["a prototype key", "metadata[__proto__][polluted]=1", /Invalid parameter name/],
    ["a broken percent-escape", "name=%E0%A4%A", /malformed percent-escape/],
    ["an array with a gap", "expand[3]=customer", /without gaps/],
    ["an unbalanced bracket", `name${"[".repeat(50_000)}=x`, /unbalanced bracket/],
    ["too many pairs", Array.from({ length: 1_500 }, (_, i) => `m${i}=1`).join("&"), /at most 1000/],
    ["an unknown parameter", "name=x&nickname=y", /Received unknown parameter: nickname/],
    ["text where a hash goes", "metadata[a]=1&metadata[b][c]=2", /Invalid metadata\[b\]/],
  ])("answers %s with a 400 in Stripe's shape", async (_, body, message) => {
    const fixture = await setup();
    const response = await raw(fixture, "POST", "/v1/customers", body);
    expect(response.status).toBe(400);
    expect(response.json.error?.type).toBe("invalid_request_error");
    expect(response.json.error?.message).toMatch(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Still serving.
    expect((await raw(fixture, "GET", "/v1/prices")).status).toBe(200);
  });

  it("answers a 1 MB body with 413 and keeps serving", async () => {
    const fixture = await setup();
    const response = await raw(fixture, "POST", "/v1/customers", `name=${"x".repeat(1024 * 1024)}`);
    expect(response.status).toBe(413);
    expect(response.json.error?.message).toMatch(/too large/);
    const page = await fetch(`${fixture.sandbox.url}/c/pay/cs_test_x`, {
      method: "POST",
      body: "x".repeat(1024 * 1024),
    });
    expect(page.status).toBe(413);
    expect((await fixture.stripe.prices.list()).data).toHaveLength(3);
  });

  it("answers bodies that are not Stripe's form encoding, parameters in a POST's URL, and unknown routes", async () => {
    const fixture = await setup();
    const json = await raw(fixture, "POST", "/v1/customers", JSON.stringify({ name: "x" }), {
      "Content-Type": "application/json",
    });
    expect(json).toMatchObject({ status: 400, json: { error: { message: expect.stringMatching(/form-urlencoded/) } } });
    const query = await raw(fixture, "POST", "/v1/customers?name=x", "");
    expect(query.status).toBe(400);
    const route = await raw(fixture, "GET", "/v1/charges");
    expect(route).toMatchObject({
      status: 404,
      json: {
        error: {
          type: "invalid_request_error",
          message: expect.stringMatching(/^Unrecognized request URL \(GET: \/v1\/charges\)/),
        },
      },
    });
    const limit = await raw(fixture, "GET", "/v1/prices?limit=1000");
    expect(limit.json.error?.message).toBe("Invalid limit: must be between 1 and 100");
    const integer = await raw(fixture, "GET", "/v1/prices?limit=ten");
    expect(integer.json.error).toMatchObject({ code: "parameter_invalid_integer", param: "limit" });
    const key = await raw(fixture, "POST", "/v1/customers", "name=x", { "Idempotency-Key": "k".repeat(256) });
    expect(key.json.error?.message).toMatch(/Idempotency-Key is too long/);
  });
});
