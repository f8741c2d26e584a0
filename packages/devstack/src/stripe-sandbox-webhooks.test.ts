import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import { type Fixture, fixtureWebhookSecret, startFixture } from "./stripe-sandbox-fixture.ts";
import { signStripePayload } from "./stripe-sandbox-webhooks.ts";

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

describe("Stripe sandbox webhooks", () => {
  it("signs exactly as Stripe does: the SDK's test header for the same payload and time is identical", () => {
    const payload = JSON.stringify({ id: "evt_1", object: "event" }, null, 2);
    const timestamp = 1_800_000_000;
    expect(signStripePayload(payload, fixtureWebhookSecret, timestamp)).toBe(
      Stripe.webhooks.generateTestHeaderString({ payload, secret: fixtureWebhookSecret, timestamp }),
    );
  });

  it("posts real event envelopes that the SDK verifies, and that fail with another secret or a re-serialised body", async () => {
    const fixture = await setup();
    const { customer, subscription } = await fixture.subscribe();
    await fixture.sandbox.whenIdle();
    const [delivery] = fixture.receiver.received;
    expect(delivery?.verifyError).toBeNull();
    const event = delivery?.event as Stripe.CustomerSubscriptionCreatedEvent;
    expect(event).toMatchObject({
      object: "event",
      api_version: Stripe.API_VERSION,
      created: at("2027-01-31T10:00:00Z"),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: "customer.subscription.created",
      data: { object: { id: subscription.id, object: "subscription", customer: customer.id, status: "active" } },
    });
    expect(event.id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    expect(fixture.sandbox.events[0]?.id).toBe(event.id);
    // The timestamp in the header is the real sending time, whatever the sandbox's clock says.
    const signedAt = Number(delivery?.signature.match(/^t=(\d+),/)?.[1]);
    expect(Math.abs(signedAt - Date.now() / 1000)).toBeLessThan(60);

    const raw = delivery?.raw as string;
    const signature = delivery?.signature as string;
    expect(() => Stripe.webhooks.constructEvent(raw, signature, "whsec_anotherEndpointSecret", 300)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() =>
      Stripe.webhooks.constructEvent(JSON.stringify(JSON.parse(raw)), signature, fixtureWebhookSecret, 300),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() =>
      Stripe.webhooks.constructEvent(raw, signature, fixtureWebhookSecret, 300, undefined, (signedAt + 301) * 1000),
    ).toThrow(/Timestamp outside the tolerance zone/);
  });

  it("names the API request that caused an event", async () => {
    const fixture = await setup();
    const { subscription } = await fixture.subscribe();
    const updated = await fixture.stripe.subscriptions.update(
      subscription.id,
      { cancel_at_period_end: true },
      { idempotencyKey: "cancel-at-end-1" },
    );
    await fixture.sandbox.whenIdle();
    const event = fixture.receiver.events().at(-1);
    expect(event?.type).toBe("customer.subscription.updated");
    expect(event?.request).toEqual({ id: updated.lastResponse.requestId, idempotency_key: "cancel-at-end-1" });
  });

  it("retries a failing endpoint, recording each attempt, and gives up after the last", async () => {
    // The endpoint fails each event's first delivery, then answers 200.
    const seen = new Set<string>();
    const fixture = await setup({
      answer: (_, event) => {
        const first = event !== null && !seen.has(event.id);
        if (event) seen.add(event.id);
        return first ? 500 : 200;
      },
    });
    await fixture.subscribe();
    await fixture.sandbox.whenIdle();
    expect(fixture.sandbox.events).toHaveLength(3);
    for (const event of fixture.sandbox.events) {
      const attempts = fixture.sandbox.deliveries.filter((delivery) => delivery.eventId === event.id);
      expect(attempts.map((each) => [each.attempt, each.responseStatus, each.error])).toEqual([
        [1, 500, "the endpoint answered HTTP 500"],
        [2, 200, null],
      ]);
    }
    // Every event got through in the end, each verified.
    const delivered = new Set(fixture.receiver.events().map((event) => event.id));
    expect(delivered).toEqual(new Set(fixture.sandbox.events.map((event) => event.id)));

    const down = await setup({ answer: () => 503 });
    await down.subscribe();
    await down.sandbox.whenIdle();
    const attempts = down.sandbox.deliveries.filter((each) => each.eventId === down.sandbox.events[0]?.id);
    // One attempt and one retry per configured delay ([20, 40] ms in the fixture), then no more.
    expect(attempts.map((each) => each.attempt)).toEqual([1, 2, 3]);
    expect(attempts.every((each) => each.responseStatus === 503)).toBe(true);
  });

  it("counts a redirect or no answer as a failure", async () => {
    const redirected = await setup({ answer: () => 302, deliveryRetryDelaysMs: [] });
    await redirected.subscribe();
    await redirected.sandbox.whenIdle();
    expect(redirected.sandbox.deliveries[0]).toMatchObject({
      responseStatus: 302,
      error: "the endpoint answered HTTP 302",
    });

    const gone = await setup({ deliveryRetryDelaysMs: [] });
    await gone.receiver.stop();
    await gone.subscribe();
    await gone.sandbox.whenIdle();
    expect(gone.sandbox.deliveries).toHaveLength(3);
    for (const delivery of gone.sandbox.deliveries) {
      expect(delivery.responseStatus).toBeNull();
      expect(delivery.error).toMatch(/^no answer from the endpoint: ECONNREFUSED/);
    }
  });

  it("resends an event: same id and payload, a fresh signature", async () => {
    const fixture = await setup();
    await fixture.subscribe();
    await fixture.sandbox.whenIdle();
    const original = fixture.receiver.received[0];
    const event = fixture.sandbox.resendEvent(fixture.sandbox.events[0]?.id as string);
    await fixture.sandbox.whenIdle();
    const repeat = fixture.receiver.received.at(-1);
    expect(repeat?.event?.id).toBe(event.id);
    expect(repeat?.raw).toBe(original?.raw);
    expect(repeat?.verifyError).toBeNull();
    expect(() => fixture.sandbox.resendEvent("evt_unknown")).toThrow("No such event: 'evt_unknown'");
    const overHttp = await fixture.stripe.rawRequest("POST", `/v1/test_helpers/events/${event.id}/resend`, {});
    expect((overHttp as unknown as { id: string }).id).toBe(event.id);
  });

  it("holds events and releases them out of order: updated before created", async () => {
    const fixture = await setup();
    fixture.sandbox.holdEvents();
    const { subscription } = await fixture.subscribe();
    await fixture.stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0]?.id, price: fixture.priceId("callflow_pro_monthly") }],
    });
    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.received).toEqual([]);
    fixture.sandbox.releaseEvents("reversed");
    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.types()).toEqual([
      "customer.subscription.updated",
      "checkout.session.completed",
      "invoice.paid",
      "customer.subscription.created",
    ]);

    // Or an exact order by id; ids not listed follow in the order they happened.
    fixture.receiver.received.splice(0);
    fixture.sandbox.holdEvents();
    fixture.sandbox.renewPeriod(subscription.id);
    fixture.sandbox.failRenewal(subscription.id);
    const [paid, renewed, failed, pastDue] = fixture.sandbox.events.slice(-4);
    expect(() => fixture.sandbox.releaseEvents(["evt_not_held"])).toThrow(
      "Event evt_not_held is not among the held events.",
    );
    fixture.sandbox.releaseEvents([pastDue?.id as string, renewed?.id as string]);
    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.events().map((event) => event.id)).toEqual([
      pastDue?.id,
      renewed?.id,
      paid?.id,
      failed?.id,
    ]);
  });
});

describe("Stripe sandbox billing controls", () => {
  it("renews a period: the next month, a paid invoice, and the subscription's new period", async () => {
    const fixture = await setup();
    const { subscription } = await fixture.subscribe();
    await fixture.sandbox.whenIdle();
    fixture.receiver.received.splice(0);

    fixture.sandbox.renewPeriod(subscription.id);
    const renewed = await fixture.stripe.subscriptions.retrieve(subscription.id, { expand: ["latest_invoice"] });
    // Anchored on January 31st: February 28th, then March 31st (not March 28th).
    expect(renewed.items.data[0]).toMatchObject({
      current_period_start: at("2027-02-28T10:00:00Z"),
      current_period_end: at("2027-03-31T10:00:00Z"),
    });
    const invoice = renewed.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      status: "paid",
      billing_reason: "subscription_cycle",
      amount_paid: 2900,
      period_start: at("2027-01-31T10:00:00Z"),
      period_end: at("2027-02-28T10:00:00Z"),
    });
    expect(invoice.lines.data[0]?.period).toEqual({
      start: at("2027-02-28T10:00:00Z"),
      end: at("2027-03-31T10:00:00Z"),
    });
    expect(invoice.number).toMatch(/^[A-Z0-9]{8}-0002$/);

    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.types()).toEqual(["invoice.paid", "customer.subscription.updated"]);
    const updated = fixture.receiver.events()[1] as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(updated.data.previous_attributes?.items?.data[0]?.current_period_end).toBe(at("2027-02-28T10:00:00Z"));
    expect(updated.data.previous_attributes?.latest_invoice).toBe(subscription.latest_invoice);
  });

  it("puts a subscription past_due as a declined renewal does, and recovers it", async () => {
    const fixture = await setup();
    const { customer, subscription } = await fixture.subscribe();
    await fixture.sandbox.whenIdle();
    fixture.receiver.received.splice(0);

    const pastDue = fixture.sandbox.failRenewal(subscription.id);
    expect(pastDue.status).toBe("past_due");
    const open = await fixture.stripe.invoices.retrieve(pastDue.latest_invoice as string);
    expect(open).toMatchObject({
      status: "open",
      amount_due: 2900,
      amount_paid: 0,
      amount_remaining: 2900,
      attempted: true,
    });
    expect(((await fixture.stripe.customers.retrieve(customer.id)) as Stripe.Customer).delinquent).toBe(true);
    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.types()).toEqual(["invoice.payment_failed", "customer.subscription.updated"]);
    const failed = fixture.receiver.events()[1] as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(failed.data.object.status).toBe("past_due");
    expect(failed.data.previous_attributes?.status).toBe("active");
    // Stripe starts the new period when it invoices, paid or not.
    expect(failed.data.object.items.data[0]?.current_period_start).toBe(at("2027-02-28T10:00:00Z"));

    expect(() => fixture.sandbox.renewPeriod(subscription.id)).toThrow(/it is past_due, and this needs active/);
    fixture.receiver.received.splice(0);
    const recovered = fixture.sandbox.recoverPayment(subscription.id);
    expect(recovered.status).toBe("active");
    expect((await fixture.stripe.invoices.retrieve(open.id)).status).toBe("paid");
    expect(((await fixture.stripe.customers.retrieve(customer.id)) as Stripe.Customer).delinquent).toBe(false);
    await fixture.sandbox.whenIdle();
    expect(fixture.receiver.types()).toEqual(["invoice.paid", "customer.subscription.updated"]);
    const back = fixture.receiver.events()[1] as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(back.data.previous_attributes).toEqual({ status: "past_due" });
    expect(() => fixture.sandbox.recoverPayment(subscription.id)).toThrow(/it is active, and this needs past_due/);
  });

  it("ends a subscription set to cancel at period end when the period ends", async () => {
    const fixture = await setup();
    const { subscription } = await fixture.subscribe();
    await fixture.stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    const ended = fixture.sandbox.renewPeriod(subscription.id);
    expect(ended).toMatchObject({ status: "canceled", ended_at: at("2027-02-28T10:00:00Z") });
    expect(fixture.sandbox.events.at(-1)?.type).toBe("customer.subscription.deleted");
  });

  it("offers the controls over HTTP under /v1/test_helpers, with the secret key", async () => {
    const fixture = await setup();
    const { subscription } = await fixture.subscribe();
    const control = (name: string) =>
      fixture.stripe.rawRequest(
        "POST",
        `/v1/test_helpers/subscriptions/${subscription.id}/${name}`,
        {},
      ) as unknown as Promise<Stripe.Subscription>;
    expect((await control("fail_renewal")).status).toBe("past_due");
    expect((await control("recover")).status).toBe("active");
    const renewed = await control("renew");
    expect(renewed.items.data[0]?.current_period_end).toBe(at("2027-04-30T10:00:00Z"));
    const refused = await control("recover").catch((error: Stripe.errors.StripeError) => error);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const missing = await fixture.stripe
      .rawRequest("POST", "/v1/test_helpers/subscriptions/sub_nope/renew", {})
      .catch((error: Stripe.errors.StripeError) => error);
    expect(missing).toMatchObject({ code: "resource_missing", statusCode: 404 });
  });
});
