import type Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { type Fixture, startFixture } from "./stripe-sandbox-fixture.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(): Promise<Fixture> {
  const fixture = await startFixture();
  cleanups.push(fixture.stop);
  return fixture;
}

/** A browser's visit: the page's HTML, its headers and status, redirects not followed. */
async function visit(url: string, form?: Record<string, string>) {
  const response = await fetch(url, {
    method: form ? "POST" : "GET",
    redirect: "manual",
    ...(form
      ? { headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() }
      : {}),
  });
  return { status: response.status, headers: response.headers, html: await response.text() };
}

/** The action of the form whose submit button says `label`. */
function formAction(html: string, label: string): string {
  for (const form of html.split("<form").slice(1)) {
    if (form.includes(`>${label}</button>`)) {
      const action = form.match(/action="([^"]+)"/)?.[1];
      if (action) return action;
    }
  }
  throw new Error(`no form with a "${label}" button in:\n${html}`);
}

async function openCheckout(fixture: Fixture, lookupKey = "callflow_growth_monthly") {
  const customer = await fixture.stripe.customers.create({
    name: "Northside Plumbing",
    metadata: { organization_id: "org_1" },
  });
  const session = await fixture.stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customer.id,
    line_items: [{ price: fixture.priceId(lookupKey), quantity: 1 }],
    success_url: `${fixture.receiver.url}/billing?checkout=success&session={CHECKOUT_SESSION_ID}`,
    cancel_url: `${fixture.receiver.url}/billing?checkout=canceled`,
    client_reference_id: "org_1",
    metadata: { organization_id: "org_1" },
    subscription_data: { metadata: { organization_id: "org_1" } },
  });
  return { customer, session };
}

describe("Stripe sandbox Checkout page", () => {
  it("shows the plan and price, and one button subscribes, posts signed events and redirects like Stripe", async () => {
    const fixture = await setup();
    const { stripe, sandbox, receiver } = fixture;
    const { customer, session } = await openCheckout(fixture);

    const page = await visit(session.url as string);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page.html).toContain("<h1>Subscribe to Growth</h1>");
    expect(page.html).toContain("<strong>$79.00</strong> per month");
    expect(page.html).toContain("Northside Plumbing");
    expect(page.html).toContain(`<a href="${receiver.url}/billing?checkout=canceled">Cancel and go back</a>`);
    expect(page.html).not.toContain("<script");

    const submitted = await visit(new URL(formAction(page.html, "Subscribe"), sandbox.url).href, {});
    expect(submitted.status).toBe(303);
    const location = submitted.headers.get("location") as string;
    expect(location).toBe(`${receiver.url}/billing?checkout=success&session=${session.id}`);
    expect((await fetch(location)).status).toBe(200);
    expect(receiver.visits).toEqual([`/billing?checkout=success&session=${session.id}`]);

    const [subscription] = (await stripe.subscriptions.list({ customer: customer.id, status: "all" })).data;
    expect(subscription).toMatchObject({
      status: "active",
      metadata: { organization_id: "org_1" },
      items: { data: [{ price: { lookup_key: "callflow_growth_monthly" } }] },
    });

    await sandbox.whenIdle();
    expect(receiver.types()).toEqual(["customer.subscription.created", "invoice.paid", "checkout.session.completed"]);
    for (const delivery of receiver.received) {
      expect(delivery.verifyError).toBeNull();
      expect(delivery.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    }
    const completed = receiver.events().at(-1) as Stripe.CheckoutSessionCompletedEvent;
    expect(completed.data.object).toMatchObject({
      id: session.id,
      status: "complete",
      payment_status: "paid",
      client_reference_id: "org_1",
      customer: customer.id,
      subscription: subscription?.id,
    });

    // A second click (or a reload of the POST) lands in the same place and subscribes nobody twice.
    const again = await visit(new URL(formAction(page.html, "Subscribe"), sandbox.url).href, {});
    expect(again).toMatchObject({ status: 303 });
    expect(again.headers.get("location")).toBe(location);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: "all" })).data).toHaveLength(1);
    const closed = await visit(session.url as string);
    expect(closed.html).toContain("Thanks, you are subscribed");
  });

  it("an expired session can no longer subscribe", async () => {
    const fixture = await setup();
    const { session } = await openCheckout(fixture);
    fixture.clock.advance(24 * 60 * 60 * 1000);
    const page = await visit(session.url as string);
    expect(page.html).toContain("This Checkout Session has expired");
    const submitted = await visit(session.url as string, {});
    expect(submitted.status).toBe(410);
    expect(() => fixture.sandbox.completeCheckout(session.id)).toThrow("This Checkout Session has expired.");
    expect((await fixture.stripe.checkout.sessions.retrieve(session.id)).status).toBe("expired");
    expect(fixture.sandbox.events).toEqual([]);
  });

  it("answers unknown sessions and methods with pages, not errors", async () => {
    const fixture = await setup();
    const missing = await visit(`${fixture.sandbox.url}/c/pay/cs_test_doesNotExist`);
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('<html lang="en">');
    expect((await visit(`${fixture.sandbox.url}/elsewhere`)).status).toBe(404);
    const { session } = await openCheckout(fixture);
    expect((await fetch(session.url as string, { method: "PUT" })).status).toBe(405);
  });

  it("completes through the test-helper route the simulate:checkout command uses, with the secret key", async () => {
    const fixture = await setup();
    const { session } = await openCheckout(fixture);
    const route = `${fixture.sandbox.url}/v1/test_helpers/checkout/sessions/${session.id}/complete`;
    const anonymous = await fetch(route, { method: "POST" });
    expect(anonymous.status).toBe(401);
    const completed = (await fixture.stripe.rawRequest(
      "POST",
      `/v1/test_helpers/checkout/sessions/${session.id}/complete`,
      {},
    )) as unknown as Stripe.Checkout.Session;
    expect(completed).toMatchObject({
      id: session.id,
      status: "complete",
      subscription: expect.stringMatching(/^sub_/),
    });
    await fixture.sandbox.whenIdle();
    const created = fixture.receiver.events()[0] as Stripe.CustomerSubscriptionCreatedEvent;
    // Caused by an API request: the event names it, as Stripe's do.
    expect(created.request?.id).toMatch(/^req_/);
  });
});

describe("Stripe sandbox portal page", () => {
  async function openPortal(fixture: Fixture) {
    const { customer, subscription } = await fixture.subscribe("callflow_starter_monthly");
    const portal = await fixture.stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: `${fixture.receiver.url}/billing`,
    });
    await fixture.sandbox.whenIdle();
    fixture.receiver.received.splice(0);
    return { customer, subscription, portal };
  }

  it("shows the current plan with accessible controls to change it", async () => {
    const fixture = await setup();
    const { portal } = await openPortal(fixture);
    const page = await visit(portal.url);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<html lang="en">');
    expect(page.html).toContain("<h1>Billing for Northside Plumbing</h1>");
    expect(page.html).toContain("Current plan: Starter");
    expect(page.html).toContain("$29.00 per month. Renews on February 28, 2027.");
    expect(page.html).toContain("Status: <strong>Active</strong>");
    expect(page.html).toContain("<legend>Change plan</legend>");
    for (const [id, text] of [
      [fixture.priceId("callflow_growth_monthly"), "Growth: $79.00 per month"],
      [fixture.priceId("callflow_pro_monthly"), "Pro: $199.00 per month"],
    ]) {
      expect(page.html).toContain(`<input type="radio" id="price-${id}" name="price" value="${id}" required>`);
      expect(page.html).toContain(`<label for="price-${id}">${text}</label>`);
    }
    expect(page.html).not.toContain(`value="${fixture.priceId("callflow_starter_monthly")}"`);
    expect(page.html).toContain(`<a href="${fixture.receiver.url}/billing">Return to the app</a>`);
  });

  it("changes plan: customer.subscription.updated with the old price, then back to return_url", async () => {
    const fixture = await setup();
    const { portal, subscription } = await openPortal(fixture);
    const page = await visit(portal.url);
    const growth = fixture.priceId("callflow_growth_monthly");
    const changed = await visit(new URL(formAction(page.html, "Change plan"), fixture.sandbox.url).href, {
      price: growth,
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.get("location")).toBe(`${fixture.receiver.url}/billing`);

    const after = await fixture.stripe.subscriptions.retrieve(subscription.id);
    expect(after.items.data[0]?.price.id).toBe(growth);
    await fixture.sandbox.whenIdle();
    const [updated] = fixture.receiver.events() as Stripe.CustomerSubscriptionUpdatedEvent[];
    expect(updated?.type).toBe("customer.subscription.updated");
    expect(updated?.data.object.items.data[0]?.price.lookup_key).toBe("callflow_growth_monthly");
    expect(updated?.data.previous_attributes?.items?.data[0]?.price.lookup_key).toBe("callflow_starter_monthly");
    expect((await visit(portal.url)).html).toContain("Current plan: Growth");
  });

  it("cancels at period end and takes it back, then cancels now", async () => {
    const fixture = await setup();
    const { portal, subscription } = await openPortal(fixture);
    const url = (label: string, html: string) => new URL(formAction(html, label), fixture.sandbox.url).href;

    let page = await visit(portal.url);
    expect((await visit(url("Cancel at the end of the period", page.html), {})).status).toBe(303);
    expect(await fixture.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({
      status: "active",
      cancel_at_period_end: true,
    });
    page = await visit(portal.url);
    expect(page.html).toContain("Cancels on February 28, 2027.");
    expect((await visit(url("Don't cancel", page.html), {})).status).toBe(303);
    expect((await fixture.stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(false);

    page = await visit(portal.url);
    const canceled = await visit(url("Cancel now", page.html), {});
    expect(canceled.headers.get("location")).toBe(`${fixture.receiver.url}/billing`);
    expect((await fixture.stripe.subscriptions.retrieve(subscription.id)).status).toBe("canceled");
    expect((await visit(portal.url)).html).toContain("There is no current subscription.");

    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.types()).toEqual([
      "customer.subscription.updated",
      "customer.subscription.updated",
      "customer.subscription.deleted",
    ]);
    const [cancel, keep] = fixture.receiver.events() as Stripe.CustomerSubscriptionUpdatedEvent[];
    expect(cancel?.data.object.cancel_at_period_end).toBe(true);
    expect(cancel?.data.previous_attributes?.cancel_at_period_end).toBe(false);
    expect(keep?.data.object.cancel_at_period_end).toBe(false);
  });

  it("refuses actions it cannot take, with a page that says why", async () => {
    const fixture = await setup();
    const { portal, subscription } = await openPortal(fixture);
    const base = `${fixture.sandbox.url}/p/session/${portal.id}/subscriptions/${subscription.id}`;
    const noPlan = await visit(`${base}/change-plan`, {});
    expect(noPlan.status).toBe(400);
    expect(noPlan.html).toContain('<p role="alert">Choose a plan first.</p>');
    const badPlan = await visit(`${base}/change-plan`, { price: "price_unknown" });
    expect(badPlan.status).toBe(400);
    expect(badPlan.html).toContain("No such price: &#39;price_unknown&#39;");
    expect((await visit(`${base}/refund-everything`, {})).status).toBe(404);
    expect((await visit(`${base}/change-plan`)).status).toBe(405);

    // Another customer's subscription is not reachable from this portal session.
    const other = await fixture.subscribe("callflow_pro_monthly");
    const foreign = await visit(
      `${fixture.sandbox.url}/p/session/${portal.id}/subscriptions/${other.subscription.id}/cancel-now`,
      {},
    );
    expect(foreign.status).toBe(404);
    expect((await fixture.stripe.subscriptions.retrieve(other.subscription.id)).status).toBe("active");
    expect((await visit(`${fixture.sandbox.url}/p/session/bps_unknown`)).status).toBe(404);
  });

  it("escapes what customers and callers wrote", async () => {
    const fixture = await setup();
    const customer = await fixture.stripe.customers.create({ name: '<img src=x onerror="alert(1)">' });
    const session = await fixture.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: fixture.priceId("callflow_starter_monthly"), quantity: 1 }],
      cancel_url: 'https://example.com/?q="><script>alert(1)</script>',
    });
    const page = await visit(session.url as string);
    expect(page.html).not.toContain("<img src=x");
    expect(page.html).not.toContain("<script>");
    expect(page.html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });
});
