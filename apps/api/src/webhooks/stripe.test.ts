// POST /webhooks/stripe: Stripe-Signature checked with the stripe SDK on the raw body (a
// matrix of headers made by the SDK's own generateTestHeaderString), each event counted once,
// and what CallFlow does with events it does not handle or customers it does not know.
import { ORG_A, testLanes } from "@callflow/db/testing";
import { createStripeBilling } from "@callflow/providers";
import { sql } from "kysely";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../test-api.ts";

const SECRET = "whsec_callflowStripeWebhookTestSecret01";
const PREVIOUS_SECRET = "whsec_callflowStripeWebhookTestSecret00";
const CUSTOMER = "cus_TestWebhookCustomerA";
const stripe = new Stripe("sk_test_unused");

const eventOf = (id: string, type: string, customer = CUSTOMER) =>
  JSON.stringify(
    {
      id,
      object: "event",
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: { id: "sub_TestWebhook", object: "subscription", customer, status: "active" } },
    },
    null,
    2,
  );

describe.each(testLanes())("POST /webhooks/stripe on %s", (lane) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(lane, {
      billing: createStripeBilling({ secretKey: "sk_test_unused", webhookSecrets: [SECRET, PREVIOUS_SECRET] }),
    });
    await api.scratch.database.withService((tx) =>
      tx
        .updateTable("subscriptions")
        .set({ stripe_customer_id: CUSTOMER })
        .where("organization_id", "=", ORG_A)
        .execute(),
    );
  });
  afterAll(() => api?.close());
  beforeEach(async () => {
    await sql`delete from app.event_outbox`.execute(api.scratch.database.owner);
  });

  const post = (payload: string, signature: string | null) =>
    fetch(`${api.url}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature === null ? {} : { "stripe-signature": signature }) },
      body: payload,
    });
  const signed = (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
    stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? SECRET, ...options });
  const stored = async (eventId: string) => ({
    receipts: (
      await sql<{ organization_id: string | null; note: string | null }>`
        select organization_id, note from public.webhook_receipts where provider = 'stripe' and external_id = ${eventId}`.execute(
        api.scratch.database.owner,
      )
    ).rows,
    events: (
      await sql<{ name: string; data: Record<string, unknown> }>`
        select name, data from app.event_outbox where event_id = ${eventId}`.execute(api.scratch.database.owner)
    ).rows,
  });

  it("turns a signed subscription event into one stripe/subscription.changed for the customer's business", async () => {
    const payload = eventOf("evt_valid", "customer.subscription.updated");
    const response = await post(payload, signed(payload));
    expect(response.status).toBe(200);
    expect(await stored("evt_valid")).toEqual({
      receipts: [{ organization_id: ORG_A, note: null }],
      events: [
        {
          name: "stripe/subscription.changed",
          data: { organizationId: ORG_A, customerId: CUSTOMER, stripeEventType: "customer.subscription.updated" },
        },
      ],
    });
  });

  it("accepts the previous secret during a rotation", async () => {
    const payload = eventOf("evt_rotated", "invoice.paid");
    expect((await post(payload, signed(payload, { secret: PREVIOUS_SECRET }))).status).toBe(200);
    expect((await stored("evt_rotated")).events).toHaveLength(1);
  });

  it.each<[string, (payload: string) => { body: string; signature: string | null }]>([
    ["no signature", (payload) => ({ body: payload, signature: null })],
    ["another secret", (payload) => ({ body: payload, signature: signed(payload, { secret: "whsec_someoneElse" }) })],
    [
      "a timestamp older than 300 s",
      (payload) => ({ body: payload, signature: signed(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 }) }),
    ],
    ["a re-serialised body", (payload) => ({ body: JSON.stringify(JSON.parse(payload)), signature: signed(payload) })],
    ["a garbled header", (payload) => ({ body: payload, signature: "t=abc,v1=nothex" })],
  ])("refuses %s with 400, storing nothing", async (_case, make) => {
    const { body, signature } = make(eventOf("evt_refused", "customer.subscription.created"));
    const response = await post(body, signature);
    expect(response.status).toBe(400);
    expect((await response.json()) as object).toHaveProperty("error");
    expect(await stored("evt_refused")).toEqual({ receipts: [], events: [] });
  });

  it("acknowledges an event type it does not handle, storing nothing", async () => {
    const payload = eventOf("evt_other", "charge.refunded");
    const response = await post(payload, signed(payload));
    expect([response.status, await response.json()]).toEqual([200, { ignored: "charge.refunded" }]);
    expect(await stored("evt_other")).toEqual({ receipts: [], events: [] });
  });

  it("records an event about a customer no business has, for operators, and starts no sync", async () => {
    const payload = eventOf("evt_stranger", "customer.subscription.created", "cus_NobodyKnows");
    expect((await post(payload, signed(payload))).status).toBe(200);
    expect(await stored("evt_stranger")).toEqual({
      receipts: [{ organization_id: null, note: "no organization has Stripe customer cus_NobodyKnows" }],
      events: [],
    });
  });

  it("counts the same event sent ten times at once once", async () => {
    const payload = eventOf("evt_repeated", "customer.subscription.updated");
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(payload, signed(payload))));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const { receipts, events } = await stored("evt_repeated");
    expect([receipts.length, events.length]).toEqual([1, 1]);
  });
});
